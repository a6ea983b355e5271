// RelayIntelligence with the real pipeline, directory and pool: relay URLs in stored events reach
// the directory; connection statistics become scores; the optimizer fills free slots with
// discovered relays (never above max_relays) and the prober probes candidates; directory pages are
// answered. Relays are FakeRelays on 127.0.0.1 with an allow rule: nothing leaves this machine.
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "core/engine/relay_intelligence.h"
#include "core/engine/store.h"
#include "core/engine/store_sink.h"
#include "core/net/address_policy.h"
#include "core/net/relay_pool.h"
#include "core/observe/metrics.h"
#include "core/relays/relay_state_store.h"
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
    auto r = s.find(url);
    return r && r->has_value();
}

class TestRelayIntelligence : public QObject {
    Q_OBJECT

private slots:
    void storedEventsFeedTheDirectory() {
        QTemporaryDir dir;
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(dir.path().toStdString(), {}, metrics);
        QVERIFY(store);
        auto state = relays::RelayStateStore::open((*store)->paths().relays);
        QVERIFY(state);
        engine::IntelligenceOptions io;
        io.auto_relays = false;
        io.first_cycle_ms = io.cycle_ms = 3600000;
        Answers answers;
        engine::RelayIntelligence intel(io, **state, nullptr, nullptr, metrics,
                                        [&](quint64 id, const engine::DirectoryPage& p) { answers.add(id, p); });
        (*store)->setEventObserver([&](const protocol::Event& ev, ingest::SourceId) { intel.observeStoredEvent(ev); });
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
        QTRY_VERIFY_WITH_TIMEOUT(known(**state, "wss://hint.example"), 10000);
        auto one = (*state)->find("wss://relay.one.example");
        QVERIFY(one && *one);
        QCOMPARE((*one)->source, std::string("nip65"));
        QCOMPARE((*one)->status, std::string("candidate"));
        QVERIFY(known(**state, "wss://relay.two.example"));
        QCOMPARE((*(*state)->find("wss://hint.example"))->source, std::string("hint"));
        QCOMPARE(*(*state)->count(), uint64_t(3));
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
        QVERIFY((*store)->shutdown().ok());
    }

