#pragma once
// Scoring panel: why each relay is in or out. A header line ("N of max connected · last cycle …
// · next cycle in …"), the optimizer's table of scored relays with every score component
// (ScoringModel behind a sorting proxy), the score distribution of the whole directory (a Qt
// Charts bar series over intelligence.score_histogram) and the optimizer's recent swaps with
// their reasons, newest first (SwapsModel).
// Selecting a relay emits relaySelected(url); highlightRelay(url) selects its row when present.
// applySnapshot() is cheap: in-place model updates, the chart only when the histogram changed.
// The window (or a test) feeds applySnapshot(); the panel does not connect to the engine itself.
// Thread: GUI only. The engine is not owned and may be null (nothing is asked of it).
#include <QVector>
#include "ui/panels/panel.h"

class QBarSet;
class QBarCategoryAxis;
class QChart;
class QChartView;
class QLabel;
class QSortFilterProxyModel;
class QTableView;
class QValueAxis;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine

namespace archivist::ui {

class ScoringModel;
class SwapsModel;

class ScoringPanel : public Panel {
    Q_OBJECT
public:
    explicit ScoringPanel(engine::Engine* engine, QWidget* parent = nullptr);

    ScoringModel* model() const { return m_model; }
    SwapsModel* swapsModel() const { return m_swaps; }
    QTableView* view() const { return m_view; }
    QTableView* swapsView() const { return m_swapsView; }
    QString headerText() const;
    // The bar heights of the distribution chart (10 buckets over 0 … 1).
    QVector<double> histogram() const;
    QString currentUrl() const;  // "" when no row is current

public slots:
    void applySnapshot(const archivist::engine::EngineSnapshot& s) override;
    void highlightRelay(const QString& url) override;

private:
    ScoringModel* m_model;
    SwapsModel* m_swaps;
    QSortFilterProxyModel* m_proxy;
    QLabel* m_header;
    QTableView* m_view;
    QTableView* m_swapsView;
    QChart* m_chart;
    QChartView* m_chartView;
    QBarSet* m_bars;
    QValueAxis* m_countAxis;
    QVector<double> m_histogram;
};

}  // namespace archivist::ui
