// The GUI loop-lag monitor: quantiles of a known sequence, the sliding window, the exported
// gauges, and a real stall of the event loop showing up as lag.
#include <QElapsedTimer>
#include <QtTest>

#include "core/observe/metrics.h"
#include "ui/loop_lag_monitor.h"

using namespace archivist;

namespace {
double gaugeValue(const observe::MetricsRegistry& m, const std::string& quantile) {
    for (const auto& s : m.samples())
        if (s.name == "archivist_ui_loop_lag_ms")
            for (const auto& [k, v] : s.labels)
                if (k == "quantile" && v == quantile) return s.value;
    return -1;
}
}  // namespace

class TestLoopLagMonitor : public QObject {
    Q_OBJECT
private slots:
    void quantilesOfAKnownSequence_data() {
        QTest::addColumn<int>("window");
        QTest::addColumn<double>("p50");
        QTest::addColumn<double>("p99");
        QTest::newRow("whole sequence") << 1000 << 50.0 << 99.0;
        QTest::newRow("window keeps the last 10 fed (10 … 1)") << 10 << 5.0 << 10.0;
    }
    void quantilesOfAKnownSequence() {
        QFETCH(int, window);
        QFETCH(double, p50);
        QFETCH(double, p99);
        observe::MetricsRegistry metrics;
        ui::LoopLagMonitor monitor(&metrics, nullptr, 50, window);
        monitor.stop();  // only the fed sequence counts
        QVector<int> values;
        for (int i = 1; i <= 100; ++i) values << i;
        std::reverse(values.begin(), values.end());  // order must not matter
        for (int v : values) monitor.addSample(v);
        QCOMPARE(monitor.quantile(0.5), p50);
        QCOMPARE(monitor.quantile(0.99), p99);
        monitor.publish();
        QCOMPARE(gaugeValue(metrics, "0.5"), p50);
        QCOMPARE(gaugeValue(metrics, "0.99"), p99);
        QVERIFY(metrics.renderPrometheus().find("archivist_ui_loop_lag_ms{quantile=\"0.99\"}") != std::string::npos);
    }

    void emptyWindowIsZero() {
        ui::LoopLagMonitor monitor(nullptr);
        monitor.stop();
        QCOMPARE(monitor.quantile(0.99), 0.0);
    }

    void aStalledLoopShowsUpAsLag() {
        observe::MetricsRegistry metrics;
        ui::LoopLagMonitor monitor(&metrics, nullptr, 20, 100);
        QTRY_VERIFY(monitor.sampleCount() >= 2);
        QVERIFY(monitor.quantile(0.5) < 150);
        // Block the loop (what a slow slot does to the console) for 300 ms.
        QElapsedTimer busy;
        busy.start();
        while (busy.elapsed() < 300) {
        }
        QTRY_VERIFY(monitor.quantile(1.0) >= 200);
        QTRY_VERIFY_WITH_TIMEOUT(gaugeValue(metrics, "0.99") >= 200, 3000);
    }
};

QTEST_MAIN(TestLoopLagMonitor)
#include "tst_loop_lag_monitor.moc"
