#pragma once
// Newest panel: the archive totals (events, size, throughput, memory and queues) above the table
// of the newest stored events. Fed from snapshots.
// Thread: GUI only.
#include "ui/panels/panel.h"

class QLabel;
class QTableView;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine

namespace archivist::ui {

class NewestEventsModel;

class NewestPanel : public Panel {
    Q_OBJECT
public:
    explicit NewestPanel(engine::Engine* engine, QWidget* parent = nullptr);
    NewestEventsModel* model() const { return m_model; }

public slots:
    void applySnapshot(const archivist::engine::EngineSnapshot& s) override;

private:
    NewestEventsModel* m_model;
    QTableView* m_table;
    QLabel* m_events;
    QLabel* m_archive;
    QLabel* m_rate;
    QLabel* m_memory;
};

}  // namespace archivist::ui
