#pragma once
// Table model of the relay connections, fed from engine snapshots (value copies). Rows are keyed
// by URL and updated in place: a snapshot changes cells (one ranged dataChanged), inserts rows for
// new relays and removes rows of relays that left the pool, so views keep selection and scroll.
// Bounded by the snapshot (the pool's max_relays).
// Thread: GUI only.
#include <QAbstractTableModel>
#include <QColor>
#include <QHash>
#include <QIcon>
#include <QVector>

#include "core/engine/relay_row.h"

namespace archivist::ui {

class RelaysModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // The key columns first (visible without scrolling at 1280 px), details after.
    enum Column {
        Url,
        Status,
        StoredPerSecond,
        Rtt,
        Backfill,
        LastError,
        Score,
        Uptime24h,
        NovelShare,
        Duplicates,
        Rejections,
        ConnectedSince,
        Source,
        Pinned,
        Sync,  // how its history is kept complete (NIP-77 / REQ), detail in the tooltip
        ColumnCount
    };
    // Stored/s is a moving average over this window (stated in the header's tool tip).
    static constexpr qint64 kRateWindowMs = 10'000;
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
    // stored counter's delta over the last kRateWindowMs (the oldest sample of the relay in that
    // window; one snapshot's delta until there are two).
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
        QVector<QPair<qint64, quint64>> samples;  // (ms, stored) within kRateWindowMs; ≤ kMaxSamples
    };
    static constexpr int kMaxSamples = 64;
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
// The state's colour (green connected, amber on the way or backing off, red failing or refused,
// grey stopped or not tried, dark for blocked) and a round icon of it.
QColor relayStateColor(observe::RelayState s);
QIcon relayStateIcon(observe::RelayState s);

}  // namespace archivist::ui
