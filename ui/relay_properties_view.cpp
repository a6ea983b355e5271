#include "ui/relay_properties_view.h"

#include <QDateTime>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QPainter>
#include <QPainterPath>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>

#include "ui/incidents_model.h"
#include "ui/relays_model.h"

namespace archivist::ui {

Sparkline::Sparkline(QWidget* parent) : QWidget(parent) { setMinimumHeight(40); }

void Sparkline::setValues(const QVector<double>& values, const QString& caption) {
    m_values = values;
    m_caption = caption;
    update();
}

void Sparkline::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF area = rect().adjusted(1, 14, -1, -2);
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(area);
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(rect().adjusted(2, 0, -2, 0), Qt::AlignLeft | Qt::AlignTop, m_caption);
    double top = 0;
    for (double v : m_values) top = std::max(top, v);
    if (m_values.size() < 2 || top <= 0) return;
    QPainterPath path;
    bool pen = false;
    for (int i = 0; i < m_values.size(); ++i) {
        const double v = m_values[i];
        const QPointF pt(area.left() + area.width() * i / double(RelayPropertiesView::kHistory - 1) +
                             area.width() * double(RelayPropertiesView::kHistory - m_values.size()) /
                                 double(RelayPropertiesView::kHistory - 1),
                         area.bottom() - area.height() * std::max(0.0, v) / top);
        if (v < 0) {  // a gap (not connected)
            pen = false;
            continue;
        }
        if (pen) path.lineTo(pt);
        else path.moveTo(pt);
        pen = true;
    }
    p.setPen(QPen(QColor(0x25, 0x63, 0xeb), 1.5));
    p.drawPath(path);
}

RelayPropertiesView::RelayPropertiesView(QWidget* parent) : QWidget(parent) {
    setObjectName("relayProperties");
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    auto* left = new QVBoxLayout;
    m_title = new QLabel(this);
    m_title->setObjectName("relayPropertiesTitle");
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_details = new QLabel(this);
    m_details->setObjectName("relayPropertiesDetails");
    m_details->setWordWrap(true);
    m_details->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_details->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    auto* doc = new QPushButton(tr("NIP-11 document…"), this);
    doc->setObjectName("relayPropertiesDocument");
    connect(doc, &QPushButton::clicked, this, [this] {
        if (!m_url.isEmpty()) emit showDocumentRequested(m_url);
    });
    left->addWidget(m_title);
    left->addWidget(m_details, 1);
    left->addWidget(doc, 0, Qt::AlignLeft);
    auto* right = new QVBoxLayout;
    m_rate = new Sparkline(this);
    m_rate->setObjectName("relayRateSparkline");
    m_rtt = new Sparkline(this);
    m_rtt->setObjectName("relayRttSparkline");
    m_alerts = new QListWidget(this);
    m_alerts->setObjectName("relayAlerts");
    right->addWidget(m_rate);
    right->addWidget(m_rtt);
    right->addWidget(new QLabel(tr("Alerts for this relay:"), this));
    right->addWidget(m_alerts, 1);
    layout->addLayout(left, 3);
    layout->addLayout(right, 2);
    render();
}

void RelayPropertiesView::applySnapshot(const engine::EngineSnapshot& s) {
    QHash<QString, History> next;
    next.reserve(s.relays.size());
    for (const auto& r : s.relays) {
        const QString url = QString::fromStdString(r.url);
        History h = m_history.value(url);
        // One sample a second: the stored counter's rate over that second, the RTT now.
        if (h.last_ms == 0) {
            h.last_ms = s.taken_at_ms;
            h.last_stored = r.stored;
        } else if (s.taken_at_ms - h.last_ms >= 1000) {
            const double dt = double(s.taken_at_ms - h.last_ms) / 1000.0;
            h.stored_per_s.push_back(r.stored >= h.last_stored ? double(r.stored - h.last_stored) / dt : 0.0);
            h.rtt_ms.push_back(r.state == observe::RelayState::Connected && r.rtt_ms >= 0 ? double(r.rtt_ms) : -1.0);
            if (h.stored_per_s.size() > kHistory) h.stored_per_s.removeFirst();
            if (h.rtt_ms.size() > kHistory) h.rtt_ms.removeFirst();
            h.last_ms = s.taken_at_ms;
            h.last_stored = r.stored;
        }
        next.insert(url, std::move(h));
    }
    m_history = std::move(next);
    m_last = s;
    render();
}

void RelayPropertiesView::showRelay(const QString& url) {
    m_url = url;
    render();
}

QString RelayPropertiesView::text() const { return m_title->text() + '\n' + m_details->text(); }

