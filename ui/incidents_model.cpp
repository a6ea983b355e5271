#include "ui/incidents_model.h"

#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QHash>
#include <algorithm>

namespace archivist::ui {

IncidentsModel::IncidentsModel(QObject* parent) : QAbstractTableModel(parent) {}

int IncidentsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }

int IncidentsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QString IncidentsModel::kindLabel(observe::IncidentKind kind) {
    using K = observe::IncidentKind;
    switch (kind) {
    case K::RelayFlooding: return tr("Relay flooding");
    case K::RelayRateLimited: return tr("Relay rate-limited");
    case K::RelayStalled: return tr("Relay stalled");
    case K::InvalidSignatureSpike: return tr("Invalid-signature spike");
    case K::AuthFailures: return tr("Auth failures");
    case K::AddressRefused: return tr("Address refused");
    case K::QueueNearCapacity: return tr("Queue near capacity");
    case K::SlowCommits: return tr("Slow commits");
    case K::LowDisk: return tr("Low disk");
    case K::WriteErrors: return tr("Write errors");
    case K::SinkBehind: return tr("ClickHouse sink behind");
    case K::SinkFailing: return tr("ClickHouse sink failing");
    case K::RelayStateWriteErrors: return tr("Relay state not written");
    case K::EventsOffSubscription: return tr("Events not asked for");
    case K::ArchiveDamage: return tr("Archive damage");
    case K::DataSetAside: return tr("Damaged file set aside");
    case K::IntakePaused: return tr("Intake paused");
    case K::RelayDown: return tr("Relay down");
    case K::ConnectionRefused: return tr("Connection refused");
    case K::DnsFailure: return tr("DNS failure");
    case K::Offline: return tr("Offline: no relay connected");
    case K::IndexBehind: return tr("Index behind");
    case K::Count: break;
    }
    return tr("Unknown");
}

QString IncidentsModel::severityLabel(observe::IncidentSeverity severity) {
    switch (severity) {
    case observe::IncidentSeverity::Info: return tr("Info");
    case observe::IncidentSeverity::Warning: return tr("Warning");
    case observe::IncidentSeverity::Critical: return tr("Critical");
    }
    return {};
}

QColor IncidentsModel::severityColor(observe::IncidentSeverity severity) {
    switch (severity) {
    case observe::IncidentSeverity::Info: return QColor(0x3b, 0x82, 0xf6);
    case observe::IncidentSeverity::Warning: return QColor(0xf5, 0x9e, 0x0b);
    case observe::IncidentSeverity::Critical: return QColor(0xdc, 0x26, 0x26);
    }
    return {};
}

QVariant IncidentsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const auto& r = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case Severity: return severityLabel(r.severity);
        case State:
            return r.firing() ? tr("Firing")
                              : tr("Resolved %1").arg(QDateTime::fromMSecsSinceEpoch(r.resolved_ms).toString("MM-dd HH:mm:ss"));
        case Time: return QDateTime::fromMSecsSinceEpoch(r.first_ms).toString("yyyy-MM-dd HH:mm:ss");
        case Kind: return kindLabel(r.kind);
        case Relay: return QString::fromStdString(r.relay);
        case Count: return QVariant::fromValue<qulonglong>(r.count);
        case Message: return QString::fromStdString(r.message);
        case ColumnCount: break;
        }
        return {};
    case Qt::DecorationRole:
        if (index.column() == Severity) return severityColor(r.severity);
        return {};
    case Qt::ForegroundRole:
        if (!r.firing()) return QColor(Qt::gray);
        return {};
    case Qt::FontRole:
        if (!r.acknowledged && r.firing()) {
            QFont f;
            f.setBold(true);
            return f;
        }
        return {};
    case Qt::ToolTipRole:
        if (index.column() == Time || index.column() == State) {
            const auto at = [](qint64 ms) { return QDateTime::fromMSecsSinceEpoch(ms).toString("yyyy-MM-dd HH:mm:ss"); };
            QString text = tr("Fired %1, latest %2").arg(at(r.first_ms), at(r.last_ms));
            if (!r.firing()) text += '\n' + tr("Resolved %1 (after %2 s)").arg(at(r.resolved_ms)).arg((r.resolved_ms - r.first_ms) / 1000);
            return text;
        }
        if (index.column() == Relay) return QString::fromStdString(r.relay);
        if (index.column() == Message) return QString::fromStdString(r.message);
        return {};
    case IdRole: return QVariant::fromValue<qulonglong>(r.id);
    case RelayUrlRole: return QString::fromStdString(r.relay);
    case LastMsRole: return QVariant::fromValue<qlonglong>(r.last_ms);
    case FirstMsRole: return QVariant::fromValue<qlonglong>(r.first_ms);
    case AcknowledgedRole: return r.acknowledged;
    case SeverityRole: return int(r.severity);
    case FiringRole: return r.firing();
    default: return {};
    }
}

QVariant IncidentsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (Column(section)) {
    case Severity: return tr("Severity");
    case State: return tr("State");
    case Time: return tr("Fired");
    case Kind: return tr("Kind");
    case Relay: return tr("Relay");
    case Count: return tr("Count");
    case Message: return tr("Message");
    case ColumnCount: break;
    }
    return {};
}

void IncidentsModel::setIncidents(const QVector<observe::Incident>& incoming) {
    QVector<observe::Incident> next = incoming;
    // Firing first, each group newest first (the snapshot's order, restated for any caller).
    std::stable_sort(next.begin(), next.end(), [](const auto& a, const auto& b) {
        return a.firing() != b.firing() ? a.firing() : a.id > b.id;
    });
    QHash<quint64, bool> firing;  // id → firing now
    for (const auto& inc : next) firing.insert(inc.id, inc.firing());
    // Remove rows whose alert is gone or changed group (resolved: it moves below the firing
    // ones), bottom up so row numbers stay valid; the survivors keep their relative order.
    for (int i = int(m_rows.size()) - 1; i >= 0; --i) {
        const auto it = firing.constFind(m_rows[i].id);
        if (it != firing.constEnd() && *it == m_rows[i].firing()) continue;
        beginRemoveRows({}, i, i);
        m_rows.remove(i);
        endRemoveRows();
    }
    // Walk both lists (same order): update equal ids, insert new ones in place.
    int row = 0;
    for (const auto& inc : next) {
        if (row < int(m_rows.size()) && m_rows[row].id == inc.id) {
            m_rows[row] = inc;
            emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
        } else {
            beginInsertRows({}, row, row);
            m_rows.insert(row, inc);
            endInsertRows();
        }
        ++row;
    }
}

}  // namespace archivist::ui
