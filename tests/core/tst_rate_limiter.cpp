#include <QtTest>

#include "core/net/rate_limiter.h"

using archivist::net::SlidingWindowRateLimiter;

namespace {
SlidingWindowRateLimiter::Options opts(double events_per_s, double bytes_per_s, int64_t window_ms = 1000,
                                       int buckets = 10) {
    SlidingWindowRateLimiter::Options o;
    o.max_events_per_s = events_per_s;
    o.max_bytes_per_s = bytes_per_s;
    o.window_ms = window_ms;
    o.buckets = buckets;
    return o;
}
}  // namespace

class TestRateLimiter : public QObject {
    Q_OBJECT
private slots:
    void steadyRateNeverPauses_data() {
        QTest::addColumn<int>("events_per_tick");
        QTest::addColumn<int>("bytes_per_tick");
        QTest::addColumn<int>("tick_ms");
        QTest::newRow("1000 ev/s") << 1 << 500 << 1;
        QTest::newRow("exactly 2000 ev/s") << 2 << 100 << 1;
        QTest::newRow("2000 ev/s in 10 ms chunks") << 20 << 100 << 10;
        QTest::newRow("2000 ev/s in 100 ms chunks") << 200 << 100 << 100;
        QTest::newRow("1 ev/s") << 1 << 100 << 1000;
        QTest::newRow("8 MiB/s exactly") << 1 << 8 * 1024 * 1024 / 1000 << 1;
        QTest::newRow("4 MiB/s in 50 ms chunks") << 10 << 4 * 1024 * 1024 / 20 << 50;
    }
    void steadyRateNeverPauses() {
        QFETCH(int, events_per_tick);
        QFETCH(int, bytes_per_tick);
        QFETCH(int, tick_ms);
        SlidingWindowRateLimiter limiter;  // defaults: 2000 ev/s, 8 MiB/s, 1 s in 10 buckets
        for (int64_t t = 12345; t < 12345 + 10'000; t += tick_ms) {
            limiter.record(t, uint32_t(events_per_tick), uint64_t(bytes_per_tick));
            QCOMPARE(limiter.pauseFor_ms(t), int64_t(0));
            QCOMPARE(limiter.pauseFor_ms(t + tick_ms / 2), int64_t(0));
        }
        const double expected = double(events_per_tick) * 1000.0 / tick_ms;
        const double measured = limiter.eventsPerSecond(12345 + 10'000 - tick_ms);
        QVERIFY2(measured <= expected * 1.0001 && measured >= expected * 0.85,
                 qPrintable(QString("measured %1 expected %2").arg(measured).arg(expected)));
    }

    // script: records "r <t> <events> <bytes>" and checks "p <t> <expected pause ms>", ';'-separated.
    void scripted_data() {
        QTest::addColumn<double>("events_per_s");
        QTest::addColumn<double>("bytes_per_s");
        QTest::addColumn<QString>("script");
        QTest::newRow("burst pauses until it leaves the window")
            << 2000.0 << 0.0 << "r 0 3000 0; p 0 1000; p 1 999; p 400 600; p 999 1; p 1000 0; p 5000 0";
        QTest::newRow("at the limit is not over") << 2000.0 << 0.0 << "r 0 2000 0; p 0 0; r 10 1 0; p 10 990";
        QTest::newRow("two halves: only the first must leave")
            << 2000.0 << 0.0 << "r 0 1500 0; p 0 0; r 500 1500 0; p 500 500; p 700 300; p 1000 0; p 1499 0";
        QTest::newRow("needs two buckets to leave")
            << 2000.0 << 0.0 << "r 0 1000 0; r 100 1000 0; r 200 1001 0; p 200 900; p 1000 100; p 1100 0";
        QTest::newRow("pause shrinks as window slides")
            << 100.0 << 0.0 << "r 50 200 0; p 50 950; p 250 750; p 550 450; p 950 50; p 1000 0";
        QTest::newRow("bytes limit alone")
            << 0.0 << 1000.0 << "r 0 1 1500; p 0 1000; r 300 1 0; p 300 700; p 1000 0";
        QTest::newRow("bytes limit while events are fine")
            << 2000.0 << 8388608.0 << "r 0 10 10485760; p 0 1000; p 600 400; p 1000 0";
        QTest::newRow("either limit pauses: longest wins")
            << 100.0 << 1000.0 << "r 0 150 0; r 500 0 1500; p 500 1000; p 1000 500; p 1500 0";
        QTest::newRow("unlimited never pauses") << 0.0 << 0.0 << "r 0 4000000000 999999999999; p 0 0";
        QTest::newRow("clock going back counts at latest")
            << 100.0 << 0.0 << "r 1000 60 0; r 500 60 0; p 500 1000; p 1000 1000; p 2000 0";
    }
    void scripted() {
        QFETCH(double, events_per_s);
        QFETCH(double, bytes_per_s);
        QFETCH(QString, script);
        SlidingWindowRateLimiter limiter(opts(events_per_s, bytes_per_s));
        for (const QString& step : script.split(';', Qt::SkipEmptyParts)) {
            const QStringList f = step.split(' ', Qt::SkipEmptyParts);
            QVERIFY(!f.isEmpty());
            if (f[0] == "r") {
                limiter.record(f[1].toLongLong(), uint32_t(f[2].toULongLong()), f[3].toULongLong());
            } else {
                const int64_t got = limiter.pauseFor_ms(f[1].toLongLong());
                QVERIFY2(got == f[2].toLongLong(),
                         qPrintable(QString("step '%1': pause %2").arg(step.trimmed()).arg(got)));
            }
        }
    }

    void pacedReaderStaysNearLimit() {
        // A reader that takes 50 events per millisecond whenever it is not paused.
        SlidingWindowRateLimiter limiter;
        int64_t total = 0;
        int64_t paused_ms = 0;
        for (int64_t t = 0; t < 10'000;) {
            const int64_t pause = limiter.pauseFor_ms(t);
            if (pause > 0) {
                QVERIFY(pause <= 1000);
                paused_ms += pause;
                t += pause;
                continue;
            }
            limiter.record(t, 50, 50 * 300);
            total += 50;
            ++t;
        }
        // 2000 ev/s over 10 s, plus at most one window's worth of overshoot.
        QVERIFY2(total <= 20'000 + 2'000 + 50, qPrintable(QString::number(total)));
        QVERIFY2(total >= 18'000, qPrintable(QString::number(total)));
        QVERIFY(paused_ms > 5'000);
    }

    void customWindowAndBuckets() {
        SlidingWindowRateLimiter limiter(opts(100, 0, 2000, 4));
        QCOMPARE(limiter.windowEventLimit(), int64_t(200));
        limiter.record(0, 201, 0);
        QCOMPARE(limiter.pauseFor_ms(0), int64_t(2000));
        QCOMPARE(limiter.pauseFor_ms(1500), int64_t(500));
        QCOMPARE(limiter.pauseFor_ms(2000), int64_t(0));
        QCOMPARE(limiter.eventsPerSecond(0), 100.5);
        QCOMPARE(limiter.eventsPerSecond(2000), 0.0);
    }

    void optionsClamped() {
        SlidingWindowRateLimiter zero(opts(10, 0, 0, 0));
        QCOMPARE(zero.options().buckets, 1);
        QVERIFY(zero.options().window_ms >= 1);
        SlidingWindowRateLimiter many(opts(10, 0, 1000, 1000));
        QCOMPARE(many.options().buckets, SlidingWindowRateLimiter::kMaxBuckets);
        QCOMPARE(many.options().window_ms % many.options().buckets, int64_t(0));
        SlidingWindowRateLimiter tiny(opts(0.1, 0));  // 0.1/s in a 1 s window still limits
        QCOMPARE(tiny.windowEventLimit(), int64_t(1));
        tiny.record(0, 2, 0);
        QVERIFY(tiny.pauseFor_ms(0) > 0);
    }

    void ratesAndReset() {
        SlidingWindowRateLimiter limiter;
        limiter.record(100, 500, 1000);
        limiter.record(600, 500, 1000);
        QCOMPARE(limiter.eventsPerSecond(600), 1000.0);
        QCOMPARE(limiter.bytesPerSecond(600), 2000.0);
        QCOMPARE(limiter.eventsPerSecond(1100), 500.0);  // the t=100 bucket has left
        limiter.reset();
        QCOMPARE(limiter.eventsPerSecond(600), 0.0);
        limiter.record(0, 1, 1);  // after reset, earlier times are accepted again
        QCOMPARE(limiter.eventsPerSecond(0), 1.0);
    }
};

QTEST_GUILESS_MAIN(TestRateLimiter)
#include "tst_rate_limiter.moc"
