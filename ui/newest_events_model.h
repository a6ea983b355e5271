#pragma once
// Table model of the newest stored events, fed from engine snapshots (value copies).
// Thread: GUI only.
#include <QAbstractTableModel>
#include <QVector>

#include "core/engine/engine.h"

namespace archivist::ui {

class NewestEventsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { CreatedAt, Kind, Author, Content, Source, Id, ColumnCount };

    explicit NewestEventsModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Replaces the rows with the snapshot's newest arrivals, shown newest created first.
    void setEvents(const QVector<engine::NewestEvent>& events);

private:
    QVector<engine::NewestEvent> m_rows;
};

}  // namespace archivist::ui
