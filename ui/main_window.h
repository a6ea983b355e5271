#pragma once
// The console's main window: a frame of dockable panels (QDockWidget with stable objectNames
// "dock-relays", "dock-log", "dock-newest", … ), a View menu toggling each dock plus "Reset
// layout", File → Import…, Relays → Add relays… (also toolbar, Ctrl+Shift+A, and dropping a text
// file of URLs), a status bar (relays, stored/s, archive size, RSS) and the GUI loop-lag monitor.
// The layout (geometry + dock state) is saved to QSettings on close and restored at start.
// Talks to the engine only through engine::Engine (facade) and its value snapshots; never
// touches sockets, SQLite or zstd.
// Thread: GUI only. The engine, log ring and metrics registry are not owned and must outlive
// the window.
#include <QHash>
#include <QMainWindow>
#include <QPointer>
#include <QVector>
#include <memory>

class QDockWidget;
class QLabel;
class QMenu;
class QProgressDialog;
class QPushButton;
class QSettings;
class QToolBar;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine
namespace archivist::observe {
class LogRing;
class MetricsRegistry;
}  // namespace archivist::observe

namespace archivist::ui {

class AddRelaysDialog;
class LogPanel;
class Panel;
class LoopLagMonitor;
class NewestEventsModel;
class NewestPanel;
class RelaysPanel;

struct MainWindowOptions {
    observe::LogRing* log_ring = nullptr;         // the Log panel's source; null = empty panel
    observe::MetricsRegistry* metrics = nullptr;  // where the loop-lag gauges go; null = none
    QString settings_file;                        // "" = the application's default QSettings
    bool quit_without_asking = false;             // closing during a job does not ask (tests)
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    static constexpr int kLayoutVersion = 1;
    // Set on qApp when Settings asked for a restart: main() starts the program again after the
    // engine's shutdown.
    static constexpr const char* kRestartProperty = "archivistRestart";
    static constexpr qint64 kMaxDropBytes = 1 << 20;  // per dropped file
    static constexpr int kMaxDropFiles = 16;

    explicit MainWindow(engine::Engine* engine, QWidget* parent = nullptr);
    MainWindow(engine::Engine* engine, const MainWindowOptions& options, QWidget* parent = nullptr);
    ~MainWindow() override;

    NewestEventsModel* newestModel() const;
    RelaysPanel* relaysPanel() const { return m_relays; }
    LogPanel* logPanel() const { return m_log; }
    LoopLagMonitor* loopLagMonitor() const { return m_lag; }
    QMenu* viewMenu() const { return m_viewMenu; }

    // Puts a panel into a new dock with a stable objectName, adds its toggle to the View menu,
    // restores its saved place, and wires it through the Panel interface: applySnapshot() gets
    // every snapshot; relaySelected()/timeSelected() reach the other panels' highlightRelay()/
    // highlightTime(). The window owns the dock and panel.
    QDockWidget* addPanelDock(Panel* panel, const QString& object_name, const QString& title,
                              Qt::DockWidgetArea area);
    QDockWidget* dock(const QString& object_name) const;

    // Starts an import of these files (what File → Import… does after its dialog).
    void importFiles(const QStringList& files);
    // Opens (or raises) the non-modal Add relays dialog; a non-empty prefill is appended.
    AddRelaysDialog* openAddRelaysDialog(const QString& prefill = {});
    // Reads text files of relay URLs (bounded) and opens the dialog with them.
    AddRelaysDialog* openAddRelaysFromFiles(const QStringList& paths);
    // File → Verify archive… (a job with progress and cancel; the report is shown at the end),
    // Rebuild index… (asks, then rebuilds while archiving goes on; progress and cancel),
    // Settings… (modal).
    void verifyArchive();
    void rebuildIndex();
    void salvageArchive();  // File → Salvage… (asks, then the engine's salvage job with progress)
    // File → Fetch events by id… (a file of ids, as `archivist coverage --missing` writes it; then
    // the engine's fetch-ids job from the open relays, with progress and the per-relay report).
    void fetchIds(const QString& path = {});
    void openSettings();

    void saveLayout();
    bool restoreLayout();  // false when nothing (valid) was saved
    void resetLayout();
    // Keeps the window on its screen: no larger than the available area, moved into it.
    void fitToScreen();
    void showAbout();
    void addDefaultRelays();
    void applyDefaultArrangement();
    // After the window closed: a small "finishing…" window saying what shutdown still does
    // (shown and painted; the caller deletes it after the engine's shutdown).
    static QWidget* showFinishing(const engine::EngineSnapshot& s);
    // Raises each dock in turn and saves it as <dir>/panel-<name>.png (name = objectName without
    // "dock-"). Returns how many were saved. For the documentation's screenshots.
    int savePanelScreenshots(const QString& dir);

protected:
    void showEvent(QShowEvent* event) override;
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    std::unique_ptr<QSettings> settings() const;
    // The progress dialog of the job about to start (m_progress, closed by onJobFinished).
    void openJobProgress(const QString& title, const QString& label, const char* object_name);
    void onSnapshot(const engine::EngineSnapshot& s);
    void onJobProgress(const QString& kind, double fraction, const QString& text);
    void onJobFinished(const QString& kind, bool ok, const QString& summary);
    void chooseImportFiles();
    // Forward a panel's selection to the other panels.
    void routeRelaySelected(Panel* from, const QString& url);
    void routeTimeSelected(Panel* from, qint64 ms);

    engine::Engine* m_engine;
    MainWindowOptions m_opts;
    NewestPanel* m_newest = nullptr;
    RelaysPanel* m_relays = nullptr;
    LogPanel* m_log = nullptr;
    LoopLagMonitor* m_lag = nullptr;
    QMenu* m_viewMenu = nullptr;
    QAction* m_viewSeparator = nullptr;  // dock toggles go above it, "Reset layout" below
    struct DockEntry {
        QDockWidget* dock;
        Panel* panel;
        Qt::DockWidgetArea area;
    };
    QVector<DockEntry> m_docks;
    QToolBar* m_toolBar = nullptr;
    QToolBar* m_banner = nullptr;        // "offline" while the engine's offline alert fires
    QLabel* m_bannerText = nullptr;
    QWidget* m_empty = nullptr;          // the empty-state page (central widget)
    bool m_shownOnce = false;
    QPushButton* m_defaultsButton = nullptr;
    QLabel* m_statusRelays;
    QLabel* m_statusRate;
    QLabel* m_statusArchive;
    QLabel* m_statusRss;
    QLabel* m_statusSink;  // the ClickHouse sink; hidden when none is configured
    QProgressDialog* m_progress = nullptr;
    QPointer<AddRelaysDialog> m_addDialog;
    bool m_routing = false;
};

}  // namespace archivist::ui
