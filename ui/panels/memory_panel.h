#pragma once
// Memory panel: RSS, heap in use and SQLite's heap over time (chart, a bounded ring of points per
// series); SQLite's heap against its soft limit as the first gauge (a cache: always green; the
// text shows when the heap passes the soft limit, as sorters and pinned pages may); and every
// bounded queue or cache in snapshot.queues as a depth-against-capacity gauge, coloured
// green below kQueueWarnFraction, amber below kQueueNearCapacityFraction and red at or above it
// (the constants the queue_near_capacity incident rule uses, core/engine/incident_rules.h); a
// cache (a gauge named "… cache": full is normal for it) stays green.
// Gauges are created the first time a queue name appears and removed when it disappears.
// Thread: GUI only.
#include <QMap>
#include <QPointF>
#include <QString>
#include "ui/panels/panel.h"
#include <deque>

class QChart;
class QDateTimeAxis;
class QFormLayout;
class QLineSeries;
class QProgressBar;
class QValueAxis;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine

namespace archivist::ui {

class MemoryPanel : public Panel {
    Q_OBJECT
public:
    static constexpr int kMaxPoints = 1200;  // 5 minutes at 4 Hz
    enum class Level { Ok, Warn, Critical };
    static Level levelFor(qint64 depth, qint64 capacity);
    static const char* levelName(Level level);  // "ok", "warn", "critical" (the gauge's "level" property)

    explicit MemoryPanel(engine::Engine* engine, QWidget* parent = nullptr);

    // For tests and screenshots.
    QLineSeries* rssSeries() const { return m_rss; }
    QLineSeries* heapSeries() const { return m_heap; }
    QLineSeries* sqliteSeries() const { return m_sqlite; }
    QProgressBar* sqliteGauge() const { return m_sqliteGauge; }
    QProgressBar* gauge(const QString& queue) const { return m_gauges.value(queue); }
    int gaugeCount() const { return int(m_gauges.size()); }

public slots:
    void applySnapshot(const archivist::engine::EngineSnapshot& s) override;

protected:
    void showEvent(QShowEvent* event) override;

private:
    void redraw();  // the chart from the rings
    void updateGauges(const engine::EngineSnapshot& s);
    void updateSqliteGauge(const engine::EngineSnapshot& s);
    bool m_stale = false;  // points arrived while behind another tab
    QChart* m_chart;
    QDateTimeAxis* m_x;
    QValueAxis* m_y;
    QLineSeries* m_rss;
    QLineSeries* m_heap;
    QLineSeries* m_sqlite;
    std::deque<QPointF> m_rssRing, m_heapRing, m_sqliteRing;
    QFormLayout* m_gaugeLayout;
    QProgressBar* m_sqliteGauge;
    QMap<QString, QProgressBar*> m_gauges;
};

}  // namespace archivist::ui
