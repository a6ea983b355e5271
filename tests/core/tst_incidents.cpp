// Incidents (alerts): the log de-duplicates, resolves alerts that went quiet, stays bounded
// (evicting cleared, then resolved, then acknowledged rows first), acknowledges and clears,
// journals its changes, restores its history, and exports firing counts; each rule fires at its
// threshold and not one step below; conditions fire after their hold time and resolve when they
// clear; work the operator asked for raises nothing.
#include <QtTest>

#include "core/engine/incident_rules.h"
#include "core/observe/incidents.h"
#include "core/observe/metrics.h"
#include "core/relays/relay_state_store.h"

using namespace archivist;
using observe::IncidentKind;
using observe::IncidentSeverity;


namespace {

constexpr qint64 kT0 = 1700000000000;

engine::RelayRow relay(const std::string& url) {
    engine::RelayRow r;
    r.url = url;
    r.state = observe::RelayState::Connected;
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

void feed(observe::IncidentLog& log, const std::vector<engine::RaisedIncident>& raised, qint64 now) {
    for (const auto& r : raised) log.raise(r.kind, r.severity, r.relay, r.message, now, r.level);
    log.resolveQuiet(now);
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
        auto pauses = [](engine::RelayRow& r, uint64_t v) { r.flood_pauses = v; };
        relayDelta("flooding at", IncidentKind::RelayFlooding, t.flood_pauses_per_tick, true, pauses);
        relayDelta("flooding below", IncidentKind::RelayFlooding, t.flood_pauses_per_tick - 1, false, pauses);
        // Backpressure (reading paused because the pipeline is full) is not a flood.
        auto backpressure = [](engine::RelayRow& r, uint64_t v) { r.read_pauses = v; };
        relayDelta("backpressure is no flood", IncidentKind::RelayFlooding, 1000, false, backpressure);
        auto limited = [](engine::RelayRow& r, uint64_t v) { r.rate_limited = v; };
        relayDelta("rate limited at", IncidentKind::RelayRateLimited, t.rate_limited_per_tick, true, limited);
        relayDelta("rate limited below", IncidentKind::RelayRateLimited, 0, false, limited);
        auto auth = [](engine::RelayRow& r, uint64_t v) { r.auth_failures = v; };
        relayDelta("auth at", IncidentKind::AuthFailures, t.auth_failures_per_tick, true, auth);
        relayDelta("auth below", IncidentKind::AuthFailures, 0, false, auth);
        // Invalid signatures: absolute count with plenty of good events (share stays low) …
        auto badsig = [](engine::RelayRow& r, uint64_t v) {
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
            c.relays[0].flood_pauses = 1000;
            row("new relay has no delta", p, c, IncidentKind::RelayFlooding, false);
        }
        {
            auto p = base(kT0), c = base(kT0 + 250);
            c.relays[0].last_error = "stalled: no pong within 10000 ms";
            c.relays[0].consecutive_failures = 1;
            c.relays[0].state = observe::RelayState::BackingOff;
            row("stalled", p, c, IncidentKind::RelayStalled, true);
            p.relays[0] = c.relays[0];
            row("still stalled (asserted every tick)", p, c, IncidentKind::RelayStalled, true);
            c.relays[0].state = observe::RelayState::Connected;
            row("stalled relay recovered", p, c, IncidentKind::RelayStalled, false);
            auto q = base(kT0);
            c.relays[0].state = observe::RelayState::BackingOff;
            c.relays[0].last_error = "connect_failed: Connection refused";
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
            // An import's big group takes long and is fast per event: not slow.
            c.commits_total = 12;
            c.commit_seconds_total = 1.0 + 2 * t.slow_commit_mean_s;
            c.stored_total = quint64(2 * t.slow_commit_mean_s / t.slow_commit_s_per_event) + 1;
            row("big groups are not slow", p, c, IncidentKind::SlowCommits, false);
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
        {
            auto p = base(kT0), c = base(kT0 + 250);
            c.relay_state_write_errors_total = t.relay_state_errors_per_tick;
            c.relay_state_last_error = "save live cursor: disk I/O error";
            row("relay state write errors at", p, c, IncidentKind::RelayStateWriteErrors, true);
            c.relay_state_write_errors_total = 0;
            row("relay state write errors below", p, c, IncidentKind::RelayStateWriteErrors, false);
        }
        auto refused = [](engine::RelayRow& r, uint64_t v) {
            r.refused_by_reason[size_t(observe::EventRefusal::OutsideFilter) - 1] = v;
        };
        relayDelta("events off subscription at", IncidentKind::EventsOffSubscription, t.refused_events_per_tick, true,
                   refused);
        relayDelta("events off subscription below", IncidentKind::EventsOffSubscription, 0, false, refused);
        {
            auto p = base(kT0), c = base(kT0 + 250);
            c.sink.configured = true;
            c.sink.consecutive_failures = t.sink_failures;
            c.sink.last_error = "insert: connect_failed: Connection refused";
            row("sink failing at", p, c, IncidentKind::SinkFailing, true);
            c.sink.consecutive_failures = t.sink_failures - 1;
            row("sink failing below", p, c, IncidentKind::SinkFailing, false);
            c.sink.configured = false;
            c.sink.consecutive_failures = 100;
            row("no sink", p, c, IncidentKind::SinkFailing, false);
            c.sink.configured = true;
            c.sink.consecutive_failures = 0;
            c.sink.lag_seconds = t.sink_lag_s;
            c.sink.lag_events = 12345;
            row("sink behind at", p, c, IncidentKind::SinkBehind, true);
            c.sink.lag_seconds = t.sink_lag_s - 1;
            row("sink behind below", p, c, IncidentKind::SinkBehind, false);
        }
    }

    void sinkFailingIsOneAlertPerEpisode() {
        observe::IncidentLog log;
        engine::IncidentRuleState state;
        auto snap = [&](qint64 at, uint64_t failures) {
            auto s = base(at);
            s.sink.configured = true;
            s.sink.consecutive_failures = failures;
            return s;
        };
        uint64_t failures[] = {1, 3, 4, 9, 0, 0, 0, 0, 0, 0, 0, 0, 3};
        engine::EngineSnapshot prev = snap(kT0, 0);
        for (size_t i = 0; i < std::size(failures); ++i) {
            const auto cur = snap(kT0 + 250 * qint64(i + 1), failures[i]);
            feed(log, engine::evaluateIncidentRules(prev, cur, {}, state), cur.taken_at_ms);
            prev = cur;
        }
        // At 3 failures; resolved after the success; a second alert at 3 again.
        const auto rows = log.all();
        QCOMPARE(rows.size(), size_t(2));
        QVERIFY(!rows[0].firing());
        QVERIFY(rows[1].firing());
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
        QTest::addColumn<bool>("operator_work");
        QTest::addColumn<bool>("fires");
        QTest::addColumn<QString>("name");
        QTest::newRow("90% for 10 s") << qint64(90) << qint64(10000) << false << true << "verify";
        QTest::newRow("90% for 9.75 s") << qint64(90) << qint64(9750) << false << false << "verify";
        QTest::newRow("89% for 20 s") << qint64(89) << qint64(20000) << false << false << "verify";
        QTest::newRow("full for 12 s") << qint64(100) << qint64(12000) << false << true << "verify";
        QTest::newRow("full for 20 s during an import") << qint64(100) << qint64(20000) << true << false << "verify";
        // A cache (its gauge named "… cache") is full by design: no incident.
        QTest::newRow("a full cache for 12 s") << qint64(100) << qint64(12000) << false << false
                                               << "index full-text term cache";
    }

    void queueNearCapacityAfterHoldTime() {
        QFETCH(qint64, depth);
        QFETCH(qint64, held_ms);
        QFETCH(bool, operator_work);
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
            cur.job_running = operator_work;
            raised += countKind(engine::evaluateIncidentRules(prev, cur, {}, state), IncidentKind::QueueNearCapacity);
            prev = cur;
        }
        QCOMPARE(raised > 0, fires);
        // Dropping below forgets the condition: the next episode waits its hold time again.
        auto low = base(kT0 + held_ms + 250);
        engine::evaluateIncidentRules(prev, low, {}, state);
        QVERIFY(state.holding.empty());
    }

    void aBackfillFillingTheQueuesRaisesNothing() {
        engine::IncidentRuleState state;
        auto prev = base(kT0);
        prev.relays[0].backfill = observe::BackfillState::Running;
        std::vector<engine::RaisedIncident> all;
        for (qint64 t = 250; t <= 60000; t += 250) {
            auto cur = base(kT0 + t);
            cur.relays[0].backfill = observe::BackfillState::Running;
            cur.queues = {{"verify", 64, 64}, {"writer", 64, 64}, {"backfill slots", 8, 8}};
            cur.commits_total = quint64(t / 250);  // the writer commits every tick
            cur.commit_seconds_total = 0.2 * double(t / 250);
            cur.stored_total = quint64(t) * 40;    // 160,000 events/s
            cur.relays[0].read_pauses = quint64(t);  // paused by backpressure all the time
            for (auto& r : engine::evaluateIncidentRules(prev, cur, {}, state)) all.push_back(r);
            prev = cur;
        }
        for (const auto& r : all) qWarning() << observe::incidentKindName(r.kind) << r.message.c_str();
        QVERIFY(all.empty());
    }

    void lowDiskResolvesWhenSpaceReturns() {
        observe::IncidentLog log;
        engine::IncidentRuleState state;
        auto prev = base(kT0);
        for (int i = 1; i <= 20; ++i) {
            auto cur = base(kT0 + i * 250);
            if (i <= 8) cur.disk_free_bytes = 1 << 20;
            feed(log, engine::evaluateIncidentRules(prev, cur, {}, state), cur.taken_at_ms);
            prev = cur;
        }
        const auto rows = log.all();
        QCOMPARE(rows.size(), size_t(1));
        QCOMPARE(rows[0].kind, IncidentKind::LowDisk);
        QVERIFY(rows[0].level);
        QVERIFY(!rows[0].firing());
        QCOMPARE(rows[0].last_ms, kT0 + 8 * 250);
        QVERIFY(rows[0].resolved_ms >= kT0 + 8 * 250 + observe::IncidentLog::kLevelQuietMs);
    }

    // archive_damage is a condition: it stays firing (one alert, however long) while quarantine
    // entries await salvage, and resolves itself once salvage leaves none pending.
    void archiveDamageHoldsWhilePendingAndResolvesAfterSalvage() {
        observe::IncidentLog log;
        engine::IncidentRuleState state;
        auto prev = base(kT0);
        for (int i = 1; i <= 40; ++i) {
            auto cur = base(kT0 + i * 250);
            if (i <= 30) cur.quarantine_pending = i <= 10 ? 2 : 1;  // salvage recovers one, then the other
            const auto raised = engine::evaluateIncidentRules(prev, cur, {}, state);
            QCOMPARE(countKind(raised, IncidentKind::ArchiveDamage), i <= 30 ? 1 : 0);
            feed(log, raised, cur.taken_at_ms);
            prev = cur;
            // Far longer than an event alert's quiet time would matter: still one firing alert.
            if (i == 30) {
                const auto rows = log.all();
                QCOMPARE(rows.size(), size_t(1));
                QVERIFY(rows[0].firing());
                QVERIFY(rows[0].level);
                QCOMPARE(rows[0].severity, observe::IncidentSeverity::Critical);
                QVERIFY2(rows[0].message.find("1 quarantined region(s)") == 0, rows[0].message.c_str());
            }
        }
        const auto rows = log.all();
        QCOMPARE(rows.size(), size_t(1));
        QCOMPARE(rows[0].kind, IncidentKind::ArchiveDamage);
        QVERIFY(!rows[0].firing());
        QCOMPARE(rows[0].last_ms, kT0 + 30 * 250);
    }

    // A relay the operator added goes down: the alert fires after the hold time (not before),
    // names the cause, and resolves itself when the relay is back.
    void relayDownFiresAfterHoldAndResolvesOnRecovery_data() {
        QTest::addColumn<QString>("error");
        QTest::addColumn<int>("kind");
        QTest::newRow("refused") << "connect_failed: Connection refused" << int(IncidentKind::ConnectionRefused);
        QTest::newRow("dns") << "dns: Host not found" << int(IncidentKind::DnsFailure);
        QTest::newRow("timeout") << "connect_timeout: no answer in 10000 ms" << int(IncidentKind::RelayDown);
    }

    void relayDownFiresAfterHoldAndResolvesOnRecovery() {
        QFETCH(QString, error);
        QFETCH(int, kind);
        const engine::IncidentThresholds t;
        observe::IncidentLog log;
        engine::IncidentRuleState state;
        auto prev = base(kT0);
        prev.relays[0].source = "user";
        prev.relays[0].connects = 1;
        qint64 firedAt = 0;
        for (qint64 at = 250; at <= t.relay_down_hold_ms + 5000; at += 250) {
            auto cur = base(kT0 + at);
            auto& r = cur.relays[0];
            r.source = "user";
            r.connects = 1;
            r.state = (at / 250) % 3 ? observe::RelayState::BackingOff : observe::RelayState::Connecting;
            r.consecutive_failures = int(at / 1000) + 1;
            r.last_error = error.toStdString();
            const auto raised = engine::evaluateIncidentRules(prev, cur, t, state);
            if (countKind(raised, IncidentKind(kind)) && !firedAt) firedAt = at;
            feed(log, raised, cur.taken_at_ms);
            prev = cur;
        }
        QCOMPARE(firedAt, t.relay_down_hold_ms + 250);  // held from the first failing tick
        QCOMPARE(log.firingCount(), size_t(1));
        QCOMPARE(log.open(10)[0].relay, std::string("wss://a.example"));
        // Back: connected again; the alert resolves within a few ticks.
        for (int i = 1; i <= 10; ++i) {
            auto cur = base(prev.taken_at_ms + 250);
            cur.relays[0].connects = 2;
            feed(log, engine::evaluateIncidentRules(prev, cur, t, state), cur.taken_at_ms);
            prev = cur;
        }
        QCOMPARE(log.firingCount(), size_t(0));
        QCOMPARE(log.all().size(), size_t(1));
    }

    // Seed relays that never answered get no alert each; "offline" sums them up.
    void offlineSumsUpUnreachableSeeds() {
        const engine::IncidentThresholds t;
        engine::IncidentRuleState state;
        auto make = [](qint64 at) {
            auto s = base(at);
            s.relays.clear();
            for (int i = 0; i < 5; ++i) {
                auto r = relay("wss://seed" + std::to_string(i) + ".example");
                r.source = "seed";
                r.state = observe::RelayState::BackingOff;
                r.consecutive_failures = 3;
                r.last_error = "dns: Host not found";
                s.relays.push_back(r);
            }
            s.relays_known = 5;
            s.relays_open = 0;
            return s;
        };
        auto prev = make(kT0);
        std::vector<engine::RaisedIncident> last;
        for (qint64 at = 250; at <= t.offline_hold_ms + t.relay_down_hold_ms; at += 250) {
            auto cur = make(kT0 + at);
            last = engine::evaluateIncidentRules(prev, cur, t, state);
            if (at < t.offline_hold_ms) QCOMPARE(countKind(last, IncidentKind::Offline), 0);
            QCOMPARE(countKind(last, IncidentKind::DnsFailure), 0);
            prev = cur;
        }
        QCOMPARE(countKind(last, IncidentKind::Offline), 1);
        QVERIFY(last[0].message.find("5 failing DNS") != std::string::npos);
    }

    void anAddressRefusedByPolicyFiresAtOnce() {
        engine::IncidentRuleState state;
        auto prev = base(kT0), cur = base(kT0 + 250);
        cur.relays[0].source = "user";
        cur.relays[0].state = observe::RelayState::Refused;
        cur.relays[0].last_error = "address_refused: 127.0.0.1 is loopback";
        const auto raised = engine::evaluateIncidentRules(prev, cur, {}, state);
        QCOMPARE(countKind(raised, IncidentKind::ConnectionRefused), 1);
    }

    void indexBehindWhenTheWriterCommitsNothing() {
        const engine::IncidentThresholds t;
        engine::IncidentRuleState state;
        auto prev = base(kT0);
        int fired = 0;
        for (qint64 at = 250; at <= t.index_behind_hold_ms + 500; at += 250) {  // the first tick only learns the count
            auto cur = base(kT0 + at);
            cur.queues.push_back({"writer", 10, 64});
            cur.commits_total = 7;  // nothing committed while batches wait
            fired += countKind(engine::evaluateIncidentRules(prev, cur, t, state), IncidentKind::IndexBehind);
            prev = cur;
        }
        QCOMPARE(fired, 1);
    }

    void quietEventAlertsResolveAndLevelAlertsCannotBeCleared() {
        observe::IncidentLog log;
        const auto ev = log.raise(IncidentKind::RelayFlooding, IncidentSeverity::Warning, "wss://a", "f", kT0);
        const auto lv = log.raise(IncidentKind::LowDisk, IncidentSeverity::Critical, "", "low", kT0, true);
        QCOMPARE(log.resolveQuiet(kT0 + observe::IncidentLog::kLevelQuietMs - 1), size_t(0));
        QVERIFY(!log.clear(lv));  // firing condition: resolves by itself
        QCOMPARE(log.resolveQuiet(kT0 + observe::IncidentLog::kLevelQuietMs), size_t(1));
        QVERIFY(log.open(10)[0].id == ev);  // firing first
        QCOMPARE(log.resolveQuiet(kT0 + observe::IncidentLog::kEventQuietMs), size_t(1));
        QCOMPARE(log.firingCount(), size_t(0));
        QVERIFY(log.clear(lv));
        // A new occurrence after resolution is a new alert.
        QVERIFY(log.raise(IncidentKind::RelayFlooding, IncidentSeverity::Warning, "wss://a", "f", kT0 + 999999) > lv);
    }

    void changesAreJournaledOnceAndHistoryIsRestored() {
        observe::IncidentLog log;
        const auto a = log.raise(IncidentKind::RelayDown, IncidentSeverity::Warning, "wss://a", "down", kT0, true);
        log.raise(IncidentKind::RelayDown, IncidentSeverity::Warning, "wss://a", "down", kT0 + 250, true);
        auto changes = log.takeChanges();
        QCOMPARE(changes.size(), size_t(1));
        QVERIFY(log.takeChanges().empty());  // a level re-assertion with the same text is no change
        log.acknowledge(a);
        QCOMPARE(log.takeChanges().size(), size_t(1));
        log.markChanged({a, 999});
        QCOMPARE(log.takeChanges().size(), size_t(1));

        // Through relays.sqlite, as the engine does across a restart.
        QTemporaryDir dir;
        {
            auto store = relays::RelayStateStore::open(dir.filePath("relays.sqlite").toStdString());
            QVERIFY(store);
            QVERIFY((*store)->alerts().save(log.all()));
        }
        auto store = relays::RelayStateStore::open(dir.filePath("relays.sqlite").toStdString());
        QVERIFY(store);
        auto rows = (*store)->alerts().recent(100);
        QVERIFY(rows);
        QCOMPARE(rows->size(), size_t(1));
        observe::IncidentLog next;
        next.restore(*rows);
        const auto restored = next.all();
        QCOMPARE(restored.size(), size_t(1));
        QCOMPARE(restored[0].id, a);
        QCOMPARE(restored[0].relay, std::string("wss://a"));
        QVERIFY(restored[0].acknowledged);
        QCOMPARE(restored[0].resolved_ms, kT0 + 250);  // firing when the last run ended
        QCOMPARE(next.takeChanges().size(), size_t(1));  // the resolution is written back
        QVERIFY(next.raise(IncidentKind::RelayDown, IncidentSeverity::Warning, "wss://a", "down", kT0 + 9000, true) > a);
    }

    void theAlertTableIsBounded() {
        QTemporaryDir dir;
        auto store = relays::RelayStateStore::open(dir.filePath("relays.sqlite").toStdString());
        QVERIFY(store);
        std::vector<observe::Incident> rows;
        for (uint64_t id = 1; id <= relays::AlertsTable::kMaxRows + 5; ++id) {
            observe::Incident i;
            i.id = id;
            i.kind = IncidentKind::AddressRefused;
            i.first_ms = i.last_ms = kT0;
            rows.push_back(i);
        }
        QVERIFY((*store)->alerts().save(rows));
        auto back = (*store)->alerts().recent(relays::AlertsTable::kMaxRows * 2);
        QVERIFY(back);
        QCOMPARE(back->size(), relays::AlertsTable::kMaxRows);
        QCOMPARE(back->front().id, uint64_t(relays::AlertsTable::kMaxRows + 5));
    }

    // A condition: asserted on every tick while the writer is paused (the log keeps one alert and
    // resolves it when the assertions stop), not at all once it resumed.
    void intakePausedHoldsWhilePausedWithTheReason() {
        engine::IncidentRuleState state;
        auto a = base(kT0), b = base(kT0 + 250), c = base(kT0 + 500), d = base(kT0 + 750), e = base(kT0 + 1000);
        b.writer_paused = c.writer_paused = e.writer_paused = true;
        b.last_error = c.last_error = "archive: write segment-000001.jsonl.zst: No space left on device";
        const auto first = engine::evaluateIncidentRules(a, b, {}, state);
        QCOMPARE(countKind(first, IncidentKind::IntakePaused), 1);
        for (const auto& r : first)
            if (r.kind == IncidentKind::IntakePaused) {
                QVERIFY(r.message.find("No space left on device") != std::string::npos);
                QCOMPARE(r.severity, observe::IncidentSeverity::Critical);
                QVERIFY(r.level);
            }
        QCOMPARE(countKind(engine::evaluateIncidentRules(a, a, {}, state), IncidentKind::IntakePaused), 0);
        QCOMPARE(countKind(engine::evaluateIncidentRules(b, c, {}, state), IncidentKind::IntakePaused), 1);  // holds
        QCOMPARE(countKind(engine::evaluateIncidentRules(c, d, {}, state), IncidentKind::IntakePaused), 0);  // resumed
        QCOMPARE(countKind(engine::evaluateIncidentRules(d, e, {}, state), IncidentKind::IntakePaused), 1);  // again
    }

    void rulesFeedTheLogWithDedup() {
        observe::IncidentLog log;
        engine::IncidentRuleState state;
        auto prev = base(kT0);
        for (int i = 1; i <= 4; ++i) {
            auto cur = base(kT0 + i * 250);
            cur.relays[0].flood_pauses = uint64_t(i) * 10;
            feed(log, engine::evaluateIncidentRules(prev, cur, {}, state), cur.taken_at_ms);
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
