// CoverageMonitor: coverage per month kept by a paced background thread — every month of the
// archive computed at start, a month computed again when events arrive in it or when an event it
// references and lacked arrives (and only then), never sooner than its interval, each with its
// as-of time; stop() interrupts and joins.
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <thread>

#include "core/engine/coverage_monitor.h"
#include "core/engine/store.h"
#include "core/observe/metrics.h"
#include "core/protocol/hex.h"
#include "signed_events.h"

using namespace archivist;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kJan = 1704067200 + 86400 * 3;  // 2024-01-04
constexpr int64_t kMar = 1709251200 + 86400 * 5;  // 2024-03-06
constexpr int64_t kMay = 1714521600 + 86400 * 9;  // 2024-05-10

template <typename F>
bool waitUntil(F f, std::chrono::milliseconds timeout = 20s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (f()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return f();
}

const engine::CoverageRow* month(const engine::CoverageReport& r, const std::string& m) {
    for (const auto& row : r.by_month)
        if (row.month == m) return &row;
    return nullptr;
}

}  // namespace

class TestCoverageMonitor : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    testing::EventSigner m_signer{3};
    std::vector<protocol::Event> m_targets;  // kind-1 notes of January; 0 and 1 stored at first
    std::unique_ptr<observe::MetricsRegistry> m_metrics;  // outlives the store
    std::unique_ptr<engine::Store> m_store;
    ingest::SourceId m_source{};
    uint64_t m_submitted = 0;

    void store(const std::vector<protocol::Event>& events) {
        ingest::RawBatch b;
        b.source = m_source;
        for (const auto& e : events) b.items.push_back(ingest::RawItem{m_signer.json(e), 1700000000000});
        m_submitted += b.items.size();
        QVERIFY(m_store->submit(std::move(b)));
        QVERIFY(m_store->waitSettled(m_source, m_submitted, 20s));
    }

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        for (int i = 0; i < 4; ++i) m_targets.push_back(m_signer.make(kJan + i, 1, "target " + std::to_string(i)));
    }

    void init() {
        m_dir.remove();
        QVERIFY(QDir().mkpath(m_dir.path()));
        m_metrics = std::make_unique<observe::MetricsRegistry>();
        engine::StoreOptions so;
        so.verify_threads = 1;
        so.writer.group_ms = 5;
        auto s = engine::Store::open(m_dir.path().toStdString(), so, *m_metrics);
        QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
        m_store = std::move(*s);
        m_source = *m_store->addSource("wss://a.example");
        m_submitted = 0;
    }

    void cleanup() {
        if (m_store) QVERIFY(m_store->shutdown().ok());
        m_store.reset();
    }

    void monthsKeptAndRecomputedWhenTheyChange() {
        engine::CoverageMonitorOptions o;
        o.min_interval_ms = 0;
        o.min_pause_ms = 5;
        o.duty = 1.0;
        engine::Store* st = m_store.get();
        engine::CoverageMonitor mon([st] { return st->index(); }, m_store->paths().archive, o);
        m_store->setEventObserver([&mon](const protocol::Event& e, ingest::SourceId) { mon.observeStored(e); });
        m_store->start();
        // March: 10 notes referencing the four targets (e and q tags); May: one referencing target 0.
        std::vector<protocol::Event> events = {m_targets[0], m_targets[1]};
        for (int i = 0; i < 10; ++i)
            events.push_back(m_signer.make(kMar + i, 1, "reply " + std::to_string(i),
                                           {{i % 2 ? "q" : "e", protocol::toHex(m_targets[i % 4].id)}}));
        events.push_back(m_signer.make(kMay, 1, "may", {{"e", protocol::toHex(m_targets[0].id)}}));
        store(events);
        mon.start();
        QVERIFY(waitUntil([&] { return mon.dirtyMonths() == 0 && month(mon.report({}), "2024-05"); }));
        QVERIFY(waitUntil([&] { return mon.dirtyMonths() == 0; }));
        QCOMPARE(mon.computations(), uint64_t(3));  // January, March, May: the empty months between are never read
        auto r = mon.report({});
        QVERIFY(r.summed_months);
        QCOMPARE(int(r.by_month.size()), 2);  // January references nothing; February and April hold nothing
        const auto* mar = month(r, "2024-03");
        const auto* may = month(r, "2024-05");
        QVERIFY(mar && may);
        QCOMPARE(mar->referenced, uint64_t(4));
        QCOMPARE(mar->held, uint64_t(2));
        QVERIFY(mar->as_of_ms > 0);
        QCOMPARE(may->referenced, uint64_t(1));
        QCOMPARE(may->held, uint64_t(1));
        QCOMPARE(r.referencing_events, uint64_t(11));
        QCOMPARE(mon.trackedMissing(), size_t(2));
        const int64_t marAsOf = mar->as_of_ms, mayAsOf = may->as_of_ms;
        const uint64_t computed = mon.computations();

        // Target 2 arrives (January): March lacked it — March and January are computed again, May not.
        std::this_thread::sleep_for(5ms);
        store({m_targets[2]});
        QVERIFY(waitUntil([&] {
            const auto rep = mon.report({});  // month() points into it
            const auto* m = month(rep, "2024-03");
            return m && m->held == 3 && mon.dirtyMonths() == 0;
        }));
        r = mon.report({});
        QVERIFY(month(r, "2024-03")->as_of_ms > marAsOf);
        QCOMPARE(month(r, "2024-05")->as_of_ms, mayAsOf);
        QCOMPARE(mon.computations(), computed + 2);  // January (new event) and March (its missing id)
        QCOMPARE(mon.trackedMissing(), size_t(1));

        // A range: whole months overlapping it.
        engine::CoverageRequest q;
        q.since = kMay;
        r = mon.report(q);
        QCOMPARE(int(r.by_month.size()), 1);
        QCOMPARE(r.referenced, uint64_t(1));
        mon.stop();
        QCOMPARE(int(mon.report({}).by_month.size()), 2);  // kept after stop
    }

    void pacedByTheInterval() {
        engine::CoverageMonitorOptions o;
        o.min_interval_ms = 3600 * 1000;
        o.min_pause_ms = 5;
        o.duty = 1.0;
        engine::Store* st = m_store.get();
        engine::CoverageMonitor mon([st] { return st->index(); }, m_store->paths().archive, o);
        m_store->setEventObserver([&mon](const protocol::Event& e, ingest::SourceId) { mon.observeStored(e); });
        m_store->start();
        store({m_signer.make(kMar, 1, "reply", {{"e", protocol::toHex(m_targets[3].id)}})});
        mon.start();
        QVERIFY(waitUntil([&] { return mon.computations() == 1 && mon.dirtyMonths() == 0; }));
        QCOMPARE(month(mon.report({}), "2024-03")->held, uint64_t(0));
        store({m_targets[3]});  // March changed, but it was computed less than an hour ago
        // January (never computed) goes through; March waits, counted as pending.
        QVERIFY(waitUntil([&] { return mon.computations() == 2 && mon.report({}).months_pending == 1; }));
        std::this_thread::sleep_for(300ms);
        const auto r = mon.report({});
        QCOMPARE(month(r, "2024-03")->held, uint64_t(0));  // the numbers as of then
        QCOMPARE(r.months_pending, 1u);
        QCOMPARE(mon.computations(), uint64_t(2));
        mon.stop();                                          // joins while it waits
    }

    void monthKeys() {
        QCOMPARE(engine::CoverageMonitor::monthKey(0), 1970 * 12);
        QCOMPARE(engine::CoverageMonitor::monthKey(kMar), 2024 * 12 + 2);
        QCOMPARE(engine::CoverageMonitor::monthKey(1709251200 - 1), 2024 * 12 + 1);  // 2024-02-29 23:59:59
        QCOMPARE(engine::CoverageMonitor::monthKey(-1), 1969 * 12 + 11);
    }
};

QTEST_GUILESS_MAIN(TestCoverageMonitor)
#include "tst_coverage_monitor.moc"
