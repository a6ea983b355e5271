#include "ui/main_window.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QDesktopServices>
#include <QProgressDialog>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QUrl>
#include <QVBoxLayout>
#include <QStatusBar>
#include <QTableView>
#include <QToolBar>

#include "core/engine/engine.h"
#include "ui/settings_dialog.h"
#include "ui/add_relays_dialog.h"
#include "ui/loop_lag_monitor.h"
#include "ui/archive_model.h"
#include "ui/panels/archive_panel.h"
#include "ui/panels/incidents_panel.h"
#include "ui/panels/log_panel.h"
#include "ui/panels/memory_panel.h"
#include "ui/panels/throughput_panel.h"
#include "ui/panels/newest_panel.h"
#include "ui/panels/panel.h"
#include "ui/panels/relays_panel.h"
#include "ui/panels/discovery_panel.h"
#include "ui/panels/scoring_panel.h"
#include "ui/panels/statistics_panel.h"

namespace archivist::ui {

namespace {
QString bytes(quint64 b) { return QLocale().formattedDataSize(qint64(b)); }
const char* kGeometryKey = "mainWindow/geometry";
const char* kStateKey = "mainWindow/state";
// The documentation: installed with the package (share/doc/archivist), else the source tree's.
QString docsUrl() {
    const QStringList candidates = {
        QCoreApplication::applicationDirPath() + QStringLiteral("/../share/doc/archivist/README.md"),
        QStringLiteral(ARCHIVIST_SOURCE_DIR "/README.md")};
    for (const QString& c : candidates)
        if (QFile::exists(c)) return QUrl::fromLocalFile(QDir::cleanPath(c)).toString();
    return QUrl::fromLocalFile(candidates.front()).toString();
}
}  // namespace

MainWindow::MainWindow(engine::Engine* engine, QWidget* parent) : MainWindow(engine, MainWindowOptions{}, parent) {}

MainWindow::MainWindow(engine::Engine* engine, const MainWindowOptions& options, QWidget* parent)
    : QMainWindow(parent), m_engine(engine), m_opts(options) {
    setWindowTitle(tr("Archivist"));
    setObjectName("MainWindow");
    resize(1280, 800);  // fitted to the screen when shown
    setDockNestingEnabled(true);
    setAcceptDrops(true);

    auto* fileMenu = menuBar()->addMenu(tr("&File"));
    auto* importAction = fileMenu->addAction(tr("&Import…"), this, &MainWindow::chooseImportFiles);
    importAction->setObjectName("actionImport");
    importAction->setShortcut(QKeySequence(tr("Ctrl+I")));
    auto* verifyAction = fileMenu->addAction(tr("&Verify archive…"), this, &MainWindow::verifyArchive);
    verifyAction->setObjectName("actionVerify");
    fileMenu->addAction(tr("&Rebuild index…"), this, &MainWindow::rebuildIndex)->setObjectName("actionReindex");
    fileMenu->addAction(tr("&Salvage…"), this, &MainWindow::salvageArchive)->setObjectName("actionSalvage");
    auto* fetchAction = fileMenu->addAction(tr("&Fetch events by id…"), this, [this] { fetchIds(); });
    fetchAction->setObjectName("actionFetchIds");
    fetchAction->setStatusTip(tr("Ask the open relays for exactly the events a file of ids lists (such as the "
                                 "missing referenced ids of `archivist coverage --missing`)"));
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

    auto* helpMenu = menuBar()->addMenu(tr("&Help"));
    helpMenu->setObjectName("menuHelp");
    helpMenu->addAction(tr("&Documentation"), this, [] { QDesktopServices::openUrl(QUrl(docsUrl())); })
        ->setObjectName("actionDocs");
    helpMenu->addAction(tr("&About Archivist"), this, &MainWindow::showAbout)->setObjectName("actionAbout");
    helpMenu->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);

    m_toolBar = addToolBar(tr("Main"));
    m_toolBar->setObjectName("mainToolBar");
    m_toolBar->addAction(importAction);
    m_toolBar->addAction(addRelays);
    m_viewMenu->insertAction(m_viewSeparator, m_toolBar->toggleViewAction());

