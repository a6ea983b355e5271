#pragma once
// Incidents panel: the engine's alerts — firing, then resolved — with severity, state, when it
// fired, kind, relay, count and message. Selecting one emits relaySelected(url) (when it names a relay) and timeSelected(ms)
// (its latest occurrence) so the main window can highlight them on the other panels.
// Acknowledge / Clear / Clear all call the engine facade; the next snapshot shows the result.
// Thread: GUI only.
#include "ui/panels/panel.h"

class QPushButton;
class QTableView;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine

namespace archivist::ui {

class IncidentsModel;

class IncidentsPanel : public Panel {
    Q_OBJECT
public:
    explicit IncidentsPanel(engine::Engine* engine, QWidget* parent = nullptr);

    IncidentsModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }

public slots:
    void applySnapshot(const archivist::engine::EngineSnapshot& s) override;

private:
    void onCurrentChanged();
    void acknowledgeSelected();
    void updateButtons();

    engine::Engine* m_engine;
    IncidentsModel* m_model;
    QTableView* m_view;
    QPushButton* m_ack;
    QPushButton* m_clear;
    QPushButton* m_clearAll;
    quint64 m_currentId = 0;
};

}  // namespace archivist::ui
