// The partitioned index under its background work (tiny thresholds so flushes and merges happen
// within seconds): every event exactly once across writer lanes, hot files, parts and merges —
// with copies arriving before, during (a merge held half done) and after a merge — sightings
// keeping the earliest seen_at through merges, the leftovers of a crash at any point of a flush
// or merge cleaned at the next open, and full-text documents a crash left pending written again.
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <thread>

#include "core/index/fts.h"
#include "core/index/index_reader.h"
#include "core/index/index_writer.h"
#include "core/index/layout.h"
#include "core/index/lookup.h"
#include "core/index/schema.h"
#include "core/index/tag_key.h"
#include "core/protocol/event_codec.h"

using namespace archivist;
using namespace archivist::index;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kBase = 1700000000;  // 2023-11-14
constexpr int64_t kMonth = 31 * 86400;

protocol::Bytes32 idOf(uint32_t n) {
    protocol::Bytes32 b{};
    uint32_t h = n * 2654435761u + 0x9e37;
    std::memcpy(b.data(), &h, 4);
    std::memcpy(b.data() + 28, &n, 4);
    b[8] = 0x5a;
    return b;
}

// Event n: six months, three kinds, a tag, a word.
NewEvent eventOf(uint32_t n, uint32_t source, int64_t seen_at) {
    NewEvent ne;
    ne.event.id = idOf(n);
    ne.event.pubkey = idOf(n % 5 + 100000);
    ne.event.created_at = kBase + int64_t(n % 6) * kMonth + int64_t(n / 6);
    ne.event.kind = uint16_t(n % 3);
    ne.event.tags = {{"t", "topic" + std::to_string(n % 4)}};
    ne.event.content = "word" + std::to_string(n % 10) + " event " + std::to_string(n);
    ne.event.sig[0] = uint8_t(n);
    ne.first_seen_at_ms = seen_at;
    ne.source = source;
    return ne;
}

IndexOptions tiny() {
    IndexOptions o;
    if (!o.applyTuning("lanes=3,hot_events=40,fanin=2,max_parts=30,threads=2")) qFatal("tuning");
    return o;
}

// Acts as the commit writer: each event of a frame is stored if new, a sighting if known.
struct Feeder {
    IndexWriter& w;
    uint64_t offset = 16;
    uint64_t stored = 0, duplicates = 0;
    bool feed(const std::vector<uint32_t>& ns, uint32_t source, int64_t seen_at) {
        std::vector<NewEvent> fresh;
        std::vector<Sighting> seen;
        for (uint32_t n : ns) {
            NewEvent ne = eventOf(n, source, seen_at);
            if (auto f = w.findEvent(ne.event.id, ne.event.created_at)) {
                seen.push_back(Sighting{ne.event.id, source, seen_at, f->rk, ne.event.created_at});
                ++duplicates;
                continue;
            }
            ne.line = uint32_t(fresh.size());
            fresh.push_back(std::move(ne));
        }
        archive::AppendedFrame frame;
        frame.ref = {1, offset, 100};
        frame.events = uint32_t(fresh.size());
        if (!fresh.empty()) offset += 100;
        auto r = w.commit(fresh.empty() ? nullptr : &frame, fresh, seen);
        if (!r) qWarning() << "commit:" << r.error().message.c_str();
        stored += fresh.size();
        return r.ok();
    }
};

// A new, empty full-text file with its tables (as a lane's), at `path`.
bool createFtsFile(const std::string& path) {
    auto db = Db::open(path, Db::Mode::Create);
    return db && registerTokenizer(db->get()) && db->exec(kFtsCreateSql);
}

// The rowids a MATCH expression finds; {-1} (never a rowid in these tests) if it fails.
std::set<int64_t> matchRows(Db& db, const std::string& expr) {
    std::set<int64_t> rows;
    if (expr.empty()) return rows;
    auto st = db.prepare("SELECT rowid FROM fts WHERE fts MATCH ?");
    if (!st) return {-1};
    st->bindText(1, expr);
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) rows.insert(st->i64(0));
    if (rc != SQLITE_DONE) rows.insert(-1);
    return rows;
}

std::vector<uint32_t> range(uint32_t from, uint32_t to) {
    std::vector<uint32_t> v;
    for (uint32_t i = from; i < to; ++i) v.push_back(i);
    return v;
}

}  // namespace

