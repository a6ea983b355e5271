#pragma once
// ScoringModel: the optimizer's view of the relays (EngineSnapshot::intelligence.scored) as a
// table: URL, status, connected, pinned, total score and its components, novel events per hour,
// uptime 24 h / 7 d, round trip. Rows are keyed by URL and updated in place (ranged dataChanged,
// inserts for new relays, removals for relays that left), so a sorting proxy keeps selection.
// Bound: the snapshot's list (max_relays + RelayIntelligenceView::kTopCandidates).
// Thread: GUI only.
#include <QAbstractTableModel>
#include <QHash>
#include <QVector>

#include "core/engine/relay_directory_types.h"

namespace archivist::ui {

class ScoringModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Url,
        Status,
        Connected,
        Pinned,
        Total,
        Novelty,
        Uptime,
        Latency,
        Rejection,
        Confidence,
        Exploration,
        NovelPerHour,
        Uptime24h,
        Uptime7d,
        Rtt,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole + 1,  // numeric key for numeric columns (unknown = -1), text otherwise
        UrlRole,                      // the row's relay URL (any column)
    };

    explicit ScoringModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void applyScored(const QVector<engine::RelayScoreView>& scored);
    int rowOf(const QString& url) const;  // -1 when absent
    const engine::RelayScoreView* relay(int row) const;

private:
    QVariant display(const engine::RelayScoreView& r, int column) const;
    QVariant sortKey(const engine::RelayScoreView& r, int column) const;
    void reindex();

    QVector<engine::RelayScoreView> m_rows;
    QHash<QString, int> m_index;  // url → row
};

// "0.42", or "" for an unknown (negative) component. Shared by the scoring and discovery tables.
QString scoreText(double value);
// "97 %", or "" when unknown (negative).
QString fractionText(double value);

}  // namespace archivist::ui
