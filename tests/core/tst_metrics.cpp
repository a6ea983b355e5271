#include <QtTest>
#include <random>
#include <thread>

#include "core/observe/log_ring.h"
#include "core/observe/memory_stats.h"
#include "core/observe/metrics.h"

using namespace archivist::observe;

class TestMetrics : public QObject {
    Q_OBJECT
private slots:
    void sameNameAndLabelsIsSameSeries() {
        MetricsRegistry r;
        Counter& a = r.counter("x_total", "help", {{"k", "v"}});
        Counter& b = r.counter("x_total", "help", {{"k", "v"}});
        Counter& c = r.counter("x_total", "help", {{"k", "w"}});
        QCOMPARE(&a, &b);
        QVERIFY(&a != &c);
        a.inc(3);
        c.inc();
        QCOMPARE(r.total("x_total"), 4.0);
    }

    void concurrentIncrementsSumExactly() {
        MetricsRegistry r;
        Counter& c = r.counter("c_total", "h");
        std::vector<std::thread> ts;
        for (int t = 0; t < 4; ++t)
            ts.emplace_back([&] { for (int i = 0; i < 100000; ++i) c.inc(); });
        for (auto& t : ts) t.join();
        QCOMPARE(c.value(), uint64_t(400000));
    }

    void histogramQuantilesWithinDocumentedError() {
        Histogram h;
        std::mt19937 rng(7);
        std::uniform_real_distribution<double> d(0.001, 1.0);
        std::vector<double> values;
        for (int i = 0; i < 20000; ++i) {
            values.push_back(d(rng));
            h.observe(values.back());
        }
        std::sort(values.begin(), values.end());
        for (double q : {0.5, 0.9, 0.99}) {
            const double truth = values[size_t(q * double(values.size() - 1))];
            const double est = h.quantile(q);
            QVERIFY2(std::abs(est - truth) / truth < 0.1, qPrintable(QString("q%1 est %2 truth %3").arg(q).arg(est).arg(truth)));
        }
        QCOMPARE(h.count(), uint64_t(20000));
    }

    void prometheusTextIsWellFormedAndEscaped() {
        MetricsRegistry r;
        r.counter("events_total", "Events seen", {{"relay", "wss://a\"b\\c\nd"}}).inc(2);
        r.gauge("depth", "Queue depth").set(5);
        r.histogram("lat_seconds", "Latency").observe(0.25);
        r.gaugeFn("fn_gauge", "Callback", {}, [] { return 42.0; });
        const QString text = QString::fromStdString(r.renderPrometheus());
        QVERIFY(text.contains("# TYPE events_total counter\n"));
        QVERIFY(text.contains("events_total{relay=\"wss://a\\\"b\\\\c\\nd\"} 2\n"));
        QVERIFY(text.contains("depth 5\n"));
        QVERIFY(text.contains("fn_gauge 42\n"));
        QVERIFY(text.contains("# TYPE lat_seconds summary\n"));
        QVERIFY(text.contains("lat_seconds{quantile=\"0.99\"}"));
        QVERIFY(text.contains("lat_seconds_count 1\n"));
        QCOMPARE(text.count("# HELP events_total"), 1);
    }

    void seriesAreBoundedAndFoldIntoOverflow() {
        MetricsRegistry r(50);
        for (int i = 0; i < 500; ++i) r.counter("per_relay_total", "h", {{"relay", std::to_string(i)}}).inc();
        QVERIFY(r.seriesCount() <= 51);
        QCOMPARE(r.total("per_relay_total"), 500.0);  // nothing lost, folded
        QVERIFY(r.total("archivist_metrics_series_folded_total") > 0);
        QVERIFY(QString::fromStdString(r.renderPrometheus()).contains("overflow=\"true\""));
    }

    void removedGaugeFnsAreNeverCalledAgain() {
        MetricsRegistry r;
        int owner = 0;
        std::atomic<int> calls{0};
        r.gaugeFn("g", "h", {}, [&] { ++calls; return 1.0; }, &owner);
        r.renderPrometheus();
        QCOMPARE(calls.load(), 1);
        r.removeGaugeFns(&owner);
        r.renderPrometheus();
        QCOMPARE(calls.load(), 1);
        QVERIFY(!QString::fromStdString(r.renderPrometheus()).contains("\ng "));
    }

    void memoryGaugesFollowAllocations() {
        const auto before = readMemoryStats();
        QVERIFY(before.rss_bytes > 0);
        std::vector<char> big(64 << 20);
        for (size_t i = 0; i < big.size(); i += 4096) big[i] = char(i);
        const auto after = readMemoryStats();
        QVERIFY(after.rss_bytes >= before.rss_bytes + (48 << 20));
        QVERIFY(after.heap_in_use_bytes >= before.heap_in_use_bytes + (60 << 20));
        QVERIFY(after.peak_rss_bytes >= after.rss_bytes);
        MetricsRegistry r;
        registerMemoryGauges(r);
        QVERIFY(r.total("archivist_process_resident_memory_bytes") > 0);
    }

    void logRingIsBoundedAndCapturesQtLogging() {
        LogRing ring(3);
        for (int i = 0; i < 5; ++i) ring.append(LogRecord{0, 1, "c", std::to_string(i), 0});
        QCOMPARE(ring.size(), size_t(3));
        QCOMPARE(ring.evicted(), uint64_t(2));
        auto recs = ring.since(0, 10);
        QCOMPARE(recs.front().message, std::string("2"));
        QCOMPARE(ring.since(recs[1].seq, 10).size(), size_t(1));

        LogRing captured(100);
        installLogRingHandler(&captured);
        QLoggingCategory cat("archivist.test");
        qCWarning(cat) << "disk almost full";
        uninstallLogRingHandler();
        auto got = captured.since(0, 10);
        QCOMPARE(got.size(), size_t(1));
        QCOMPARE(got[0].category, std::string("archivist.test"));
        QCOMPARE(got[0].level, 2);
        QVERIFY(QString::fromStdString(got[0].message).contains("disk almost full"));
    }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
