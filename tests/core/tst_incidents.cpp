// Incidents: the log de-duplicates, stays bounded (evicting cleared, then acknowledged rows
// first), acknowledges and clears, and exports open counts; each rule fires at its threshold
// and not one step below.
#include <QtTest>

#include "core/engine/incident_rules.h"
#include "core/observe/incidents.h"
#include "core/observe/metrics.h"

using namespace archivist;
using observe::IncidentKind;
using observe::IncidentSeverity;


namespace {

constexpr qint64 kT0 = 1700000000000;

net::RelayStatusView relay(const std::string& url) {
    net::RelayStatusView r;
    r.url = url;
    r.state = net::RelayState::Open;
    return r;
}

engine::EngineSnapshot base(qint64 at_ms) {
    engine::EngineSnapshot s;
    s.taken_at_ms = at_ms;
    s.data_dir = "/data";
    s.relays = {relay("wss://a.example")};
    s.queues = {{"verify", 0, 100}};
    s.disk_free_bytes = qint64(100) << 30;
    s.disk_capacity_bytes = qint64(200) << 30;
    return s;
}

int countKind(const std::vector<engine::RaisedIncident>& v, IncidentKind k) {
    int n = 0;
    for (const auto& r : v) n += r.kind == k;
    return n;
}

}  // namespace

class TestIncidents : public QObject {
    Q_OBJECT
private slots:
    void kindNamesAreStable() {
        QCOMPARE(QString(observe::incidentKindName(IncidentKind::RelayFlooding)), QString("relay_flooding"));
        QCOMPARE(QString(observe::incidentKindName(IncidentKind::WriteErrors)), QString("write_errors"));
        for (int i = 0; i < int(IncidentKind::Count); ++i)
            QCOMPARE(observe::incidentKindFromName(observe::incidentKindName(IncidentKind(i))), IncidentKind(i));
        QCOMPARE(observe::incidentKindFromName("nope"), IncidentKind::Count);
    }

    void sameKindAndRelayIncrementsCount() {
        observe::IncidentLog log;
        const auto a = log.raise(IncidentKind::RelayStalled, IncidentSeverity::Warning, "wss://a", "stalled 1", kT0);
        const auto b = log.raise(IncidentKind::RelayStalled, IncidentSeverity::Critical, "wss://a", "stalled 2", kT0 + 5);
        const auto c = log.raise(IncidentKind::RelayStalled, IncidentSeverity::Warning, "wss://b", "stalled", kT0 + 6);
        QCOMPARE(a, b);
        QVERIFY(c != a);
        const auto open = log.open(10);
        QCOMPARE(open.size(), size_t(2));
        QCOMPARE(open[0].id, c);  // newest first
        QCOMPARE(open[1].count, uint64_t(2));
        QCOMPARE(open[1].first_ms, kT0);
        QCOMPARE(open[1].last_ms, kT0 + 5);
        QCOMPARE(open[1].message, std::string("stalled 2"));
        QCOMPARE(open[1].severity, IncidentSeverity::Critical);
        // Acknowledged still counts; after clearing, a new row.
        QVERIFY(log.acknowledge(a));
        QCOMPARE(log.raise(IncidentKind::RelayStalled, IncidentSeverity::Warning, "wss://a", "x", kT0 + 7), a);
        QVERIFY(log.clear(a));
        QVERIFY(!log.clear(a));
        const auto d = log.raise(IncidentKind::RelayStalled, IncidentSeverity::Warning, "wss://a", "y", kT0 + 8);
        QVERIFY(d > c);
        QCOMPARE(log.openCount(), size_t(2));
        QCOMPARE(log.size(), size_t(3));  // the cleared row stays as history
    }

    void acknowledgeAndClearAll() {
        observe::IncidentLog log;
        const auto a = log.raise(IncidentKind::LowDisk, IncidentSeverity::Critical, "", "low", kT0);
        log.raise(IncidentKind::SlowCommits, IncidentSeverity::Warning, "", "slow", kT0);
        QVERIFY(log.acknowledge(a));
        QVERIFY(!log.acknowledge(999));
        QCOMPARE(log.clearAll(false), size_t(1));  // only the acknowledged one
        QCOMPARE(log.openCount(), size_t(1));
        QVERIFY(log.acknowledge(0));
        QVERIFY(log.open(10)[0].acknowledged);
        log.raise(IncidentKind::AuthFailures, IncidentSeverity::Warning, "wss://x", "auth", kT0);
        QCOMPARE(log.clearAll(true), size_t(2));
        QCOMPARE(log.openCount(), size_t(0));
    }

