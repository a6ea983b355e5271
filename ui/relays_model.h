#pragma once
// Table model of the relay connections, fed from engine snapshots (value copies). Rows are keyed
// by URL and updated in place: a snapshot changes cells (one ranged dataChanged), inserts rows for
// new relays and removes rows of relays that left the pool, so views keep selection and scroll.
// Bounded by the snapshot (the pool's max_relays).
// Thread: GUI only.
#include <QAbstractTableModel>
#include <QHash>
#include <QVector>

#include "core/engine/relay_row.h"

namespace archivist::ui {

class RelaysModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Url,
        Status,
        ConnectedSince,
        StoredPerSecond,
        NovelShare,
        Duplicates,
        Rejections,
        Rtt,
        LastError,
        Source,
        Backfill,
        Score,
        Uptime24h,
        Pinned,
        Sync,  // how its history is kept complete (NIP-77 / REQ), detail in the tooltip
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole + 1,  // numeric key for numeric columns, text otherwise
        UrlRole,                      // the row's relay URL (any column)
        StateRole,                    // int(observe::RelayState)
        PinnedRole,                   // bool: the optimizer never drops it
    };

    explicit RelaysModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Merges a snapshot's relays. taken_at_ms is the snapshot's time: stored events/s is the
    // stored counter's delta since the previous snapshot that had the relay.
    void applyRelays(const QVector<engine::RelayRow>& relays, qint64 taken_at_ms);

    int rowOf(const QString& url) const;  // -1 when absent
    const engine::RelayRow* relay(int row) const;
    double storedPerSecond(int row) const;

private:
    struct Row {
        engine::RelayRow view;
        QString url;
        double stored_per_s = 0;
        qint64 taken_at_ms = 0;
    };
    QVariant display(const Row& r, int column) const;
    QVariant sortKey(const Row& r, int column) const;
    QString rejectionTooltip(const Row& r) const;
    QString syncTooltip(const Row& r) const;
    void reindex();

    QVector<Row> m_rows;
    QHash<QString, int> m_index;  // url → row
};

// The one translation table of the relay-state vocabulary (core/observe/relay_state.h): every
// panel shows states through these.
QString relayStateText(observe::RelayState s);
QString backfillStateText(observe::BackfillState s);
QString eventRefusalText(observe::EventRefusal r);

}  // namespace archivist::ui
