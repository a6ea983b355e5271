#pragma once
// Table model of the engine's alerts (firing ones, then resolved ones not dismissed), fed from
// snapshots (value copies). Rows keep the snapshot's order (firing first, each group newest
// first) and are updated in place (ranged insert/remove/dataChanged), so a selection survives the
// 4 Hz snapshots.
// Thread: GUI only.
#include <QAbstractTableModel>
#include <QVector>

#include "core/observe/incidents.h"

namespace archivist::ui {

class IncidentsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Severity, State, Time, Kind, Relay, Count, Message, ColumnCount };
    enum Role { IdRole = Qt::UserRole + 1, RelayUrlRole, LastMsRole, FirstMsRole, AcknowledgedRole, SeverityRole, FiringRole };

    explicit IncidentsModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Replaces the rows with these alerts (in the snapshot's order; bounded by the snapshot).
    void setIncidents(const QVector<observe::Incident>& incidents);
    const observe::Incident& incident(int row) const { return m_rows.at(row); }

    static QString kindLabel(observe::IncidentKind kind);
    static QString severityLabel(observe::IncidentSeverity severity);
    static QColor severityColor(observe::IncidentSeverity severity);

private:
    QVector<observe::Incident> m_rows;  // firing first, then resolved; each id descending
};

}  // namespace archivist::ui
