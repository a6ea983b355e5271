#pragma once
// The console's main window. Talks to the engine only through engine::Engine (facade) and its
// value snapshots; never touches sockets, SQLite or zstd.
// Thread: GUI only.
#include <QMainWindow>

class QLabel;
class QProgressDialog;
class QTableView;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine

namespace archivist::ui {

class NewestEventsModel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(engine::Engine* engine, QWidget* parent = nullptr);
    ~MainWindow() override;

    NewestEventsModel* newestModel() const { return m_model; }
    // Starts an import of these files (what File → Import… does after its dialog).
    void importFiles(const QStringList& files);

private:
    void onSnapshot(const engine::EngineSnapshot& s);
    void onJobProgress(const QString& kind, double fraction, const QString& text);
    void onJobFinished(const QString& kind, bool ok, const QString& summary);
    void chooseImportFiles();

    engine::Engine* m_engine;
    NewestEventsModel* m_model;
    QTableView* m_table;
    QLabel* m_events;
    QLabel* m_archive;
    QLabel* m_rate;
    QLabel* m_memory;
    QLabel* m_statusEvents;
    QProgressDialog* m_progress = nullptr;
};

}  // namespace archivist::ui
