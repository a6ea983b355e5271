#pragma once
// Log panel: the engine's log ring (observe::LogRing) in a table, filterable by category and
// minimum level. New records are polled on every snapshot (at most kPollMax per poll); the view
// follows the newest record unless the user scrolled up. Holds at most the ring's capacity.
// Thread: GUI only. The ring is not owned and must outlive the panel; it may be null (no log).
#include "ui/panels/panel.h"
#include <cstdint>

class QComboBox;
class QLabel;
class QTableView;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine
namespace archivist::observe {
class LogRing;
}

namespace archivist::ui {

class LogFilterProxy;
class LogModel;

class LogPanel : public Panel {
    Q_OBJECT
public:
    static constexpr size_t kPollMax = 2000;

    LogPanel(engine::Engine* engine, observe::LogRing* ring, QWidget* parent = nullptr);

    LogModel* model() const { return m_model; }
    LogFilterProxy* proxy() const { return m_proxy; }
    QTableView* view() const { return m_view; }
    // Records lost because the ring evicted them before the panel read them.
    uint64_t missed() const { return m_missed; }

public slots:
    void applySnapshot(const archivist::engine::EngineSnapshot& s) override;
    // Reads new records from the ring now (applySnapshot does this).
    void poll();

private:
    void addCategory(const QString& category);

    engine::Engine* m_engine;
    observe::LogRing* m_ring;
    LogModel* m_model;
    LogFilterProxy* m_proxy;
    QTableView* m_view;
    QComboBox* m_category;
    QComboBox* m_level;
    QLabel* m_missedLabel;
    uint64_t m_lastSeq = 0;
    uint64_t m_missed = 0;
};

}  // namespace archivist::ui