    void boundEvictsClearedThenAcknowledgedFirst() {
        observe::IncidentLog log(4);
        std::vector<uint64_t> ids;
        for (int i = 0; i < 4; ++i)
            ids.push_back(log.raise(IncidentKind::RelayFlooding, IncidentSeverity::Warning,
                                    "wss://r" + std::to_string(i), "f", kT0 + i));
        log.acknowledge(ids[1]);
        log.clear(ids[2]);
        log.raise(IncidentKind::RelayFlooding, IncidentSeverity::Warning, "wss://new1", "f", kT0 + 10);
        log.raise(IncidentKind::RelayFlooding, IncidentSeverity::Warning, "wss://new2", "f", kT0 + 11);
        log.raise(IncidentKind::RelayFlooding, IncidentSeverity::Warning, "wss://new3", "f", kT0 + 12);
        QCOMPARE(log.size(), size_t(4));
        QCOMPARE(log.evicted(), uint64_t(3));
        std::vector<uint64_t> left;
        for (const auto& r : log.all()) left.push_back(r.id);
        // Evicted: the cleared one (ids[2]), then the acknowledged one (ids[1]), then the oldest open (ids[0]).
        QCOMPARE(left.front(), ids[3]);
        QCOMPARE(left.size(), size_t(4));
        for (int i = 0; i < 3000; ++i)
            log.raise(IncidentKind::AddressRefused, IncidentSeverity::Info, std::to_string(i), "r", kT0);
        QCOMPARE(log.size(), size_t(4));
    }

    void openCountsAreExportedAsGauges() {
        observe::MetricsRegistry metrics;
        observe::IncidentLog log(100, &metrics);
        const auto a = log.raise(IncidentKind::LowDisk, IncidentSeverity::Critical, "", "low", kT0);
        log.raise(IncidentKind::RelayStalled, IncidentSeverity::Warning, "wss://a", "s", kT0);
        log.raise(IncidentKind::RelayStalled, IncidentSeverity::Warning, "wss://b", "s", kT0);
        const std::string text = metrics.renderPrometheus();
        QVERIFY(text.find("archivist_incidents_open{kind=\"relay_stalled\"} 2") != std::string::npos);
        QVERIFY(text.find("archivist_incidents_open{kind=\"low_disk\"} 1") != std::string::npos);
        log.clear(a);
        QVERIFY(metrics.renderPrometheus().find("archivist_incidents_open{kind=\"low_disk\"} 0") != std::string::npos);
    }

