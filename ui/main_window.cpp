#include "ui/main_window.h"

#include <QCoreApplication>
#include <QDir>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressDialog>
#include <QSettings>
#include <QStatusBar>
#include <QToolBar>

#include "core/engine/engine.h"
#include "ui/settings_dialog.h"
#include "ui/add_relays_dialog.h"
#include "ui/loop_lag_monitor.h"
#include "ui/panels/archive_panel.h"
#include "ui/panels/incidents_panel.h"
#include "ui/panels/log_panel.h"
#include "ui/panels/memory_panel.h"
#include "ui/panels/throughput_panel.h"
#include "ui/panels/newest_panel.h"
#include "ui/panels/relays_panel.h"
#include "ui/panels/discovery_panel.h"
#include "ui/panels/scoring_panel.h"
#include "ui/panels/statistics_panel.h"

namespace archivist::ui {

namespace {
QString bytes(quint64 b) { return QLocale().formattedDataSize(qint64(b)); }
const char* kGeometryKey = "mainWindow/geometry";
const char* kStateKey = "mainWindow/state";
}  // namespace

MainWindow::MainWindow(engine::Engine* engine, QWidget* parent) : MainWindow(engine, MainWindowOptions{}, parent) {}

MainWindow::MainWindow(engine::Engine* engine, const MainWindowOptions& options, QWidget* parent)
    : QMainWindow(parent), m_engine(engine), m_opts(options) {
    setWindowTitle(tr("Archivist"));
    setObjectName("MainWindow");
    resize(1200, 760);
    setDockNestingEnabled(true);
    setAcceptDrops(true);

    auto* fileMenu = menuBar()->addMenu(tr("&File"));
    auto* importAction = fileMenu->addAction(tr("&Import…"), this, &MainWindow::chooseImportFiles);
    importAction->setObjectName("actionImport");
    importAction->setShortcut(QKeySequence(tr("Ctrl+I")));
    auto* verifyAction = fileMenu->addAction(tr("&Verify archive…"), this, &MainWindow::verifyArchive);
    verifyAction->setObjectName("actionVerify");
    fileMenu->addAction(tr("&Rebuild index…"), this, &MainWindow::rebuildIndex)->setObjectName("actionReindex");
    fileMenu->addSeparator();
    auto* settingsAction = fileMenu->addAction(tr("&Settings…"), this, &MainWindow::openSettings);
    settingsAction->setObjectName("actionSettings");
    settingsAction->setShortcut(QKeySequence(tr("Ctrl+,")));
    fileMenu->addSeparator();
    auto* quitAction = fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quitAction->setShortcut(QKeySequence::Quit);

    auto* relaysMenu = menuBar()->addMenu(tr("&Relays"));
    auto* addRelays = relaysMenu->addAction(tr("&Add relays…"), this, [this] { openAddRelaysDialog(); });
    addRelays->setObjectName("actionAddRelays");
    addRelays->setShortcut(QKeySequence(tr("Ctrl+Shift+A")));
    addRelays->setShortcutContext(Qt::ApplicationShortcut);

    m_viewMenu = menuBar()->addMenu(tr("&View"));
    m_viewMenu->setObjectName("menuView");
    m_viewSeparator = m_viewMenu->addSeparator();
    auto* reset = m_viewMenu->addAction(tr("&Reset layout"), this, &MainWindow::resetLayout);
    reset->setObjectName("actionResetLayout");

    m_toolBar = addToolBar(tr("Main"));
    m_toolBar->setObjectName("mainToolBar");
    m_toolBar->addAction(importAction);
    m_toolBar->addAction(addRelays);
    m_viewMenu->insertAction(m_viewSeparator, m_toolBar->toggleViewAction());

    m_relays = new RelaysPanel(m_engine, this);
    addPanelDock(m_relays, "dock-relays", tr("Relays"), Qt::LeftDockWidgetArea);
    m_newest = new NewestPanel(m_engine, this);
    addPanelDock(m_newest, "dock-newest", tr("Newest events"), Qt::RightDockWidgetArea);
    addPanelDock(new ThroughputPanel(m_engine, this), "dock-throughput", tr("Throughput"), Qt::RightDockWidgetArea);
    addPanelDock(new MemoryPanel(m_engine, this), "dock-memory", tr("Memory"), Qt::RightDockWidgetArea);
    addPanelDock(new IncidentsPanel(m_engine, this), "dock-incidents", tr("Incidents"), Qt::BottomDockWidgetArea);
    auto* archive = new ArchivePanel(m_engine, this);
    addPanelDock(archive, "dock-archive", tr("Archive"), Qt::RightDockWidgetArea);
    // File → Export…: the archive browser's export (its filter; every event without one).
    auto* exportAction = new QAction(tr("&Export…"), this);
    exportAction->setObjectName("actionExport");
    exportAction->setShortcut(QKeySequence(tr("Ctrl+E")));
    exportAction->setStatusTip(tr("Export the events of the archive browser's filter (all events without one) as JSONL"));
    connect(exportAction, &QAction::triggered, this, [this, archive] {
        if (auto* d = dock("dock-archive")) {
            d->show();
            d->raise();
        }
        archive->exportFilter();
    });
    fileMenu->insertAction(verifyAction, exportAction);
    addPanelDock(new ScoringPanel(m_engine, this), "dock-scoring", tr("Scoring"), Qt::RightDockWidgetArea);
    auto* statistics = new StatisticsPanel(m_engine, this);
    addPanelDock(statistics, "dock-statistics", tr("Statistics"), Qt::RightDockWidgetArea);
    connect(statistics, &StatisticsPanel::showEvents, this, [this, archive](const engine::QueryFilter& q) {
        if (auto* d = dock("dock-archive")) {
            d->show();
            d->raise();
        }
        archive->showQuery(q);
    });
    auto* discovery = new DiscoveryPanel(m_engine, this);
    addPanelDock(discovery, "dock-discovery", tr("Discovery"), Qt::RightDockWidgetArea);
    connect(discovery, &DiscoveryPanel::statusMessage, this,
            [this](const QString& text, int timeout_ms) { statusBar()->showMessage(text, timeout_ms); });
    m_log = new LogPanel(m_engine, m_opts.log_ring, this);
    addPanelDock(m_log, "dock-log", tr("Log"), Qt::BottomDockWidgetArea);
    connect(m_relays, &RelaysPanel::statusMessage, this,
            [this](const QString& text, int timeout_ms) { statusBar()->showMessage(text, timeout_ms); });

    m_statusRelays = new QLabel(this);
    m_statusRelays->setObjectName("statusRelays");
    m_statusRate = new QLabel(this);
    m_statusRate->setObjectName("statusRate");
    m_statusArchive = new QLabel(this);
    m_statusArchive->setObjectName("statusArchive");
    m_statusRss = new QLabel(this);
    m_statusRss->setObjectName("statusRss");
    for (auto* l : {m_statusRelays, m_statusRate, m_statusArchive, m_statusRss}) statusBar()->addPermanentWidget(l);

    m_lag = new LoopLagMonitor(m_opts.metrics, this);
    // Quitting without closing the window (SIGINT, SIGTERM, --duration) keeps the layout too.
    connect(qApp, &QCoreApplication::aboutToQuit, this, &MainWindow::saveLayout);

    connect(m_engine, &engine::Engine::snapshotReady, this, &MainWindow::onSnapshot);
    connect(m_engine, &engine::Engine::jobProgress, this, &MainWindow::onJobProgress);
    connect(m_engine, &engine::Engine::jobFinished, this, &MainWindow::onJobFinished);
    connect(m_engine, &engine::Engine::relayActionFailed, this, [this](const QString& url, const QString& message) {
        statusBar()->showMessage(tr("%1: %2").arg(url, message), 15000);
    });
    const engine::EngineSnapshot first = m_engine->snapshot();
    onSnapshot(first);
    for (const auto& d : m_docks) QMetaObject::invokeMethod(d.dock->widget(), "applySnapshot", Q_ARG(archivist::engine::EngineSnapshot, first));
    applyDefaultArrangement();
    restoreLayout();
    archive->applyFilter();  // the browser opens on the newest events
}

MainWindow::~MainWindow() = default;

NewestEventsModel* MainWindow::newestModel() const { return m_newest->model(); }

std::unique_ptr<QSettings> MainWindow::settings() const {
    if (m_opts.settings_file.isEmpty()) return std::make_unique<QSettings>();
    return std::make_unique<QSettings>(m_opts.settings_file, QSettings::IniFormat);
}

QDockWidget* MainWindow::addPanelDock(QWidget* panel, const QString& object_name, const QString& title,
                                      Qt::DockWidgetArea area) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(object_name);
    dock->setWidget(panel);
    dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    addDockWidget(area, dock);
    restoreDockWidget(dock);  // its saved place, when the layout was restored before it existed
    m_docks.push_back({dock, area});
    QAction* toggle = dock->toggleViewAction();
    toggle->setObjectName("actionToggle-" + object_name);
    m_viewMenu->insertAction(m_viewSeparator, toggle);

