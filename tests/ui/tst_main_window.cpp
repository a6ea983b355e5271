// The first window against a fake engine: snapshots reach the totals and the newest-events table,
// File → Import reaches the engine, progress and completion are shown.
#include <QAbstractItemModelTester>
#include <QLabel>
#include <QProgressDialog>
#include <QPushButton>
#include <QTableView>
#include <QtTest>

#include "core/engine/engine.h"
#include "ui/main_window.h"
#include "ui/newest_events_model.h"

using namespace archivist;

class FakeEngine : public engine::Engine {
public:
    QStringList imported;
    bool running = false;
    bool cancelled = false;
    engine::EngineSnapshot current;
    void startImport(const QStringList& files) override {
        imported = files;
        running = true;
    }
    void cancelJob() override { cancelled = true; }
    bool jobRunning() const override { return running; }
    engine::EngineSnapshot snapshot() const override { return current; }
    void publish(const engine::EngineSnapshot& s) {
        current = s;
        emit snapshotReady(s);
    }
};

namespace {
engine::NewestEvent ev(int i) {
    engine::NewestEvent e;
    e.id_hex = QString("%1").arg(i, 64, 16, QChar('0'));
    e.pubkey_hex = QString(64, 'b');
    e.created_at = 1700000000 + i;
    e.kind = 1;
    e.content_preview = QString("note %1").arg(i);
    e.source = "import:test.jsonl";
    return e;
}
}  // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void modelPassesTheModelTester() {
        ui::NewestEventsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setEvents({ev(1), ev(2)});
        QCOMPARE(model.rowCount(), 2);
        model.setEvents({ev(3), ev(1), ev(2)});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.data(model.index(0, ui::NewestEventsModel::Content)).toString(), QString("note 3"));
        model.setEvents({});
        QCOMPARE(model.rowCount(), 0);
    }

    void snapshotsUpdateTotalsAndTable() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        w.show();
        engine::EngineSnapshot s;
        s.events_total = 12345;
        s.archive_bytes = 3 << 20;
        s.stored_per_s = 250;
        s.rss_bytes = 100 << 20;
        s.newest = {ev(9), ev(8), ev(7)};
        engine.publish(s);
        auto* events = w.findChild<QLabel*>("labelEvents");
        QVERIFY(events);
        QVERIFY(events->text().remove(QRegularExpression("[^0-9]")) == "12345");
        QVERIFY(w.findChild<QLabel*>("labelRate")->text().contains("250"));
        auto* table = w.findChild<QTableView*>("newestEvents");
        QCOMPARE(table->model()->rowCount(), 3);
        QCOMPARE(table->model()->data(table->model()->index(0, ui::NewestEventsModel::Kind)).toInt(), 1);
    }

    void importReachesTheEngineAndShowsProgress() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        w.show();
        w.importFiles({"/tmp/a.jsonl"});
        QCOMPARE(engine.imported, QStringList{"/tmp/a.jsonl"});
        auto* progress = w.findChild<QProgressDialog*>("importProgress");
        QVERIFY(progress);
        emit engine.jobProgress("import", 0.5, "500 read");
        QCOMPARE(progress->value(), 500);
        QCOMPARE(progress->labelText(), QString("500 read"));
        auto* cancel = progress->findChild<QPushButton*>();
        QVERIFY(cancel);
        QTest::mouseClick(cancel, Qt::LeftButton);
        QVERIFY(engine.cancelled);
        engine.running = false;
        emit engine.jobFinished("import", true, "Imported 1000 lines");
        QTRY_VERIFY(!w.findChild<QProgressDialog*>("importProgress"));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