    // Each row: a previous and a current snapshot; whether the kind fires.
    void rules_data() {
        QTest::addColumn<engine::EngineSnapshot>("prev");
        QTest::addColumn<engine::EngineSnapshot>("cur");
        QTest::addColumn<int>("kind");
        QTest::addColumn<bool>("fires");
        const engine::IncidentThresholds t;
        auto row = [](const char* name, engine::EngineSnapshot p, engine::EngineSnapshot c, IncidentKind k, bool f) {
            QTest::newRow(name) << p << c << int(k) << f;
        };
        auto relayDelta = [&](const char* name, IncidentKind k, uint64_t delta, bool f, auto setter) {
            auto p = base(kT0), c = base(kT0 + 250);
            setter(p.relays[0], 100);
            setter(c.relays[0], 100 + delta);
            row(name, p, c, k, f);
        };
        auto pauses = [](net::RelayStatusView& r, uint64_t v) { r.read_pauses = v; };
        relayDelta("flooding at", IncidentKind::RelayFlooding, t.flooding_read_pauses_per_tick, true, pauses);
        relayDelta("flooding below", IncidentKind::RelayFlooding, t.flooding_read_pauses_per_tick - 1, false, pauses);
        auto limited = [](net::RelayStatusView& r, uint64_t v) { r.rate_limited = v; };
        relayDelta("rate limited at", IncidentKind::RelayRateLimited, t.rate_limited_per_tick, true, limited);
        relayDelta("rate limited below", IncidentKind::RelayRateLimited, 0, false, limited);
        auto auth = [](net::RelayStatusView& r, uint64_t v) { r.auth_failures = v; };
        relayDelta("auth at", IncidentKind::AuthFailures, t.auth_failures_per_tick, true, auth);
        relayDelta("auth below", IncidentKind::AuthFailures, 0, false, auth);
        // Invalid signatures: absolute count with plenty of good events (share stays low) …
        auto badsig = [](net::RelayStatusView& r, uint64_t v) {
            r.invalid_by_reason[size_t(protocol::Reject::BadSignature)] = v;
            r.invalid = v;
            r.stored = v * 100;
        };
        relayDelta("invalid sig count at", IncidentKind::InvalidSignatureSpike, t.invalid_sig_per_tick, true, badsig);
        relayDelta("invalid sig count below", IncidentKind::InvalidSignatureSpike, t.invalid_sig_per_tick - 1, false,
                   badsig);
        // … and by share: 3 bad of 6 (50 %) fires, 3 bad of 7 does not.
        {
            auto p = base(kT0), c = base(kT0 + 250);
            c.relays[0].invalid_by_reason[size_t(protocol::Reject::BadSignature)] = 3;
            c.relays[0].invalid = 3;
            c.relays[0].stored = 3;
            row("invalid sig share at", p, c, IncidentKind::InvalidSignatureSpike, true);
            c.relays[0].stored = 4;
            row("invalid sig share below", p, c, IncidentKind::InvalidSignatureSpike, false);
        }
        // A relay new in this snapshot has no deltas.
        {
            auto p = base(kT0), c = base(kT0 + 250);
            p.relays.clear();
            c.relays[0].read_pauses = 1000;
            row("new relay has no delta", p, c, IncidentKind::RelayFlooding, false);
        }
        {
            auto p = base(kT0), c = base(kT0 + 250);
            c.relays[0].last_error = "stalled: no pong within 10000 ms";
            c.relays[0].consecutive_failures = 1;
            row("stalled starts", p, c, IncidentKind::RelayStalled, true);
            p.relays[0] = c.relays[0];
            row("stalled unchanged", p, c, IncidentKind::RelayStalled, false);
            c.relays[0].consecutive_failures = 2;
            row("stalled again", p, c, IncidentKind::RelayStalled, true);
            auto q = base(kT0);
            c.relays[0].last_error = "connect: refused";
            row("other error", q, c, IncidentKind::RelayStalled, false);
        }
        {
            auto p = base(kT0), c = base(kT0 + 250);
            p.address_refusals = 5;
            c.address_refusals = 5 + t.address_refusals_per_tick;
            row("refusals at", p, c, IncidentKind::AddressRefused, true);
            c.address_refusals = 5;
            row("refusals below", p, c, IncidentKind::AddressRefused, false);
        }
        {
            auto p = base(kT0), c = base(kT0 + 250);
            p.commits_total = 10;
            p.commit_seconds_total = 1.0;
            c.commits_total = 12;
            c.commit_seconds_total = 1.0 + 2 * t.slow_commit_mean_s;
            row("slow commits at", p, c, IncidentKind::SlowCommits, true);
            c.commit_seconds_total = 1.0 + 2 * t.slow_commit_mean_s * 0.99;
            row("slow commits below", p, c, IncidentKind::SlowCommits, false);
            c.commits_total = 10;
            c.commit_seconds_total = 1.0;
            row("no commits", p, c, IncidentKind::SlowCommits, false);
        }
        {
            auto p = base(kT0), c = base(kT0 + 250);
            c.disk_capacity_bytes = qint64(20) << 30;  // 1 GiB is 5 %: only the absolute threshold matters
            c.disk_free_bytes = t.low_disk_bytes - 1;
            row("low disk at", p, c, IncidentKind::LowDisk, true);
            c.disk_free_bytes = t.low_disk_bytes;
            row("low disk below", p, c, IncidentKind::LowDisk, false);
            c.disk_capacity_bytes = qint64(1000) << 30;  // 1 GiB of 1000 GiB: under 2 %
            row("low disk by share", p, c, IncidentKind::LowDisk, true);
            c.disk_free_bytes = -1;
            row("disk unknown", p, c, IncidentKind::LowDisk, false);
        }
        {
            auto p = base(kT0), c = base(kT0 + 250);
            c.write_errors_total = t.write_errors_per_tick;
            c.last_error = "fdatasync: EIO";
            row("write errors at", p, c, IncidentKind::WriteErrors, true);
            c.write_errors_total = 0;
            row("write errors below", p, c, IncidentKind::WriteErrors, false);
            c.writer_paused = true;
            row("writer paused", p, c, IncidentKind::WriteErrors, true);
        }
    }

