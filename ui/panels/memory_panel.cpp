#include "ui/panels/memory_panel.h"

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QFormLayout>
#include <QGroupBox>
#include <QLineSeries>
#include <QLocale>
#include <QProgressBar>
#include <QSet>
#include <QValueAxis>
#include <QScrollArea>
#include <QVBoxLayout>
#include <algorithm>

#include "core/engine/engine.h"
#include "core/engine/incident_rules.h"

namespace archivist::ui {

namespace {
constexpr double kMiB = 1024.0 * 1024.0;

QString styleFor(MemoryPanel::Level level) {
    const char* color = level == MemoryPanel::Level::Ok     ? "#16a34a"
                        : level == MemoryPanel::Level::Warn ? "#f59e0b"
                                                             : "#dc2626";
    return QString("QProgressBar { text-align: center; } QProgressBar::chunk { background-color: %1; }").arg(color);
}
}  // namespace

MemoryPanel::Level MemoryPanel::levelFor(qint64 depth, qint64 capacity) {
    if (capacity <= 0) return Level::Ok;
    const double fraction = double(depth) / double(capacity);
    if (fraction >= engine::kQueueNearCapacityFraction) return Level::Critical;
    if (fraction >= engine::kQueueWarnFraction) return Level::Warn;
    return Level::Ok;
}

const char* MemoryPanel::levelName(Level level) {
    switch (level) {
    case Level::Ok: return "ok";
    case Level::Warn: return "warn";
    case Level::Critical: return "critical";
    }
    return "ok";
}

MemoryPanel::MemoryPanel(engine::Engine* /*engine: snapshots come through applySnapshot(), wired by the window*/,
                         QWidget* parent)
    : Panel(parent), m_chart(new QChart), m_x(new QDateTimeAxis), m_y(new QValueAxis) {
    setObjectName("memoryPanel");
    m_chart->setTitle(tr("Memory"));
    m_x->setFormat("HH:mm:ss");
    m_y->setTitleText(tr("MiB"));
    m_y->setLabelFormat("%.0f");
    m_chart->addAxis(m_x, Qt::AlignBottom);
    m_chart->addAxis(m_y, Qt::AlignLeft);
    auto add = [this](const QString& name) {
        auto* s = new QLineSeries;
        s->setName(name);
        m_chart->addSeries(s);
        s->attachAxis(m_x);
        s->attachAxis(m_y);
        return s;
    };
    m_rss = add(tr("Resident (RSS)"));
    m_heap = add(tr("Heap in use"));
    m_sqlite = add(tr("SQLite heap"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_x->setRange(QDateTime::fromMSecsSinceEpoch(now - 60000), QDateTime::fromMSecsSinceEpoch(now));
    m_y->setRange(0, 100);

    auto* view = new QChartView(m_chart, this);
    view->setObjectName("memoryChart");
    view->setRenderHint(QPainter::Antialiasing);
    auto* box = new QGroupBox(tr("Queues and caches"), this);
    m_gaugeLayout = new QFormLayout(box);
    m_sqliteGauge = new QProgressBar(this);
    m_sqliteGauge->setObjectName("gauge-sqlite-heap");
    m_sqliteGauge->setTextVisible(true);
    m_sqliteGauge->setRange(0, 1);
    m_sqliteGauge->setValue(0);
    // A cache: full is normal (the page caches fill up to the limit, and sorters and pinned pages
    // pass a soft limit for a while during merges), so it stays green like the other caches.
    m_sqliteGauge->setProperty("level", levelName(Level::Ok));
    m_sqliteGauge->setStyleSheet(styleFor(Level::Ok));
    m_gaugeLayout->addRow(tr("SQLite heap"), m_sqliteGauge);
    // The gauge rows grow with the engine (every queue and cache has one): they scroll, and the
    // chart keeps room enough to be read.
    view->setMinimumHeight(220);
    auto* scroll = new QScrollArea(this);
    scroll->setObjectName("memoryGauges");
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(box);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(view, 1);
    layout->addWidget(scroll, 1);
}

void MemoryPanel::applySnapshot(const engine::EngineSnapshot& s) {
    if (s.taken_at_ms <= 0) return;  // the engine has not ticked yet: no time to plot at
    const double x = double(s.taken_at_ms);
    auto push = [](std::deque<QPointF>& ring, QPointF p) {
        ring.push_back(p);
        while (ring.size() > size_t(kMaxPoints)) ring.pop_front();
    };
    push(m_rssRing, {x, double(s.rss_bytes) / kMiB});
    push(m_heapRing, {x, double(s.heap_bytes) / kMiB});
    push(m_sqliteRing, {x, double(s.sqlite_heap_bytes) / kMiB});
    updateSqliteGauge(s);
    updateGauges(s);
    // Behind another tab of a shown window: the chart is drawn when shown again.
    if (window()->isVisible() && !isVisible()) {
        m_stale = true;
        return;
    }
    redraw();
}

void MemoryPanel::showEvent(QShowEvent* event) {
    Panel::showEvent(event);
    if (m_stale) redraw();
}

void MemoryPanel::redraw() {
    m_stale = false;
    if (m_rssRing.empty()) return;
    m_rss->replace(QList<QPointF>(m_rssRing.begin(), m_rssRing.end()));
    m_heap->replace(QList<QPointF>(m_heapRing.begin(), m_heapRing.end()));
    m_sqlite->replace(QList<QPointF>(m_sqliteRing.begin(), m_sqliteRing.end()));
    double maxY = 1;
    for (const auto* ring : {&m_rssRing, &m_heapRing, &m_sqliteRing})
        for (const auto& p : *ring) maxY = std::max(maxY, p.y());
    m_y->setRange(0, maxY * 1.1);
    const qint64 from = qint64(m_rssRing.front().x());
    const qint64 to = qint64(m_rssRing.back().x());
    m_x->setRange(QDateTime::fromMSecsSinceEpoch(from), QDateTime::fromMSecsSinceEpoch(std::max(to, from + 1000)));
}

void MemoryPanel::updateSqliteGauge(const engine::EngineSnapshot& s) {
    const auto mib = [](quint64 bytes) { return QLocale().toString(double(bytes) / kMiB, 'f', 1); };
    const quint64 used = s.sqlite_heap_bytes;
    const quint64 limit = s.sqlite_heap_limit_bytes;
    // In KiB: a QProgressBar holds int.
    m_sqliteGauge->setRange(0, int(std::max<quint64>(1, limit / 1024)));
    m_sqliteGauge->setValue(int(std::min(used, limit) / 1024));
    m_sqliteGauge->setFormat(limit ? tr("%1 / %2 MiB").arg(mib(used), mib(limit)) : tr("%1 MiB, no limit").arg(mib(used)));
    m_sqliteGauge->setToolTip(tr("SQLite's page caches, statements and sorters, every connection together: %1 MiB in "
                                 "use, at most %2 MiB since start; soft limit %3 MiB (sqlite_heap_limit_bytes in "
                                 "config.json)")
                                  .arg(mib(used), mib(s.sqlite_heap_peak_bytes), mib(limit)));
}

void MemoryPanel::updateGauges(const engine::EngineSnapshot& s) {
    QSet<QString> present;
    for (const auto& q : s.queues) {
        present.insert(q.name);
        QProgressBar* bar = m_gauges.value(q.name);
        if (!bar) {
            bar = new QProgressBar(this);
            bar->setObjectName("gauge-" + q.name);
            bar->setTextVisible(true);
            m_gaugeLayout->addRow(q.name, bar);
            m_gauges.insert(q.name, bar);
        }
        // QProgressBar holds int: scale large capacities down to keep the ratio.
        const qint64 cap = std::max<qint64>(1, q.capacity);
        const qint64 scale = std::max<qint64>(1, cap / 1000000);
        bar->setRange(0, int(cap / scale));
        bar->setValue(int(std::clamp<qint64>(q.depth, 0, cap) / scale));
        bar->setFormat(tr("%1 / %2").arg(q.depth).arg(q.capacity));
        bar->setToolTip(tr("%1: %2 of %3 (%4 %)")
                            .arg(q.name)
                            .arg(q.depth)
                            .arg(q.capacity)
                            .arg(q.capacity > 0 ? 100.0 * double(q.depth) / double(q.capacity) : 0.0, 0, 'f', 0));
        const Level level = engine::isCacheGauge(q.name) ? Level::Ok : levelFor(q.depth, q.capacity);
        if (bar->property("level").toString() != levelName(level)) {
            bar->setProperty("level", levelName(level));
            bar->setStyleSheet(styleFor(level));
        }
    }
    for (auto it = m_gauges.begin(); it != m_gauges.end();) {
        if (present.contains(it.key())) {
            ++it;
            continue;
        }
        m_gaugeLayout->removeRow(it.value());  // deletes the bar and its label
        it = m_gauges.erase(it);
    }
}

}  // namespace archivist::ui