    // The offline banner: a row above the panels while the engine's "offline" alert fires.
    m_banner = new QToolBar(tr("Offline"), this);
    m_banner->setObjectName("offlineBanner");
    m_banner->setMovable(false);
    m_banner->setFloatable(false);
    m_banner->toggleViewAction()->setVisible(false);
    m_bannerText = new QLabel(this);
    m_bannerText->setObjectName("offlineBannerText");
    m_bannerText->setStyleSheet(QStringLiteral("QLabel { background: #fee2e2; color: #991b1b; padding: 4px 8px; }"));
    m_bannerText->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    m_banner->addWidget(m_bannerText);
    m_banner->addAction(tr("Add relays…"), this, [this] { openAddRelaysDialog(); });
    addToolBarBreak();
    addToolBar(Qt::TopToolBarArea, m_banner);
    m_banner->hide();

    // The empty-state page: the main area while the archive is empty and nothing is being done.
    m_empty = new QWidget(this);
    m_empty->setObjectName("emptyState");
    auto* emptyLayout = new QVBoxLayout(m_empty);
    emptyLayout->addStretch(1);
    auto* emptyTitle = new QLabel(tr("<h2>Your archive is empty</h2>"), m_empty);
    emptyTitle->setAlignment(Qt::AlignCenter);
    auto* emptyText = new QLabel(tr("Archivist keeps every event it receives from the relays you choose, verified "
                                    "and stored once. Start one of these ways:"),
                                 m_empty);
    emptyText->setWordWrap(true);
    emptyText->setAlignment(Qt::AlignCenter);
    emptyLayout->addWidget(emptyTitle);
    emptyLayout->addWidget(emptyText);
    auto* emptyButtons = new QHBoxLayout;
    emptyButtons->addStretch(1);
    auto* addButton = new QPushButton(tr("Add a relay…"), m_empty);
    addButton->setObjectName("emptyAddRelay");
    connect(addButton, &QPushButton::clicked, this, [this] { openAddRelaysDialog(); });
    auto* importButton = new QPushButton(tr("Import a file…"), m_empty);
    importButton->setObjectName("emptyImport");
    connect(importButton, &QPushButton::clicked, this, &MainWindow::chooseImportFiles);
    m_defaultsButton = new QPushButton(tr("Start with the default relays"), m_empty);
    m_defaultsButton->setObjectName("emptyDefaults");
    m_defaultsButton->setToolTip(tr("Adds %n well-known public relays", nullptr, int(engine::seedRelays().size())));
    connect(m_defaultsButton, &QPushButton::clicked, this, &MainWindow::addDefaultRelays);
    for (auto* b : {addButton, importButton, m_defaultsButton}) emptyButtons->addWidget(b);
    emptyButtons->addStretch(1);
    emptyLayout->addLayout(emptyButtons);
    auto* docs = new QLabel(tr("<a href=\"%1\">How Archivist works</a>").arg(docsUrl()), m_empty);
    docs->setOpenExternalLinks(true);
    docs->setAlignment(Qt::AlignCenter);
    emptyLayout->addWidget(docs);
    emptyLayout->addStretch(2);
    setCentralWidget(m_empty);
    m_empty->hide();

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
    m_statusSink = new QLabel(this);
    m_statusSink->setObjectName("statusSink");
    m_statusSink->setVisible(false);
    for (auto* l : {m_statusRelays, m_statusRate, m_statusArchive, m_statusRss, m_statusSink})
        statusBar()->addPermanentWidget(l);

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
    for (const auto& d : m_docks) d.panel->applySnapshot(first);
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

QDockWidget* MainWindow::addPanelDock(Panel* panel, const QString& object_name, const QString& title,
                                      Qt::DockWidgetArea area) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(object_name);
    // A panel larger than its dock scrolls instead of forcing the window past the screen: the
    // docks' minimum sizes must never add up to more than a small screen.
    auto* scroll = new QScrollArea(dock);
    scroll->setObjectName(object_name + "-scroll");
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(panel);
    scroll->setMinimumSize(160, 100);
    dock->setWidget(scroll);
    dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    addDockWidget(area, dock);
    restoreDockWidget(dock);  // its saved place, when the layout was restored before it existed
    m_docks.push_back({dock, panel, area});
    QAction* toggle = dock->toggleViewAction();
    toggle->setObjectName("actionToggle-" + object_name);
    m_viewMenu->insertAction(m_viewSeparator, toggle);

