#include "ui/panels/throughput_panel.h"

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QLogValueAxis>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QLineSeries>
#include <QPen>
#include <QSet>
#include <QValueAxis>
#include <QVBoxLayout>
#include <algorithm>

#include "core/engine/engine.h"

namespace archivist::ui {

ThroughputPanel::ThroughputPanel(engine::Engine* /*engine: snapshots come through applySnapshot(), wired by the window*/,
                                 QWidget* parent)
    : Panel(parent), m_chart(new QChart), m_x(new QDateTimeAxis), m_y(new QValueAxis), m_logY(new QLogValueAxis) {
    setObjectName("throughputPanel");
    m_chart->setTitle(tr("Events per second (moving average over %1 s)").arg(kAverageMs / 1000));
    m_x->setFormat("HH:mm:ss");
    m_x->setTitleText(tr("Time"));
    m_y->setTitleText(tr("Events/s"));
    m_y->setLabelFormat("%.0f");
    m_logY->setTitleText(tr("Events/s (log)"));
    m_logY->setLabelFormat("%g");
    m_logY->setBase(10);
    m_chart->addAxis(m_x, Qt::AlignBottom);
    m_chart->addAxis(m_y, Qt::AlignLeft);
    m_chart->addAxis(m_logY, Qt::AlignLeft);
    m_logY->setVisible(false);
    auto add = [this](const QString& name, qreal width) {
        auto* s = new QLineSeries;
        s->setName(name);
        m_chart->addSeries(s);
        s->attachAxis(m_x);
        s->attachAxis(m_y);
        QPen pen = s->pen();
        pen.setWidthF(width);
        s->setPen(pen);
        return s;
    };
    // The busiest relays first: series added later are drawn on top, so the totals stay visible.
    for (int i = 0; i < kTopRelays; ++i) {
        auto* s = add(QString(), 1);
        QPen pen = s->pen();
        pen.setStyle(Qt::DashLine);
        s->setPen(pen);
        s->setVisible(false);
        m_relaySeries.push_back(s);
    }
    m_stored = add(tr("Stored"), 2.5);
    m_duplicate = add(tr("Duplicate"), 2);
    m_rejected = add(tr("Rejected"), 2);
    m_shipped = add(tr("Shipped to ClickHouse"), 2);
    m_shipped->setVisible(false);
    m_marker = add(tr("Selected time"), 2);
    QPen pen(QColor(0xdc, 0x26, 0x26));
    pen.setWidthF(2);
    m_marker->setPen(pen);
    m_marker->setVisible(false);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_x->setRange(QDateTime::fromMSecsSinceEpoch(now - kWindowMs), QDateTime::fromMSecsSinceEpoch(now));
    m_y->setRange(0, 10);
    m_y->applyNiceNumbers();
    m_logY->setRange(kLogFloor, 10);

    m_view = new QChartView(m_chart, this);
    m_view->setObjectName("throughputChart");
    m_view->setRenderHint(QPainter::Antialiasing);
    m_logBox = new QCheckBox(tr("Log scale"), this);
    m_logBox->setObjectName("throughputLogScale");
    m_logBox->setToolTip(tr("A logarithmic value axis: a backfill's burst and live ingest on one chart"));
    connect(m_logBox, &QCheckBox::toggled, this, &ThroughputPanel::setLogScale);
    m_note = new QLabel(this);
    m_note->setObjectName("throughputNote");
    auto* bar = new QHBoxLayout;
    bar->addWidget(m_logBox);
    bar->addWidget(m_note, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(m_view, 1);
}

void ThroughputPanel::setLogScale(bool on) {
    if (on == m_log) return;
    m_log = on;
    if (m_logBox->isChecked() != on) m_logBox->setChecked(on);
    QAbstractAxis* from = on ? static_cast<QAbstractAxis*>(m_y) : static_cast<QAbstractAxis*>(m_logY);
    QAbstractAxis* to = on ? static_cast<QAbstractAxis*>(m_logY) : static_cast<QAbstractAxis*>(m_y);
    for (QAbstractSeries* s : m_chart->series()) {
        s->detachAxis(from);
        s->attachAxis(to);
    }
    m_y->setVisible(!on);
    m_logY->setVisible(on);
    redraw();  // every series through toList() (the floor for zeros on the log axis)
    if (!m_lastMs) updateAxes(QDateTime::currentMSecsSinceEpoch());
}

double ThroughputPanel::average(std::deque<QPointF>& raw, QPointF p) {
    raw.push_back(p);
    while (!raw.empty() && raw.front().x() <= p.x() - double(kAverageMs)) raw.pop_front();
    double sum = 0;
    for (const auto& q : raw) sum += q.y();
    return sum / double(raw.size());
}

void ThroughputPanel::push(std::deque<QPointF>& ring, QPointF p, qint64 now_ms) {
    ring.push_back(p);
    while (ring.size() > size_t(kMaxPoints) || (!ring.empty() && ring.front().x() < double(now_ms - kWindowMs)))
        ring.pop_front();
}

QList<QPointF> ThroughputPanel::toList(const std::deque<QPointF>& ring) const {
    QList<QPointF> out(ring.begin(), ring.end());
    if (m_log)
        for (auto& p : out) p.setY(std::max(p.y(), kLogFloor));
    return out;
}

void ThroughputPanel::applySnapshot(const engine::EngineSnapshot& s) {
    if (s.taken_at_ms <= 0) return;  // the engine has not ticked yet: no time to plot at
    const qint64 now = s.taken_at_ms;
    if (m_lastPointMs && now - m_lastPointMs < kSampleMs && now >= m_lastPointMs) return;  // one point a second
    m_lastPointMs = now;
    const double x = double(now);
    push(m_storedRing, {x, average(m_storedRaw, {x, s.stored_per_s})}, now);
    push(m_duplicateRing, {x, average(m_duplicateRaw, {x, s.duplicate_per_s})}, now);
    push(m_rejectedRing, {x, average(m_rejectedRaw, {x, s.rejected_per_s})}, now);
    m_sinkConfigured = s.sink.configured;
    if (s.sink.configured) push(m_shippedRing, {x, average(m_shippedRaw, {x, s.sink.events_per_s})}, now);

    // Per-relay stored rates from counter deltas; forget relays that left the snapshot.
    QSet<QString> present;
    for (const auto& r : s.relays) {
        const QString url = QString::fromStdString(r.url);
        present.insert(url);
        auto it = m_relays.find(url);
        if (it == m_relays.end()) {
            if (m_relays.size() >= kMaxTrackedRelays) continue;
            it = m_relays.insert(url, RelayTrack{r.stored, now, {}, {}});
            continue;  // no delta yet
        }
        const double dt = std::max<qint64>(1, now - it->last_ms) / 1000.0;
        const double rate = r.stored >= it->last_stored ? double(r.stored - it->last_stored) / dt : 0.0;
        it->last_stored = r.stored;
        it->last_ms = now;
        push(it->points, {x, average(it->raw, {x, rate})}, now);
    }
    for (auto it = m_relays.begin(); it != m_relays.end();)
        it = present.contains(it.key()) ? std::next(it) : m_relays.erase(it);
    m_lastMs = now;
    // Behind another tab of a shown window: draw when shown again (the GUI thread's time goes to
    // what is on screen).
    if (window()->isVisible() && !isVisible()) {
        m_stale = true;
        return;
    }
    redraw();
}

void ThroughputPanel::redraw() {
    m_stale = false;
    m_stored->replace(toList(m_storedRing));
    m_duplicate->replace(toList(m_duplicateRing));
    m_rejected->replace(toList(m_rejectedRing));
    m_shipped->setVisible(m_sinkConfigured);
    if (m_sinkConfigured) m_shipped->replace(toList(m_shippedRing));
    updateRelaySeries();
    if (m_lastMs) updateAxes(m_lastMs);
}

void ThroughputPanel::showEvent(QShowEvent* event) {
    Panel::showEvent(event);
    if (m_stale) redraw();
}

void ThroughputPanel::updateRelaySeries() {
    struct Ranked {
        QString url;
        double recent;
    };
    std::vector<Ranked> ranked;
    ranked.reserve(size_t(m_relays.size()));
    for (auto it = m_relays.cbegin(); it != m_relays.cend(); ++it) {
        const auto& pts = it->points;
        if (pts.empty()) continue;
        double sum = 0;
        int n = 0;
        for (auto p = pts.rbegin(); p != pts.rend() && n < kRankSamples; ++p, ++n) sum += p->y();
        if (sum <= 0) continue;
        ranked.push_back({it.key(), sum / n});
    }
    const size_t top = std::min<size_t>(kTopRelays, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + long(top), ranked.end(), [](const Ranked& a, const Ranked& b) {
        return a.recent != b.recent ? a.recent > b.recent : a.url < b.url;
    });
    for (int i = 0; i < kTopRelays; ++i) {
        QLineSeries* series = m_relaySeries[i];
        if (size_t(i) < top) {
            series->setName(ranked[size_t(i)].url);
            series->replace(toList(m_relays.value(ranked[size_t(i)].url).points));
            series->setVisible(true);
        } else {
            series->clear();
            series->setName(QString());
            series->setVisible(false);
        }
    }
    applyEmphasis();
}

void ThroughputPanel::updateAxes(qint64 now_ms) {
    // A fixed window ending at the next round tick: the ticks stay on round times.
    const qint64 to = (now_ms / kTickMs + 1) * kTickMs;
    const qint64 from = to - kWindowMs;
    m_x->setRange(QDateTime::fromMSecsSinceEpoch(from), QDateTime::fromMSecsSinceEpoch(to));
    m_x->setTickCount(int(kWindowMs / kTickMs) + 1);
    m_x->setFormat(kTickMs % 60000 ? QStringLiteral("HH:mm:ss") : QStringLiteral("HH:mm"));
    const QDate day = QDateTime::fromMSecsSinceEpoch(to - 1).date();
    const QDate first = QDateTime::fromMSecsSinceEpoch(from).date();
    m_x->setTitleText(first == day ? tr("Time (%1)").arg(QLocale().toString(day, QLocale::ShortFormat))
                                   : tr("Time (%1 – %2)").arg(QLocale().toString(first, QLocale::ShortFormat),
                                                              QLocale().toString(day, QLocale::ShortFormat)));
    double maxY = 10;
    for (auto* ring : {&m_storedRing, &m_duplicateRing, &m_rejectedRing, &m_shippedRing})
        for (const auto& p : *ring) maxY = std::max(maxY, p.y());
    for (auto* s : m_relaySeries)
        if (s->isVisible())
            for (const auto& p : s->points()) maxY = std::max(maxY, p.y());
    m_y->setRange(0, maxY * 1.05);
    m_y->applyNiceNumbers();  // round ticks: 0, 500, 1000, … not 1178, 2357, …
    double top = 10;
    while (top < maxY) top *= 10;
    m_logY->setRange(kLogFloor, top);
    const double yTop = m_log ? top : m_y->max();
    const bool inWindow = m_markerMs >= from && m_markerMs <= to;
    m_marker->setVisible(m_markerMs >= 0 && inWindow);
    if (m_markerMs >= 0 && inWindow)
        m_marker->replace(QList<QPointF>{{double(m_markerMs), m_log ? kLogFloor : 0.0}, {double(m_markerMs), yTop}});
    m_note->setText(markerNote());
}

QString ThroughputPanel::markerNote() const {
    if (m_markerMs < 0 || m_marker->isVisible()) return {};
    return tr("The selected time (%1) is outside this chart's window.")
        .arg(QLocale().toString(QDateTime::fromMSecsSinceEpoch(m_markerMs), QLocale::ShortFormat));
}

void ThroughputPanel::highlightTime(qint64 ms) {
    m_markerMs = ms;
    if (ms < 0) m_marker->clear();
    updateAxes(m_lastMs ? m_lastMs : QDateTime::currentMSecsSinceEpoch());
}

void ThroughputPanel::highlightRelay(const QString& url) {
    m_highlightRelay = url;
    applyEmphasis();
}

void ThroughputPanel::applyEmphasis() {
    for (auto* s : m_relaySeries) {
        QPen pen = s->pen();
        const bool emphasised = !m_highlightRelay.isEmpty() && s->isVisible() && s->name() == m_highlightRelay;
        const qreal width = emphasised ? 3 : 1;
        if (pen.widthF() == width) continue;
        pen.setWidthF(width);
        pen.setStyle(emphasised ? Qt::SolidLine : Qt::DashLine);
        s->setPen(pen);
    }
}

}  // namespace archivist::ui
