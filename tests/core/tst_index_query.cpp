// IndexReader over ~2,000 synthetic events spread over four months (and a few far in the past and
// the future), many sharing one created_at second, stored in many parts (tiny flush and merge
// thresholds), in hot files and across writer lanes: keyset paging in both orders across month
// boundaries and equal timestamps, every filter kind, ORed filters, count() agreeing with query(),
// all compared with protocol::matches over the corpus.
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <set>

#include "core/engine/local_sets.h"
#include "core/index/index_reader.h"
#include "core/index/index_writer.h"
#include "core/protocol/filter.h"

using namespace archivist;
using namespace archivist::index;

namespace {

constexpr int kEvents = 2000;
constexpr int64_t kBase = 1700000000;        // 2023-11-14
constexpr int64_t kStep = 7200;              // 1000 distinct seconds two hours apart: four months
constexpr int64_t kCrowded = 1701388800;     // 2023-12-01T00:00:00Z, a month's first second: 600 events
constexpr int64_t kLastOfNov = kCrowded - 1; // the month before's last second

protocol::Bytes32 bytes32(uint32_t n, uint8_t salt) {
    protocol::Bytes32 b{};
    // Spread ids so their order differs from insertion order.
    uint32_t h = n * 2654435761u;
    std::memcpy(b.data(), &h, 4);
    b[4] = salt;
    std::memcpy(b.data() + 28, &n, 4);
    return b;
}

const char* kWords[] = {"bitcoin", "nostr", "coffee", "relay", "zap", "garden"};

protocol::Event makeEvent(int i) {
    protocol::Event e;
    e.id = bytes32(uint32_t(i), 0x11);
    e.pubkey = bytes32(uint32_t(i % 7), 0x22);
    e.kind = std::array<uint16_t, 4>{1, 7, 6, 30023}[size_t(i % 4)];
    e.created_at = i % 10 < 3 ? kCrowded : kBase + ((i * 37) % 1000) * kStep;
    if (i % 97 == 5) e.created_at = kLastOfNov;
    if (i == 13) e.created_at = 1000;                      // before 2020: the "early" bucket
    if (i == 14) e.created_at = int64_t(1) << 40;          // after 2106: beyond the row key's time range
    if (i == 15) e.created_at = (int64_t(1) << 32) - 1;    // the row key's last exact second
    e.content = std::string("post ") + kWords[i % 6] + " number " + std::to_string(i);
    e.tags = {{"e", "note" + std::to_string(i % 50)}, {"p", "person" + std::to_string(i % 13)}, {"alt", "x"}};
    return e;
}

bool before(const EventRow& a, const EventRow& b, Order o) {
    if (a.created_at != b.created_at) return o == Order::NewestFirst ? a.created_at > b.created_at
                                                                      : a.created_at < b.created_at;
    return a.id < b.id;
}

// forEachKeyNewestFirst over [since, until] gives `want`, newest second first, and stops when asked.
void checkKeys(IndexReader& reader, int64_t since, int64_t until,
               const std::multiset<std::pair<int64_t, protocol::Bytes32>>& want) {
    using Keys = std::multiset<std::pair<int64_t, protocol::Bytes32>>;
    std::vector<std::pair<int64_t, protocol::Bytes32>> got;
    auto all = reader.forEachKeyNewestFirst(since, until, [&](int64_t t, const protocol::Bytes32& id) {
        got.push_back({t, id});
        return true;
    });
    QVERIFY(all);
    QCOMPARE(got.size(), want.size());
    QVERIFY(Keys(got.begin(), got.end()) == want);
    for (size_t i = 1; i < got.size(); ++i) QVERIFY2(got[i - 1].first >= got[i].first, qPrintable(QString::number(i)));
    // Stopping early: the keys given are the newest ones (by second).
    if (want.size() < 3) return;
    const size_t stopAt = want.size() / 3;
    std::vector<int64_t> first;
    auto some = reader.forEachKeyNewestFirst(since, until, [&](int64_t t, const protocol::Bytes32&) {
        first.push_back(t);
        return first.size() < stopAt;
    });
    QVERIFY(some);
    QCOMPARE(first.size(), stopAt);
    std::vector<int64_t> newest;
    for (auto it = want.rbegin(); newest.size() < stopAt; ++it) newest.push_back(it->first);
    QVERIFY(first == newest);
}

}  // namespace

