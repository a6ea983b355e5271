#include <QtTest>
#include <set>
#include <thread>

#include "core/observe/log.h"
#include "core/observe/log_ring.h"

using namespace archivist::observe;

namespace {
QStringList g_chained;
void recordingHandler(QtMsgType, const QMessageLogContext&, const QString& msg) { g_chained << msg; }

LogRecord rec(const std::string& msg, int level = 1) { return LogRecord{0, level, "archivist.test", msg, 0}; }
}  // namespace

class TestLogRing : public QObject {
    Q_OBJECT
private slots:
    void capacityBoundEvictsOldest() {
        LogRing ring(3);
        QCOMPARE(ring.capacity(), size_t(3));
        for (int i = 0; i < 5; ++i) ring.append(rec(std::to_string(i)));
        QCOMPARE(ring.size(), size_t(3));
        QCOMPARE(ring.evicted(), uint64_t(2));
        const auto recs = ring.since(0, 10);
        QCOMPARE(recs.size(), size_t(3));
        QCOMPARE(recs[0].message, std::string("2"));
        QCOMPARE(recs[2].message, std::string("4"));
        QCOMPARE(recs[0].seq, uint64_t(3));  // seqs 1 and 2 were evicted: the gap tells the reader
        QCOMPARE(ring.since(1, 10).size(), size_t(3));
        const auto newer = ring.since(3, 10);
        QCOMPARE(newer.size(), size_t(2));
        QCOMPARE(newer[0].message, std::string("3"));
        for (int i = 0; i < 10000; ++i) ring.append(rec("x"));
        QCOMPARE(ring.size(), size_t(3));
        QCOMPARE(ring.evicted(), uint64_t(10002));
    }

    void sinceReturnsNewerRecordsInOrder_data() {
        QTest::addColumn<int>("after");
        QTest::addColumn<int>("max");
        QTest::addColumn<QList<int>>("expectedSeqs");
        QTest::newRow("all") << 0 << 100 << QList<int>{1, 2, 3, 4, 5};
        QTest::newRow("after 3") << 3 << 100 << QList<int>{4, 5};
        QTest::newRow("max 2 from the oldest") << 0 << 2 << QList<int>{1, 2};
        QTest::newRow("caught up") << 5 << 100 << QList<int>{};
        QTest::newRow("max 0") << 0 << 0 << QList<int>{};
        QTest::newRow("far future") << 99 << 100 << QList<int>{};
    }
    void sinceReturnsNewerRecordsInOrder() {
        QFETCH(int, after);
        QFETCH(int, max);
        QFETCH(QList<int>, expectedSeqs);
        LogRing ring(10);
        for (int i = 1; i <= 5; ++i) ring.append(rec("m" + std::to_string(i), i % 5));
        QList<int> got;
        for (const auto& r : ring.since(uint64_t(after), size_t(max))) {
            got << int(r.seq);
            QCOMPARE(r.message, "m" + std::to_string(r.seq));  // seq assigned in append order
        }
        QCOMPARE(got, expectedSeqs);
    }

    void seqIsUniqueAndIncreasingAcrossThreads() {
        LogRing ring(100000);
        std::vector<std::thread> ts;
        for (int t = 0; t < 4; ++t)
            ts.emplace_back([&ring, t] {
                for (int i = 0; i < 5000; ++i) ring.append(rec(std::to_string(t)));
            });
        for (auto& t : ts) t.join();
        const auto all = ring.since(0, 100000);
        QCOMPARE(all.size(), size_t(20000));
        for (size_t i = 0; i < all.size(); ++i) QCOMPARE(all[i].seq, uint64_t(i + 1));
    }

    void handlerCapturesQtLoggingAndChains() {
        g_chained.clear();
        const QtMessageHandler original = qInstallMessageHandler(recordingHandler);
        LogRing ring(100);
        installLogRingHandler(&ring);
        const qint64 t0 = QDateTime::currentMSecsSinceEpoch();
        qCInfo(lcObserve) << "scrape served";
        qCWarning(lcArchive) << "disk almost full";
        qCDebug(lcNet) << "per-relay chatter";  // below the default info level: dropped by Qt
        qCCritical(lcIndex) << "database locked";
        uninstallLogRingHandler();
        qCInfo(lcObserve) << "after uninstall";
        qInstallMessageHandler(original);

        const auto got = ring.since(0, 10);
        QCOMPARE(got.size(), size_t(3));
        QCOMPARE(got[0].category, std::string("archivist.observe"));
        QCOMPARE(got[0].level, 1);
        QVERIFY(QString::fromStdString(got[0].message).contains("scrape served"));
        QCOMPARE(got[1].category, std::string("archivist.archive"));
        QCOMPARE(got[1].level, 2);
        QCOMPARE(got[2].category, std::string("archivist.index"));
        QCOMPARE(got[2].level, 3);
        QVERIFY(got[0].time_ms >= t0 && got[0].time_ms <= QDateTime::currentMSecsSinceEpoch());
        QVERIFY(got[0].seq < got[1].seq && got[1].seq < got[2].seq);
        // The previous handler saw every message too (and, once uninstalled, is the handler again).
        QCOMPARE(g_chained.size(), 4);
        QVERIFY(g_chained[1].contains("disk almost full"));
        QVERIFY(g_chained[3].contains("after uninstall"));
    }

    void uninstallKeepsAHandlerInstalledLater() {
        g_chained.clear();
        const QtMessageHandler original = qInstallMessageHandler(nullptr);
        LogRing ring(10);
        installLogRingHandler(&ring);
        const QtMessageHandler ours = qInstallMessageHandler(recordingHandler);  // someone else, later
        QVERIFY(ours != nullptr);
        uninstallLogRingHandler();
        qCInfo(lcEngine) << "still recorded";
        QVERIFY(qInstallMessageHandler(original) == &recordingHandler);
        QCOMPARE(g_chained.size(), 1);
        QCOMPARE(ring.size(), size_t(0));  // the ring no longer receives anything
    }

    void categoriesHaveTheirNamesAndInfoDefault_data() {
        QTest::addColumn<QString>("expected");
        QTest::addColumn<QString>("actual");
        QTest::addColumn<bool>("debugEnabled");
        QTest::addColumn<bool>("infoEnabled");
        const std::pair<const char*, const QLoggingCategory*> cats[] = {
            {"archivist.protocol", &lcProtocol()}, {"archivist.net", &lcNet()},       {"archivist.ingest", &lcIngest()},
            {"archivist.archive", &lcArchive()},   {"archivist.index", &lcIndex()},   {"archivist.relays", &lcRelays()},
            {"archivist.sync", &lcSync()},         {"archivist.observe", &lcObserve()}, {"archivist.engine", &lcEngine()}};
        for (const auto& [name, c] : cats)
            QTest::newRow(name) << QString(name) << QString(c->categoryName()) << c->isDebugEnabled() << c->isInfoEnabled();
    }
    void categoriesHaveTheirNamesAndInfoDefault() {
        QFETCH(QString, expected);
        QFETCH(QString, actual);
        QFETCH(bool, debugEnabled);
        QFETCH(bool, infoEnabled);
        QCOMPARE(actual, expected);
        QVERIFY(!debugEnabled);
        QVERIFY(infoEnabled);
    }
};

QTEST_GUILESS_MAIN(TestLogRing)
#include "tst_log_ring.moc"