class TestIndexLsm : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    int m_n = 0;
    std::filesystem::path fresh() { return std::filesystem::path(m_dir.path().toStdString()) / ("idx" + std::to_string(++m_n)); }
    // `n` files of one table with one row, registered as parts (ids 1…n); none when one fails.
    static std::vector<FilePtr> smallParts(const std::filesystem::path& dir, int n) {
        std::filesystem::create_directories(dir);
        std::vector<FilePtr> files;
        for (int i = 0; i < n; ++i) {
            auto f = std::make_shared<IndexFile>();
            f->id = i + 1;
            f->kind = FileKind::Part;
            f->path = dir / ("f" + std::to_string(i) + ".sqlite");
            auto db = Db::open(f->path, Db::Mode::Create);
            if (!db || !db->exec("CREATE TABLE t(x); INSERT INTO t VALUES(1)")) return {};
            files.push_back(f);
        }
        return files;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void exactlyOnceBeforeDuringAndAfterAMerge() {
        const auto dir = fresh();
        auto w = IndexWriter::open(dir, tiny());
        QVERIFY(w);
        const uint32_t a = *(*w)->sourceId("wss://a.example");
        const uint32_t b = *(*w)->sourceId("wss://b.example");
        // The first merge is held half done (outputs built, not registered) until released.
        std::mutex mu;
        std::condition_variable cv;
        bool holding = false, release = false, held = false;
        (*w)->index()->setBeforeRegisterHook([&](const std::string& what) {
            if (what != "merge") return;
            std::unique_lock lock(mu);
            if (held) return;
            held = holding = true;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
            holding = false;
        });
        Feeder feeder{**w};
        // Before: 360 events in frames of 24, each frame also carrying copies of earlier events.
        for (uint32_t f = 0; f < 15; ++f) {
            auto ns = range(f * 24, f * 24 + 24);
            if (f) ns.push_back(f * 24 - 7);  // a copy of an event of the frame before
            QVERIFY(feeder.feed(ns, a, 5000));
        }
        QCOMPARE(feeder.stored, uint64_t(360));
        QCOMPARE(feeder.duplicates, uint64_t(14));
        QVERIFY((*w)->index()->freezeAll());
        {
            std::unique_lock lock(mu);
            QVERIFY(cv.wait_for(lock, 60s, [&] { return holding; }));
        }
        // During: a merge has built its output but not registered it; every earlier event is a
        // duplicate (found in the merge's inputs), new ones are stored.
        QVERIFY(feeder.feed(range(0, 360), b, 100));
        QCOMPARE(feeder.duplicates, uint64_t(14 + 360));
        QVERIFY(feeder.feed(range(360, 420), b, 100));
        QCOMPARE(feeder.stored, uint64_t(420));
        {
            std::lock_guard lock(mu);
            release = true;
        }
        cv.notify_all();
        QVERIFY((*w)->index()->freezeAll());
        QVERIFY((*w)->index()->waitIdle(120s));
        QVERIFY((*w)->index()->gauges().merges > 0);
        // After: all of them again, earlier than before for relay A.
        QVERIFY(feeder.feed(range(0, 420), a, 50));
        QCOMPARE(feeder.stored, uint64_t(420));
        QCOMPARE(feeder.duplicates, uint64_t(14 + 360 + 420));
        QVERIFY((*w)->index()->freezeAll());
        QVERIFY((*w)->index()->waitIdle(120s));
        // Every stored event went through exactly one flush; merges wrote some of them again.
        const auto g = (*w)->index()->gauges();
        QCOMPARE(g.flushed_events, uint64_t(420));
        QVERIFY(g.merged_events > 0);
        QVERIFY(g.flush_cpu_seconds > 0 && g.merge_cpu_seconds > 0);

        auto rd = IndexReader::open((*w)->index());
        QVERIFY(rd);
        QCOMPARE(*(*rd)->count({}), uint64_t(420));
        auto st = (*rd)->stats();
        QCOMPARE(st->events, uint64_t(420));
        QVERIFY(st->parts >= 6);
        for (uint32_t n = 0; n < 420; ++n) {
            auto rows = (*rd)->findAllById(idOf(n));
            QVERIFY(rows);
            QCOMPARE(rows->size(), size_t(1));
            const auto& [row, place] = rows->front();
            if (place.kind == FileKind::Part) QCOMPARE(place.bucket, bucketOf(row.created_at));
            // Earliest seen_at per relay, through every flush and merge.
            auto seen = (*rd)->sightings(row.rowid);
            QVERIFY(seen);
            std::map<std::string, int64_t> bySource;
            for (const auto& s : *seen) bySource[s.source] = s.seen_at_ms;
            QCOMPARE(bySource["wss://a.example"], int64_t(50));
            QCOMPARE(bySource["wss://b.example"], int64_t(100));
            QCOMPARE(bySource.size(), size_t(2));
        }
        // Page through everything: each once, in order.
        std::vector<EventRow> all;
        std::optional<Cursor> cursor;
        for (;;) {
            auto page = (*rd)->query({}, cursor, 33, Order::OldestFirst);
            QVERIFY(page);
            all.insert(all.end(), page->begin(), page->end());
            if (page->size() < 33) break;
            cursor = Cursor{page->back().created_at, page->back().id};
        }
        QCOMPARE(all.size(), size_t(420));
        for (size_t i = 1; i < all.size(); ++i)
            QVERIFY(all[i - 1].created_at < all[i].created_at ||
                    (all[i - 1].created_at == all[i].created_at && all[i - 1].id < all[i].id));
    }

    // Events of one month (arriving in time order): each frozen hot file becomes its part by a
    // copy of its b-trees (PartBuilder::copyAll) — rows, tags, sightings (earliest seen_at), the
    // sightings of copies whose event is in an older part (orphans), counts and filters as the
    // row-by-row build makes them.
    void aHotFileOfOneMonthIsCopiedWhole() {
        const auto dir = fresh();
        auto w = IndexWriter::open(dir, tiny());
        QVERIFY(w);
        std::mutex mu;
        std::vector<std::string> log;
        (*w)->index()->setCompactionListener([&](const std::string& m) {
            std::lock_guard lock(mu);
            log.push_back(m);
        });
        const uint32_t a = *(*w)->sourceId("wss://a.example");
        const uint32_t b = *(*w)->sourceId("wss://b.example");
        Feeder feeder{**w};
        std::vector<uint32_t> month;  // n % 6 == 0: the first month
        for (uint32_t n = 0; n < 1200; n += 6) month.push_back(n);
        for (size_t i = 0; i < 100; i += 10)
            QVERIFY(feeder.feed({month.begin() + long(i), month.begin() + long(i + 10)}, a, 5000));
        QVERIFY((*w)->index()->freezeAll());
        QVERIFY((*w)->index()->waitIdle(60s));
        // Copies of flushed events (their sightings land in hot files without the rows), then
        // the rest, each frame with a copy of the one before.
        QVERIFY(feeder.feed({month.begin(), month.begin() + 30}, b, 100));
        for (size_t i = 100; i < 200; i += 10) {
            std::vector<uint32_t> ns(month.begin() + long(i), month.begin() + long(i + 10));
            ns.push_back(month[i - 3]);
            QVERIFY(feeder.feed(ns, b, 7000));
        }
        QVERIFY((*w)->index()->freezeAll());
        QVERIFY((*w)->index()->waitIdle(60s));
        QCOMPARE(feeder.stored, uint64_t(200));
        size_t copies = 0;
        {
            std::lock_guard lock(mu);
            for (const auto& m : log) copies += m.find("(copied)") != std::string::npos;
        }
        QVERIFY(copies >= 3);

        auto rd = IndexReader::open((*w)->index());
        QVERIFY(rd);
        QCOMPARE(*(*rd)->count({}), uint64_t(200));
        for (size_t i = 0; i < month.size(); ++i) {
            const uint32_t n = month[i];
            auto rows = (*rd)->findAllById(idOf(n));
            QVERIFY(rows);
            QCOMPARE(rows->size(), size_t(1));
            const auto& [row, place] = rows->front();
            QCOMPARE(place.kind, FileKind::Part);
            QCOMPARE(place.bucket, bucketOf(row.created_at));
            auto seen = (*rd)->sightings(row.rowid);
            QVERIFY(seen);
            std::map<std::string, int64_t> bySource;
            for (const auto& s : *seen) bySource[s.source] = s.seen_at_ms;
            const bool copiedByB = i < 30 || (i >= 97 && i < 197 && (i - 97) % 10 == 0);
            QCOMPARE(bySource.size(), size_t(copiedByB && i < 100 ? 2 : 1));
            QCOMPARE(bySource.count("wss://a.example"), size_t(i < 100 ? 1 : 0));
            if (i < 30) QCOMPARE(bySource["wss://b.example"], int64_t(100));
        }
        // Tags and kinds through the copied indexes, against the events themselves.
        for (int t = 0; t < 4; ++t) {
            protocol::Filter f;
            f.tags['t'] = {"topic" + std::to_string(t)};
            uint64_t want = 0;
            for (uint32_t n : month) {
                const NewEvent ne = eventOf(n, 0, 0);
                want += protocol::matches(f, ne.event);
            }
            QCOMPARE(*(*rd)->count({f}), want);
        }
        auto st = (*rd)->stats();
        QVERIFY(st);
        QCOMPARE(st->events, uint64_t(200));
        QCOMPARE(st->kinds.size(), size_t(1));  // 6i % 3 == 0: every event of the month is kind 0
        QCOMPARE(st->kinds.front(), (std::pair<uint16_t, uint64_t>(0, 200)));
        QCOMPARE(*(*rd)->count({protocol::Filter{.kinds = {0}}}), uint64_t(200));
    }

    // A query's pass over more files than its connection set holds keeps the files it visited
    // first open for the next pass (the set closes its most recent one instead of its oldest);
    // without passes (a lookup's set) the set is a plain LRU.
    void connectionsOutlastAPassOverMoreFilesThanTheyHold() {
        const auto files = smallParts(fresh(), 10);
        QCOMPARE(files.size(), size_t(10));
        auto passes = [&](FileConnections& c, bool mark) {
            for (int pass = 0; pass < 3; ++pass) {
                if (mark) c.beginPass();
                for (const auto& f : files) {
                    auto conn = c.get(f);
                    QVERIFY(conn);
                    auto st = (*conn)->stmt("SELECT count(*) FROM t");
                    QVERIFY(st && (*st)->step() == SQLITE_ROW);
                }
                QCOMPARE(c.size(), size_t(4));
            }
        };
        FileConnections query(4, 64);
        passes(query, true);
        QCOMPARE(query.opened(), uint64_t(10 + 7 + 7));  // three files stay open from pass to pass
        FileConnections lookup(4, 64);
        passes(lookup, false);
        QCOMPARE(lookup.opened(), uint64_t(30));
    }

    // A process out of file descriptors (a low `ulimit -n`) does not fail a lookup: the set that
    // cannot open a file closes the older half of its connections, counts it, logs a warning and
    // opens the file. Here the soft limit leaves room for ≈ 12 connections and the set may hold 40.
    void aSetOutOfDescriptorsClosesHalfItsConnectionsAndGoesOn() {
        const auto files = smallParts(fresh(), 30);
        QCOMPARE(files.size(), size_t(30));
        // New descriptors take the lowest free numbers, and the soft limit bounds the numbers:
        // the limit goes just above the 12th free one.
        int limit = 0;
        for (int free = 0; free < 12; ++limit)
            if (::fcntl(limit, F_GETFD) == -1) ++free;
        rlimit saved{};
        QCOMPARE(::getrlimit(RLIMIT_NOFILE, &saved), 0);
        rlimit low = saved;
        low.rlim_cur = rlim_t(limit);
        QCOMPARE(::setrlimit(RLIMIT_NOFILE, &low), 0);
        const uint64_t before = FileConnections::totals().descriptor_shortfalls;
        bool allRead = true;
        size_t most = 0;
        {
            FileConnections c(40, 64);
            for (int round = 0; round < 2; ++round)
                for (const auto& f : files) {
                    auto conn = c.get(f);
                    if (!conn) {
                        allRead = false;
                        qWarning("%s", conn.error().message.c_str());
                        break;
                    }
                    auto st = (*conn)->stmt("SELECT x FROM t");
                    allRead = allRead && st && (*st)->step() == SQLITE_ROW;
                    most = std::max(most, c.size());
                }
        }
        ::setrlimit(RLIMIT_NOFILE, &saved);
        QVERIFY(allRead);
        QVERIFY2(most <= 12, qPrintable(QString::number(most)));
        QVERIFY(FileConnections::totals().descriptor_shortfalls > before);
        // Without the limit the same set holds every file.
        FileConnections c(40, 64);
        for (const auto& f : files) QVERIFY(c.get(f));
        QCOMPARE(c.size(), files.size());
    }

    void mergeTiersAreGeometric() {
        // A full hot file's part sits mid-tier: files frozen a little early or late share it.
        const int full = mergeSizeTier(65536, 65536, 6);
        QCOMPARE(mergeSizeTier(30000, 65536, 6), full);
        QCOMPARE(mergeSizeTier(150000, 65536, 6), full);
        QCOMPARE(mergeSizeTier(40, 40, 2), mergeSizeTier(30, 40, 2));
        QCOMPARE(mergeSizeTier(40, 40, 2), mergeSizeTier(55, 40, 2));
        // A backfill's small parts (a hot file over 37 months: ≈ 1,770 events a month) merge with
        // their own size: six of them make the next tier, six of those the full hot file's tier.
        QVERIFY(mergeSizeTier(1770, 65536, 6) < mergeSizeTier(6 * 1770, 65536, 6));
        QVERIFY(mergeSizeTier(6 * 1770, 65536, 6) < full);
        QCOMPARE(mergeSizeTier(36 * 1770, 65536, 6), full);
        for (uint64_t n : {200ull, 1770ull, 10000ull, 65536ull})
            QCOMPARE(mergeSizeTier(6 * n, 65536, 6), mergeSizeTier(n, 65536, 6) + 1);
        int last = 0;
        for (uint64_t n = 0; n < 2000000; n = n * 5 / 4 + 1) {
            const int t = mergeSizeTier(n, 65536, 6);
            QVERIFY(t >= last);
            last = t;
        }
        QCOMPARE(mergeSizeTier(0, 65536, 6), 0);
    }

    // A part knows the created_at range of its rows (from its builder, and from its meta after a
    // reopen); an id lookup probes only the part whose range holds the event's created_at, and
    // time-range queries skip the others, still finding exactly the matching events.
    void partsKnowTheirTimeRange() {
        const auto dir = fresh();
        IndexOptions o;
        QVERIFY(o.applyTuning("lanes=1,hot_events=20,fanin=50,max_parts=60,threads=2"));
        std::vector<uint32_t> month;  // n % 6 == 0: one month, created_at rising with n
        for (uint32_t n = 0; n < 1200; n += 6) month.push_back(n);
        auto ranges = [](IndexWriter& w) {
            std::vector<std::pair<int64_t, int64_t>> out;
            for (const auto& f : w.index()->snapshot()->parts.at(bucketOf(kBase))) out.emplace_back(f->min_created, f->max_created);
            std::sort(out.begin(), out.end());
            return out;
        };
        std::vector<std::pair<int64_t, int64_t>> built;
        {
            auto w = IndexWriter::open(dir, o);
            QVERIFY(w);
            Feeder feeder{**w};
            const uint32_t a = *(*w)->sourceId("wss://a.example");
            for (size_t i = 0; i < month.size(); i += 10)
                QVERIFY(feeder.feed({month.begin() + long(i), month.begin() + long(i + 10)}, a, 5000));
            QVERIFY((*w)->index()->freezeAll());
            QVERIFY((*w)->index()->waitIdle(60s));
            built = ranges(**w);
            QVERIFY2(built.size() >= 5, qPrintable(QString::number(built.size())));
            for (size_t i = 0; i < built.size(); ++i) {
                QVERIFY(built[i].first <= built[i].second);
                if (i) QVERIFY(built[i - 1].second < built[i].first);  // hot files of 20 in time order
            }
            QCOMPARE(built.front().first, kBase);
            QCOMPARE(built.back().second, kBase + int64_t(month.back() / 6));
        }
        auto w = IndexWriter::open(dir, o);
        QVERIFY(w);
        QCOMPARE(ranges(**w), built);  // read back from the parts' meta
        Lookup lookup((*w)->index());
        for (uint32_t n : {month[0], month[57], month.back()}) {
            const NewEvent ne = eventOf(n, 0, 0);
            const uint64_t probes = lookup.probes();
            auto found = lookup.find(ne.event.id, ne.event.created_at);
            QVERIFY(found && *found);
            QCOMPARE(lookup.probes() - probes, uint64_t(1));
        }
        // An id the oldest part's filter cannot rule out, looked up at a time only the newest part
        // covers: the oldest part is skipped by its range, not probed.
        {
            FilePtr oldest, newest;
            for (const auto& f : (*w)->index()->snapshot()->parts.at(bucketOf(kBase))) {
                if (!oldest || f->min_created < oldest->min_created) oldest = f;
                if (!newest || f->max_created > newest->max_created) newest = f;
            }
            std::optional<protocol::Bytes32> maybe;
            for (uint32_t n = 5000000; n < 5000000 + 1000000 && !maybe; ++n)
                if (oldest->filter->mayContain(idKey(idOf(n))) && !newest->filter->mayContain(idKey(idOf(n)))) maybe = idOf(n);
            QVERIFY(maybe);
            const uint64_t probes = lookup.probes();
            auto found = lookup.find(*maybe, newest->max_created);
            QVERIFY(found && !*found);
            QCOMPARE(lookup.probes() - probes, uint64_t(0));
        }
        auto rd = IndexReader::open((*w)->index());
        QVERIFY(rd);
        for (const auto& [since, until] : std::vector<std::pair<int64_t, int64_t>>{
                 {kBase + 3, kBase + 3}, {kBase + 15, kBase + 64}, {built[1].second, built[2].first}, {0, kBase}}) {
            protocol::Filter f;
            f.since = since;
            f.until = until;
            uint64_t want = 0;
            for (uint32_t n : month) want += protocol::matches(f, eventOf(n, 0, 0).event);
            QCOMPARE(*(*rd)->count({f}), want);
            auto rows = (*rd)->query({f}, std::nullopt, 1000);
            QVERIFY(rows);
            QCOMPARE(uint64_t(rows->size()), want);
        }
        // The connections lookups and readers keep open have a gauge (the Memory panel's line):
        // within the bound, and a reader's go with it.
        auto connections = [&] {
            for (const auto& c : (*w)->index()->gauges().caches)
                if (c.name == "index reader connections cache") return std::pair{c.depth, c.capacity};
            return std::pair<int64_t, int64_t>{-1, -1};
        };
        const auto with = connections();
        QVERIFY2(with.first >= int64_t(lookup.connections()) + 2 && with.first <= with.second,
                 qPrintable(QString("%1 of %2").arg(with.first).arg(with.second)));
        QVERIFY(with.second >= int64_t(o.query_connections + o.reader_connections));
        rd->reset();
        const auto without = connections();
        QCOMPARE(without.second, with.second - int64_t(o.query_connections));
        QVERIFY2(without.first < with.first, qPrintable(QString("%1, %2").arg(without.first).arg(with.first)));
    }

    void crashLeftoversAreCleanedAtOpen() {
        const auto dir = fresh();
        std::filesystem::path gen;
        {
            auto w = IndexWriter::open(dir, tiny());
            QVERIFY(w);
            Feeder feeder{**w};
            QVERIFY(feeder.feed(range(0, 200), *(*w)->sourceId("wss://a.example"), 1));
            QVERIFY((*w)->index()->freezeAll());
            QVERIFY((*w)->index()->waitIdle(60s));
            gen = (*w)->index()->dir();
        }
        // What a crash can leave: an output still "building" (a flush or merge interrupted), an
        // input already "retired" (its replacement registered, the file not yet removed).
        sqlite3* cat = nullptr;
        QCOMPARE(sqlite3_open((gen / "catalog.sqlite").c_str(), &cat), SQLITE_OK);
        QCOMPARE(sqlite3_exec(cat, "INSERT INTO files(id, kind, state, bucket) VALUES (900, 'part', 'building', 47);"
                                   "INSERT INTO files(id, kind, state, bucket) VALUES (901, 'part', 'retired', 47);",
                              nullptr, nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(cat);
        const auto building = gen / ("part-" + bucketName(47) + "-900.sqlite");
        const auto retired = gen / ("part-" + bucketName(47) + "-901.sqlite");
        for (const auto& p : {building, retired}) {
            std::FILE* f = std::fopen(p.c_str(), "wb");
            QVERIFY(f);
            std::fputs("partial", f);
            std::fclose(f);
        }
        auto w = IndexWriter::open(dir, tiny());
        QVERIFY2(w, w ? "" : w.error().message.c_str());
        QVERIFY(!std::filesystem::exists(building));
        QVERIFY(!std::filesystem::exists(retired));
        QVERIFY((*w)->index()->unknownFiles().empty());
        auto rd = IndexReader::open((*w)->index());
        QCOMPARE(*(*rd)->count({}), uint64_t(200));
        for (uint32_t n = 0; n < 200; ++n) QVERIFY((*w)->findEvent(idOf(n), eventOf(n, 0, 0).event.created_at));
    }

    void hotFilesKeepThePageSizeTheyWereMadeWith() {
        auto pageSize = [](const std::filesystem::path& path) -> int64_t {
            auto db = Db::open(path, Db::Mode::ReadOnly);
            if (!db) return -1;
            auto size = db->scalar("PRAGMA page_size");
            return size && *size ? **size : -1;
        };
        const auto dir = fresh();
        IndexOptions old = tiny();
        QVERIFY(old.applyTuning("hot_events=1000,hot_page_kib=4"));
        QVERIFY(!old.applyTuning("hot_page_kib=12"));  // not a power of two
        QVERIFY(!old.applyTuning("hot_page_kib=128"));
        std::vector<std::filesystem::path> oldHot;
        {
            auto w = IndexWriter::open(dir, old);
            QVERIFY(w);
            const uint32_t a = *(*w)->sourceId("wss://a.example");
            Feeder feeder{**w};
            QVERIFY(feeder.feed(range(0, 60), a, 1000));
            for (const FilePtr& f : (*w)->index()->snapshot()->hot) {
                QCOMPARE(pageSize(f->path), int64_t(4096));
                oldHot.push_back(f->path);
            }
        }
        QCOMPARE(oldHot.size(), size_t(3));
        // Reopened with the default: the active hot files go on with 4 KiB pages until they are
        // frozen; their successors get 16 KiB. Every event is stored once and found.
        IndexOptions now = tiny();
        QVERIFY(now.applyTuning("hot_events=1000"));
        QCOMPARE(now.hot_page_kib, IndexOptions().hot_page_kib);
        auto w = IndexWriter::open(dir, now);
        QVERIFY(w);
        const uint32_t a = *(*w)->sourceId("wss://a.example");
        Feeder feeder{**w};
        QVERIFY(feeder.feed(range(40, 120), a, 2000));  // 20 copies, 60 new
        for (const FilePtr& f : (*w)->index()->snapshot()->hot) QCOMPARE(pageSize(f->path), int64_t(4096));
        QVERIFY((*w)->index()->freezeAll());
        QVERIFY(feeder.feed(range(120, 180), a, 3000));
        size_t fresh16 = 0;
        for (const FilePtr& f : (*w)->index()->snapshot()->hot)
            if (std::find(oldHot.begin(), oldHot.end(), f->path) == oldHot.end()) {
                QCOMPARE(pageSize(f->path), int64_t(16384));
                ++fresh16;
            }
        QVERIFY(fresh16 >= 1);
        QVERIFY((*w)->index()->freezeAll());
        QVERIFY((*w)->index()->waitIdle(60s));
        QCOMPARE(feeder.stored, uint64_t(120));
        QCOMPARE(feeder.duplicates, uint64_t(20));
        auto rd = IndexReader::open((*w)->index());
        QVERIFY(rd);
        QCOMPARE(*(*rd)->count({}), uint64_t(180));
        for (uint32_t n : {0u, 59u, 60u, 119u, 120u, 179u}) QVERIFY((*w)->findEvent(idOf(n), eventOf(n, a, 0).event.created_at));
    }

    // A hot file keeps the id index and nothing else (decision 0030): its tags are appended, each
    // (key, event) once even when the event names a tag twice; readers walk its rows by row key,
    // and sorted views make one pass per chunk. A hot file of an earlier version (the part's
    // indexes and tag key) is read, written and flushed alike.
    void hotFilesKeepOnlyTheIdIndex() {
        auto schemaOf = [](const std::filesystem::path& path) {
            std::set<std::string> indexes;
            std::string tags;
            auto db = Db::open(path, Db::Mode::ReadOnly);
            if (!db) return std::pair(indexes, tags);
            auto st = db->prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL");
            while (st && st->step() == SQLITE_ROW) {
                if (st->text(0) == "index") indexes.insert(std::string(st->text(1)));
                if (st->text(1) == "tags") tags = std::string(st->text(2));
            }
            return std::pair(indexes, tags);
        };
        const auto dir = fresh();
        IndexOptions opts = tiny();
        QVERIFY(opts.applyTuning("hot_events=1000"));
        auto eventWithTags = [](uint32_t n, uint32_t source) {
            NewEvent ne = eventOf(n, source, 1000 + n);
            ne.event.tags = {{"t", "topic" + std::to_string(n % 4)}, {"t", "topic" + std::to_string(n % 4)},
                             {"p", "person" + std::to_string(n % 7)}};
            const int64_t t = tagKey('t', "topic" + std::to_string(n % 4));
            ne.tag_keys = {t, tagKey('p', "person" + std::to_string(n % 7)), t};  // a key twice
            return ne;
        };
        std::vector<protocol::Event> all;
        uint64_t offset = 16;
        auto store = [&](IndexWriter& w, uint32_t from, uint32_t to, uint32_t source) {
            std::vector<NewEvent> fresh;
            for (uint32_t n = from; n < to; ++n) {
                fresh.push_back(eventWithTags(n, source));
                fresh.back().line = uint32_t(fresh.size() - 1);
                all.push_back(fresh.back().event);
            }
            archive::AppendedFrame frame;
            frame.ref = {1, offset, 100};
            frame.events = uint32_t(fresh.size());
            offset += 100;
            return w.commit(&frame, fresh, {}).ok();
        };
        // Every page of every order against the events themselves.
        auto checkQueries = [&](IndexReader& rd) {
            std::vector<std::vector<protocol::Filter>> filterSets{{}};
            protocol::Filter tag, authors, kinds;
            tag.tags['p'] = {"person3"};
            authors.authors = {idOf(100002)};
            kinds.kinds = {1};
            kinds.since = kBase + 2 * kMonth;
            filterSets.push_back({tag});
            filterSets.push_back({authors});
            filterSets.push_back({kinds, tag});
            for (const auto& filters : filterSets) {
                for (Order order : {Order::NewestFirst, Order::OldestFirst}) {
                    std::vector<protocol::Event> want;
                    for (const auto& e : all)
                        if (filters.empty() || protocol::matchesAny(filters, e)) want.push_back(e);
                    std::sort(want.begin(), want.end(), [&](const auto& a, const auto& b) {
                        if (a.created_at != b.created_at)
                            return order == Order::NewestFirst ? a.created_at > b.created_at : a.created_at < b.created_at;
                        return a.id < b.id;
                    });
                    std::vector<EventRow> got;
                    std::optional<Cursor> cursor;
                    for (int guard = 0; guard < 1000; ++guard) {
                        auto rows = rd.query(filters, cursor, 7, order);
                        if (!rows) return false;
                        got.insert(got.end(), rows->begin(), rows->end());
                        if (rows->size() < 7) break;
                        cursor = Cursor{rows->back().created_at, rows->back().id};
                    }
                    if (got.size() != want.size()) return false;
                    for (size_t i = 0; i < got.size(); ++i)
                        if (got[i].id != want[i].id) return false;
                }
                for (SortKey key : {SortKey::Kind, SortKey::Author}) {
                    SortSpec spec;
                    spec.key = key;
                    spec.descending = key == SortKey::Author;
                    spec.since = bucketLo(bucketOf(kBase + kMonth));
                    spec.until = bucketHi(bucketOf(kBase + kMonth));
                    std::vector<protocol::Event> want;
                    for (const auto& e : all)
                        if (e.created_at >= spec.since && e.created_at <= spec.until &&
                            (filters.empty() || protocol::matchesAny(filters, e)))
                            want.push_back(e);
                    std::sort(want.begin(), want.end(), [&](const auto& a, const auto& b) {
                        if (key == SortKey::Kind ? a.kind != b.kind : a.pubkey != b.pubkey)
                            return key == SortKey::Kind ? a.kind < b.kind : a.pubkey > b.pubkey;
                        if (a.created_at != b.created_at) return a.created_at > b.created_at;
                        return a.id < b.id;
                    });
                    std::vector<EventRow> got;
                    std::optional<SortCursor> cursor;
                    for (int guard = 0; guard < 1000; ++guard) {
                        auto rows = rd.querySorted(filters, spec, cursor, 5);
                        if (!rows) return false;
                        got.insert(got.end(), rows->begin(), rows->end());
                        if (rows->size() < 5) break;
                        const auto& last = rows->back();
                        cursor = SortCursor{last.kind, last.pubkey, last.created_at, last.id};
                    }
                    if (got.size() != want.size()) return false;
                    for (size_t i = 0; i < got.size(); ++i)
                        if (got[i].id != want[i].id) return false;
                }
            }
            return true;
        };
        std::vector<std::filesystem::path> hot;
        {
            auto w = IndexWriter::open(dir, opts);
            QVERIFY(w);
            const uint32_t a = *(*w)->sourceId("wss://a.example");
            for (uint32_t n = 0; n < 120; n += 20) QVERIFY(store(**w, n, n + 20, a));
            for (const FilePtr& f : (*w)->index()->snapshot()->hot) hot.push_back(f->path);
            QCOMPARE((*w)->index()->snapshot()->parts.size(), size_t(0));
            for (const auto& path : hot) {
                const auto [indexes, tags] = schemaOf(path);
                QCOMPARE(indexes, (std::set<std::string>{"events_id"}));
                QVERIFY2(tags.find("PRIMARY KEY") == std::string::npos, tags.c_str());
                auto db = Db::open(path, Db::Mode::ReadOnly);
                QVERIFY(db);
                QCOMPARE(*db->scalar("SELECT count(*) FROM tags"), *db->scalar("SELECT count(*) FROM (SELECT DISTINCT key, rk FROM tags)"));
                QCOMPARE(**db->scalar("SELECT count(*) FROM tags"), 2 * **db->scalar("SELECT count(*) FROM events"));
            }
            auto rd = IndexReader::open((*w)->index());
            QVERIFY(rd);
            QVERIFY(checkQueries(**rd));
        }
        QCOMPARE(hot.size(), size_t(3));
        // The active hot files as an earlier version made them.
        for (const auto& path : hot) {
            auto db = Db::open(path, Db::Mode::ReadWrite);
            QVERIFY(db);
            QVERIFY(db->exec(std::string("BEGIN; ALTER TABLE tags RENAME TO t0;") + kPartTagsSql +
                             "INSERT INTO tags SELECT key, rk FROM t0 ORDER BY key, rk; DROP TABLE t0;" + kSecondaryIndexesSql +
                             "COMMIT;"));
            QCOMPARE(schemaOf(path).first.size(), size_t(4));
        }
        auto w = IndexWriter::open(dir, opts);
        QVERIFY(w);
        const uint32_t a = *(*w)->sourceId("wss://a.example");
        auto rd = IndexReader::open((*w)->index());
        QVERIFY(rd);
        QVERIFY(checkQueries(**rd));
        QVERIFY(store(**w, 120, 180, a));  // into the earlier version's files
        QVERIFY(checkQueries(**rd));
        QVERIFY((*w)->index()->freezeAll());
        QVERIFY(store(**w, 180, 240, a));  // into new ones
        QVERIFY((*w)->index()->freezeAll());
        QVERIFY((*w)->index()->waitIdle(60s));
        QVERIFY(!(*w)->index()->snapshot()->parts.empty());
        QVERIFY(checkQueries(**rd));
        QCOMPARE(*(*rd)->count({}), uint64_t(240));
        for (const auto& [b, parts] : (*w)->index()->snapshot()->parts)
            for (const FilePtr& f : parts) {
                const auto [indexes, tags] = schemaOf(f->path);
                QCOMPARE(indexes.size(), size_t(4));
                QVERIFY(tags.find("PRIMARY KEY") != std::string::npos);
            }
    }

    void partsFilterTheirIdsWithSixteenBitFingerprints() {
        // New parts store a 16-bit id filter (decision 0028) and an 8-bit orphan filter; a part
        // whose stored id filter is 8-bit (made before) is read and answers as before.
        const auto dir = fresh();
        IndexOptions opts = tiny();
        QVERIFY(opts.applyTuning("hot_events=1000"));
        std::filesystem::path part;
        {
            auto w = IndexWriter::open(dir, opts);
            QVERIFY(w);
            const uint32_t a = *(*w)->sourceId("wss://a.example");
            Feeder feeder{**w};
            QVERIFY(feeder.feed(range(0, 80), a, 1000));
            QVERIFY((*w)->index()->freezeAll());
            QVERIFY((*w)->index()->waitIdle(60s));
            const auto snap = (*w)->index()->snapshot();
            QVERIFY(!snap->parts.empty());
            for (const auto& [bucket, files] : snap->parts)
                for (const FilePtr& f : files) {
                    QVERIFY(f->filter && f->orphans);
                    QCOMPARE(f->filter->bits(), 16);
                    QCOMPARE(f->orphans->bits(), 8);
                    part = f->path;
                }
        }
        {
            // Replace that part's stored filter with an 8-bit one over the same ids.
            auto db = Db::open(part, Db::Mode::ReadWrite);
            QVERIFY(db);
            std::vector<uint64_t> keys;
            auto st = db->prepare("SELECT id FROM events");
            QVERIFY(st);
            while (st->step() == SQLITE_ROW) {
                protocol::Bytes32 id{};
                const std::string_view b = st->blob(0);
                QCOMPARE(b.size(), id.size());
                std::memcpy(id.data(), b.data(), id.size());
                keys.push_back(idKey(id));
            }
            QVERIFY(!keys.empty());
            const std::string blob = XorFilter::build(keys, 8).serialize();
            auto up = db->prepare("UPDATE meta SET value = ? WHERE key = 'filter'");
            QVERIFY(up);
            up->bindBlob(1, blob.data(), int(blob.size()));
            QCOMPARE(up->step(), SQLITE_DONE);
            QCOMPARE(readFilter(*db)->bits(), 8);
        }
        auto w = IndexWriter::open(dir, opts);
        QVERIFY(w);
        bool seen8 = false;
        for (const auto& [bucket, files] : (*w)->index()->snapshot()->parts)
            for (const FilePtr& f : files) seen8 = seen8 || (f->path == part && f->filter && f->filter->bits() == 8);
        QVERIFY(seen8);
        const uint32_t a = *(*w)->sourceId("wss://a.example");
        for (uint32_t n = 0; n < 80; ++n) QVERIFY((*w)->findEvent(idOf(n), eventOf(n, a, 0).event.created_at));
        Feeder feeder{**w};
        QVERIFY(feeder.feed(range(0, 80), a, 2000));  // every one a copy
        QCOMPARE(feeder.stored, uint64_t(0));
        QCOMPARE(feeder.duplicates, uint64_t(80));
    }

    void mergeAllKeepsEveryRowOnceAndStopsWhenAsked() {
        // Two parts of one month: events interleaved by rk, a tag row and a sighting in both
        // (the sighting with different times). PartBuilder::mergeAll merges them inside SQLite.
        const auto dir = fresh();
        std::filesystem::create_directories(dir);
        const Bucket bucket = bucketOf(kBase);
        auto rkAt = [](int i) { return makeRk(kBase + i, uint32_t(i)); };
        auto makePart = [&](const std::filesystem::path& path, int parity, int64_t seen) {
            auto b = PartBuilder::create(path, bucket, 0, parity + 1);
            if (!b) return false;
            for (int i = parity; i < 600; i += 2) {
                PartRow r;
                r.rk = rkAt(i);
                r.id = idOf(uint32_t(i));
                r.kind = uint16_t(i % 3);
                r.created_at = kBase + i;
                if (!(*b)->addEvent(r)) return false;
            }
            std::vector<std::pair<int64_t, int64_t>> tags;
            for (int i = parity; i < 600; i += 2) tags.emplace_back(int64_t(i % 7), rkAt(i));
            tags.emplace_back(100, rkAt(1));  // in both parts
            std::sort(tags.begin(), tags.end());
            for (const auto& [key, rk] : tags)
                if (!(*b)->addTag(key, rk)) return false;
            std::vector<std::pair<int64_t, int64_t>> sightings;  // rk, seen_at (source 3)
            for (int i = parity; i < 600; i += 2)
                if (i != 1) sightings.emplace_back(rkAt(i), seen + i);
            sightings.emplace_back(rkAt(1), seen);  // in both parts
            std::sort(sightings.begin(), sightings.end());
            for (const auto& [rk, at] : sightings)
                if (!(*b)->addSighting(rk, 3, at)) return false;
            return bool((*b)->finish());
        };
        const auto a = dir / "a.sqlite", b = dir / "b.sqlite";
        QVERIFY(makePart(a, 0, 5000));
        QVERIFY(makePart(b, 1, 4000));
        {
            // The other order of inputs gives the same earliest seen_at.
            auto out = PartBuilder::create(dir / "reversed.sqlite", bucket, 1, 5);
            QVERIFY(out);
            QVERIFY((*out)->mergeAll({b, a}, [] { return false; }));
            QVERIFY((*out)->finish());
            auto db = Db::open(dir / "reversed.sqlite", Db::Mode::ReadOnly);
            QVERIFY(db);
            QCOMPARE(*db->scalar("SELECT seen_at FROM sightings WHERE rk = " + std::to_string(rkAt(1))),
                     std::optional<int64_t>(4000));
        }
        {
            auto out = PartBuilder::create(dir / "out.sqlite", bucket, 1, 3);
            QVERIFY(out);
            QVERIFY((*out)->mergeAll({a, b}, [] { return false; }));
            auto built = (*out)->finish();
            QVERIFY(built);
            QCOMPARE(built->events, uint64_t(600));
            QCOMPARE(built->min_created, kBase);
            QCOMPARE(built->max_created, kBase + 599);
            for (int i = 0; i < 600; i += 37) QVERIFY(built->filter->mayContain(idKey(idOf(uint32_t(i)))));
        }
        auto db = Db::open(dir / "out.sqlite", Db::Mode::ReadOnly);
        QVERIFY(db);
        QCOMPARE(*db->scalar("SELECT count(*) FROM events"), std::optional<int64_t>(600));
        QCOMPARE(*db->scalar("SELECT count(*) FROM tags"), std::optional<int64_t>(601));
        QCOMPARE(*db->scalar("SELECT count(*) FROM tags WHERE key = 100"), std::optional<int64_t>(1));
        QCOMPARE(*db->scalar("SELECT count(*) FROM sightings"), std::optional<int64_t>(600));
        QCOMPARE(*db->scalar("SELECT seen_at FROM sightings WHERE rk = " + std::to_string(rkAt(1))),
                 std::optional<int64_t>(4000));
        QCOMPARE(*db->scalar("SELECT seen_at FROM sightings WHERE rk = " + std::to_string(rkAt(2))),
                 std::optional<int64_t>(5002));
        // Asked to stop before it starts, and while SQLite merges: error "cancelled", nothing
        // of the inputs changed.
        for (int stopAt : {1, 2}) {
            auto out = PartBuilder::create(dir / ("cancelled" + std::to_string(stopAt) + ".sqlite"), bucket, 1, 4);
            QVERIFY(out);
            int calls = 0;
            auto r = (*out)->mergeAll({a, b}, [&] { return ++calls >= stopAt; });
            QVERIFY(!r);
            QCOMPARE(r.error().code, std::string("cancelled"));
            QCOMPARE(calls, stopAt);
        }
        auto in = Db::open(a, Db::Mode::ReadOnly);
        QVERIFY(in);
        QCOMPARE(*in->scalar("SELECT count(*) FROM events"), std::optional<int64_t>(300));
    }

    void fullTextFilesCountTheirDocumentsWithoutAScan() {
        // New files have no fts_docsize (columnsize=0) and cannot be scanned; files made before
        // have it. ftsDocumentCount reads FTS5's own row total from both.
        const auto dir = fresh();
        std::filesystem::create_directories(dir);
        const std::string oldSql = "CREATE VIRTUAL TABLE fts USING fts5(content, content='', detail=none, "
                                   "tokenize='archivist remove_diacritics 2');";
        for (const std::string& create : {std::string(kFtsCreateSql), oldSql}) {
            const auto path = dir / ("fts" + std::to_string(create.size()) + ".sqlite");
            auto db = Db::open(path, Db::Mode::Create);
            QVERIFY(db);
            QVERIFY(registerTokenizer(db->get()));
            QVERIFY(db->exec(create));
            auto none = ftsDocumentCount(*db);
            QVERIFY(none);
            QCOMPARE(*none, uint64_t(0));
            QVERIFY(db->exec("BEGIN"));
            for (int i = 1; i <= 300; ++i)
                QVERIFY(db->exec("INSERT INTO fts(rowid, content) VALUES (" + std::to_string(int64_t(i) << 31) +
                                 ", 'hello word" + std::to_string(i) + "')"));
            QVERIFY(db->exec("COMMIT"));
            QVERIFY(db->exec("INSERT INTO fts(fts, rowid, content) VALUES ('delete', " + std::to_string(int64_t(5) << 31) +
                             ", 'hello word5')"));
            QCOMPARE(*ftsDocumentCount(*db), uint64_t(299));
            const bool docsize = *db->scalar("SELECT count(*) FROM sqlite_master WHERE name = 'fts_docsize'") == 1;
            QCOMPARE(docsize, create == oldSql);
            if (docsize) QCOMPARE(*db->scalar("SELECT count(*) FROM fts"), std::optional<int64_t>(299));
            QCOMPARE(*db->scalar("SELECT count(*) FROM fts WHERE fts MATCH 'hello'"), std::optional<int64_t>(299));
        }
    }

    void vocabularyRunsAreBoundedAndSearchesReadThemAll() {
        // The vocabulary goes into runs of `vocab_run_terms` terms (here 5): an insert only
        // touches the newest run, a prefix search expands over every run and the table files
        // had before (`vocab`), and a reopened writer goes on in its newest run.
        const auto dir = fresh();
        IndexOptions opts;
        // `common` is in every one of the 128 events, in commits of 4: counted 4 times as a new
        // term, then 124 times in the lane's term cache (decision 0037).
        QVERIFY(opts.applyTuning("lanes=1,vocab_run_terms=5,frequent_at=128"));
        auto countOf = [](IndexReader& rd, const std::string& text) {
            protocol::Filter f;
            f.search = text;
            auto n = rd.count({f});
            if (!n) qWarning() << n.error().message.c_str();
            return n ? int64_t(*n) : -1;
        };
        uint32_t next = 0;
        auto feed = [&](IndexWriter& w, const std::string& word, int events) {
            for (int b = 0; b < events / 4; ++b) {
                std::vector<NewEvent> batch;
                for (int i = 0; i < 4; ++i, ++next) {
                    NewEvent ne = eventOf(next, 0, 1);
                    ne.event.content = word + std::to_string(b * 4 + i) + " common";
                    ne.line = uint32_t(i);
                    batch.push_back(std::move(ne));
                }
                archive::AppendedFrame frame;
                frame.ref = {1, 16 + uint64_t(next) * 10, 10};
                frame.events = 4;
                QVERIFY(w.commit(&frame, batch, {}));
            }
        };
        std::filesystem::path fts;
        {
            auto w = IndexWriter::open(dir, opts);
            QVERIFY(w);
            feed(**w, "zebra", 48);
            feed(**w, "yak", 80);
            fts = (*w)->index()->ftsPath(0);
        }
        int64_t runsBefore = 0;
        {
            auto db = Db::open(fts, Db::Mode::ReadWrite);
            QVERIFY(db);
            // A run closes once full: it holds fewer than 5 terms and one commit's new ones (here
            // ≤ 5), so the 129 terms fill at least 13 runs.
            runsBefore = **db->scalar("SELECT count(DISTINCT run) FROM vocab_runs");
            QVERIFY2(runsBefore >= 13, qPrintable(QString::number(runsBefore)));
            QVERIFY(**db->scalar("SELECT max(n) FROM (SELECT count(*) AS n FROM vocab_runs GROUP BY run)") <= 9);
            QCOMPARE(**db->scalar("SELECT count(*) FROM vocab"), int64_t(0));
            QCOMPARE(**db->scalar("SELECT count(*) FROM vocab_frequent"), int64_t(1));
            QCOMPARE(**db->scalar("SELECT count(*) FROM vocab_frequent WHERE term = 'common'"), int64_t(1));
            // As a file from before the runs would hold it: "zebra3" only in `vocab`.
            QVERIFY(db->exec("DELETE FROM vocab_runs WHERE term = 'zebra3'; INSERT INTO vocab(term) VALUES ('zebra3');"));
        }
        {
            auto w = IndexWriter::open(dir, opts);
            QVERIFY(w);
            auto rd = IndexReader::open((*w)->index());
            QVERIFY(rd);
            QCOMPARE(countOf(**rd, "zebra3"), int64_t(11));  // zebra3 (in `vocab`), zebra30 … zebra39
            QCOMPARE(countOf(**rd, "zebra1"), int64_t(11));  // zebra1, zebra10 … zebra19
            QCOMPARE(countOf(**rd, "zebr"), int64_t(48));     // 48 terms from every run: expanded
            QCOMPARE(countOf(**rd, "yak"), int64_t(80));      // 80 terms: more than 64, a prefix query
            QCOMPARE(countOf(**rd, "yak7"), int64_t(11));
            QCOMPARE(countOf(**rd, "com"), int64_t(128));
            QCOMPARE(countOf(**rd, "zebra99"), int64_t(0));
            feed(**w, "quail", 8);
            QCOMPARE(countOf(**rd, "quai"), int64_t(8));
        }
        auto db = Db::open(fts, Db::Mode::ReadWrite);
        QVERIFY(db);
        // The reopened writer went on in its newest run (or the next, had it been full).
        const int64_t quail = **db->scalar("SELECT min(run) FROM vocab_runs WHERE term LIKE 'quail%'");
        const int64_t newest = **db->scalar("SELECT max(run) FROM vocab_runs WHERE term NOT LIKE 'quail%'");
        QVERIFY2(quail == newest || quail == newest + 1, qPrintable(QString("%1 %2").arg(quail).arg(newest)));
        QVERIFY(**db->scalar("SELECT count(DISTINCT run) FROM vocab_runs") > runsBefore);
    }

    void prefixesThatBeginManyTermsAreSplitAtTheirOwnTerm() {
        // A prefix that begins more terms than one OR spells out is split (decision 0036): its own
        // term spelled out, longer prefixes as FTS5 prefix queries, split again when they are
        // terms themselves. Whatever the limits, a search finds what FTS5's own prefix query finds.
        const auto path = fresh().string() + "-fts.sqlite";
        QVERIFY(createFtsFile(path));
        // Common words, and words that occur once (as hashes and file names do), many of them
        // beginning with a common word; runs of 16 terms.
        {
            auto w = FtsBulkWriter::open(path, 16);
            QVERIFY(w);
            std::mt19937 rng(7);
            const char* common[] = {"gm", "gmorning", "zap", "zaps", "nostr", "a", "é", "日本"};
            const std::string alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
            for (int64_t rk = 1; rk <= 600; ++rk) {
                std::string text = common[rng() % 8];
                text += ' ';
                text += common[rng() % 8];
                const char* stems[] = {"gm", "gmo", "zap", "zaps", "a", "ab", "日本", "日の"};
                std::string rare = stems[rng() % 8];
                for (int c = 0, n = 1 + int(rng() % 4); c < n; ++c) rare += alnum[rng() % alnum.size()];
                text += ' ' + rare;
                QVERIFY(w->add(rk, text));
            }
            QVERIFY(w->commit(std::nullopt));
        }
        auto db = Db::open(path, Db::Mode::ReadOnly);
        QVERIFY(db);
        QVERIFY(registerTokenizer(db->get()));
        auto rowsOf = [&](const std::string& expr) { return matchRows(*db, expr); };
        int split = 0;
        for (const std::string prefix : {"gm", "gmo", "g", "zap", "zaps", "ab", "a", "日", "日本", "e", "no", "q"}) {
            auto words = parseSearch(db->get(), prefix);
            QVERIFY(words);
            QCOMPARE(words->size(), size_t(1));
            // One ASCII letter or digit is a whole word; anything else is a prefix.
            const bool whole = prefix.size() == 1;
            const auto truth = rowsOf(std::string("\"") + (*words)[0].prefix + (whole ? "\"" : "\"*"));
            for (const size_t expansion : {size_t(2), size_t(4), size_t(64)}) {
                for (const size_t phrases : {size_t(3), size_t(8), size_t(40), size_t(1000)}) {
                    auto expr = matchExpression(db->get(), *words, expansion, phrases);
                    QVERIFY(expr);
                    QVERIFY2(rowsOf(*expr) == truth, qPrintable(QString::fromStdString(prefix + " → " + *expr)));
                    // Split at characters, not bytes: every phrase is valid UTF-8.
                    QCOMPARE(QString::fromUtf8(expr->c_str()).toStdString(), *expr);
                    // Split, with room for it: the prefix's own term is spelled out, not a prefix
                    // query, and so is a longer term that begins others (`zaps` under `zap`).
                    if (prefix == "gm" && expansion == 4 && phrases == 1000) {
                        QVERIFY2(expr->find("\"gm\" OR") != std::string::npos && expr->find("\"gm\"*") == std::string::npos,
                                 expr->c_str());
                        ++split;
                    }
                    if (prefix == "zap" && expansion == 4 && phrases == 1000) {
                        QVERIFY2(expr->find("\"zap\" OR") != std::string::npos &&
                                     expr->find("\"zaps\" OR") != std::string::npos &&
                                     expr->find("\"zaps\"*") == std::string::npos,
                                 expr->c_str());
                        ++split;
                    }
                    if (phrases == 3 && expansion == 2 && prefix == "gm") {
                        QCOMPARE(*expr, std::string("(\"gm\"*)"));  // past the budget: FTS5's prefix query
                        ++split;
                    }
                }
            }
        }
        QCOMPARE(split, 3);
        // Each word of a search has its own budget: the second is split as the first is.
        auto words = parseSearch(db->get(), "gm zap");
        QVERIFY(words);
        auto expr = matchExpression(db->get(), *words, 4, 60);
        QVERIFY(expr);
        QVERIFY2(expr->find("\"gm\" OR") != std::string::npos && expr->find("\"zap\" OR") != std::string::npos,
                 expr->c_str());
        std::set<int64_t> both;
        const auto gm = rowsOf("\"gm\"*"), zap = rowsOf("\"zap\"*");
        std::set_intersection(gm.begin(), gm.end(), zap.begin(), zap.end(), std::inserter(both, both.end()));
        QVERIFY(!both.empty());
        QVERIFY(rowsOf(*expr) == both);
    }

    void splitsGoDownToFrequentTerms() {
        // A full-text writer records the terms it counts often (decision 0037), and a split goes
        // down towards them: `bitcoin` under `bi`, `bit`, `bitc`, none of which is a term, is
        // spelled out (streamed), not gathered by a prefix query. The rows never change.
        const auto path = fresh().string() + "-fts.sqlite";
        QVERIFY(createFtsFile(path));
        {
            auto w = FtsBulkWriter::open(path, 16, 50);
            QVERIFY(w);
            std::mt19937 rng(11);
            const std::string alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
            for (int64_t rk = 1; rk <= 400; ++rk) {
                std::string text = rk % 2 ? "nostr" : "bitcoin";  // 200 of each
                if (rk % 5 == 0) text += " bitcoins";             // 80
                if (rk % 20 == 0) text += " bitch";               // 20: not frequent
                const char* stems[] = {"bi", "bit", "bitc", "bitco"};
                std::string rare = stems[rng() % 4];
                for (int c = 0, n = 1 + int(rng() % 3); c < n; ++c) rare += alnum[rng() % alnum.size()];
                QVERIFY(w->add(rk, text + ' ' + rare));
            }
            // Under `zz`: eight terms that begin ten others each (`zza` … `zzh`), then `zzzcoin`,
            // frequent, under `zzz` and `zzzc`, which are not terms.
            for (int i = 0; i < 100; ++i) {
                std::string text = "zzzcoin";
                if (i < 80) text += " zz" + std::string(1, char('a' + i / 10)) + char('0' + i % 10);
                if (i < 8) text += " zz" + std::string(1, char('a' + i));
                if (i == 90 || i == 91) text += " zzzc" + std::to_string(i - 89);
                QVERIFY(w->add(401 + i, text));
            }
            QVERIFY(w->commit(std::nullopt));
        }
        std::set<std::string> frequent;
        {
            auto db = Db::open(path, Db::Mode::ReadOnly);
            QVERIFY(db);
            auto st = db->prepare("SELECT term FROM vocab_frequent");
            QVERIFY(st);
            while (st->step() == SQLITE_ROW) frequent.emplace(st->blob(0));
        }
        QCOMPARE(frequent, (std::set<std::string>{"bitcoin", "bitcoins", "nostr", "zzzcoin"}));
        // The phrases of `expr` that are FTS5 prefix queries ("p"*).
        auto prefixQueries = [](const std::string& expr) {
            std::vector<std::string> out;
            for (size_t at = expr.find("\"*"); at != std::string::npos; at = expr.find("\"*", at + 1))
                out.push_back(expr.substr(expr.rfind('"', at - 1) + 1, at - expr.rfind('"', at - 1) - 1));
            return out;
        };
        auto check = [&](bool withTable) {
            auto db = Db::open(path, Db::Mode::ReadOnly);
            QVERIFY(db);
            QVERIFY(registerTokenizer(db->get()));
            auto rowsOf = [&](const std::string& expr) { return matchRows(*db, expr); };
            int gathered = 0;
            for (const std::string prefix : {"bi", "bit", "bitc", "bitco", "bitcoi", "bitcoin", "no", "zz"}) {
                auto words = parseSearch(db->get(), prefix);
                QVERIFY(words);
                const auto truth = rowsOf("\"" + prefix + "\"*");
                QVERIFY(!truth.empty() && !truth.count(-1));
                for (const size_t expansion : {size_t(2), size_t(4), size_t(64)}) {
                    for (const size_t phrases : {size_t(3), size_t(8), size_t(40), size_t(1000)}) {
                        auto expr = matchExpression(db->get(), *words, expansion, phrases);
                        QVERIFY(expr);
                        QVERIFY2(rowsOf(*expr) == truth, qPrintable(QString::fromStdString(prefix + " → " + *expr)));
                        if (expansion != 4 || phrases != 1000) continue;
                        // With room for it, no prefix query holds a frequent term.
                        bool holds = false;
                        for (const auto& p : prefixQueries(*expr))
                            for (const auto& t : frequent) holds = holds || t.compare(0, p.size(), p) == 0;
                        if (withTable) {
                            QVERIFY2(!holds, expr->c_str());
                            if (prefix.size() <= 4 && prefix.starts_with("bi"))
                                QVERIFY2(expr->find("\"bitcoin\" OR") != std::string::npos, expr->c_str());
                        }
                        gathered += holds;
                    }
                }
            }
            // The way to a frequent term goes first: within a budget that the terms `zza` … `zzh`
            // (each beginning ten) would spend, `zzzcoin` is spelled out.
            auto words = parseSearch(db->get(), "zz");
            QVERIFY(words);
            auto expr = matchExpression(db->get(), *words, 64, 24);
            QVERIFY(expr);
            QCOMPARE(rowsOf(*expr), rowsOf("\"zz\"*"));
            if (withTable) {
                const auto queries = prefixQueries(*expr);
                QVERIFY2(expr->find("\"zzzcoin\"") != std::string::npos &&
                             std::none_of(queries.begin(), queries.end(),
                                          [](const std::string& p) { return std::string_view("zzzcoin").starts_with(p); }),
                         expr->c_str());
            }
            // A file without the table (written before it) finds the same rows, at a prefix query's cost.
            if (!withTable) QVERIFY2(gathered >= 3, qPrintable(QString::number(gathered)));
        };
        check(true);
        {
            auto db = Db::open(path, Db::Mode::ReadWrite);
            QVERIFY(db);
            QVERIFY(db->exec("DROP TABLE vocab_frequent"));
        }
        check(false);
    }

    void pendingFullTextDocumentsAreWrittenAgain() {
        const auto dir = fresh();
        std::map<uint64_t, std::string> archive;  // frame offset → text
        auto frameText = [&](const archive::FrameRef& ref) -> Expected<std::string> { return archive.at(ref.offset); };
        IndexOptions opts;
        QVERIFY(opts.applyTuning("lanes=1"));
        std::filesystem::path hot, fts;
        std::vector<std::pair<int64_t, std::string>> lastDocs;
        {
            auto w = IndexWriter::open(dir, opts, nullptr, frameText);
            QVERIFY(w);
            for (uint64_t f = 0; f < 3; ++f) {
                // The last group spans two frames (3 + 2 events), as a commit group cut into frames does.
                const uint32_t split = f == 2 ? 3 : 5;
                std::vector<NewEvent> events;
                std::string text[2];
                for (uint32_t i = 0; i < 5; ++i) {
                    NewEvent ne = eventOf(uint32_t(f * 5 + i), 0, 1);
                    ne.event.content = (f == 2 ? "pendingword " : "oldword ") + std::to_string(i);
                    ne.frame = i < split ? 0 : 1;
                    ne.line = i < split ? i : i - split;
                    protocol::appendEventJson(text[ne.frame], ne.event);
                    text[ne.frame] += '\n';
                    events.push_back(ne);
                }
                std::vector<archive::AppendedFrame> frames(split < 5 ? 2 : 1);
                for (size_t k = 0; k < frames.size(); ++k) {
                    archive[16 + f * 100 + k * 50] = text[k];
                    frames[k].ref = {1, 16 + f * 100 + k * 50, 50};
                    frames[k].events = k == 0 ? split : 5 - split;
                }
                auto rks = (*w)->commit(frames, events, {});
                QVERIFY(rks);
                if (f == 2)
                    for (size_t i = 0; i < events.size(); ++i) lastDocs.emplace_back((*rks)[i], events[i].event.content);
            }
            hot = (*w)->index()->snapshot()->hot.front()->path;
            fts = (*w)->index()->ftsPath(0);
        }
        // A crash between the last batch's hot commit and its full-text commit: the documents are
        // missing and the full-text file's applied batch is one behind the hot file's.
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(fts.c_str(), &db), SQLITE_OK);
        QVERIFY(registerTokenizer(db));
        for (const auto& [rk, content] : lastDocs) {
            const std::string sql = "INSERT INTO fts(fts, rowid, content) VALUES ('delete', " + std::to_string(rk) + ", '" +
                                    content + "')";
            QCOMPARE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        }
        QCOMPARE(sqlite3_exec(db, "UPDATE meta SET value = value - 1 WHERE key = 'applied_batch'", nullptr, nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(db);
        {
            IndexOptions ro;
            ro.read_only = true;
            auto rd = IndexReader::open(*Index::open(dir, ro));
            protocol::Filter f;
            f.search = "pendingword";
            QCOMPARE(*(*rd)->count({f}), uint64_t(0));
        }
        auto w = IndexWriter::open(dir, opts, nullptr, frameText);
        QVERIFY(w);
        auto rd = IndexReader::open((*w)->index());
        protocol::Filter f;
        f.search = "pendingword";
        QCOMPARE(*(*rd)->count({f}), uint64_t(5));
        f.search = "oldword";
        QCOMPARE(*(*rd)->count({f}), uint64_t(10));
        (void)hot;
    }

    void bulkFullTextDocumentsWaitAndAreWrittenAgainAfterACrash() {
        // A bulk load's documents wait in the lane's buffer (here: batches of 8 or more, for up to
        // ten minutes) and go in with the next batches' in one full-text transaction. Until then
        // the hot file records every waiting batch's frames: a crash with three batches waiting
        // leaves all three to Index::repairFts, and nothing is written twice.
        const auto dir = fresh();
        std::map<uint64_t, std::string> archive;  // frame offset → text
        auto frameText = [&](const archive::FrameRef& ref) -> Expected<std::string> { return archive.at(ref.offset); };
        IndexOptions opts;
        QVERIFY(opts.applyTuning("lanes=1,fts_bulk_docs=8,fts_delay_ms=600000"));
        auto w = IndexWriter::open(dir, opts, nullptr, frameText);
        QVERIFY(w);
        auto search = [](const std::shared_ptr<Index>& idx, const char* word) {
            auto rd = IndexReader::open(idx);
            protocol::Filter f;
            f.search = word;
            auto n = (*rd)->count({f});
            return n ? *n : ~uint64_t(0);
        };
        uint32_t next = 0;
        auto commitFrames = [&](int frames, const char* word, size_t perFrame) {
            for (int k = 0; k < frames; ++k) {
                const uint64_t offset = 16 + uint64_t(archive.size()) * 1000;
                std::vector<NewEvent> events;
                std::string text;
                for (uint32_t i = 0; i < perFrame; ++i) {
                    NewEvent ne = eventOf(next++, 0, 1);
                    ne.event.content = std::string(word) + " " + std::to_string(i);
                    if (i == 3) ne.event.content.clear();  // no document: its row is in the range all the same
                    ne.frame = 0;
                    ne.line = i;
                    protocol::appendEventJson(text, ne.event);
                    text += '\n';
                    events.push_back(ne);
                }
                archive[offset] = text;
                archive::AppendedFrame frame;
                frame.ref = {1, offset, 1000};
                frame.events = uint32_t(perFrame);
                QVERIFY((*w)->commit(&frame, events, {}));
            }
        };
        commitFrames(2, "firstword", 12);  // bulk: waiting
        QCOMPARE(search((*w)->index(), "firstword"), uint64_t(0));
        QVERIFY((*w)->index()->commitFullText());
        QCOMPARE(search((*w)->index(), "firstword"), uint64_t(22));
        commitFrames(1, "liveword", 5);  // a small batch: written at once, with what waits
        QCOMPARE(search((*w)->index(), "liveword"), uint64_t(4));
        commitFrames(3, "pendingword", 12);
        QCOMPARE(search((*w)->index(), "pendingword"), uint64_t(0));
        // The crash: the files as they are on disk now (the lane is waiting for more batches).
        const auto copy = fresh();
        std::error_code ec;
        std::filesystem::create_directories(copy, ec);
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
            const auto to = copy / std::filesystem::relative(e.path(), dir);
            if (e.is_directory()) std::filesystem::create_directories(to, ec);
            else if (!e.path().string().ends_with("-shm")) std::filesystem::copy_file(e.path(), to, ec);
            QVERIFY2(!ec, ec.message().c_str());
        }
        w = IndexWriter::open(copy, opts, nullptr, frameText);  // the original closes: it writes its buffer
        QVERIFY(w);
        QCOMPARE(search((*w)->index(), "pendingword"), uint64_t(33));
        QCOMPARE(search((*w)->index(), "firstword"), uint64_t(22));
        QCOMPARE(search((*w)->index(), "liveword"), uint64_t(4));
        auto db = Db::open((*w)->index()->ftsPath(0), Db::Mode::ReadOnly);
        QVERIFY(db);
        QCOMPARE(*ftsDocumentCount(*db), uint64_t(22 + 4 + 33));  // nothing twice
        auto orig = IndexWriter::open(dir, opts, nullptr, frameText);
        QVERIFY(orig);
        QCOMPARE(search((*orig)->index(), "pendingword"), uint64_t(33));  // written when it closed
    }
};

QTEST_GUILESS_MAIN(TestIndexLsm)
#include "tst_index_lsm.moc"