    void operatorActionsRunOnTheIntelThreadAndReportFailures() {
        testing::StoreRig rig;
        QVERIFY2(rig.open(), rig.error.c_str());
        FakeRelay a, b;
        QVERIFY(a.start() && b.start());
        const std::string ua = a.url().toStdString(), ub = b.url().toStdString();
        net::PoolOptions po;
        po.threads = 1;
        po.max_relays = 1;
        net::RelayPool pool(po, *rig.sink, rig.state.get(), rig.policy);
        pool.start();
        engine::IntelligenceOptions io;
        io.auto_relays = false;
        io.first_cycle_ms = io.cycle_ms = 3600000;
        engine::RelayIntelligence intel(io, *rig.state, &pool, rig.policy, rig.metrics, {});
        std::mutex failedMutex;
        std::vector<std::pair<std::string, std::string>> failed;
        intel.setCommandFailed([&](const engine::RelayIntelligence::Command& c, const std::string& message) {
            std::lock_guard lock(failedMutex);
            failed.emplace_back(c.url, message);
        });
        intel.start();
        using K = engine::RelayIntelligence::CommandKind;
        const auto record = [&](const std::string& url) {
            auto r = rig.state->find(url);
            return r && r->has_value() ? **r : relays::RelayRecord{};
        };
        QVERIFY(intel.postCommand({K::Add, ua}));
        QTRY_VERIFY_WITH_TIMEOUT(pool.contains(ua), 10000);
        QCOMPARE(record(ua).source, std::string("user"));
        QVERIFY(intel.postCommand({K::Pin, ua}));
        QTRY_VERIFY_WITH_TIMEOUT(record(ua).pinned, 10000);
        QVERIFY(intel.postCommand({K::Block, ua}));
        QTRY_VERIFY_WITH_TIMEOUT(record(ua).blocked, 10000);
        // The pool is full (max_relays 1): accepted, then reported as failed.
        QVERIFY(intel.postCommand({K::Add, ub}));
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

        // Bounded: a thread that does not run takes kCommandCapacity commands, then refuses.
        observe::MetricsRegistry idleMetrics;
        engine::RelayIntelligence idle(io, *rig.state, nullptr, rig.policy, idleMetrics, {});
        for (size_t i = 0; i < engine::RelayIntelligence::kCommandCapacity; ++i)
            QVERIFY(idle.postCommand({K::Connect, ua}));
        QVERIFY(!idle.postCommand({K::Connect, ua}));
        const std::string text = idleMetrics.renderPrometheus();
        QVERIFY2(text.find("archivist_queue_depth{queue=\"relay_commands\"} 1024") != std::string::npos, text.c_str());
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
        std::vector<relays::DiscoveredUrl> found;
        for (int i = 1; i < 4; ++i) found.push_back({fakes[size_t(i)]->url().toStdString(), "nip65"});
        QCOMPARE(*rig.state->upsertDiscovered(found, 1000), uint64_t(3));
        // A fifth relay known only from a NIP-66 report that says it wants payment: probed, but not
        // connected before its probe (the report is a prefilter).
        relays::DiscoveredUrl paid{fakes[4]->url().toStdString(), "nip66"};
        paid.requires_payment = 1;
        paid.rtt_open_ms = 40;
        paid.reported_at = 1700000000;
        QCOMPARE(*rig.state->upsertDiscovered({paid}, 1000), uint64_t(1));
        const std::string paidUrl = paid.url;

        constexpr size_t kMax = 3;
        net::PoolOptions po;
        po.threads = 1;
        po.max_relays = kMax;
        po.connection.backoff_base_ms = 50;
        net::RelayPool pool(po, *rig.sink, rig.state.get(), rig.policy);
        pool.start();
        QVERIFY(pool.addRelay(fakes[0]->url().toStdString(), "user"));

        engine::IntelligenceOptions io;
        io.auto_relays = true;
        io.max_relays = kMax;
        io.first_cycle_ms = io.cycle_ms = 3600000;  // cycles only when asked
        engine::RelayIntelligence intel(io, *rig.state, &pool, rig.policy, rig.metrics, {});
        std::mutex infoMutex;
        std::map<quint64, std::string> infoDocs;
        intel.setRelayInfoAnswer([&](quint64 id, const std::string&, const std::string& doc) {
            std::lock_guard lock(infoMutex);
            infoDocs[id] = doc;
        });
        intel.start();
        // The engine's tick: statuses every 100 ms; the pool's size is watched on every tick.
        size_t maxSeen = 0;
        QTimer tick;
        auto observe = [&] {
            auto st = pool.statuses();
            maxSeen = std::max(maxSeen, st.size());
            for (auto& r : st)  // as EngineImpl::tick: the pipeline's outcome per relay
                if (auto id = rig.store->sources().find(r.url)) {
                    const auto snap = rig.store->sources().snapshot(*id);
                    r.stored = snap.stored;
                    r.duplicate = snap.duplicate;
                    r.invalid = snap.invalid;
                    r.invalid_by_reason = snap.invalid_by_reason;
                }
            intel.observeStatuses(st, QDateTime::currentMSecsSinceEpoch());
        };
        QObject::connect(&tick, &QTimer::timeout, observe);
        tick.start(100);

        QTRY_VERIFY_WITH_TIMEOUT(pool.statuses().size() == 1 && pool.statuses()[0].state == net::RelayState::Open, 10000);
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
                return std::all_of(st.begin(), st.end(), [](const auto& v) { return v.state == net::RelayState::Open; });
            }(),
            10000);
        // The operator's relay keeps its place (cli/config/user relays count as pinned).
        bool userKept = false;
        for (const auto& st : pool.statuses()) userKept = userKept || st.url == fakes[0]->url().toStdString();
        QVERIFY(userKept);
        // The candidates left out are probed, the reported-as-paid one included; the directory records it.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                auto rec = rig.state->find(paidUrl);
                return rec && *rec && (*rec)->last_probe_ms > 0;
            }(),
            20000);
        auto paidRec = rig.state->find(paidUrl);
        QCOMPARE((*paidRec)->nip66_requires_payment, int8_t(1));
        QCOMPARE((*paidRec)->nip66_rtt_open_ms, int64_t(40));
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
        const auto briefs = intel.briefs();
        QVERIFY(briefs.count(fakes[0]->url().toStdString()));
        QVERIFY(briefs.at(fakes[0]->url().toStdString()).score > 0);
        auto agg = rig.state->aggregates({fakes[0]->url().toStdString()}, QDateTime::currentMSecsSinceEpoch(), 24);
        QVERIFY(agg && agg->size() == 1);
        QCOMPARE(agg->front().novel, uint64_t(5));
        QVERIFY(agg->front().received >= 5);
        QVERIFY(agg->front().uptime_24h > 0.99);  // one successful connect outcome
        // Never above the cap, at any tick.
        QVERIFY2(maxSeen <= kMax, qPrintable(QString::number(maxSeen)));

        tick.stop();
        intel.stop();
        pool.stop();
        QVERIFY(rig.store->shutdown().ok());
    }
};

QTEST_GUILESS_MAIN(TestRelayIntelligence)
#include "tst_relay_intelligence.moc"