    // Wiring by name, so panels need not be known to the window.
    const QMetaObject* mo = panel->metaObject();
    if (mo->indexOfSlot("applySnapshot(archivist::engine::EngineSnapshot)") >= 0)
        // The only connection: panels do not connect themselves (each snapshot must arrive once).
        connect(m_engine, SIGNAL(snapshotReady(archivist::engine::EngineSnapshot)), panel,
                SLOT(applySnapshot(archivist::engine::EngineSnapshot)));
    if (mo->indexOfSignal("relaySelected(QString)") >= 0)
        connect(panel, SIGNAL(relaySelected(QString)), this, SLOT(routeRelaySelected(QString)));
    if (mo->indexOfSignal("timeSelected(qint64)") >= 0)
        connect(panel, SIGNAL(timeSelected(qint64)), this, SLOT(routeTimeSelected(qint64)));
    return dock;
}

QDockWidget* MainWindow::dock(const QString& object_name) const {
    for (const auto& d : m_docks)
        if (d.dock->objectName() == object_name) return d.dock;
    return nullptr;
}

void MainWindow::routeRelaySelected(const QString& url) {
    if (m_routing) return;  // a highlighted panel re-announcing the selection
    m_routing = true;
    QObject* from = sender();
    for (const auto& d : m_docks) {
        QWidget* p = d.dock->widget();
        if (p != from && p->metaObject()->indexOfSlot("highlightRelay(QString)") >= 0)
            QMetaObject::invokeMethod(p, "highlightRelay", Q_ARG(QString, url));
    }
    m_routing = false;
}

