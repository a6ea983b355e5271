#include "ui/swaps_model.h"

#include <QDateTime>
#include <QLocale>
#include <algorithm>

namespace archivist::ui {

namespace {
bool sameSwap(const engine::OptimizerSwapView& a, const engine::OptimizerSwapView& b) {
    return a.at_ms == b.at_ms && a.removed == b.removed && a.added == b.added && a.reason == b.reason;
}
}  // namespace

SwapsModel::SwapsModel(QObject* parent) : QAbstractTableModel(parent) {}

int SwapsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }
int SwapsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

const engine::OptimizerSwapView* SwapsModel::swap(int row) const {
    return row >= 0 && row < m_rows.size() ? &m_rows[row] : nullptr;
}

QVariant SwapsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case Time: return tr("Time");
    case Removed: return tr("Removed");
    case RemovedScore: return tr("Score");
    case Added: return tr("Added");
    case AddedScore: return tr("Score");
    case Reason: return tr("Reason");
    }
    return {};
}

QVariant SwapsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const auto& s = m_rows[index.row()];
    const QLocale loc;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Time: return loc.toString(QDateTime::fromMSecsSinceEpoch(s.at_ms), QStringLiteral("HH:mm:ss"));
        case Removed: return s.removed.isEmpty() ? QStringLiteral("—") : s.removed;
        case RemovedScore: return s.removed.isEmpty() ? QString() : loc.toString(s.removed_score, 'f', 2);
        case Added: return s.added.isEmpty() ? QStringLiteral("—") : s.added;
        case AddedScore: return s.added.isEmpty() ? QString() : loc.toString(s.added_score, 'f', 2);
        case Reason: return s.reason;
        }
    } else if (role == Qt::ToolTipRole && index.column() == Time) {
        return loc.toString(QDateTime::fromMSecsSinceEpoch(s.at_ms), QLocale::LongFormat);
    } else if (role == Qt::TextAlignmentRole && (index.column() == RemovedScore || index.column() == AddedScore)) {
        return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

void SwapsModel::applySwaps(const QVector<engine::OptimizerSwapView>& swaps) {
    const int n = std::min<int>(int(swaps.size()), kMaxRows);
    if (m_rows.isEmpty() && n == 0) return;
    // How many new decisions precede the newest one we show?
    int fresh = -1;
    if (!m_rows.isEmpty()) {
        for (int i = 0; i < n; ++i)
            if (sameSwap(swaps[i], m_rows.front())) {
                fresh = i;
                break;
            }
    }
    if (fresh < 0) {
        beginResetModel();
        m_rows = swaps.mid(0, n);
        endResetModel();
        return;
    }
    if (fresh > 0) {
        beginInsertRows({}, 0, fresh - 1);
        m_rows = swaps.mid(0, fresh) + m_rows;
        endInsertRows();
    }
    if (m_rows.size() > n) {
        beginRemoveRows({}, n, int(m_rows.size()) - 1);
        m_rows.resize(n);
        endRemoveRows();
    }
}

}  // namespace archivist::ui
