#include "ui/newest_events_model.h"

#include <QDateTime>

namespace archivist::ui {

NewestEventsModel::NewestEventsModel(QObject* parent) : QAbstractTableModel(parent) {}

int NewestEventsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }

int NewestEventsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant NewestEventsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_rows.size()) return {};
    const auto& e = m_rows[index.row()];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case CreatedAt:
            return QDateTime::fromSecsSinceEpoch(e.created_at, Qt::UTC).toString("yyyy-MM-dd HH:mm:ss");
        case Kind: return e.kind;
        case Author: return e.pubkey_hex.left(16) + QChar(0x2026);
        case Content: return QString(e.content_preview).replace('\n', ' ');
        case Source: return e.source;
        case Id: return e.id_hex.left(16) + QChar(0x2026);
        }
    } else if (role == Qt::ToolTipRole) {
        switch (index.column()) {
        case Author: return e.pubkey_hex;
        case Id: return e.id_hex;
        case Content: return e.content_preview;
        case CreatedAt: return QString::number(e.created_at);
        }
    } else if (role == Qt::TextAlignmentRole && index.column() == Kind) {
        return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant NewestEventsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case CreatedAt: return tr("Created (UTC)");
    case Kind: return tr("Kind");
    case Author: return tr("Author");
    case Content: return tr("Content");
    case Source: return tr("Source");
    case Id: return tr("Id");
    }
    return {};
}

void NewestEventsModel::setEvents(const QVector<engine::NewestEvent>& events) {
    // Same ids in the same order: nothing to do (keeps selection and scroll position stable).
    if (events.size() == m_rows.size()) {
        bool same = true;
        for (int i = 0; i < events.size() && same; ++i) same = events[i].id_hex == m_rows[i].id_hex;
        if (same) return;
    }
    beginResetModel();
    m_rows = events;
    endResetModel();
}

}  // namespace archivist::ui