void MainWindow::routeTimeSelected(qint64 ms) {
    if (m_routing) return;
    m_routing = true;
    QObject* from = sender();
    for (const auto& d : m_docks) {
        QWidget* p = d.dock->widget();
        if (p != from && p->metaObject()->indexOfSlot("highlightTime(qint64)") >= 0)
            QMetaObject::invokeMethod(p, "highlightTime", Q_ARG(qint64, ms));
    }
    m_routing = false;
}

void MainWindow::saveLayout() {
    auto s = settings();
    s->setValue(kGeometryKey, saveGeometry());
    s->setValue(kStateKey, saveState(kLayoutVersion));
    s->sync();
}

bool MainWindow::restoreLayout() {
    auto s = settings();
    const QByteArray geometry = s->value(kGeometryKey).toByteArray();
    const QByteArray state = s->value(kStateKey).toByteArray();
    if (!geometry.isEmpty()) restoreGeometry(geometry);
    return !state.isEmpty() && restoreState(state, kLayoutVersion);
}

void MainWindow::applyDefaultArrangement() {
    // Relays on the left; charts, archive, newest events, scoring and discovery share the right as
    // tabs; incidents
    // and the log share the bottom. Compact enough for a laptop screen.
    auto tab = [this](const char* first, const char* second) {
        if (dock(first) && dock(second)) tabifyDockWidget(dock(first), dock(second));
    };
    tab("dock-newest", "dock-archive");
    tab("dock-archive", "dock-throughput");
    tab("dock-throughput", "dock-memory");
    tab("dock-memory", "dock-scoring");
    tab("dock-scoring", "dock-discovery");
    tab("dock-discovery", "dock-statistics");
    tab("dock-incidents", "dock-log");
    if (auto* d = dock("dock-throughput")) d->raise();
    if (auto* d = dock("dock-incidents")) d->raise();
}

