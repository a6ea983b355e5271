// The main window against a fake engine: snapshots reach the totals, the newest-events table and
// the status bar; File → Import reaches the engine; docks have stable names, the View menu toggles
// them, the layout round-trips through the settings and resets; Add relays… opens from the
// toolbar and from a dropped file; relay action errors reach the status bar; File → Rebuild index
// asks, runs with progress and cancel; File → Export asks for a file and exports.
#include <QAbstractItemModelTester>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QMenuBar>
#include <QMessageBox>
#include <QMenu>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QToolBar>
#include <QToolButton>
#include <QLabel>
#include <QLineEdit>
#include <QProgressDialog>
#include <QPushButton>
#include <QTableView>
#include <QtTest>
#include <QScreen>

#include "core/engine/engine.h"
#include "fake_engine.h"
#include "ui/main_window.h"
#include "ui/panels/memory_panel.h"
#include "ui/panels/throughput_panel.h"
#include <QLineSeries>
#include "ui/add_relays_dialog.h"
#include "ui/newest_events_model.h"
#include "ui/panels/relays_panel.h"

using namespace archivist;


namespace {
// Answers the next modal dialog once it is up (it runs its own event loop): a message box with
// `button`, a file dialog with `file`.
void answerNextModal(QMessageBox::StandardButton button, const QString& file = {}) {
    auto* timer = new QTimer;
    QObject::connect(timer, &QTimer::timeout, timer, [timer, button, file] {
        QWidget* modal = QApplication::activeModalWidget();
        if (auto* box = qobject_cast<QMessageBox*>(modal)) {
            timer->deleteLater();
            (box->button(button) ? box->button(button) : box->defaultButton())->click();
        } else if (auto* dialog = qobject_cast<QFileDialog*>(modal)) {
            timer->deleteLater();
            // selectFile() leaves the name field alone once it has the focus (a loaded machine
            // can give it the focus before this timer fires): set the field itself too.
            dialog->selectFile(file);
            if (auto* name = dialog->findChild<QLineEdit*>("fileNameEdit")) name->setText(file);
            static_cast<QDialog*>(dialog)->accept();  // QFileDialog::accept() is protected
        }
    });
    timer->start(10);
}

// Clicks the button labelled `text` of the next message box.
void clickNextModalButton(const QString& text) {
    auto* timer = new QTimer;
    QObject::connect(timer, &QTimer::timeout, timer, [timer, text] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        if (!box) return;
        timer->deleteLater();
        for (QAbstractButton* b : box->buttons())
            if (b->text() == text) {
                b->click();
                return;
            }
        box->reject();
    });
    timer->start(10);
}

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
        model.setEvents({ev(1), ev(3), ev(2)});  // arrival order, as an import delivers them
        QCOMPARE(model.rowCount(), 3);
        // Newest created first.
        QCOMPARE(model.data(model.index(0, ui::NewestEventsModel::Content)).toString(), QString("note 3"));
        QCOMPARE(model.data(model.index(2, ui::NewestEventsModel::Content)).toString(), QString("note 1"));
        model.setEvents({});
        QCOMPARE(model.rowCount(), 0);
    }

    // Panels that connect themselves to the engine are wired by the window too: each snapshot
    // must still reach them once (a chart would otherwise record every point twice).
    void panelsInTheWindowGetEachSnapshotOnce() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        // The memory chart records every snapshot it gets (the throughput chart keeps one a second).
        auto* panel = w.findChild<ui::MemoryPanel*>();
        QVERIFY(panel);
        const qint64 t0 = QDateTime::currentMSecsSinceEpoch();
        for (int i = 0; i < 3; ++i) {
            engine::EngineSnapshot s;
            s.taken_at_ms = t0 + i * 250;
            s.rss_bytes = quint64(10 + i) << 20;
            engine.publish(s);
        }
        QCOMPARE(panel->rssSeries()->count(), 3);
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
        QCOMPARE(table->model()->data(table->model()->index(0, ui::NewestEventsModel::Kind)).toString(), QString::fromUtf8("1 · Short Text Note"));
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
        auto* summary = w.findChild<QMessageBox*>("importSummary");  // stays until read
        QVERIFY(summary && summary->isVisible());
        QCOMPARE(summary->text(), QString("Imported 1000 lines"));
        summary->close();
    }
    void rebuildIndexAsksThenRunsWithProgressAndCancel() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        w.show();
        auto* action = w.findChild<QAction*>("actionReindex");
        QVERIFY(action);
        answerNextModal(QMessageBox::No);
        action->trigger();
        QCOMPARE(engine.reindexStarts, 0);
        QVERIFY(!w.findChild<QProgressDialog*>("reindexProgress"));
        answerNextModal(QMessageBox::Yes);
        action->trigger();
        QCOMPARE(engine.reindexStarts, 1);
        auto* progress = w.findChild<QProgressDialog*>("reindexProgress");
        QVERIFY(progress);
        emit engine.jobProgress("reindex", 0.25, "750 events indexed");
        QCOMPARE(progress->value(), 250);
        QCOMPARE(progress->labelText(), QString("750 events indexed"));
        auto* cancel = progress->findChild<QPushButton*>();
        QVERIFY(cancel);
        QTest::mouseClick(cancel, Qt::LeftButton);
        QVERIFY(engine.cancelled);
        engine.running = false;
        answerNextModal(QMessageBox::Ok);  // the report
        emit engine.jobFinished("reindex", false, "Index rebuild cancelled; the index is unchanged.");
        QTRY_VERIFY(!w.findChild<QProgressDialog*>("reindexProgress"));
        QVERIFY(w.statusBar()->currentMessage().contains("cancelled"));
    }

    void fetchIdsRunsWithProgressAndReport() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        w.show();
        QVERIFY(w.findChild<QAction*>("actionFetchIds"));
        w.fetchIds("/tmp/missing.txt");
        QCOMPARE(engine.fetchIdsPaths, QStringList{"/tmp/missing.txt"});
        auto* progress = w.findChild<QProgressDialog*>("fetchIdsProgress");
        QVERIFY(progress);
        emit engine.jobProgress("fetch-ids", 0.5, "5000 ids read: 120 found");
        QCOMPARE(progress->value(), 500);
        QCOMPARE(progress->labelText(), QString("5000 ids read: 120 found"));
        engine.running = false;
        answerNextModal(QMessageBox::Ok);  // the report
        emit engine.jobFinished("fetch-ids", true, "30 ids: 30 found\n  wss://a: returned 30 of 30 asked");
        QTRY_VERIFY(!w.findChild<QProgressDialog*>("fetchIdsProgress"));
        QVERIFY(w.statusBar()->currentMessage().contains("30 found"));
    }

    void salvageAsksThenRunsWithProgress() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        w.show();
        auto* action = w.findChild<QAction*>("actionSalvage");
        QVERIFY(action);
        answerNextModal(QMessageBox::Cancel);
        action->trigger();
        QCOMPARE(engine.salvageStarts, 0);
        clickNextModalButton("Salvage and accept unreadable losses");
        action->trigger();
        QCOMPARE(engine.salvageStarts, 1);
        QVERIFY(engine.salvageAcceptLoss);
        engine.running = false;
        answerNextModal(QMessageBox::Ok);  // the report
        emit engine.jobFinished("salvage", true, "recovered 0 events");
        QTRY_VERIFY(!w.findChild<QProgressDialog*>("salvageProgress"));
        clickNextModalButton("Salvage");
        action->trigger();
        QCOMPARE(engine.salvageStarts, 2);
        QVERIFY(!engine.salvageAcceptLoss);
        auto* progress = w.findChild<QProgressDialog*>("salvageProgress");
        QVERIFY(progress);
        emit engine.jobProgress("salvage", -1, "Scanning the archive for damage…");
        QCOMPARE(progress->maximum(), 0);  // busy: no measure yet
        emit engine.jobProgress("salvage", 0.5, "Recovering quarantined events (1 of 2 regions)…");
        QCOMPARE(progress->maximum(), 1000);
        QCOMPARE(progress->value(), 500);
        engine.running = false;
        answerNextModal(QMessageBox::Ok);  // the report
        emit engine.jobFinished("salvage", true, "recovered 3633 events (3633 stored again), lost 463");
        QTRY_VERIFY(!w.findChild<QProgressDialog*>("salvageProgress"));
        QVERIFY(w.statusBar()->currentMessage().contains("recovered 3633"));
    }

    void fileExportAsksForAFileAndExports() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        w.show();
        auto* action = w.findChild<QAction*>("actionExport");
        QVERIFY(action);
        QVERIFY(w.menuBar()->actions().at(0)->menu()->actions().contains(action));
        QTemporaryDir dir;
        const QString path = dir.filePath("out.jsonl");
        answerNextModal(QMessageBox::NoButton, path);
        action->trigger();
        QCOMPARE(engine.exportPaths, QStringList{path});
        QVERIFY(w.findChild<QProgressDialog*>("exportProgress"));
    }

    void docksHaveStableNamesAndTheViewMenuTogglesThem() {
        FakeEngine engine;
        QTemporaryDir dir;
        ui::MainWindowOptions o;
        o.settings_file = dir.filePath("ui.ini");
        ui::MainWindow w(&engine, o);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        for (const char* name : {"dock-relays", "dock-newest", "dock-log"}) {
            auto* dock = w.findChild<QDockWidget*>(name);
            QVERIFY2(dock, name);
            QVERIFY(dock->isVisible());
            QAction* toggle = nullptr;
            for (auto* a : w.viewMenu()->actions())
                if (a == dock->toggleViewAction()) toggle = a;
            QVERIFY2(toggle, "the View menu has the dock's toggle");
            toggle->trigger();
            QVERIFY(!dock->isVisible());
            toggle->trigger();
            QVERIFY(dock->isVisible());
        }
    }

    void layoutRoundTripsAndResets() {
        FakeEngine engine;
        QTemporaryDir dir;
        ui::MainWindowOptions o;
        o.settings_file = dir.filePath("ui.ini");
        {
            ui::MainWindow w(&engine, o);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            QCOMPARE(w.dockWidgetArea(w.dock("dock-relays")), Qt::LeftDockWidgetArea);
            w.dock("dock-log")->close();
            w.addDockWidget(Qt::RightDockWidgetArea, w.dock("dock-relays"));
            w.resize(1000, 760);
            w.close();  // saves
        }
        ui::MainWindow w(&engine, o);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(!w.dock("dock-log")->isVisible());
        QCOMPARE(w.dockWidgetArea(w.dock("dock-relays")), Qt::RightDockWidgetArea);
        // The saved size, as far as this screen has room for it.
        QCOMPARE(w.height(), 760);
        QVERIFY(w.screen()->availableGeometry().contains(w.frameGeometry()));

        QAction* reset = w.findChild<QAction*>("actionResetLayout");
        QVERIFY(reset);
        reset->trigger();
        QVERIFY(w.dock("dock-log")->isVisible());
        QCOMPARE(w.dockWidgetArea(w.dock("dock-relays")), Qt::LeftDockWidgetArea);
        QCOMPARE(w.dockWidgetArea(w.dock("dock-log")), Qt::BottomDockWidgetArea);
    }

    // The window was made taller than the screen (docks shown again stack up): Reset layout
    // brings everything back onto the screen, and that is the layout saved.
    void resetLayoutFitsASmallScreen() {
        FakeEngine engine;
        QTemporaryDir dir;
        ui::MainWindowOptions o;
        o.settings_file = dir.filePath("ui.ini");
        const QRect avail = QGuiApplication::primaryScreen()->availableGeometry();
        {
            ui::MainWindow w(&engine, o);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            w.dock("dock-incidents")->close();
            w.dock("dock-memory")->close();
            w.resize(avail.width() * 2, avail.height() * 3);
            w.move(avail.topLeft() + QPoint(200, 300));
            w.findChild<QAction*>("actionResetLayout")->trigger();
            QCoreApplication::processEvents();
            QVERIFY2(avail.contains(w.frameGeometry()),
                     qPrintable(QString("%1,%2 %3x%4").arg(w.frameGeometry().x()).arg(w.frameGeometry().y())
                                    .arg(w.frameGeometry().width()).arg(w.frameGeometry().height())));
            QVERIFY(w.dock("dock-incidents")->isVisible());
            QVERIFY(w.dock("dock-memory")->isVisible());
            // The empty Incidents dock is a strip at the bottom, not half the window.
            QVERIFY2(w.dock("dock-incidents")->height() <= w.height() / 3, qPrintable(QString::number(w.dock("dock-incidents")->height())));
        }
        ui::MainWindow again(&engine, o);
        again.show();
        QVERIFY(QTest::qWaitForWindowExposed(&again));
        QVERIFY2(avail.contains(again.frameGeometry()),
                 qPrintable(QString("%1,%2 %3x%4 in %5x%6").arg(again.frameGeometry().x()).arg(again.frameGeometry().y())
                                .arg(again.frameGeometry().width()).arg(again.frameGeometry().height())
                                .arg(avail.width()).arg(avail.height())));
    }

    void helpMenuHasAboutAndDocumentation() {
        FakeEngine engine;
        QTemporaryDir dir;
        ui::MainWindowOptions o;
        o.settings_file = dir.filePath("ui.ini");
        ui::MainWindow w(&engine, o);
        QVERIFY(w.findChild<QMenu*>("menuHelp"));
        QVERIFY(w.findChild<QAction*>("actionAbout"));
        QVERIFY(w.findChild<QAction*>("actionDocs"));
    }

    // First start: an empty archive shows the empty-state page; the first events hide it. The
    // offline banner follows the engine's "offline" alert.
    void emptyStateAndOfflineBanner() {
        FakeEngine engine;
        QTemporaryDir dir;
        ui::MainWindowOptions o;
        o.settings_file = dir.filePath("ui.ini");
        ui::MainWindow w(&engine, o);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        engine::EngineSnapshot s;
        s.taken_at_ms = 1700000000000;
        engine.publish(s);
        QWidget* empty = w.findChild<QWidget*>("emptyState");
        QVERIFY(empty && empty->isVisible());
        QVERIFY(w.findChild<QPushButton*>("emptyDefaults")->isVisible());
        QToolBar* banner = w.findChild<QToolBar*>("offlineBanner");
        QVERIFY(banner && !banner->isVisible());
        observe::Incident offline;
        offline.id = 1;
        offline.kind = observe::IncidentKind::Offline;
        offline.message = "no relay connected for 15 s";
        s.incidents = {offline};
        s.relays_known = 3;
        engine.publish(s);
        QVERIFY(banner->isVisible());
        QVERIFY(w.findChild<QLabel*>("offlineBannerText")->text().contains("no relay connected"));
        QVERIFY(!w.findChild<QPushButton*>("emptyDefaults")->isVisible());
        s.incidents[0].resolved_ms = s.taken_at_ms;
        s.events_total = 5;
        engine.publish(s);
        QVERIFY(!banner->isVisible());
        QVERIFY(!empty->isVisible());
    }

    void statusBarShowsRelaysRateArchiveAndRss() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        engine::EngineSnapshot s;
        s.relays_open = 7;
        s.relays_known = 31;
        s.stored_per_s = 1234;
        s.archive_bytes = 5 << 20;
        s.rss_bytes = 200 << 20;
        engine.publish(s);
        QVERIFY(w.findChild<QLabel*>("statusRelays")->text().contains("7 connected / 31 known"));
        QVERIFY(w.findChild<QLabel*>("statusRate")->text().remove(QRegularExpression("[^0-9]")) == "1234");
        QVERIFY(w.findChild<QLabel*>("statusArchive")->text().contains("5"));
        QVERIFY(w.findChild<QLabel*>("statusRss")->text().contains("200"));
    }

    void statusBarShowsTheSink() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        engine::EngineSnapshot s;
        engine.publish(s);
        auto* label = w.findChild<QLabel*>("statusSink");
        QVERIFY(label);
        QVERIFY(label->isHidden());  // no sink configured
        s.sink.configured = true;
        s.sink.lag_events = 4321;
        s.sink.lag_seconds = 42;
        s.sink.events_per_s = 900;
        engine.publish(s);
        QVERIFY(!label->isHidden());
        QVERIFY2(label->text().contains("behind") && label->text().remove(QRegularExpression("[^0-9]")).startsWith("4321"),
                 qPrintable(label->text()));
        QVERIFY(label->text().contains("42"));
        s.sink.consecutive_failures = 3;
        s.sink.last_error = "insert: connect_failed: Connection refused";
        engine.publish(s);
        QVERIFY2(label->text().contains("connect_failed"), qPrintable(label->text()));
        s.sink = {};
        s.sink.configured = true;
        engine.publish(s);
        QVERIFY2(label->text().contains("caught up"), qPrintable(label->text()));
    }

    void addRelaysFromTheToolbarReachesTheEngine() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QAction* add = w.findChild<QAction*>("actionAddRelays");
        QVERIFY(add);
        QCOMPARE(add->shortcut(), QKeySequence("Ctrl+Shift+A"));
        auto* toolbar = w.findChild<QToolBar*>("mainToolBar");
        QWidget* button = toolbar->widgetForAction(add);
        QVERIFY(button);
        QTest::mouseClick(button, Qt::LeftButton);
        auto* dialog = w.findChild<ui::AddRelaysDialog*>();
        QVERIFY(dialog && dialog->isVisible());
        QTest::keyClicks(dialog->findChild<QPlainTextEdit*>("relayUrlsEdit"), "wss://one.example, wss://two.example");
        QTest::mouseClick(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok), Qt::LeftButton);
        QCOMPARE(engine.added, (QStringList{"wss://one.example", "wss://two.example"}));
        QVERIFY(w.statusBar()->currentMessage().contains(QRegularExpression("^2 relay.* added")));
    }

    void droppingAFileOfUrlsOpensTheDialogPrefilled() {
        FakeEngine engine;
        ui::MainWindow w(&engine);
        w.show();
        QTemporaryDir dir;
        QFile f(dir.filePath("relays.txt"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("wss://one.example\nwss://two.example\nftp://nope.example\n");
        f.close();
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(f.fileName())});
        const QPoint at = w.rect().center();
        QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &drop);
        auto* dialog = w.findChild<ui::AddRelaysDialog*>();
        QVERIFY(dialog && dialog->isVisible());
        QCOMPARE(dialog->entries().size(), 3);
        QCOMPARE(dialog->validCount(), 2);
        QVERIFY(engine.added.isEmpty());  // nothing is added before OK
    }

    void relayActionErrorsReachTheStatusBar() {
        FakeEngine engine;
        engine.actionError = "the relay pool is not running";
        ui::MainWindow w(&engine);
        engine::EngineSnapshot s;
        engine::RelayRow v;
        v.url = "wss://a.example";
        s.relays = {v};
        engine.publish(s);
        w.relaysPanel()->highlightRelay("wss://a.example");
        w.relaysPanel()->connectAction()->trigger();
        QCOMPARE(engine.actions.size(), 1);
        QVERIFY(w.statusBar()->currentMessage().contains("the relay pool is not running"));
        // An accepted action that failed later, on the engine's thread.
        emit engine.relayActionFailed("wss://b.example", "the pool holds its maximum of 150 relays");
        QCOMPARE(w.statusBar()->currentMessage(),
                 QString("wss://b.example: the pool holds its maximum of 150 relays"));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