    // Through the Panel interface (compiler-checked). The only connection to the snapshots:
    // panels do not connect themselves (each snapshot must arrive once).
    connect(m_engine, &engine::Engine::snapshotReady, panel, &Panel::applySnapshot);
    connect(panel, &Panel::relaySelected, this, [this, panel](const QString& url) { routeRelaySelected(panel, url); });
    connect(panel, &Panel::timeSelected, this, [this, panel](qint64 ms) { routeTimeSelected(panel, ms); });
    return dock;
}

QDockWidget* MainWindow::dock(const QString& object_name) const {
    for (const auto& d : m_docks)
        if (d.dock->objectName() == object_name) return d.dock;
    return nullptr;
}

void MainWindow::routeRelaySelected(Panel* from, const QString& url) {
    if (m_routing) return;  // a highlighted panel re-announcing the selection
    m_routing = true;
    for (const auto& d : m_docks)
        if (d.panel != from) d.panel->highlightRelay(url);
    m_routing = false;
}

void MainWindow::routeTimeSelected(Panel* from, qint64 ms) {
    if (m_routing) return;
    m_routing = true;
    for (const auto& d : m_docks)
        if (d.panel != from) d.panel->highlightTime(ms);
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
    const bool restored = !state.isEmpty() && restoreState(state, kLayoutVersion);
    fitToScreen();  // a layout saved on a bigger screen
    return restored;
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
    // Relays get the larger share of the width: their key columns without scrolling.
    if (auto* relays = dock("dock-relays"); relays && relays->isVisible() && !relays->isFloating())
        resizeDocks({relays}, {width() * 11 / 20}, Qt::Horizontal);
    if (auto* d = dock("dock-incidents")) {
        d->raise();
        // The bottom row is for a glance at alerts and the log, not half the window.
        resizeDocks({d}, {std::max(140, height() / 5)}, Qt::Vertical);
    }
}

int MainWindow::savePanelScreenshots(const QString& dir) {
    QDir().mkpath(dir);
    int saved = 0;
    // A relay selected, so its properties show; then the whole window, as it is on screen.
    if (m_relays->currentUrl().isEmpty() && m_relays->view()->model()->rowCount() > 0)
        m_relays->view()->selectRow(0);
    QCoreApplication::processEvents();
    if (grab().save(dir + "/main-window.png")) ++saved;
    for (const auto& d : m_docks) {
        d.dock->show();
        d.dock->raise();
        QCoreApplication::processEvents();
        QCoreApplication::processEvents();
        const QString name = d.dock->objectName().mid(QString("dock-").size());
        if (d.dock->grab().save(dir + "/panel-" + name + ".png")) ++saved;
        // The archive list sorted by kind too (one month at a time; the note says which).
        auto* archive = d.dock->findChild<ArchivePanel*>();
        if (!archive) continue;
        archive->sortByColumn(ArchiveModel::Kind);
        QElapsedTimer waited;
        waited.start();
        do QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
        while ((archive->model()->loading() || archive->model()->rowCount() == 0) && waited.elapsed() < 5000);
        QCoreApplication::processEvents();
        if (d.dock->grab().save(dir + "/panel-" + name + "-by-kind.png")) ++saved;
        archive->sortByColumn(ArchiveModel::CreatedAt);
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
    if (!isMaximized() && !isFullScreen()) resize(QSize(1280, 800));
    fitToScreen();
    applyDefaultArrangement();  // the bottom row's height, for the window's final size
    saveLayout();
    statusBar()->showMessage(tr("Layout reset"), 3000);
}

void MainWindow::fitToScreen() {
    QScreen* sc = screen();
    if (!sc || isMaximized() || isFullScreen()) return;
    const QRect avail = sc->availableGeometry();
    const QSize frame = frameGeometry().size() - geometry().size();  // title bar and borders
    const QSize room = avail.size() - frame;
    if (width() > room.width() || height() > room.height()) resize(size().boundedTo(room));
    QRect g = frameGeometry();
    g.moveLeft(std::clamp(g.left(), avail.left(), std::max(avail.left(), avail.right() - g.width() + 1)));
    g.moveTop(std::clamp(g.top(), avail.top(), std::max(avail.top(), avail.bottom() - g.height() + 1)));
    if (g.topLeft() != frameGeometry().topLeft()) move(g.topLeft());
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About Archivist"),
                       tr("<h3>Archivist %1</h3><p>A workstation archive of the Nostr network: it connects to relays, "
                          "verifies every event, stores each once in a compressed append-only archive with a "
                          "rebuildable index, and shows what the engine is doing.</p><p><a href=\"%2\">Documentation</a></p>")
                           .arg(QCoreApplication::applicationVersion(), docsUrl()));
}

