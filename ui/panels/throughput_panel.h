#pragma once
// Throughput panel: stored, duplicate and rejected events per second over the last five minutes
// (Qt Charts line series), plus the stored rate of the busiest relays (top 5 by recent stored
// rate, from the deltas of snapshot.relays' stored counters) as thin dashed lines drawn under
// the totals.
//
// Contract
// - Every series is a moving average over kAverageMs (stated in the chart's title): one point per
//   snapshot, the mean of the rates of the last kAverageMs.
// - applySnapshot() appends one point per series, at most one every kSampleMs (a chart that
//   redraws 300 points once a second instead of 1,200 four times: the GUI thread stays free;
//   drawn when the panel is on screen: behind
//   another tab it only records, and draws when shown); each series is a bounded ring of at most
//   kMaxPoints points and covers at most kWindowMs (older points are dropped).
// - The time axis shows a fixed window of kWindowMs ending at the next round kTickMs, with round
//   ticks every kTickMs and the date in its title; the value axis has round ("nice") ticks, and a
//   log scale on request (setLogScale; a rate of 0 is drawn at kLogFloor).
// - Per-relay history is kept only for relays present in the latest snapshot (at most
//   kMaxTrackedRelays; beyond that the extra relays are not charted).
// - highlightTime(ms) draws a vertical marker at that time when it lies within the window (the
//   window is never stretched to an old time: a note says the selected time is outside it);
//   highlightRelay(url) draws that relay's series wider when it is among those shown (and keeps
//   doing so when it enters the top 5 later); an empty url removes the emphasis.
// Thread: GUI only.
#include <QHash>
#include <QList>
#include <QPointF>
#include <QString>
#include "ui/panels/panel.h"
#include <deque>

class QChart;
class QCheckBox;
class QLabel;
class QLogValueAxis;
class QChartView;
class QDateTimeAxis;
class QLineSeries;
class QValueAxis;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine

namespace archivist::ui {

class ThroughputPanel : public Panel {
    Q_OBJECT
public:
    static constexpr qint64 kSampleMs = 1000;        // one point a second (the snapshots come at 4 Hz)
    static constexpr int kMaxPoints = 300;           // 5 minutes at 1 Hz
    static constexpr qint64 kWindowMs = 5 * 60 * 1000;
    static constexpr int kTopRelays = 5;
    static constexpr int kMaxTrackedRelays = 1000;
    static constexpr int kRankSamples = 20;          // the top 5 is ranked by the mean of the last 20 points
    static constexpr qint64 kAverageMs = 10'000;     // the moving average's window
    static constexpr qint64 kTickMs = 60'000;        // time ticks (a minute: their labels fit)
    static constexpr double kLogFloor = 0.1;

    explicit ThroughputPanel(engine::Engine* engine, QWidget* parent = nullptr);

    // For tests and screenshots.
    QLineSeries* storedSeries() const { return m_stored; }
    QLineSeries* duplicateSeries() const { return m_duplicate; }
    QLineSeries* rejectedSeries() const { return m_rejected; }
    QLineSeries* shippedSeries() const { return m_shipped; }  // ClickHouse sink; hidden without one
    const QList<QLineSeries*>& relaySeries() const { return m_relaySeries; }  // kTopRelays, unused ones hidden
    QLineSeries* timeMarker() const { return m_marker; }
    QDateTimeAxis* timeAxis() const { return m_x; }
    QValueAxis* valueAxis() const { return m_y; }
    QString highlightedRelay() const { return m_highlightRelay; }
    bool logScale() const { return m_log; }
    void setLogScale(bool on);
    QString markerNote() const;  // "" when the marker is shown or none is set

public slots:
    void applySnapshot(const archivist::engine::EngineSnapshot& s) override;
    void highlightTime(qint64 ms) override;
    void highlightRelay(const QString& url) override;

protected:
    void showEvent(QShowEvent* event) override;

private:
    void redraw();
    struct RelayTrack {
        quint64 last_stored = 0;
        qint64 last_ms = 0;
        std::deque<QPointF> raw;     // per-snapshot rates within kAverageMs
        std::deque<QPointF> points;  // their moving average
    };
    static void push(std::deque<QPointF>& ring, QPointF p, qint64 now_ms);
    // Adds a raw rate and returns the mean of the raw rates of the last kAverageMs.
    static double average(std::deque<QPointF>& raw, QPointF p);
    QList<QPointF> toList(const std::deque<QPointF>& ring) const;
    void updateRelaySeries();
    void updateAxes(qint64 now_ms);
    void applyEmphasis();

    QChart* m_chart;
    QChartView* m_view;
    QDateTimeAxis* m_x;
    QValueAxis* m_y;
    QLogValueAxis* m_logY;
    QCheckBox* m_logBox;
    QLabel* m_note;
    bool m_log = false;
    bool m_stale = false;          // data arrived while hidden behind another tab
    qint64 m_lastPointMs = 0;
    bool m_sinkConfigured = false;
    std::deque<QPointF> m_storedRaw, m_duplicateRaw, m_rejectedRaw, m_shippedRaw;
    QLineSeries* m_stored;
    QLineSeries* m_duplicate;
    QLineSeries* m_rejected;
    QLineSeries* m_shipped;
    QLineSeries* m_marker;
    QList<QLineSeries*> m_relaySeries;
    std::deque<QPointF> m_storedRing, m_duplicateRing, m_rejectedRing, m_shippedRing;
    QHash<QString, RelayTrack> m_relays;
    QString m_highlightRelay;
    qint64 m_markerMs = -1;
    qint64 m_lastMs = 0;
};

}  // namespace archivist::ui