    void rules() {
        QFETCH(engine::EngineSnapshot, prev);
        QFETCH(engine::EngineSnapshot, cur);
        QFETCH(int, kind);
        QFETCH(bool, fires);
        engine::IncidentRuleState state;
        const auto raised = engine::evaluateIncidentRules(prev, cur, {}, state);
        QCOMPARE(countKind(raised, IncidentKind(kind)), fires ? 1 : 0);
        for (const auto& r : raised) QVERIFY(!r.message.empty());
    }

    void queueNearCapacityAfterHoldTime_data() {
        QTest::addColumn<qint64>("depth");
        QTest::addColumn<qint64>("held_ms");
        QTest::addColumn<bool>("fires");
        QTest::addColumn<QString>("name");
        QTest::newRow("90% for 2 s") << qint64(90) << qint64(2000) << true << "verify";
        QTest::newRow("90% for 1.75 s") << qint64(90) << qint64(1750) << false << "verify";
        QTest::newRow("89% for 10 s") << qint64(89) << qint64(10000) << false << "verify";
        QTest::newRow("full for 3 s") << qint64(100) << qint64(3000) << true << "verify";
        // A cache (its gauge named "… cache") is full by design: no incident.
        QTest::newRow("a full cache for 3 s") << qint64(100) << qint64(3000) << false << "index full-text term cache";
    }

    void queueNearCapacityAfterHoldTime() {
        QFETCH(qint64, depth);
        QFETCH(qint64, held_ms);
        QFETCH(bool, fires);
        QFETCH(QString, name);
        engine::IncidentRuleState state;
        auto prev = base(kT0);
        prev.queues[0].name = name;
        int raised = 0;
        for (qint64 t = 0; t <= held_ms; t += 250) {
            auto cur = base(kT0 + t);
            cur.queues[0].name = name;
            cur.queues[0].depth = depth;
            raised += countKind(engine::evaluateIncidentRules(prev, cur, {}, state), IncidentKind::QueueNearCapacity);
            prev = cur;
        }
        QCOMPARE(raised, fires ? 1 : 0);  // once per episode, not every tick
        // Dropping below re-arms: a second episode raises again.
        auto low = base(kT0 + held_ms + 250);
        engine::evaluateIncidentRules(prev, low, {}, state);
        QVERIFY(state.queues.empty());
    }

    void lowDiskRaisesOncePerEpisode() {
        engine::IncidentRuleState state;
        auto a = base(kT0), b = base(kT0 + 250), c = base(kT0 + 500);
        b.disk_free_bytes = c.disk_free_bytes = 1 << 20;
        QCOMPARE(countKind(engine::evaluateIncidentRules(a, b, {}, state), IncidentKind::LowDisk), 1);
        QCOMPARE(countKind(engine::evaluateIncidentRules(b, c, {}, state), IncidentKind::LowDisk), 0);
    }

    void rulesFeedTheLogWithDedup() {
        observe::IncidentLog log;
        engine::IncidentRuleState state;
        auto prev = base(kT0);
        for (int i = 1; i <= 4; ++i) {
            auto cur = base(kT0 + i * 250);
            cur.relays[0].read_pauses = uint64_t(i) * 10;
            for (const auto& r : engine::evaluateIncidentRules(prev, cur, {}, state))
                log.raise(r.kind, r.severity, r.relay, r.message, cur.taken_at_ms);
            prev = cur;
        }
        const auto open = log.open(10);
        QCOMPARE(open.size(), size_t(1));
        QCOMPARE(open[0].kind, IncidentKind::RelayFlooding);
        QCOMPARE(open[0].relay, std::string("wss://a.example"));
        QCOMPARE(open[0].count, uint64_t(4));
    }
};

QTEST_GUILESS_MAIN(TestIncidents)
#include "tst_incidents.moc"
