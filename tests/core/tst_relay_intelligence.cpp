// RelayIntelligence with the real pipeline, directory (owned by a RelayStateOwner on its own
// thread) and pool: relay URLs in stored events reach the directory; connection statistics
// become scores; the optimizer fills free slots with discovered relays (never above max_relays)
// and the prober probes candidates; directory pages are answered. The tests read the directory
// through a second connection to relays.sqlite. Relays are FakeRelays on 127.0.0.1 with an allow
// rule: nothing leaves this machine.
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "core/engine/relay_intelligence.h"
#include "core/engine/relay_rows.h"
#include "core/engine/store.h"
#include "core/engine/store_sink.h"
#include "core/net/address_policy.h"
#include "core/net/relay_pool.h"
#include "core/observe/metrics.h"
#include "core/relays/relay_state_owner.h"
#include "core/relays/relay_state_store.h"
#include "core/sync/backfill_slots.h"
#include "core/sync/relay_sync.h"
#include "tests/support/fake_relay.h"
#include "tests/support/store_rig.h"
#include "tests/support/signed_events.h"

using namespace archivist;
using archivist::testing::FakeRelay;

namespace {

struct Answers {
    std::mutex mutex;
    std::vector<std::pair<quint64, engine::DirectoryPage>> pages;
    void add(quint64 id, const engine::DirectoryPage& p) {
        std::lock_guard lock(mutex);
        pages.emplace_back(id, p);
    }
    std::optional<engine::DirectoryPage> find(quint64 id) {
        std::lock_guard lock(mutex);
        for (const auto& [i, p] : pages)
            if (i == id) return p;
        return std::nullopt;
    }
};

}  // namespace

bool known(relays::RelayStateStore& s, const std::string& url) {
    auto r = s.directory().find(url);
    return r && r->has_value();
}

// relays.sqlite owned by a RelayStateOwner (not started: the test starts it when its jobs are
// wired), and a second connection to read what it wrote.
struct OwnedState {
    std::unique_ptr<relays::RelayStateOwner> owner;
    std::unique_ptr<relays::RelayStateStore> reader;
    std::string error;
    bool open(const std::filesystem::path& file, observe::MetricsRegistry* metrics,
              const std::function<void(relays::RelayStateStore&)>& before = {}) {
        auto st = relays::RelayStateStore::open(file);
        if (!st) return fail(st.error().message);
        if (before) before(**st);
        owner = std::make_unique<relays::RelayStateOwner>(std::move(*st), metrics);
        auto rd = relays::RelayStateStore::open(file);
        if (!rd) return fail(rd.error().message);
        reader = std::move(*rd);
        return true;
    }
    relays::RelayRecord record(const std::string& url) {
        auto r = reader->directory().find(url);
        return r && r->has_value() ? **r : relays::RelayRecord{};
    }
    bool fail(std::string e) {
        error = std::move(e);
        return false;
    }
};

net::RelayUrl relayUrl(const std::string& text) {
    auto u = net::normalizeRelayUrl(text);
    if (!u) qFatal("bad test url %s", text.c_str());
    return *u;
}

