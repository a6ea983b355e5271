// The Log panel: records from the engine's log ring appear, filter by category and level,
// stay bounded like the ring, and follow the newest record unless the user scrolled up.
#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QScrollBar>
#include <QTableView>
#include <QtTest>

#include "core/observe/log_ring.h"
#include "fake_engine.h"
#include "ui/log_filter_proxy.h"
#include "ui/log_model.h"
#include "ui/panels/log_panel.h"

using namespace archivist;

namespace {
observe::LogRecord rec(int level, const char* category, const QString& message) {
    observe::LogRecord r;
    r.time_ms = 1700000000000;
    r.level = level;
    r.category = category;
    r.message = message.toStdString();
    return r;
}
}  // namespace

class TestLogPanel : public QObject {
    Q_OBJECT
private slots:
    void modelPassesTheModelTesterAndIsBounded() {
        ui::LogModel model(5);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        std::vector<observe::LogRecord> batch;
        for (int i = 0; i < 3; ++i) batch.push_back(rec(1, "archivist.net", QString("a%1").arg(i)));
        model.append(batch);
        QCOMPARE(model.rowCount(), 3);
        batch.clear();
        for (int i = 0; i < 4; ++i) batch.push_back(rec(2, "archivist.store", QString("b%1").arg(i)));
        model.append(batch);
        QCOMPARE(model.rowCount(), 5);
        QCOMPARE(model.index(0, ui::LogModel::Message).data().toString(), QString("a2"));
        QCOMPARE(model.index(4, ui::LogModel::Message).data().toString(), QString("b3"));
        batch.clear();
        for (int i = 0; i < 9; ++i) batch.push_back(rec(0, "archivist.net", QString("c%1").arg(i)));
        model.append(batch);  // bigger than the capacity at once
        QCOMPARE(model.rowCount(), 5);
        QCOMPARE(model.index(0, ui::LogModel::Message).data().toString(), QString("c4"));
        QCOMPARE(model.categories(), (QStringList{"archivist.net", "archivist.store"}));
    }

    void filtersByCategoryAndLevel() {
        FakeEngine engine;
        observe::LogRing ring(100);
        ring.append(rec(0, "archivist.net", "connecting to wss://a"));
        ring.append(rec(2, "archivist.net", "wss://a failed"));
        ring.append(rec(1, "archivist.store", "commit 12 events"));
        ring.append(rec(3, "archivist.store", "disk full"));
        ui::LogPanel panel(&engine, &ring);
        panel.show();
        QCOMPARE(panel.view()->model()->rowCount(), 4);

        auto* category = panel.findChild<QComboBox*>("logCategory");
        auto* level = panel.findChild<QComboBox*>("logLevel");
        QVERIFY(category && level);
        QCOMPARE(category->count(), 3);  // All + two categories
        category->setCurrentIndex(category->findText("archivist.store"));
        QCOMPARE(panel.view()->model()->rowCount(), 2);
        level->setCurrentIndex(level->findData(2));  // warning and worse
        QCOMPARE(panel.view()->model()->rowCount(), 1);
        QCOMPARE(panel.view()->model()->index(0, ui::LogModel::Message).data().toString(), QString("disk full"));
        category->setCurrentIndex(0);
        QCOMPARE(panel.view()->model()->rowCount(), 2);

        // A new category arriving later joins the list; the snapshot tick polls the ring.
        ring.append(rec(2, "archivist.sync", "gap recorded"));
        engine.publish({});
        panel.applySnapshot({});
        QCOMPARE(panel.view()->model()->rowCount(), 3);
        QVERIFY(category->findText("archivist.sync") > 0);
    }

    void boundedLikeTheRingAndCountsMissedRecords() {
        FakeEngine engine;
        observe::LogRing ring(10);
        ui::LogPanel panel(&engine, &ring);
        for (int i = 0; i < 25; ++i) ring.append(rec(1, "archivist.net", QString("m%1").arg(i)));
        panel.poll();
        QCOMPARE(panel.model()->rowCount(), 10);
        QCOMPARE(panel.missed(), uint64_t(15));
        for (int i = 25; i < 30; ++i) ring.append(rec(1, "archivist.net", QString("m%1").arg(i)));
        panel.poll();
        QCOMPARE(panel.model()->rowCount(), 10);
        QCOMPARE(panel.model()->index(9, ui::LogModel::Message).data().toString(), QString("m29"));
    }

    void followsTheNewestUnlessScrolledUp() {
        FakeEngine engine;
        observe::LogRing ring(1000);
        ui::LogPanel panel(&engine, &ring);
        panel.resize(400, 200);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        for (int i = 0; i < 200; ++i) ring.append(rec(1, "archivist.net", QString("line %1").arg(i)));
        panel.poll();
        QScrollBar* bar = panel.view()->verticalScrollBar();
        QTRY_VERIFY(bar->maximum() > 0);
        QTRY_COMPARE(bar->value(), bar->maximum());
        // The user scrolls up to read: new records must not yank the view down.
        bar->setValue(bar->maximum() / 2);
        const int held = bar->value();
        for (int i = 0; i < 50; ++i) ring.append(rec(1, "archivist.net", QString("more %1").arg(i)));
        panel.poll();
        QCOMPARE(bar->value(), held);
        // Back at the bottom, it follows again.
        bar->setValue(bar->maximum());
        for (int i = 0; i < 50; ++i) ring.append(rec(1, "archivist.net", QString("again %1").arg(i)));
        panel.poll();
        QTRY_COMPARE(bar->value(), bar->maximum());
    }
};

QTEST_MAIN(TestLogPanel)
#include "tst_log_panel.moc"