class TestIndexQuery : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::filesystem::path m_db;
    std::vector<protocol::Event> m_events;
    std::unique_ptr<IndexReader> m_reader;
    std::unique_ptr<IndexWriter> m_writer;
    // The same events in an index of default thresholds: all of them stay in its hot files.
    std::unique_ptr<IndexReader> m_hotReader;
    std::unique_ptr<IndexWriter> m_hotWriter;

    // Pages through `filters` and returns every row, checking page bounds on the way.
    std::vector<EventRow> pageAll(const std::vector<protocol::Filter>& filters, size_t page, Order order,
                                  IndexReader* reader = nullptr) {
        std::vector<EventRow> all;
        std::optional<Cursor> cursor;
        for (int guard = 0; guard < kEvents + 5; ++guard) {
            auto rows = (reader ? reader : m_reader.get())->query(filters, cursor, page, order);
            if (!rows) {
                qWarning() << rows.error().message.c_str();
                return {};
            }
            if (rows->size() > page) return {};
            all.insert(all.end(), rows->begin(), rows->end());
            if (rows->size() < page) break;
            cursor = Cursor{rows->back().created_at, rows->back().id};
        }
        return all;
    }
    std::set<protocol::Bytes32> expected(const std::vector<protocol::Filter>& filters) {
        std::set<protocol::Bytes32> out;
        for (const auto& e : m_events)
            if (filters.empty() || protocol::matchesAny(filters, e)) out.insert(e.id);
        return out;
    }
    static std::set<protocol::Bytes32> idsOf(const std::vector<EventRow>& rows) {
        std::set<protocol::Bytes32> out;
        for (const auto& r : rows) out.insert(r.id);
        return out;
    }

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_db = std::filesystem::path(m_dir.path().toStdString()) / "index";
        IndexOptions opts;
        QVERIFY(opts.applyTuning("lanes=3,hot_events=97,fanin=3,max_parts=12,threads=2"));
        auto w = IndexWriter::open(m_db, opts);
        QVERIFY(w);
        for (int i = 0; i < kEvents; ++i) m_events.push_back(makeEvent(i));
        // Four frames of 500 events: the first three end up in parts (flushed, merged), the last
        // stays in the hot files.
        for (int f = 0; f < 4; ++f) {
            if (f == 3) {
                QVERIFY((*w)->index()->freezeAll());
                QVERIFY((*w)->index()->waitIdle(std::chrono::seconds(60)));
            }
            std::vector<NewEvent> group;
            for (int i = f * 500; i < (f + 1) * 500; ++i) {
                NewEvent ne;
                ne.event = m_events[size_t(i)];
                ne.line = uint32_t(i - f * 500);
                ne.first_seen_at_ms = i;
                group.push_back(ne);
            }
            archive::AppendedFrame frame;
            frame.ref = {1, uint64_t(16 + f * 1000), 1000};
            frame.events = 500;
            QVERIFY((*w)->commit(&frame, group, {}));
        }
        m_writer = std::move(*w);
        auto r = IndexReader::open(m_db);
        QVERIFY(r);
        m_reader = std::move(*r);

        const auto hotDb = std::filesystem::path(m_dir.path().toStdString()) / "hot-index";
        auto hw = IndexWriter::open(hotDb, IndexOptions{});
        QVERIFY(hw);
        std::vector<NewEvent> all;
        for (int i = 0; i < kEvents; ++i) {
            NewEvent ne;
            ne.event = m_events[size_t(i)];
            ne.line = uint32_t(i);
            ne.first_seen_at_ms = i;
            all.push_back(ne);
        }
        archive::AppendedFrame frame;
        frame.ref = {1, 16, 100000};
        frame.events = uint32_t(kEvents);
        QVERIFY((*hw)->commit(&frame, all, {}));
        m_hotWriter = std::move(*hw);
        auto hr = IndexReader::open(hotDb);
        QVERIFY(hr);
        m_hotReader = std::move(*hr);
        auto hst = m_hotReader->stats();
        QVERIFY(hst);
        QCOMPARE(hst->parts, uint64_t(0));
    }

    void pagingVisitsEveryEventOnce_data() {
        QTest::addColumn<int>("pageSize");
        QTest::addColumn<bool>("newestFirst");
        for (int size : {1, 7, 100})
            for (bool newest : {true, false})
                QTest::addRow("page %d %s", size, newest ? "newest" : "oldest") << size << newest;
    }
    void pagingVisitsEveryEventOnce() {
        QFETCH(int, pageSize);
        QFETCH(bool, newestFirst);
        const Order order = newestFirst ? Order::NewestFirst : Order::OldestFirst;
        const auto rows = pageAll({}, size_t(pageSize), order);
        QCOMPARE(rows.size(), size_t(kEvents));
        QCOMPARE(idsOf(rows).size(), size_t(kEvents));
        for (size_t i = 1; i < rows.size(); ++i) QVERIFY2(before(rows[i - 1], rows[i], order), qPrintable(QString::number(i)));
        const auto crowded = std::count_if(rows.begin(), rows.end(), [](const EventRow& r) { return r.created_at == kCrowded; });
        QCOMPARE(crowded, std::count_if(m_events.begin(), m_events.end(), [](const auto& e) { return e.created_at == kCrowded; }));
        QVERIFY(crowded > 500);
        const auto [lo, hi] = std::minmax_element(m_events.begin(), m_events.end(),
            [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
        QCOMPARE(rows.front().created_at, newestFirst ? hi->created_at : lo->created_at);
        QCOMPARE(rows.back().created_at, newestFirst ? lo->created_at : hi->created_at);
    }

    void filters_data() {
        QTest::addColumn<std::vector<protocol::Filter>>("filters");
        auto one = [](auto fill) {
            protocol::Filter f;
            fill(f);
            return std::vector<protocol::Filter>{f};
        };
        QTest::newRow("kinds") << one([](auto& f) { f.kinds = {7, 30023}; });
        QTest::newRow("authors") << one([](auto& f) { f.authors = {bytes32(2, 0x22), bytes32(5, 0x22)}; });
        QTest::newRow("#e") << one([](auto& f) { f.tags['e'] = {"note3", "note17"}; });
        QTest::newRow("#p") << one([](auto& f) { f.tags['p'] = {"person4"}; });
        QTest::newRow("#e and #p") << one([](auto& f) { f.tags['e'] = {"note3"}; f.tags['p'] = {"person3", "person0"}; });
        QTest::newRow("since/until inclusive") << one([](auto& f) { f.since = kCrowded; f.until = kBase + 600 * kStep; });
        QTest::newRow("until only") << one([](auto& f) { f.until = kBase + 10 * kStep; });
        QTest::newRow("one second at a month's end") << one([](auto& f) { f.since = kLastOfNov; f.until = kLastOfNov; });
        QTest::newRow("across a month boundary") << one([](auto& f) { f.since = kLastOfNov; f.until = kCrowded; });
        QTest::newRow("since in the far future") << one([](auto& f) { f.since = int64_t(1) << 33; });
        QTest::newRow("until before 2020") << one([](auto& f) { f.until = 1577836799; });
        QTest::newRow("ids") << one([](auto& f) { f.ids = {bytes32(5, 0x11), bytes32(1999, 0x11), bytes32(99999, 0x11)}; });
        QTest::newRow("kind+author+since") << one([](auto& f) { f.kinds = {1}; f.authors = {bytes32(0, 0x22)}; f.since = kCrowded; });
        QTest::newRow("nothing matches") << one([](auto& f) { f.kinds = {9999}; });
        protocol::Filter a, b, c;
        a.kinds = {7};
        b.authors = {bytes32(3, 0x22)};  // overlaps with a
        c.tags['e'] = {"note1"};
        QTest::newRow("ORed filters") << std::vector<protocol::Filter>{a, b, c};
        QTest::newRow("same filter twice") << std::vector<protocol::Filter>{a, a};
    }
    void filters() {
        QFETCH(std::vector<protocol::Filter>, filters);
        const auto want = expected(filters);
        // Parts and hot files, and hot files alone (a `#x` condition reads those by row key, the
        // crowded second's 600 events among them).
        for (IndexReader* reader : {m_reader.get(), m_hotReader.get()})
            for (Order order : {Order::NewestFirst, Order::OldestFirst})
                for (size_t page : {size_t(37), size_t(5)}) {
                    const auto rows = pageAll(filters, page, order, reader);
                    QCOMPARE(rows.size(), want.size());  // no duplicates across ORed filters
                    QVERIFY(idsOf(rows) == want);
                    for (size_t i = 1; i < rows.size(); ++i) QVERIFY(before(rows[i - 1], rows[i], order));
                }
        auto n = m_reader->count(filters);
        QVERIFY(n);
        QCOMPARE(*n, uint64_t(want.size()));
    }

    // The keys of a window (NIP-77 local sets read them): every event of the window once, newest
    // second first, across parts, hot files, month boundaries and the row key's far end.
    void keysNewestFirst_data() {
        QTest::addColumn<qint64>("since");
        QTest::addColumn<qint64>("until");
        const qint64 all = std::numeric_limits<qint64>::max();
        QTest::newRow("everything") << qint64(0) << all;
        QTest::newRow("since/until inclusive") << qint64(kCrowded) << qint64(kBase + 600 * kStep);
        QTest::newRow("one crowded second") << qint64(kCrowded) << qint64(kCrowded);
        QTest::newRow("across a month boundary") << qint64(kLastOfNov) << qint64(kCrowded);
        QTest::newRow("the row key's last second and beyond") << qint64((int64_t(1) << 32) - 1) << all;
        QTest::newRow("before 2020") << qint64(0) << qint64(1577836799);
        QTest::newRow("empty window") << qint64(kCrowded) << qint64(kLastOfNov);
    }
    void keysNewestFirst() {
        QFETCH(qint64, since);
        QFETCH(qint64, until);
        using Keys = std::multiset<std::pair<int64_t, protocol::Bytes32>>;
        Keys want;
        for (const auto& e : m_events)
            if (e.created_at >= since && e.created_at <= until) want.insert({e.created_at, e.id});
        for (IndexReader* reader : {m_reader.get(), m_hotReader.get()}) {
            checkKeys(*reader, since, until, want);
            if (QTest::currentTestFailed()) return;
        }
    }

    // A NIP-77 local set (IndexLocalSets::load): the newest part of the window holding at most
    // max_items events, its lowest second left out whole when it does not fit. The whole-archive
    // filter reads keys alone; a filter that matches the same events reads rows: both must give
    // what the corpus says.
    void localSetWindows_data() {
        QTest::addColumn<qint64>("until");
        QTest::addColumn<int>("maxItems");
        const qint64 all = std::numeric_limits<qint64>::max();
        QTest::newRow("all fit") << all << kEvents;
        QTest::newRow("exactly full") << all << kEvents - 1;
        QTest::newRow("a hundred") << all << 100;
        QTest::newRow("one") << all << 1;
        QTest::newRow("the crowded second does not fit") << qint64(kCrowded + kStep) << 300;
        QTest::newRow("overfull: the window's last second") << qint64(kCrowded) << 100;
        QTest::newRow("below a month boundary") << qint64(kCrowded - 1) << 40;
    }
    void localSetWindows() {
        QFETCH(qint64, until);
        QFETCH(int, maxItems);
        std::vector<std::pair<int64_t, protocol::Bytes32>> window;
        for (const auto& e : m_events)
            if (e.created_at <= until) window.push_back({e.created_at, e.id});
        std::sort(window.begin(), window.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        int64_t wantSince = 0;
        bool wantOverfull = false;
        if (window.size() > size_t(maxItems)) {
            const int64_t boundary = window[size_t(maxItems)].first;
            wantOverfull = boundary >= until;
            wantSince = wantOverfull ? until : boundary + 1;
        }
        std::set<protocol::Bytes32> want;
        if (!wantOverfull)
            for (const auto& [t, id] : window)
                if (t >= wantSince) want.insert(id);
        protocol::Filter everything, sameByKinds;
        sameByKinds.kinds = {1, 6, 7, 30023};  // every event of the corpus, through query()
        for (IndexReader* reader : {m_reader.get(), m_hotReader.get()}) {
            for (const auto& base : {everything, sameByKinds}) {
                sync::LocalSetRequest req;
                req.filter = base;
                req.filter.since = 0;
                req.filter.until = until;
                req.max_items = size_t(maxItems);
                auto set = engine::IndexLocalSets::load(*reader, req);
                QVERIFY2(set, set ? "" : set.error().message.c_str());
                QCOMPARE(set->overfull, wantOverfull);
                QCOMPARE(set->since, wantSince);
                std::set<protocol::Bytes32> got;
                for (const auto& item : set->items) got.insert(item.id);
                QCOMPARE(set->items.size(), want.size());
                QVERIFY(got == want);
            }
        }
    }

    void search_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("expected");
        QTest::newRow("one word") << "coffee" << 333;  // i % 6 == 2, i < 2000
        QTest::newRow("case-insensitive") << "NOSTR" << 334;
        QTest::newRow("two words ANDed") << "garden number" << 333;
        QTest::newRow("prefix") << "bitc" << 334;
        QTest::newRow("exact number") << "1234" << 1;
        QTest::newRow("FTS syntax is literal") << "zap OR coffee" << 0;
        QTest::newRow("quotes and stars are literal") << "\"zap*" << 333;
        QTest::newRow("no match") << "ethereum" << 0;
    }
    void search() {
        QFETCH(QString, text);
        QFETCH(int, expected);
        protocol::Filter f;
        f.search = text.toStdString();
        auto n = m_reader->count({f});
        QVERIFY2(n, n ? "" : n.error().message.c_str());
        QCOMPARE(int(*n), expected);
        const auto rows = pageAll({f}, 100, Order::NewestFirst);
        QCOMPARE(int(rows.size()), expected);
    }

    void searchCombinedWithKind() {
        protocol::Filter f;
        f.search = "coffee";
        f.kinds = {6};  // i % 4 == 2 and i % 6 == 2 → i % 12 == 2
        QCOMPARE(*m_reader->count({f}), uint64_t(kEvents / 12 + 1));
    }

    // Sorted by kind or author within one month: keyset pages in both directions visit exactly
    // the month's matching events once, in (key, created_at DESC, id ASC) order — across the
    // month's parts and the hot files, and across the crowded second (600 events at once).
    void sortedPagesByKindAndAuthor_data() {
        QTest::addColumn<int>("key");
        QTest::addColumn<bool>("descending");
        QTest::addColumn<int>("pageSize");
        QTest::addColumn<int64_t>("month");
        QTest::addColumn<std::vector<protocol::Filter>>("filters");
        protocol::Filter kinds, authors, search, tag;
        kinds.kinds = {1, 30023};
        authors.authors = {bytes32(2, 0x22), bytes32(5, 0x22)};
        search.search = "coffee";
        tag.tags['p'] = {"person4", "person5"};
        for (int key : {int(SortKey::Kind), int(SortKey::Author)})
            for (bool desc : {false, true}) {
                const char* k = key == int(SortKey::Kind) ? "kind" : "author";
                const char* d = desc ? "desc" : "asc";
                QTest::addRow("%s %s page 7 December", k, d) << key << desc << 7 << kCrowded << std::vector<protocol::Filter>{};
                QTest::addRow("%s %s page 100 November", k, d) << key << desc << 100 << kLastOfNov << std::vector<protocol::Filter>{};
                QTest::addRow("%s %s kinds", k, d) << key << desc << 13 << kCrowded << std::vector<protocol::Filter>{kinds};
                QTest::addRow("%s %s authors", k, d) << key << desc << 13 << kCrowded << std::vector<protocol::Filter>{authors};
                QTest::addRow("%s %s search", k, d) << key << desc << 5 << kCrowded << std::vector<protocol::Filter>{search};
                QTest::addRow("%s %s ORed", k, d) << key << desc << 11 << kCrowded << std::vector<protocol::Filter>{tag, kinds};
                QTest::addRow("%s %s before 2020", k, d) << key << desc << 3 << int64_t(1000) << std::vector<protocol::Filter>{};
            }
    }
    void sortedPagesByKindAndAuthor() {
        QFETCH(int, key);
        QFETCH(bool, descending);
        QFETCH(int, pageSize);
        QFETCH(int64_t, month);
        QFETCH(std::vector<protocol::Filter>, filters);
        SortSpec spec;
        spec.key = SortKey(key);
        spec.descending = descending;
        spec.since = bucketLo(bucketOf(month));
        spec.until = bucketHi(bucketOf(month));
        auto keyBefore = [&](const auto& a, const auto& b) {
            if (spec.key == SortKey::Kind ? a.kind != b.kind : a.pubkey != b.pubkey) {
                const bool less = spec.key == SortKey::Kind ? a.kind < b.kind : a.pubkey < b.pubkey;
                return descending ? !less : less;
            }
            if (a.created_at != b.created_at) return a.created_at > b.created_at;
            return a.id < b.id;
        };
        std::vector<protocol::Event> want;
        for (const auto& e : m_events)
            if (e.created_at >= spec.since && e.created_at <= spec.until && (filters.empty() || protocol::matchesAny(filters, e)))
                want.push_back(e);
        std::sort(want.begin(), want.end(), keyBefore);
        QVERIFY(!want.empty());
        std::vector<EventRow> got;
        std::optional<SortCursor> cursor;
        for (int guard = 0; guard < kEvents + 5; ++guard) {
            auto rows = m_reader->querySorted(filters, spec, cursor, size_t(pageSize));
            QVERIFY2(rows, rows ? "" : rows.error().message.c_str());
            QVERIFY(rows->size() <= size_t(pageSize));
            got.insert(got.end(), rows->begin(), rows->end());
            if (rows->size() < size_t(pageSize)) break;
            const auto& last = rows->back();
            cursor = SortCursor{last.kind, last.pubkey, last.created_at, last.id};
        }
        QCOMPARE(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) QVERIFY2(got[i].id == want[i].id, qPrintable(QString::number(i)));
    }

    void sortedPagesStayInOneMonth() {
        SortSpec spec;
        spec.since = kLastOfNov;
        spec.until = kCrowded;  // two months
        auto rows = m_reader->querySorted({}, spec, std::nullopt, 10);
        QVERIFY(!rows);
        QCOMPARE(rows.error().code, std::string("sort_window"));
        protocol::Filter a, b;
        a.search = "coffee";
        spec.since = spec.until = kCrowded;
        auto twoWithSearch = m_reader->querySorted({a, b}, spec, std::nullopt, 10);
        QVERIFY(!twoWithSearch);
        QCOMPARE(twoWithSearch.error().code, std::string("sort_search"));
        // A source that carried nothing: no rows (the seen-by condition holds in sorted pages too).
        const std::string nobody = "wss://nobody.example";
        spec.since = bucketLo(bucketOf(kCrowded));
        spec.until = bucketHi(bucketOf(kCrowded));
        auto none = m_reader->querySorted({}, spec, std::nullopt, 10, &nobody);
        QVERIFY(none);
        QVERIFY(none->empty());
    }

    void findByIdAndStats() {
        auto row = m_reader->findById(m_events[777].id);
        QVERIFY(row && row->has_value());
        QCOMPARE((*row)->line, 777u - 500u);
        QCOMPARE((*row)->frame.offset, 1016u);
        QCOMPARE((*row)->kind, m_events[777].kind);
        auto missing = m_reader->findById(bytes32(123456, 0x11));
        QVERIFY(missing && !missing->has_value());
        auto st = m_reader->stats();
        QVERIFY(st);
        QCOMPARE(st->events, uint64_t(kEvents));
        QCOMPARE(st->frames, 4u);
        QCOMPARE(st->kinds.size(), 4u);
        uint64_t sum = 0;
        for (const auto& [kind, n] : st->kinds) sum += n;
        QCOMPARE(sum, uint64_t(kEvents));
    }

    void spreadOverPartsAndHotFiles() {
        auto st = m_reader->stats();
        QVERIFY(st);
        QVERIFY2(st->parts >= 6, qPrintable(QString::number(st->parts)));  // early, 4 months, late
        QVERIFY(st->buckets >= 6);
        QCOMPARE(st->hot_files, uint64_t(3));  // the lanes' active files hold the last frame
        QVERIFY(m_writer->index()->gauges().merges > 0);
    }

    void forEachEventVisitsEachOnceAndStops() {
        int n = 0;
        std::set<protocol::Bytes32> seen;
        QVERIFY(m_reader->forEachEvent([&](const EventRow& r) {
            seen.insert(r.id);
            ++n;
            return true;
        }));
        QCOMPARE(n, kEvents);
        QCOMPARE(int(seen.size()), kEvents);
        n = 0;
        QVERIFY(m_reader->forEachEvent([&](const EventRow&) { return ++n < 10; }));
        QCOMPARE(n, 10);
    }
};

QTEST_GUILESS_MAIN(TestIndexQuery)
#include "tst_index_query.moc"