class TestRelayIntelligence : public QObject {
    Q_OBJECT

private slots:
    void storedEventsFeedTheDirectory() {
        QTemporaryDir dir;
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(dir.path().toStdString(), {}, metrics);
        QVERIFY(store);
        OwnedState state;
        QVERIFY2(state.open((*store)->paths().relays, &metrics), state.error.c_str());
        engine::IntelligenceOptions io;
        io.auto_relays = false;
        io.first_cycle_ms = io.cycle_ms = 3600000;
        Answers answers;
        engine::RelayIntelligence intel(io, *state.owner, nullptr, nullptr, metrics,
                                        [&](quint64 id, const engine::DirectoryPage& p) { answers.add(id, p); });
        (*store)->setEventObserver([&](const protocol::Event& ev, ingest::SourceId) { intel.observeStoredEvent(ev); });
        state.owner->start();
        intel.start();
        (*store)->start();

        testing::EventSigner alice(1), bob(2);
        const auto relayList = alice.make(1700000000, 10002, "",
                                          {{"r", "wss://relay.one.example"},
                                           {"r", "wss://relay.two.example/", "write"},
                                           {"r", "ws://10.0.0.1:7777"},      // private address: junk
                                           {"r", "https://relay.one.example"}});  // not a websocket: junk
        const auto reply = bob.make(1700000001, 1, "hi", {{"e", std::string(64, 'a'), "wss://hint.example"}});
        auto src = (*store)->addSource("import:test");
        QVERIFY(src);
        ingest::RawBatch batch;
        batch.source = *src;
        batch.items.push_back({alice.json(relayList), 1});
        batch.items.push_back({bob.json(reply), 2});
        batch.items.push_back({alice.json(relayList), 3});  // duplicate: observed once
        QVERIFY((*store)->submit(std::move(batch)));
        QVERIFY((*store)->waitSettled(*src, 3, std::chrono::seconds(10)));

        // Flushed to the directory within the flush interval (2 s).
        QTRY_VERIFY_WITH_TIMEOUT(known(*state.reader, "wss://hint.example"), 10000);
        const auto one = state.record("wss://relay.one.example");
        QCOMPARE(one.source, std::string("nip65"));
        QCOMPARE(one.status, observe::RelayState::Candidate);
        QVERIFY(known(*state.reader, "wss://relay.two.example"));
        QCOMPARE(state.record("wss://hint.example").source, std::string("hint"));
        QCOMPARE(*state.reader->directory().count(), uint64_t(3));
        QVERIFY(metrics.total("archivist_discovery_rejected_total") >= 2);

        // A cycle publishes the discovery counts; a directory page lists the relays.
        intel.cycleNow();
        QTRY_VERIFY_WITH_TIMEOUT(intel.cyclesCompleted() >= 1, 10000);
        const auto view = intel.view();
        QCOMPARE(view.discovery.directory_size, quint64(3));
        QVERIFY(view.discovery.junk_rejected >= 2);
        QVERIFY(!view.optimizer_enabled);     // auto_relays off: scores only,
        QVERIFY(view.recent_swaps.isEmpty());  // no decisions shown that were never applied
        bool nip65 = false;
        for (const auto& [source, n] : view.discovery.by_source)
            if (source == "nip65") nip65 = n == 2;
        QVERIFY(nip65);
        engine::DirectoryRequest req;
        req.order = "url";
        const quint64 id = intel.requestDirectory(req);
        QTRY_VERIFY_WITH_TIMEOUT(answers.find(id).has_value(), 10000);
        const auto page = *answers.find(id);
        QVERIFY(page.ok);
        QCOMPARE(page.total_matching, quint64(3));
        QCOMPARE(page.rows.size(), 3);
        QCOMPARE(page.rows[0].url, QString("wss://hint.example"));
        intel.stop();
        state.owner->stop();
        QVERIFY((*store)->shutdown().ok());
    }

