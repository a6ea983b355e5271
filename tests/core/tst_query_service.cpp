// The archive browser's query thread against a real store filled through engine::Store: keyset
// pages cover every event exactly once in order (also across equal timestamps), filters agree with
// protocol::matches (plus the relay restriction through sightings), stale requests are dropped,
// details carry JSON, tags, sightings and a verification result, and the request queue is bounded.
#include <QtTest>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "core/engine/engine_impl.h"
#include "core/engine/query_service.h"
#include "core/engine/store.h"
#include "core/observe/metrics.h"
#include "core/protocol/filter.h"
#include "core/protocol/hex.h"
#include "signed_events.h"

using namespace archivist;
using namespace std::chrono_literals;

namespace {

const char* kRelayA = "wss://a.example";
const char* kRelayB = "wss://b.example";
const std::string kRefId(64, 'c');

// Collects answers from the query thread; waitFor() blocks the test thread on a condition
// variable until the answer with that id arrives (or the timeout).
class Answers {
public:
    void add(engine::QueryAnswer&& a) {
        {
            std::lock_guard lock(m_mutex);
            m_all.push_back(std::move(a));
        }
        m_cv.notify_all();
    }
    std::optional<engine::QueryAnswer> waitFor(quint64 id, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(m_mutex);
        std::optional<engine::QueryAnswer> found;
        m_cv.wait_for(lock, timeout, [&] {
            for (const auto& a : m_all)
                if (a.id == id) {
                    found = a;
                    return true;
                }
            return false;
        });
        return found;
    }
    std::vector<quint64> ids() {
        std::lock_guard lock(m_mutex);
        std::vector<quint64> out;
        for (const auto& a : m_all) out.push_back(a.id);
        return out;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::vector<engine::QueryAnswer> m_all;
};

struct Stored {
    protocol::Event event;
    std::string json;
    std::set<std::string> relays;
};

bool newestFirst(const Stored& a, const Stored& b) {
    if (a.event.created_at != b.event.created_at) return a.event.created_at > b.event.created_at;
    return a.event.id < b.event.id;
}

}  // namespace

class TestQueryService : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::filesystem::path m_index, m_archive;
    std::vector<Stored> m_events;  // newest first
    testing::EventSigner m_alice{11}, m_bob{12};

    engine::QueryServiceOptions options() const {
        engine::QueryServiceOptions o;
        o.index = m_index;
        o.archive = m_archive;
        o.frame_cache_bytes = 1 << 20;
        return o;
    }

