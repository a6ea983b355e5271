#include "ui/event_detail_view.h"

#include <QDateTime>
#include <QFontDatabase>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

namespace archivist::ui {

EventDetailView::EventDetailView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_header = new QLabel(this);
    m_header->setObjectName("detailHeader");
    m_header->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_header->setWordWrap(true);
    m_verification = new QLabel(this);
    m_verification->setObjectName("detailVerification");
    m_verification->setWordWrap(true);
    auto* tabs = new QTabWidget(this);
    m_json = new QPlainTextEdit(tabs);
    m_json->setObjectName("detailJson");
    m_json->setReadOnly(true);
    m_json->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_tags = new QTableWidget(0, 3, tabs);
    m_tags->setObjectName("detailTags");
    m_tags->setHorizontalHeaderLabels({tr("Name"), tr("Value"), tr("More")});
    m_tags->horizontalHeader()->setStretchLastSection(true);
    m_tags->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_relays = new QTableWidget(0, 3, tabs);
    m_relays->setObjectName("detailRelays");
    m_relays->setHorizontalHeaderLabels({tr("Relay"), tr("First seen (UTC)"), tr("Latency")});
    m_relays->horizontalHeader()->setStretchLastSection(true);
    m_relays->setEditTriggers(QAbstractItemView::NoEditTriggers);
    connect(m_relays, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        if (auto* item = m_relays->item(row, 0)) emit relayActivated(item->text());
    });
    // A tag's value filters the archive by it (e/p/t and any one-letter tag).
    m_tags->setToolTip(tr("Double-click a one-letter tag to show the events that carry it"));
    connect(m_tags, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        const auto* name = m_tags->item(row, 0);
        const auto* value = m_tags->item(row, 1);
        if (name && value && name->text().size() == 1 && name->text().at(0).isLetter())
            emit tagActivated(name->text(), value->text());
    });
    tabs->addTab(m_json, tr("JSON"));
    tabs->addTab(m_tags, tr("Tags"));
    tabs->addTab(m_relays, tr("Relays"));
    layout->addWidget(m_header);
    layout->addWidget(m_verification);
    layout->addWidget(tabs, 1);
    clear();
}

QString EventDetailView::latencyText(qint64 seen_at_ms, qint64 created_at) {
    const qint64 delta_ms = seen_at_ms - created_at * 1000;
    const QString sign = delta_ms < 0 ? QString(QChar(0x2212)) : QStringLiteral("+");
    const qint64 a = delta_ms < 0 ? -delta_ms : delta_ms;
    if (a < 60'000) return tr("%1%2 s").arg(sign).arg(double(a) / 1000.0, 0, 'f', a < 10'000 ? 2 : 1);
    if (a < 3'600'000) return tr("%1%2 min").arg(sign).arg(double(a) / 60'000.0, 0, 'f', 1);
    if (a < 86'400'000) return tr("%1%2 h").arg(sign).arg(double(a) / 3'600'000.0, 0, 'f', 1);
    return tr("%1%2 d").arg(sign).arg(double(a) / 86'400'000.0, 0, 'f', 1);
}

void EventDetailView::clear() {
    m_detail = {};
    m_header->setText(tr("Select an event to see its details."));
    m_verification->clear();
    m_json->clear();
    m_tags->setRowCount(0);
    m_relays->setRowCount(0);
}

void EventDetailView::showLoading(const QString& id_hex) {
    clear();
    m_header->setText(tr("Loading %1…").arg(id_hex.left(16)));
}

void EventDetailView::showDetail(const engine::EventDetail& d) {
    clear();
    if (!d.ok) {
        m_header->setText(tr("Cannot load the event: %1").arg(d.error));
        return;
    }
    if (!d.found) {
        m_header->setText(tr("The event %1 is not in the archive.").arg(d.id_hex));
        return;
    }
    m_detail = d;
    m_header->setText(tr("Kind %1 by %2 at %3 UTC")
                          .arg(d.kind)
                          .arg(d.pubkey_hex.left(16) + QChar(0x2026))
                          .arg(QDateTime::fromSecsSinceEpoch(d.created_at, Qt::UTC).toString("yyyy-MM-dd HH:mm:ss")));
    m_verification->setText(d.verification);
    m_verification->setStyleSheet(d.signature_valid ? QString() : QStringLiteral("color: #b00020;"));
    m_json->setPlainText(d.pretty_json.isEmpty() ? d.json : d.pretty_json);
    m_tags->setRowCount(int(d.tags.size()));
    for (int r = 0; r < d.tags.size(); ++r) {
        const QStringList& t = d.tags[r];
        m_tags->setItem(r, 0, new QTableWidgetItem(t.value(0)));
        m_tags->setItem(r, 1, new QTableWidgetItem(t.value(1)));
        m_tags->setItem(r, 2, new QTableWidgetItem(t.mid(2).join(QStringLiteral(", "))));
    }
    m_relays->setRowCount(int(d.sightings.size()));
    for (int r = 0; r < d.sightings.size(); ++r) {
        const auto& s = d.sightings[r];
        m_relays->setItem(r, 0, new QTableWidgetItem(s.relay));
        m_relays->setItem(
            r, 1, new QTableWidgetItem(QDateTime::fromMSecsSinceEpoch(s.seen_at_ms, Qt::UTC).toString("yyyy-MM-dd HH:mm:ss.zzz")));
        // An import is not a relay delivering the event: the time it was read says nothing about
        // how late the event arrived.
        const bool imported = s.relay.startsWith(QLatin1String("import:"));
        auto* latency = new QTableWidgetItem(imported ? QStringLiteral("—") : latencyText(s.seen_at_ms, d.created_at));
        if (imported) latency->setToolTip(tr("Imported from a file: no delivery latency"));
        m_relays->setItem(r, 2, latency);
    }
}

}  // namespace archivist::ui