    void operatorActionsRunOnTheOwnerThreadAndReportFailures() {
        testing::StoreRig rig;
        QVERIFY2(rig.open(), rig.error.c_str());
        OwnedState state;
        QVERIFY2(state.open(rig.store->paths().relays, &rig.metrics), state.error.c_str());
        FakeRelay a, b;
        QVERIFY(a.start() && b.start());
        const std::string ua = a.url().toStdString(), ub = b.url().toStdString();
        net::PoolOptions po;
        po.threads = 1;
        po.max_relays = 1;
        net::RelayPool pool(po, *rig.sink, *state.owner, rig.policy);
        pool.start();
        engine::IntelligenceOptions io;
        io.auto_relays = false;
        io.first_cycle_ms = io.cycle_ms = 3600000;
        engine::RelayIntelligence intel(io, *state.owner, &pool, rig.policy, rig.metrics);
        std::mutex failedMutex;
        std::vector<std::pair<std::string, std::string>> failed;
        intel.setCommandFailed([&](const engine::RelayIntelligence::Command& c, const std::string& message) {
            std::lock_guard lock(failedMutex);
            failed.emplace_back(c.url.text, message);
        });
        state.owner->start();
        intel.start();
        using K = engine::RelayIntelligence::CommandKind;
        QVERIFY(intel.postCommand({K::Add, relayUrl(ua)}));
        QTRY_VERIFY_WITH_TIMEOUT(pool.contains(ua), 10000);
        QCOMPARE(state.record(ua).source, std::string("user"));
        QVERIFY(intel.postCommand({K::Pin, relayUrl(ua)}));
        QTRY_VERIFY_WITH_TIMEOUT(state.record(ua).pinned, 10000);
        QVERIFY(intel.postCommand({K::Block, relayUrl(ua)}));
        QTRY_VERIFY_WITH_TIMEOUT(state.record(ua).blocked, 10000);
        // The connection's own report of its state lands in the same vocabulary.
        QTRY_COMPARE_WITH_TIMEOUT(state.record(ua).status, observe::RelayState::Blocked, 10000);
        // The pool is full (max_relays 1): accepted, then reported as failed.
        QVERIFY(intel.postCommand({K::Add, relayUrl(ub)}));
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                std::lock_guard lock(failedMutex);
                return failed.size() == 1;
            }(),
            10000);
        QCOMPARE(failed[0].first, ub);
        QVERIFY2(failed[0].second.find("maximum") != std::string::npos, failed[0].second.c_str());
        QVERIFY(!pool.contains(ub));
        intel.stop();
        pool.stop(std::chrono::milliseconds(1000));
        state.owner->stop();

        // Bounded: an owner whose thread does not run takes kMaxJobs commands, then refuses.
        QTemporaryDir idleDir;
        observe::MetricsRegistry idleMetrics;
        OwnedState idle;
        QVERIFY2(idle.open(std::filesystem::path(idleDir.path().toStdString()) / "relays.sqlite", &idleMetrics),
                 idle.error.c_str());
        engine::RelayIntelligence idleIntel(io, *idle.owner, nullptr, rig.policy, idleMetrics);
        for (size_t i = 0; i < relays::RelayStateOwner::kMaxJobs; ++i)
            QVERIFY(idleIntel.postCommand({K::Connect, relayUrl(ua)}));
        QVERIFY(!idleIntel.postCommand({K::Connect, relayUrl(ua)}));
        const std::string text = idleMetrics.renderPrometheus();
        QVERIFY2(text.find("archivist_queue_depth{queue=\"relay_state_jobs\"} 1024") != std::string::npos, text.c_str());
    }

    void optimizerFillsFreeSlotsWithDiscoveredRelaysWithinTheCap() {
        testing::StoreRig rig;
        QVERIFY2(rig.open(), rig.error.c_str());

        // Four relays: one the operator names, three only known from discovery.
        std::vector<std::unique_ptr<FakeRelay>> fakes;
        for (int i = 0; i < 5; ++i) {
            fakes.push_back(std::make_unique<FakeRelay>());
            QVERIFY(fakes.back()->start());
            testing::EventSigner s(10 + i);
            for (int k = 0; k < 5; ++k) fakes.back()->addEvent(s.make(1700000000 + k, 1, "e" + std::to_string(k)));
        }
        // A fifth relay known only from a NIP-66 report that says it wants payment: probed, but not
        // connected before its probe (the report is a prefilter).
        relays::DiscoveredUrl paid{fakes[4]->url().toStdString(), "nip66"};
        paid.requires_payment = 1;
        paid.rtt_open_ms = 40;
        paid.reported_at = 1700000000;
        const std::string paidUrl = paid.url;
        OwnedState state;
        bool discovered = false;
        QVERIFY2(state.open(rig.store->paths().relays, &rig.metrics,
                            [&](relays::RelayStateStore& st) {
                                std::vector<relays::DiscoveredUrl> found;
                                for (int i = 1; i < 4; ++i) found.push_back({fakes[size_t(i)]->url().toStdString(), "nip65"});
                                auto three = st.directory().upsertDiscovered(found, 1000);
                                auto one = st.directory().upsertDiscovered({paid}, 1000);
                                discovered = three && *three == 3 && one && *one == 1;
                            }),
                 state.error.c_str());
        QVERIFY(discovered);

        constexpr size_t kMax = 3;
        net::PoolOptions po;
        po.threads = 1;
        po.max_relays = kMax;
        po.connection.backoff_base_ms = 50;
        net::RelayPool pool(po, *rig.sink, *state.owner, rig.policy);
        pool.start();
        sync::BackfillSlots backfillSlots(4);

        engine::IntelligenceOptions io;
        io.auto_relays = true;
        io.max_relays = kMax;
        io.first_cycle_ms = io.cycle_ms = 3600000;  // cycles only when asked
        relays::RelayStateOwner* owner = state.owner.get();
        io.make_driver = [owner, &backfillSlots](const std::string& url,
                                                 const sync::SyncResume& resume) -> std::unique_ptr<net::SessionDriver> {
            return std::make_unique<sync::RelaySync>(url, sync::SyncOptions{}, resume, *owner, backfillSlots);
        };
        engine::RelayIntelligence intel(io, *state.owner, &pool, rig.policy, rig.metrics);
        std::mutex infoMutex;
        std::map<quint64, std::string> infoDocs;
        intel.setRelayInfoAnswer([&](quint64 id, const std::string&, const std::string& doc) {
            std::lock_guard lock(infoMutex);
            infoDocs[id] = doc;
        });
        QVERIFY(intel.addStartupRelays({{relayUrl(fakes[0]->url().toStdString()), "user"}}));
        state.owner->start();
        intel.start();
        // The engine's tick: statuses every 100 ms; the pool's size is watched on every tick.
        size_t maxSeen = 0;
        QTimer tick;
        auto observe = [&] {
            const auto st = pool.statuses();
            maxSeen = std::max(maxSeen, st.size());
            std::vector<engine::RelayRow> rows;
            for (const auto& r : st) {  // as EngineImpl::tick: the pipeline's outcome per relay
                std::optional<ingest::SourceSnapshot> snap;
                if (auto id = rig.store->sources().find(r.url)) snap = rig.store->sources().snapshot(*id);
                rows.push_back(engine::relayRow(r, snap ? &*snap : nullptr));
            }
            intel.observeStatuses(std::move(rows), QDateTime::currentMSecsSinceEpoch());
        };
        QObject::connect(&tick, &QTimer::timeout, observe);
        tick.start(100);

        QTRY_VERIFY_WITH_TIMEOUT(pool.statuses().size() == 1 && pool.statuses()[0].state == observe::RelayState::Connected, 10000);
        intel.cycleNow();
        QTRY_VERIFY_WITH_TIMEOUT(intel.cyclesCompleted() >= 1, 10000);
        // Two free slots, three candidates: exactly two are added; the cap holds.
        QTRY_COMPARE_WITH_TIMEOUT(pool.size(), kMax, 10000);
        const auto view = intel.view();
        QVERIFY(!view.recent_swaps.isEmpty());
        int fills = 0;
        for (const auto& s : view.recent_swaps) {
            QVERIFY(!s.added.isEmpty());
            QVERIFY(!s.reason.isEmpty());
            ++fills;
        }
        QCOMPARE(fills, 2);
        for (const auto& st : pool.statuses()) QVERIFY2(st.url != paidUrl, "a relay reported as paid was connected unprobed");
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                auto st = pool.statuses();
                return std::all_of(st.begin(), st.end(), [](const auto& v) { return v.state == observe::RelayState::Connected; });
            }(),
            10000);
        // The operator's relay keeps its place (cli/config/user relays count as pinned).
        bool userKept = false;
        for (const auto& st : pool.statuses()) userKept = userKept || st.url == fakes[0]->url().toStdString();
        QVERIFY(userKept);
        // The candidates left out are probed, the reported-as-paid one included; the directory records it.
        QTRY_VERIFY_WITH_TIMEOUT(state.record(paidUrl).last_probe_ms > 0, 20000);
        const auto paidRec = state.record(paidUrl);
        QCOMPARE(paidRec.nip66_requires_payment, int8_t(1));
        QCOMPARE(paidRec.nip66_rtt_open_ms, int64_t(40));
        // The probe kept the relay's NIP-11 document; the console asks for it without waiting.
        const quint64 infoId = intel.requestRelayInfo(paidUrl);
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                std::lock_guard lock(infoMutex);
                return infoDocs.count(infoId) > 0;
            }(),
            10000);
        {
            std::lock_guard lock(infoMutex);
            QVERIFY2(infoDocs[infoId].find("supported_nips") != std::string::npos, infoDocs[infoId].c_str());
        }
        // Statistics from the connections reach the scores of the next cycle.
        QTRY_VERIFY_WITH_TIMEOUT(rig.metrics.total("archivist_events_stored_total") >= 15, 10000);
        observe();  // the tick that sees the last commit, before the cycle flushes the statistics
        intel.cycleNow();
        QTRY_VERIFY_WITH_TIMEOUT(intel.cyclesCompleted() >= 2, 10000);
        // Scoring shows the connection's own state for the relays in the pool at the cycle (all
        // connected then), as the Relays panel does; candidates show the directory's.
        int inPool = 0;
        for (const auto& r : intel.view().scored) {
            inPool += r.connected;
            QCOMPARE(r.status, r.connected ? observe::RelayState::Connected : observe::RelayState::Candidate);
        }
        QCOMPARE(inPool, int(kMax));
        const auto briefs = intel.briefs();
        QVERIFY(briefs.count(fakes[0]->url().toStdString()));
        QVERIFY(briefs.at(fakes[0]->url().toStdString()).score > 0);
        auto agg = state.reader->observations().aggregates({fakes[0]->url().toStdString()},
                                                          QDateTime::currentMSecsSinceEpoch(), 24);
        QVERIFY(agg && agg->size() == 1);
        QCOMPARE(agg->front().novel, uint64_t(5));
        QVERIFY(agg->front().received >= 5);
        QVERIFY(agg->front().uptime_24h > 0.99);  // one successful connect outcome
        // Never above the cap, at any tick.
        QVERIFY2(maxSeen <= kMax, qPrintable(QString::number(maxSeen)));

        tick.stop();
        intel.stop();
        pool.stop();
        state.owner->stop();
        QVERIFY(rig.store->shutdown().ok());
    }
};

QTEST_GUILESS_MAIN(TestRelayIntelligence)
#include "tst_relay_intelligence.moc"
