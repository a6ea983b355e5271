// Memory panel, offscreen: RSS/heap/SQLite heap points accumulate in a bounded ring; SQLite's
// heap is a gauge against its soft limit; each queue becomes a gauge whose colour level switches
// exactly at the shared 70 % / 90 % thresholds; gauges follow the queues in the snapshot.
#include <QLineSeries>
#include <QProgressBar>
#include <QtTest>

#include "core/engine/engine.h"
#include "core/engine/incident_rules.h"
#include "ui/panels/memory_panel.h"

#include "fake_engine.h"

using namespace archivist;


namespace {
engine::EngineSnapshot snap(int tick, qint64 verify_depth = 0) {
    engine::EngineSnapshot s;
    s.taken_at_ms = 1700000000000 + tick * 250;
    s.rss_bytes = quint64(100 + tick) << 20;
    s.heap_bytes = quint64(40) << 20;
    s.sqlite_heap_bytes = quint64(30) << 20;
    s.sqlite_heap_peak_bytes = quint64(50) << 20;
    s.sqlite_heap_limit_bytes = quint64(64) << 20;
    s.queues = {{"verify", verify_depth, 1000}, {"writer", 5, 100}};
    return s;
}
}  // namespace

class TestMemoryPanel : public QObject {
    Q_OBJECT
private slots:
    void snapshotsAddPointsAndTheRingIsBounded() {
        FakeEngine engine;
        ui::MemoryPanel panel(&engine);
        // The main window wires snapshots to panels (MainWindow::addPanelDock); a bare panel is wired here.
        QObject::connect(&engine, &engine::Engine::snapshotReady, &panel, &ui::MemoryPanel::applySnapshot);
        panel.show();
        engine.publish(snap(0));
        engine.publish(snap(1));
        QCOMPARE(panel.rssSeries()->count(), 2);
        QCOMPARE(panel.rssSeries()->at(1).y(), 101.0);  // MiB
        QCOMPARE(panel.heapSeries()->at(0).y(), 40.0);
        QCOMPARE(panel.sqliteSeries()->at(1).y(), 30.0);
        for (int i = 2; i < ui::MemoryPanel::kMaxPoints + 50; ++i) panel.applySnapshot(snap(i));
        QCOMPARE(panel.rssSeries()->count(), ui::MemoryPanel::kMaxPoints);
        QCOMPARE(panel.heapSeries()->count(), ui::MemoryPanel::kMaxPoints);
        QCOMPARE(panel.sqliteSeries()->count(), ui::MemoryPanel::kMaxPoints);
    }

    // SQLite's heap against its soft limit: a cache, green even when full (the page caches fill up
    // to the limit; sorters and pinned pages pass a soft limit for a while), the text says by how much.
    void sqliteHeapGaugeShowsUseAgainstTheLimit() {
        ui::MemoryPanel panel(nullptr);
        panel.show();
        QProgressBar* bar = panel.sqliteGauge();
        QVERIFY(bar);
        QCOMPARE(bar->objectName(), QString("gauge-sqlite-heap"));
        auto s = snap(0);
        panel.applySnapshot(s);
        const auto mib = [](double v) { return QLocale().toString(v, 'f', 1); };
        QCOMPARE(bar->text(), QString("%1 / %2 MiB").arg(mib(30), mib(64)));
        QCOMPARE(double(bar->value()) / bar->maximum(), 30.0 / 64.0);
        QCOMPARE(bar->property("level").toString(), QString("ok"));
        QVERIFY2(bar->toolTip().contains(mib(50) + " MiB") && bar->toolTip().contains("sqlite_heap_limit_bytes"),
                 qPrintable(bar->toolTip()));
        s.sqlite_heap_bytes = s.sqlite_heap_limit_bytes;
        panel.applySnapshot(s);
        QCOMPARE(bar->value(), bar->maximum());
        QCOMPARE(bar->property("level").toString(), QString("ok"));
        s.sqlite_heap_bytes = s.sqlite_heap_limit_bytes + (quint64(4) << 20);
        panel.applySnapshot(s);
        QCOMPARE(bar->value(), bar->maximum());
        QCOMPARE(bar->text(), QString("%1 / %2 MiB").arg(mib(68), mib(64)));
        QCOMPARE(bar->property("level").toString(), QString("ok"));
        // It is not one of the snapshot's queues: the queue gauges coming and going leave it alone.
        s.queues.clear();
        panel.applySnapshot(s);
        QCOMPARE(panel.gaugeCount(), 0);
        QCOMPARE(panel.sqliteGauge(), bar);
    }

    void gaugesColourAtThresholds_data() {
        QTest::addColumn<qint64>("depth");
        QTest::addColumn<QString>("level");
        QTest::newRow("empty") << qint64(0) << "ok";
        QTest::newRow("69.9 %") << qint64(699) << "ok";
        QTest::newRow("70 %") << qint64(700) << "warn";
        QTest::newRow("89.9 %") << qint64(899) << "warn";
        QTest::newRow("90 %") << qint64(900) << "critical";
        QTest::newRow("full") << qint64(1000) << "critical";
    }

    void gaugesColourAtThresholds() {
        QFETCH(qint64, depth);
        QFETCH(QString, level);
        QCOMPARE(engine::kQueueWarnFraction, 0.70);
        QCOMPARE(engine::kQueueNearCapacityFraction, 0.90);
        ui::MemoryPanel panel(nullptr);
        panel.show();
        panel.applySnapshot(snap(0, 500));  // start amber-free, then move to the depth under test
        panel.applySnapshot(snap(1, depth));
        QProgressBar* bar = panel.gauge("verify");
        QVERIFY(bar);
        QCOMPARE(bar->objectName(), QString("gauge-verify"));
        QCOMPARE(bar->property("level").toString(), level);
        const QString colour = level == "ok" ? "#16a34a" : level == "warn" ? "#f59e0b" : "#dc2626";
        QVERIFY2(bar->styleSheet().contains(colour), qPrintable(bar->styleSheet()));
        QCOMPARE(double(bar->value()) / bar->maximum(), double(depth) / 1000.0);
        QVERIFY(bar->text().contains(QString::number(depth)));
    }

    void gaugesFollowTheQueues() {
        ui::MemoryPanel panel(nullptr);
        panel.applySnapshot(snap(0));
        QCOMPARE(panel.gaugeCount(), 2);
        auto s = snap(1);
        s.queues.push_back({"backfill slots", 3, 4});
        s.queues.removeFirst();
        panel.applySnapshot(s);
        QCOMPARE(panel.gaugeCount(), 2);
        QVERIFY(!panel.gauge("verify"));
        QCOMPARE(panel.gauge("backfill slots")->property("level").toString(), QString("warn"));  // 75 %
        // A capacity beyond int keeps its ratio.
        s.queues = {{"cache bytes", qint64(3) << 40, qint64(4) << 40}};
        panel.applySnapshot(s);
        QProgressBar* big = panel.gauge("cache bytes");
        QCOMPARE(double(big->value()) / big->maximum(), 0.75);
        // A cache is full by design: shown full, not coloured as a queue about to block.
        s.queues = {{"index full-text term cache", 100, 100}, {"index lane 0 queue", 4, 4}};
        panel.applySnapshot(s);
        QCOMPARE(panel.gauge("index full-text term cache")->property("level").toString(), QString("ok"));
        QCOMPARE(panel.gauge("index lane 0 queue")->property("level").toString(), QString("critical"));
    }
};

QTEST_MAIN(TestMemoryPanel)
#include "tst_memory_panel.moc"
