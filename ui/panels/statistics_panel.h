#pragma once
// Statistics panel: the research plots of the archive over a range of whole UTC days (Qt Charts),
// from the index's rollups (decision 0017) through Engine::requestStatistics — the tables
// `archivist stats --by …` prints for the same range:
//   events per day stacked by kind (top kinds, "other"), active authors per day, kind distribution,
//   per-relay contribution (novel vs duplicate), replication (sources per event), publication
//   delay (first seen − created_at in log2 bins; future-dated events apart), and the coverage of
//   referenced events per month (Engine::requestCoverage: the months the engine's paced background
//   job keeps, answered at once and asked with every refresh; each month's "as of" time in its
//   tooltip and the CSV, the oldest in the title with the months being computed again).
//
// Contract
// - The range selector (last 24 h / 7 d / 30 d / all / custom dates) and the "first-seen day"
//   toggle send one request; a newer request supersedes an older one (only the newest answer is
//   drawn). Nothing is computed on the GUI thread but the drawing. While visible the panel asks
//   again every kRefreshMs (and when it is shown). Days without events are drawn as zero.
// - Every plot exports as PNG (savePng) and its table as CSV (saveCsv: the CSV of `archivist stats
//   --format csv` for the same --by).
// - Clicking a bar asks for the archive list filtered to it (showEvents): a day and kind of the
//   stacked plot, a kind, or a relay of the contribution plot.
// - drawn(elapsed_ms) is emitted after each answer has been drawn, with the time from the request.
// Thread: GUI only.
#include <QElapsedTimer>
#include <QString>
#include <QVector>
#include <QWidget>
#include <vector>

#include "core/engine/query_types.h"
#include "ui/panels/panel.h"

class QChart;
class QChartView;
class QCheckBox;
class QComboBox;
class QDateEdit;
class QLabel;

namespace archivist::engine {
class Engine;
}

namespace archivist::ui {

class StatisticsPanel : public Panel {
    Q_OBJECT
public:
    enum Plot { EventsPerDay, Authors, Kinds, Relays, Replication, Delay, Coverage, PlotCount };
    enum class Range { Day, Week, Month, All, Custom };

    explicit StatisticsPanel(engine::Engine* engine, QWidget* parent = nullptr);
    // The rollups are read on the panel's own timer (kRefreshMs, while visible), not per snapshot:
    // a snapshot carries nothing this panel shows.
    void applySnapshot(const engine::EngineSnapshot&) override {}
    static constexpr int kRefreshMs = 15000;
    static constexpr int kTopKinds = 6;  // stacked by name in "events per day"; the rest is "other"

    void setRange(Range range);
    void setCustomRange(const QDate& from, const QDate& to);  // and selects Custom
    void setFirstSeenDays(bool on);
    // Sends the request for the current range (done by every change; public for tests).
    void refresh();

    bool savePng(Plot plot, const QString& path) const;
    bool saveCsv(Plot plot, const QString& path) const;
    QChart* chart(Plot plot) const;
    QChartView* chartView(Plot plot) const;
    const engine::StatisticsResult& result() const { return m_result; }
    const engine::CoverageResult& coverage() const { return m_coverage; }
    engine::StatisticsRequest currentRequest() const;
    // The query a click on bar `index` of set `set` of `plot` opens (tests; nullopt: none).
    std::optional<engine::QueryFilter> queryForBar(Plot plot, int set, int index) const;

signals:
    void showEvents(const archivist::engine::QueryFilter& query);
    void drawn(qint64 elapsed_ms);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void onStatistics(quint64 id, const engine::StatisticsResult& r);
    void onCoverage(quint64 id, const engine::CoverageResult& r);
    void requestCoverage();
    void drawCoverage();
    void draw();
    void drawEventsPerDay();
    void drawAuthors();
    void drawKinds();
    void drawRelays();
    void drawReplication();
    void drawDelay();
    const engine::StatsTable* table(Plot plot) const;
    void exportPlot(Plot plot, bool png);
    QWidget* plotBox(Plot plot, const QString& title);

    engine::Engine* m_engine;
    QComboBox* m_range;
    QDateEdit* m_from;
    QDateEdit* m_to;
    QCheckBox* m_firstSeen;
    QLabel* m_status;
    QVector<QChartView*> m_views;
    quint64 m_pending = 0;
    QElapsedTimer m_sent;
    engine::StatisticsResult m_result;
    engine::CoverageResult m_coverage;
    quint64 m_coveragePending = 0;
    std::vector<int> m_dayKindRow;  // day slot of the stacked plot → row of day_kind (-1: no events)
    int64_t m_firstDay = 0;
};

}  // namespace archivist::ui
