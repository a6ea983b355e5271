#include "ui/newest_events_model.h"

#include <algorithm>

#include <QDateTime>

#include "ui/event_cells.h"

namespace archivist::ui {

NewestEventsModel::NewestEventsModel(QObject* parent) : QAbstractTableModel(parent) {}

int NewestEventsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }

int NewestEventsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant NewestEventsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_rows.size() || index.column() >= ColumnCount) return {};
    const auto& e = m_rows[index.row()];
    using event_cells::Field;
    static constexpr std::optional<Field> kShared[ColumnCount] = {Field::CreatedAt, Field::Kind,  Field::Author,
                                                                  Field::Content,   std::nullopt, Field::Id};
    if (const auto field = kShared[index.column()]) return event_cells::cell(e, *field, role);
    return role == Qt::DisplayRole ? QVariant(e.source) : QVariant();  // Source
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

void NewestEventsModel::setEvents(const QVector<engine::NewestEvent>& arrived) {
    // The engine's newest arrivals, shown newest created first (an import's arrivals are in its
    // file's order, whatever their times).
    QVector<engine::NewestEvent> events = arrived;
    std::stable_sort(events.begin(), events.end(),
                     [](const engine::NewestEvent& a, const engine::NewestEvent& b) { return a.created_at > b.created_at; });
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