void RelayPropertiesView::render() {
    const engine::RelayRow* row = nullptr;
    for (const auto& r : m_last.relays)
        if (QString::fromStdString(r.url) == m_url) row = &r;
    m_alerts->clear();
    if (!row) {
        m_title->setText(m_url.isEmpty() ? tr("Select a relay to see its properties.") : m_url);
        m_details->setText(m_url.isEmpty() ? QString() : tr("Not in the pool."));
        m_rate->setValues({}, tr("Stored/s"));
        m_rtt->setValues({}, tr("RTT"));
        return;
    }
    const auto& r = *row;
    const QLocale loc;
    const auto when = [&](qint64 ms) { return ms > 0 ? loc.toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::ShortFormat) : tr("—"); };
    m_title->setText(QStringLiteral("<b>%1</b> — <span style=\"color:%2\">%3</span>")
                         .arg(m_url.toHtmlEscaped(), relayStateColor(r.state).darker(120).name(), relayStateText(r.state)));
    QStringList lines;
    lines << tr("Source: %1%2").arg(QString::fromStdString(r.source), r.pinned ? tr(", pinned") : QString());
    lines << tr("State since: %1").arg(when(r.state_since_ms));
    if (r.state == observe::RelayState::Connected) lines << tr("Connected since: %1").arg(when(r.connected_since_ms));
    if (r.next_attempt_ms > 0 && r.state != observe::RelayState::Connected)
        lines << tr("Next attempt: %1").arg(when(r.next_attempt_ms));
    lines << tr("Last error: %1").arg(r.last_error.empty() ? tr("none") : QString::fromStdString(r.last_error).toHtmlEscaped());
    if (!r.last_notice.empty()) lines << tr("Last notice: %1").arg(QString::fromStdString(r.last_notice).toHtmlEscaped());
    lines << tr("Events: %1 received, %2 stored, %3 duplicate, %4 invalid, %5 refused")
                 .arg(loc.toString(qulonglong(r.events_received)), loc.toString(qulonglong(r.stored)),
                      loc.toString(qulonglong(r.duplicate)), loc.toString(qulonglong(r.invalid)),
                      loc.toString(qulonglong(r.refused())));
    QString backfill = backfillStateText(r.backfill);
    if (r.backfill == observe::BackfillState::Running || r.backfill == observe::BackfillState::Waiting)
        backfill += tr(" %1 %").arg(loc.toString(r.backfill_fraction * 100.0, 'f', 0));
    if (r.backfill_cursor > 0)
        backfill += tr(", reached %1").arg(QDateTime::fromSecsSinceEpoch(r.backfill_cursor, Qt::UTC).toString("yyyy-MM-dd"));
    lines << tr("Backfill: %1 (%2 queries, %3 gaps)").arg(backfill).arg(r.backfill_queries).arg(r.backfill_gaps);
    lines << tr("Live: %1%2")
                 .arg(r.catching_up ? tr("catching up") : tr("following"),
                      r.live_cursor > 0 ? tr(", cursor %1").arg(QDateTime::fromSecsSinceEpoch(r.live_cursor, Qt::UTC).toString("yyyy-MM-dd HH:mm:ss"))
                                        : QString());
    QStringList nip11;
    if (!r.info_name.empty()) nip11 << QString::fromStdString(r.info_name).toHtmlEscaped();
    if (!r.info_software.empty()) nip11 << QString::fromStdString(r.info_software).toHtmlEscaped();
    if (r.max_limit) nip11 << tr("limit %1").arg(r.max_limit);
    if (r.auth_required) nip11 << tr("auth required");
    if (r.payment_required) nip11 << tr("payment required");
    if (r.supports_negentropy) nip11 << tr("NIP-77");
    lines << tr("NIP-11: %1").arg(nip11.isEmpty() ? tr("no document") : nip11.join(QStringLiteral(", ")));
    lines << tr("Score: %1, uptime 24 h: %2")
                 .arg(r.score < 0 ? tr("not scored") : loc.toString(r.score, 'f', 2),
                      r.uptime_24h < 0 ? tr("unknown") : tr("%1 %").arg(loc.toString(r.uptime_24h * 100, 'f', 0)));
    m_details->setText(lines.join(QStringLiteral("<br>")));
    const History h = m_history.value(m_url);
    const double rate = h.stored_per_s.isEmpty() ? 0 : h.stored_per_s.back();
    m_rate->setValues(h.stored_per_s, tr("Stored/s, last %1 s (now %2)").arg(kHistory).arg(loc.toString(rate, 'f', 1)));
    m_rtt->setValues(h.rtt_ms, r.state == observe::RelayState::Connected && r.rtt_ms >= 0
                                   ? tr("RTT, last %1 s (now %2 ms)").arg(kHistory).arg(r.rtt_ms)
                                   : tr("RTT, last %1 s (not connected)").arg(kHistory));
    for (const auto& a : m_last.incidents) {
        if (QString::fromStdString(a.relay) != m_url) continue;
        auto* item = new QListWidgetItem(
            tr("%1 — %2 — %3")
                .arg(IncidentsModel::kindLabel(a.kind),
                     a.firing() ? tr("firing since %1").arg(when(a.first_ms)) : tr("resolved %1").arg(when(a.resolved_ms)),
                     QString::fromStdString(a.message)),
            m_alerts);
        item->setForeground(a.firing() ? IncidentsModel::severityColor(a.severity) : QColor(Qt::gray));
    }
    if (m_alerts->count() == 0) new QListWidgetItem(tr("none"), m_alerts);
}

}  // namespace archivist::ui