int MainWindow::savePanelScreenshots(const QString& dir) {
    QDir().mkpath(dir);
    int saved = 0;
    for (const auto& d : m_docks) {
        d.dock->show();
        d.dock->raise();
        QCoreApplication::processEvents();
        QCoreApplication::processEvents();
        const QString name = d.dock->objectName().mid(QString("dock-").size());
        if (d.dock->grab().save(dir + "/panel-" + name + ".png")) ++saved;
    }
    applyDefaultArrangement();
    return saved;
}

void MainWindow::resetLayout() {
    for (const auto& d : m_docks) removeDockWidget(d.dock);
    for (const auto& d : m_docks) {
        d.dock->setFloating(false);
        addDockWidget(d.area, d.dock);
        d.dock->show();
    }
    applyDefaultArrangement();
    m_toolBar->show();
    statusBar()->showMessage(tr("Layout reset"), 3000);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveLayout();
    QMainWindow::closeEvent(event);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const QMimeData* mime = event->mimeData();
    bool ok = mime->hasText() && !mime->hasUrls();
    for (const QUrl& u : mime->urls()) ok = ok || u.isLocalFile();
    if (ok) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QMimeData* mime = event->mimeData();
    QStringList files;
    for (const QUrl& u : mime->urls())
        if (u.isLocalFile()) files << u.toLocalFile();
    if (!files.isEmpty()) openAddRelaysFromFiles(files);
    else if (mime->hasText()) openAddRelaysDialog(mime->text());
    else return;
    event->acceptProposedAction();
}

AddRelaysDialog* MainWindow::openAddRelaysDialog(const QString& prefill) {
    if (!m_addDialog) {
        m_addDialog = new AddRelaysDialog(m_engine, this);
        m_addDialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(m_addDialog, &AddRelaysDialog::relaysAdded, this, [this](int added, int failed) {
            statusBar()->showMessage(failed ? tr("%n relay(s) added", nullptr, added) + tr(", %n not added (see the dialog)", nullptr, failed)
                                            : tr("%n relay(s) added", nullptr, added),
                                     10000);
        });
    }
    if (!prefill.isEmpty()) {
        const QString current = m_addDialog->text();
        m_addDialog->setText(current.isEmpty() ? prefill : current + '\n' + prefill);
    }
    m_addDialog->show();
    m_addDialog->raise();
    m_addDialog->activateWindow();
    return m_addDialog;
}

AddRelaysDialog* MainWindow::openAddRelaysFromFiles(const QStringList& paths) {
    QString text;
    QStringList problems;
    for (const QString& path : paths.mid(0, kMaxDropFiles)) {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly)) {
            problems << tr("%1: %2").arg(path, f.errorString());
            continue;
        }
        if (f.size() > kMaxDropBytes) problems << tr("%1: only the first %2 read").arg(path, bytes(kMaxDropBytes));
        text += QString::fromUtf8(f.read(kMaxDropBytes)) + '\n';
    }
    if (paths.size() > kMaxDropFiles) problems << tr("only the first %n files read", nullptr, kMaxDropFiles);
    if (!problems.isEmpty()) statusBar()->showMessage(problems.join(QStringLiteral("; ")), 15000);
    return openAddRelaysDialog(text.trimmed());
}