void MainWindow::addDefaultRelays() {
    int added = 0;
    for (const auto& url : engine::seedRelays()) {
        QString normalized, error;
        if (m_engine->addRelay(QString::fromStdString(url), &normalized, &error)) ++added;
    }
    statusBar()->showMessage(tr("%n relay(s) added", nullptr, added), 10000);
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    if (!m_shownOnce) {
        m_shownOnce = true;
        fitToScreen();  // where the window system actually put the saved geometry
    }
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (m_engine->jobRunning() && !m_opts.quit_without_asking) {
        const auto answer = QMessageBox::question(
            this, tr("Quit Archivist"),
            tr("A job is still running. Quit anyway?\n\nThe job is cancelled; what it stored so far is kept. "
               "Archivist then finishes writing what is verified (a few seconds)."),
            QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
        if (answer != QMessageBox::Yes) {
            event->ignore();
            return;
        }
        m_engine->cancelJob();
    }
    saveLayout();
    QMainWindow::closeEvent(event);
}

QWidget* MainWindow::showFinishing(const engine::EngineSnapshot& s) {
    QStringList remaining;
    if (s.job_running) remaining << tr("cancelling the running job");
    qint64 batches = 0;
    for (const auto& q : s.queues)
        if (q.name == QLatin1String("verify") || q.name == QLatin1String("writer")) batches += q.depth;
    if (batches) remaining << tr("writing %n verified batch(es)", nullptr, int(batches));
    if (s.relays_open) remaining << tr("closing %n relay connection(s)", nullptr, s.relays_open);
    remaining << tr("saving relay state");
    auto* box = new QProgressDialog(tr("Archivist is finishing: %1…").arg(remaining.join(QStringLiteral(", "))), QString(),
                                    0, 0);
    box->setObjectName("finishingDialog");
    box->setWindowTitle(tr("Finishing…"));
    box->setCancelButton(nullptr);
    box->setMinimumDuration(0);
    box->show();
    for (int i = 0; i < 5; ++i) QCoreApplication::processEvents();  // painted before the engine's shutdown blocks
    return box;
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
    m_statusSink->setVisible(s.sink.configured);
    if (s.sink.configured) {
        const engine::SinkView& k = s.sink;
        const bool behind = k.lag_events > 0 || k.pending;
        QString text = behind ? tr("ClickHouse: %1 events behind (%2 s), %3/s")
                                    .arg(QLocale().toString(qulonglong(k.lag_events)))
                                    .arg(QLocale().toString(k.lag_seconds, 'f', 0))
                                    .arg(QLocale().toString(k.events_per_s, 'f', 0))
                              : tr("ClickHouse: caught up, %1/s").arg(QLocale().toString(k.events_per_s, 'f', 0));
        if (k.lag_sightings_bytes > 0) text += tr("; sightings %1 behind").arg(bytes(k.lag_sightings_bytes));
        if (k.consecutive_failures > 0) text += tr(" — failing: %1").arg(k.last_error.left(120));
        m_statusSink->setText(text);
        m_statusSink->setToolTip(tr("%1\nnode %2, %3\nshipped this run: %4 events, %7 sightings, %5 on the wire\nlast error: %6")
                                     .arg(k.target, k.node, k.phase)
                                     .arg(QLocale().toString(qulonglong(k.shipped_events)))
                                     .arg(bytes(k.wire_bytes))
                                     .arg(k.last_error.isEmpty() ? tr("none") : k.last_error)
                                     .arg(QLocale().toString(qulonglong(k.shipped_sightings))));
        m_statusSink->setStyleSheet(k.consecutive_failures > 0 ? QStringLiteral("color: #dc2626;") : QString());
    }
    if (s.writer_paused)
        statusBar()->showMessage(tr("Writing is paused and being retried: %1").arg(s.last_error));

    const observe::Incident* offline = nullptr;
    for (const auto& a : s.incidents)
        if (a.kind == observe::IncidentKind::Offline && a.firing()) offline = &a;
    if (offline)
        m_bannerText->setText(tr("Offline — no relay is connected. %1").arg(QString::fromStdString(offline->message)));
    m_banner->setVisible(offline != nullptr);

    // Empty until the first event arrives (or a job starts filling it).
    const bool empty = s.events_total == 0 && !s.job_running && !m_progress;
    if (empty != m_empty->isVisible()) m_empty->setVisible(empty);
    m_defaultsButton->setVisible(s.relays_known == 0);
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

void MainWindow::fetchIds(const QString& given) {
    if (m_engine->jobRunning() || m_progress) {
        QMessageBox::information(this, tr("Fetch events by id"), tr("Another job is still running."));
        return;
    }
    const QString path = !given.isEmpty() ? given
                                          : QFileDialog::getOpenFileName(this, tr("Fetch events by id"), QString(),
                                                                         tr("Id lists (*.txt *.ids);;All files (*)"));
    if (path.isEmpty()) return;
    openJobProgress(tr("Fetch events by id"),
                    tr("Asking the open relays for the ids in %1…").arg(QFileInfo(path).fileName()), "fetchIdsProgress");
    m_engine->startFetchIds(path);
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

void MainWindow::salvageArchive() {
    if (m_engine->jobRunning() || m_progress) {
        QMessageBox::information(this, tr("Salvage"), tr("Another job is still running."));
        return;
    }
    QMessageBox ask(QMessageBox::Question, tr("Salvage"),
                    tr("Scan the archive for damaged bytes, move them to the quarantine and store again every event "
                       "they still hold?\n\nRelays pause while it runs (nothing is dropped). If the index held "
                       "events in damaged bytes, it is rebuilt. The report says exactly what was recovered and what "
                       "is lost."),
                    QMessageBox::Cancel, this);
    ask.addButton(tr("Salvage"), QMessageBox::AcceptRole);
    auto* accept = ask.addButton(tr("Salvage and accept unreadable losses"), QMessageBox::DestructiveRole);
    accept->setToolTip(tr("Quarantine entries whose bytes cannot be read are marked as accepted losses, so "
                          "Verify archive passes again."));
    if (ask.exec() == QMessageBox::Cancel) return;
    const bool acceptLoss = ask.clickedButton() == accept;
    openJobProgress(tr("Salvage"), tr("Salvaging the archive… Relays pause while it runs."), "salvageProgress");
    m_engine->startSalvage(acceptLoss);
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
    bool restart = false;
    connect(&dialog, &SettingsDialog::restartRequested, this, [&restart] { restart = true; });
    const int result = dialog.exec();
    if (restart) {
        // main() starts the program again once the engine has finished and released the lock.
        qApp->setProperty(kRestartProperty, true);
        close();
        QCoreApplication::quit();
        return;
    }
    if (result == QDialog::Accepted)
        statusBar()->showMessage(tr("Settings saved; they take effect at the next start."), 15000);
}

void MainWindow::onJobProgress(const QString&, double fraction, const QString& text) {
    if (!m_progress) return;
    if (fraction < 0) {
        m_progress->setRange(0, 0);  // unknown size (stdin, a phase without a measure)
    } else {
        m_progress->setRange(0, 1000);
        m_progress->setValue(int(fraction * 1000));
    }
    m_progress->setLabelText(text);
}

void MainWindow::onJobFinished(const QString& kind, bool ok, const QString& summary) {
    if (m_progress) {
        m_progress->deleteLater();
        m_progress = nullptr;
    }
    statusBar()->showMessage(summary.section('\n', 0, 0), 15000);
    if (kind == "verify" || kind == "reindex" || kind == "salvage" || kind == "fetch-ids") {
        const QString title = kind == "verify"    ? tr("Verify archive")
                              : kind == "reindex" ? tr("Rebuild index")
                              : kind == "salvage" ? tr("Salvage")
                                                  : tr("Fetch events by id");
        if (ok) QMessageBox::information(this, title, summary);
        else QMessageBox::warning(this, title, summary);
        return;
    }
    if (kind == "import") {
        // A summary that stays until read (not modal: the console keeps running behind it).
        auto* box = new QMessageBox(ok ? QMessageBox::Information : QMessageBox::Warning, tr("Import"), summary,
                                    QMessageBox::Ok, this);
        box->setObjectName("importSummary");
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->setModal(false);
        box->show();
        return;
    }
    if (!ok) QMessageBox::warning(this, kind, summary);
}

}  // namespace archivist::ui
