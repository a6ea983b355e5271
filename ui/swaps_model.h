#pragma once
// SwapsModel: the optimizer's recent decisions (EngineSnapshot::intelligence.recent_swaps), newest
// first: time, removed → added, their scores and the reason. A snapshot that adds decisions
// inserts them at the top and drops the oldest beyond the bound, so a view keeps its selection;
// anything else (the engine restarted its history) resets the model.
// Bound: RelayIntelligenceView::kSwapCapacity rows.
// Thread: GUI only.
#include <QAbstractTableModel>
#include <QVector>

#include "core/engine/relay_directory_types.h"

namespace archivist::ui {

class SwapsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Time, Removed, RemovedScore, Added, AddedScore, Reason, ColumnCount };
    static constexpr int kMaxRows = engine::RelayIntelligenceView::kSwapCapacity;

    explicit SwapsModel(QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void applySwaps(const QVector<engine::OptimizerSwapView>& swaps);  // newest first
    const engine::OptimizerSwapView* swap(int row) const;

private:
    QVector<engine::OptimizerSwapView> m_rows;  // newest first, bounded: kMaxRows
};

}  // namespace archivist::ui