void MainWindow::onSnapshot(const engine::EngineSnapshot& s) {
    m_statusRelays->setText(tr("Relays: %1 connected / %2 known").arg(s.relays_open).arg(s.relays_known));
    m_statusRate->setText(tr("%1 stored/s").arg(QLocale().toString(s.stored_per_s, 'f', 0)));
    m_statusArchive->setText(tr("Archive %1").arg(bytes(s.archive_bytes)));
    m_statusRss->setText(tr("RSS %1").arg(bytes(s.rss_bytes)));
    if (s.writer_paused)
        statusBar()->showMessage(tr("Writing is paused and being retried: %1").arg(s.last_error));
}

void MainWindow::chooseImportFiles() {
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Import events"), QString(), tr("Nostr events (*.jsonl *.jsonl.zst *.json *.zst);;All files (*)"));
    if (!files.isEmpty()) importFiles(files);
}

void MainWindow::importFiles(const QStringList& files) {
    if (m_engine->jobRunning()) {
        QMessageBox::information(this, tr("Import"), tr("Another job is still running."));
        return;
    }
    openJobProgress(tr("Import"), tr("Importing %n file(s)…", nullptr, int(files.size())), "importProgress");
    m_engine->startImport(files);
}

void MainWindow::verifyArchive() {
    if (m_engine->jobRunning() || m_progress) {
        QMessageBox::information(this, tr("Verify archive"), tr("Another job is still running."));
        return;
    }
    openJobProgress(tr("Verify archive"), tr("Verifying the archive against the index… Relays pause while it runs."),
                    "verifyProgress");
    m_engine->startVerify();
}

void MainWindow::rebuildIndex() {
    if (m_engine->jobRunning() || m_progress) {
        QMessageBox::information(this, tr("Rebuild index"), tr("Another job is still running."));
        return;
    }
    const auto answer = QMessageBox::question(
        this, tr("Rebuild index"),
        tr("Rebuild the index from the archive?\n\nArchiving continues while the new index is built (more "
           "slowly); the archive browser keeps using the current index until the new one replaces it. Which "
           "relays carried each event is kept where the current index knows it. Cancel leaves the index as it "
           "is."));
    if (answer != QMessageBox::Yes) return;
    openJobProgress(tr("Rebuild index"), tr("Rebuilding the index…"), "reindexProgress");
    m_engine->startReindex();
}

void MainWindow::openJobProgress(const QString& title, const QString& label, const char* object_name) {
    // One job at a time: its dialog lives until jobFinished; Cancel asks the engine to cancel it.
    m_progress = new QProgressDialog(label, tr("Cancel"), 0, 1000, this);
    m_progress->setObjectName(object_name);
    m_progress->setWindowTitle(title);
    m_progress->setMinimumDuration(0);
    m_progress->setAutoClose(false);
    m_progress->setAutoReset(false);
    connect(m_progress, &QProgressDialog::canceled, m_engine, &engine::Engine::cancelJob);
    m_progress->show();
}

void MainWindow::openSettings() {
    SettingsDialog dialog(m_engine, this);
    if (dialog.exec() == QDialog::Accepted)
        statusBar()->showMessage(tr("Settings saved; they take effect at the next start."), 15000);
}

void MainWindow::onJobProgress(const QString&, double fraction, const QString& text) {
    if (!m_progress) return;
    if (fraction < 0) m_progress->setRange(0, 0);  // unknown size (stdin)
    else m_progress->setValue(int(fraction * 1000));
    m_progress->setLabelText(text);
}

void MainWindow::onJobFinished(const QString& kind, bool ok, const QString& summary) {
    if (m_progress) {
        m_progress->deleteLater();
        m_progress = nullptr;
    }
    statusBar()->showMessage(summary.section('\n', 0, 0), 15000);
    if (kind == "verify" || kind == "reindex") {
        if (ok) QMessageBox::information(this, kind == "verify" ? tr("Verify archive") : tr("Rebuild index"), summary);
        else QMessageBox::warning(this, kind == "verify" ? tr("Verify archive") : tr("Rebuild index"), summary);
        return;
    }
    if (!ok) QMessageBox::warning(this, kind == "import" ? tr("Import") : kind, summary);
}

}  // namespace archivist::ui