    // Walks every page of `query` and returns the ids in answer order.
    std::vector<std::string> walk(engine::QueryService& qs, Answers& answers, const engine::QueryFilter& query,
                                  int page_size, int* pages = nullptr) {
        std::vector<std::string> ids;
        engine::PageRequest req;
        req.query = query;
        req.page_size = page_size;
        for (int guard = 0; guard < 10000; ++guard) {
            const auto a = answers.waitFor(qs.requestPage(req));
            if (!a || !a->page.ok) {
                qWarning("page failed: %s", a ? qPrintable(a->page.error) : "timeout");
                return {};
            }
            if (pages) ++*pages;
            for (const auto& r : a->page.rows) ids.push_back(r.id_hex.toStdString());
            if (a->page.at_end) return ids;
            if (a->page.rows.size() != page_size) {
                qWarning("short page not marked at_end");
                return {};
            }
            req.after = engine::PageCursor{a->page.rows.back().created_at, a->page.rows.back().id_hex};
        }
        return ids;
    }

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        const std::filesystem::path path = m_dir.path().toStdString();
        observe::MetricsRegistry metrics;
        engine::StoreOptions so;
        so.verify_threads = 2;
        so.writer.group_ms = 20;
        auto store = engine::Store::open(path, so, metrics);
        QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());
        (*store)->start();
        const auto a = *(*store)->addSource(kRelayA);
        const auto b = *(*store)->addSource(kRelayB);
        ingest::RawBatch ba, bb;
        ba.source = a;
        bb.source = b;
        const char* words[] = {"Apple pie tonight", "banana bread", "cherry on top", "apple and BANANA"};
        for (int i = 0; i < 240; ++i) {
            const auto& signer = i % 3 == 0 ? m_bob : m_alice;
            std::vector<std::vector<std::string>> tags;
            if (i % 4 == 0) tags.push_back({"t", "nostr"});
            if (i % 5 == 0) tags.push_back({"e", kRefId, "wss://hint.example"});
            // Eight events per second: pages must split runs of equal created_at correctly.
            Stored s;
            s.event = signer.make(1700000000 + i / 8, uint16_t(i % 7 == 0 ? 7 : 1),
                                  words[i % 4] + std::string(" #") + std::to_string(i), tags);
            s.json = signer.json(s.event);
            if (i % 2 == 0 || i % 3 != 0) {
                ba.items.push_back(ingest::RawItem{s.json, 1700000000000 + i});
                s.relays.insert(kRelayA);
            }
            if (i % 3 == 0 || i % 5 == 0) {
                bb.items.push_back(ingest::RawItem{s.json, 1700000000500 + i});
                s.relays.insert(kRelayB);
            }
            m_events.push_back(std::move(s));
        }
        const size_t na = ba.items.size(), nb = bb.items.size();
        QVERIFY((*store)->submit(std::move(ba)));
        QVERIFY((*store)->submit(std::move(bb)));
        QVERIFY((*store)->waitSettled(a, na, 20s));
        QVERIFY((*store)->waitSettled(b, nb, 20s));
        QCOMPARE((*store)->sources().snapshot(a).stored + (*store)->sources().snapshot(b).stored, uint64_t(240));
        m_index = (*store)->paths().index;
        m_archive = (*store)->paths().archive;
        QVERIFY((*store)->shutdown().ok());
        std::sort(m_events.begin(), m_events.end(), newestFirst);
    }

    void pagingReturnsEveryEventOnceInOrder_data() {
        QTest::addColumn<int>("pageSize");
        QTest::newRow("1") << 1;
        QTest::newRow("3 (splits every second)") << 3;
        QTest::newRow("8 (one second per page)") << 8;
        QTest::newRow("50") << 50;
        QTest::newRow("240 (exactly all)") << 240;
        QTest::newRow("1000") << 1000;
    }
    void pagingReturnsEveryEventOnceInOrder() {
        QFETCH(int, pageSize);
        Answers answers;
        engine::QueryService qs(options(), [&](engine::QueryAnswer&& a) { answers.add(std::move(a)); });
        qs.start();
        int pages = 0;
        const auto ids = walk(qs, answers, {}, pageSize, &pages);
        std::vector<std::string> expected;
        for (const auto& s : m_events) expected.push_back(protocol::toHex(s.event.id));
        QCOMPARE(ids.size(), expected.size());
        QVERIFY(ids == expected);
        QCOMPARE(pages, 240 / pageSize + 1);  // the last page is short (possibly empty)
    }

    // Sorted by kind or author: the newest matching event's month (named in the answer), keyset
    // pages whose cursor carries the key, rows of one value newest first; with a relay too.
    void sortedPagesByKindAndAuthor_data() {
        QTest::addColumn<int>("sort");
        QTest::addColumn<bool>("descending");
        QTest::addColumn<QString>("relay");
        for (int sort : {int(engine::PageSort::Kind), int(engine::PageSort::Author)})
            for (bool desc : {false, true})
                for (const char* relay : {"", kRelayB})
                    QTest::addRow("%s %s %s", sort == int(engine::PageSort::Kind) ? "kind" : "author", desc ? "desc" : "asc",
                                  *relay ? "relay b" : "all")
                        << sort << desc << QString(relay);
    }
    void sortedPagesByKindAndAuthor() {
        QFETCH(int, sort);
        QFETCH(bool, descending);
        QFETCH(QString, relay);
        Answers answers;
        engine::QueryService qs(options(), [&](engine::QueryAnswer&& a) { answers.add(std::move(a)); });
        qs.start();
        const bool byKind = engine::PageSort(sort) == engine::PageSort::Kind;
        std::vector<Stored> want;
        for (const auto& s : m_events)
            if (relay.isEmpty() || s.relays.count(relay.toStdString())) want.push_back(s);
        std::stable_sort(want.begin(), want.end(), [&](const Stored& a, const Stored& b) {
            if (byKind ? a.event.kind != b.event.kind : a.event.pubkey != b.event.pubkey) {
                const bool less = byKind ? a.event.kind < b.event.kind : a.event.pubkey < b.event.pubkey;
                return descending ? !less : less;
            }
            return newestFirst(a, b);
        });
        engine::PageRequest req;
        req.query.relay = relay;
        req.page_size = 7;
        req.sort = engine::PageSort(sort);
        req.descending = descending;
        std::vector<std::string> ids;
        for (int guard = 0; guard < 100; ++guard) {
            const auto a = answers.waitFor(qs.requestPage(req));
            QVERIFY(a && a->page.ok);
            QCOMPARE(a->page.window_since, qint64(1698796800));  // 2023-11, the month of every event
            QCOMPARE(a->page.window_until, qint64(1701388799));
            for (const auto& r : a->page.rows) ids.push_back(r.id_hex.toStdString());
            if (a->page.at_end) break;
            const auto& last = a->page.rows.back();
            req.after = engine::PageCursor{last.created_at, last.id_hex, last.kind, last.pubkey_hex};
            req.month_of = a->page.window_until;
        }
        QCOMPARE(ids.size(), want.size());
        for (size_t i = 0; i < ids.size(); ++i) QCOMPARE(ids[i], protocol::toHex(want[i].event.id));
    }

    void rowsCarryTheEventsFields() {
        Answers answers;
        engine::QueryService qs(options(), [&](engine::QueryAnswer&& a) { answers.add(std::move(a)); });
        qs.start();
        engine::PageRequest req;
        req.page_size = 1;
        const auto a = answers.waitFor(qs.requestPage(req));
        QVERIFY(a && a->page.ok);
        QCOMPARE(int(a->page.rows.size()), 1);
        const auto& r = a->page.rows.front();
        const auto& e = m_events.front().event;
        QCOMPARE(r.pubkey_hex.toStdString(), protocol::toHex(e.pubkey));
        QCOMPARE(r.kind, int(e.kind));
        QCOMPARE(r.created_at, e.created_at);
        QCOMPARE(r.content_preview.toStdString(), e.content);
        QVERIFY(r.first_seen_ms >= 1700000000000);
    }

    void filtersAgreeWithMatches_data() {
        QTest::addColumn<engine::QueryFilter>("query");
        auto q = [](auto fill) {
            engine::QueryFilter f;
            fill(f);
            return f;
        };
        QTest::newRow("kinds 7") << q([](auto& f) { f.filter.kinds = {7}; });
        QTest::newRow("kinds 1,7") << q([](auto& f) { f.filter.kinds = {1, 7}; });
        QTest::newRow("author bob") << q([this](auto& f) { f.filter.authors = {m_bob.pubkey()}; });
        QTest::newRow("#t nostr") << q([](auto& f) { f.filter.tags['t'] = {"nostr"}; });
        QTest::newRow("#e ref and #t") << q([](auto& f) {
            f.filter.tags['e'] = {kRefId};
            f.filter.tags['t'] = {"nostr"};
        });
        QTest::newRow("since/until inclusive") << q([](auto& f) {
            f.filter.since = 1700000003;
            f.filter.until = 1700000010;
        });
        QTest::newRow("search banana") << q([](auto& f) { f.filter.search = "banana"; });
        QTest::newRow("search case-insensitive two words") << q([](auto& f) { f.filter.search = "APPLE AND"; });
        QTest::newRow("relay b") << q([](auto& f) { f.relay = kRelayB; });
        QTest::newRow("relay a + kind 7 + alice") << q([this](auto& f) {
            f.relay = kRelayA;
            f.filter.kinds = {7};
            f.filter.authors = {m_alice.pubkey()};
        });
        QTest::newRow("unknown relay") << q([](auto& f) { f.relay = "wss://nobody.example"; });
        QTest::newRow("nothing matches") << q([](auto& f) { f.filter.kinds = {30023}; });
    }
    void filtersAgreeWithMatches() {
        QFETCH(engine::QueryFilter, query);
        std::vector<std::string> expected;
        for (const auto& s : m_events) {
            if (!protocol::matches(query.filter, s.event)) continue;
            if (!query.relay.isEmpty() && !s.relays.count(query.relay.toStdString())) continue;
            expected.push_back(protocol::toHex(s.event.id));
        }
        Answers answers;
        engine::QueryService qs(options(), [&](engine::QueryAnswer&& a) { answers.add(std::move(a)); });
        qs.start();
        const auto ids = walk(qs, answers, query, 17);
        QCOMPARE(ids.size(), expected.size());
        QVERIFY(ids == expected);
        const auto c = answers.waitFor(qs.requestCount(query));
        QVERIFY(c && c->count.ok);
        QCOMPARE(c->count.count, quint64(expected.size()));
    }

    void staleRequestsAreDropped() {
        Answers answers;
        engine::QueryService qs(options(), [&](engine::QueryAnswer&& a) { answers.add(std::move(a)); });
        // Queued before the thread runs: each new page request replaces the previous one.
        std::vector<quint64> ids;
        for (int k = 0; k < 20; ++k) {
            engine::PageRequest req;
            req.query.filter.kinds = {uint16_t(k == 19 ? 7 : 1)};
            ids.push_back(qs.requestPage(req));
        }
        const quint64 count = qs.requestCount({});  // another channel: unaffected
        QCOMPARE(qs.pendingDepth(), size_t(2));
        qs.start();
        const auto last = answers.waitFor(ids.back());
        QVERIFY(last && last->page.ok);
        for (const auto& r : last->page.rows) QCOMPARE(r.kind, 7);
        QVERIFY(answers.waitFor(count));
        QCOMPARE(qs.superseded(), uint64_t(19));
        // While running: requests race the worker. The newest is answered; every older one is
        // either taken by the worker before the next was made (and answered) or superseded (and
        // never answered) — exactly one of the two. Which of them is up to the scheduler.
        std::vector<quint64> burst;
        for (int k = 0; k < 30; ++k) burst.push_back(qs.requestPage({}));
        QVERIFY(answers.waitFor(burst.back()));
        const auto got = answers.ids();
        uint64_t answered = 0;
        for (quint64 id : burst) answered += std::count(got.begin(), got.end(), id);
        QCOMPARE(answered + (qs.superseded() - 19), uint64_t(burst.size()));
        for (size_t k = 0; k + 1 < ids.size(); ++k)
            QVERIFY(std::find(got.begin(), got.end(), ids[k]) == got.end());
    }

    void pagesAndDetailsGoBeforeCounts() {
        Answers answers;
        engine::QueryService qs(options(), [&](engine::QueryAnswer&& a) { answers.add(std::move(a)); });
        const quint64 count = qs.requestCount({});
        const quint64 page = qs.requestPage({});
        const quint64 detail = qs.requestDetail(QString::fromStdString(protocol::toHex(m_events[5].event.id)));
        qs.start();
        const auto c = answers.waitFor(count);
        QVERIFY(c && c->count.ok);
        QCOMPARE(c->count.count, quint64(m_events.size()));
        QCOMPARE(answers.ids(), (std::vector<quint64>{page, detail, count}));
    }

    void statisticsOnTheQueryThread() {
        Answers answers;
        engine::QueryService qs(options(), [&](engine::QueryAnswer&& a) { answers.add(std::move(a)); });
        const quint64 stats = qs.requestStatistics({});
        const quint64 page = qs.requestPage({});
        qs.start();
        const auto st = answers.waitFor(stats);
        QVERIFY(st && st->statistics.ok);
        std::map<std::string, int64_t> kinds, relays;
        for (const auto& r : st->statistics.kind.rows) kinds[r.key] = *r.values[0];
        for (const auto& r : st->statistics.relay.rows) relays[r.key] = *r.values[0];
        std::map<std::string, int64_t> wantKinds, wantRelays;
        for (const auto& e : m_events) {
            ++wantKinds[std::to_string(e.event.kind)];
            for (const auto& r : e.relays) ++wantRelays[r];
        }
        QCOMPARE(kinds, wantKinds);
        QCOMPARE(relays, wantRelays);
    }

    void queueIsBounded() {
        auto o = options();
        o.max_pending = 2;
        Answers answers;
        engine::QueryService qs(o, [&](engine::QueryAnswer&& a) { answers.add(std::move(a)); });
        engine::PageRequest p1, p2, p3;
        p2.channel = "other";
        p3.channel = "third";
        qs.requestPage(p1);
        qs.requestPage(p2);
        const quint64 refused = qs.requestPage(p3);  // not started: the queue stays full
        const auto a = answers.waitFor(refused, 0ms);
        QVERIFY(a);
        QVERIFY(!a->page.ok);
        QVERIFY(!a->page.error.isEmpty());
        QCOMPARE(qs.refused(), uint64_t(1));
        QCOMPARE(qs.pendingDepth(), size_t(2));
    }

    void detailCarriesJsonTagsSightingsAndVerification() {
        // An event carried by both relays with both tags.
        const auto it = std::find_if(m_events.begin(), m_events.end(), [](const Stored& s) {
            return s.relays.size() == 2 && s.event.tags.size() == 2;
        });
        QVERIFY(it != m_events.end());
        Answers answers;
        engine::QueryService qs(options(), [&](engine::QueryAnswer&& a) { answers.add(std::move(a)); });
        qs.start();
        const auto a = answers.waitFor(qs.requestDetail(QString::fromStdString(protocol::toHex(it->event.id))));
        QVERIFY(a && a->detail.ok);
        const auto& d = a->detail;
        QVERIFY(d.found);
        QCOMPARE(d.json.toStdString(), it->json);
        QVERIFY(d.pretty_json.contains("\n"));
        QCOMPARE(int(d.tags.size()), 2);
        QCOMPARE(d.tags[1], QStringList({"e", QString::fromStdString(kRefId), "wss://hint.example"}));
        QCOMPARE(int(d.sightings.size()), 2);
        QStringList relays;
        for (const auto& s : d.sightings) relays << s.relay;
        relays.sort();
        QCOMPARE(relays, QStringList({kRelayA, kRelayB}));
        QVERIFY(d.signature_valid);
        QVERIFY(d.verification.startsWith("Valid"));

        const auto missing = answers.waitFor(qs.requestDetail(QString(64, '0')));
        QVERIFY(missing && missing->detail.ok && !missing->detail.found);
        const auto bad = answers.waitFor(qs.requestDetail("zz"));
        QVERIFY(bad && !bad->detail.ok);
    }

    // Last: opens the data directory with the whole engine (no network).
    void engineAnswersThroughQueuedSignalsAndExports() {
        observe::MetricsRegistry metrics;
        engine::EngineOptions eo;
        eo.network = false;
        eo.snapshot_interval_ms = 1000;
        auto opened = engine::EngineImpl::open(m_dir.path().toStdString(), eo, metrics);
        QVERIFY2(opened.ok(), opened.ok() ? "" : opened.error().message.c_str());
        auto& eng = **opened;
        std::vector<const Stored*> reactions;  // newest first
        for (const auto& s : m_events)
            if (s.event.kind == 7) reactions.push_back(&s);
        QVERIFY(reactions.size() > 10);

        QSignalSpy pages(&eng, &engine::Engine::pageReady);
        engine::PageRequest req;
        req.page_size = 10;
        req.query.filter.kinds = {7};
        const quint64 id = eng.requestPage(req);
        QVERIFY(id != 0);
        QTRY_COMPARE(pages.count(), 1);
        QCOMPARE(pages[0][0].toULongLong(), id);
        const auto page = pages[0][1].value<engine::PageResult>();
        QVERIFY(page.ok);
        QCOMPARE(int(page.rows.size()), 10);
        for (int i = 0; i < 10; ++i)
            QCOMPARE(page.rows[i].id_hex.toStdString(), protocol::toHex(reactions[size_t(i)]->event.id));

        QSignalSpy counts(&eng, &engine::Engine::countReady);
        eng.requestCount(req.query);
        QTRY_COMPARE(counts.count(), 1);
        QCOMPARE(counts[0][1].value<engine::CountResult>().count, quint64(reactions.size()));

        // Coverage: the months the engine's background job keeps, answered at once (empty until
        // the month has been computed), each with its as-of time.
        QSignalSpy coverage(&eng, &engine::Engine::coverageReady);
        engine::CoverageReport cov;
        for (int i = 0; i < 200 && cov.by_month.empty(); ++i) {
            const quint64 cid = eng.requestCoverage({});
            QVERIFY(cid != 0);
            QTRY_VERIFY(!coverage.isEmpty() && coverage.last()[0].toULongLong() == cid);
            cov = coverage.last()[1].value<engine::CoverageResult>().report;
            if (cov.by_month.empty()) QTest::qWait(50);
        }
        QCOMPARE(int(cov.by_month.size()), 1);
        QCOMPARE(cov.by_month[0].month, std::string("2023-11"));
        QVERIFY(cov.by_month[0].as_of_ms > 0);
        QCOMPARE(cov.referenced, uint64_t(1));  // kRefId, referenced by every 5th event
        QCOMPARE(cov.held, uint64_t(0));
        QCOMPARE(cov.referencing_events, uint64_t(48));

        QSignalSpy details(&eng, &engine::Engine::detailReady);
        eng.requestDetail(page.rows[0].id_hex);
        QTRY_COMPARE(details.count(), 1);
        QCOMPARE(details[0][1].value<engine::EventDetail>().json.toStdString(), reactions[0]->json);

        // Export: the filter's events oldest first, exactly the stored lines, into the file.
        QSignalSpy finished(&eng, &engine::Engine::jobFinished);
        const QString path = m_dir.filePath("reactions.jsonl");
        eng.startExport(req.query, path);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
        QCOMPARE(finished[0][0].toString(), QString("export"));
        QVERIFY2(finished[0][1].toBool(), qPrintable(finished[0][2].toString()));
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        auto oldest = reactions;
        std::sort(oldest.begin(), oldest.end(), [](const Stored* a, const Stored* b) {
            if (a->event.created_at != b->event.created_at) return a->event.created_at < b->event.created_at;
            return a->event.id < b->event.id;
        });
        std::string expected;
        for (const Stored* s : oldest) expected += s->json + "\n";
        QCOMPARE(f.readAll().toStdString(), expected);
        QVERIFY(!QFile::exists(path + ".part"));

        // By relay: exactly the kind-7 events relay B carried, oldest first.
        engine::QueryFilter byRelay = req.query;
        byRelay.relay = kRelayB;
        const QString relayPath = m_dir.filePath("by-relay.jsonl");
        eng.startExport(byRelay, relayPath);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 20000);
        QVERIFY2(finished[1][1].toBool(), qPrintable(finished[1][2].toString()));
        std::string expectedB;
        size_t carriedByB = 0;
        for (const Stored* s : oldest)
            if (s->relays.count(kRelayB)) {
                expectedB += s->json + "\n";
                ++carriedByB;
            }
        QVERIFY(carriedByB > 0 && carriedByB < oldest.size());
        QFile fb(relayPath);
        QVERIFY(fb.open(QIODevice::ReadOnly));
        QCOMPARE(fb.readAll().toStdString(), expectedB);
        QVERIFY(eng.shutdown().ok());
        QCOMPARE(eng.requestPage(req), quint64(0));  // after shutdown: no queries
    }
};

QTEST_GUILESS_MAIN(TestQueryService)
#include "tst_query_service.moc"
