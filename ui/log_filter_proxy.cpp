#include "ui/log_filter_proxy.h"

#include "ui/log_model.h"

namespace archivist::ui {

void LogFilterProxy::setCategory(const QString& category) {
    if (category == m_category) return;
    m_category = category;
    invalidateFilter();
}

void LogFilterProxy::setMinimumLevel(int level) {
    if (level == m_minLevel) return;
    m_minLevel = level;
    invalidateFilter();
}

bool LogFilterProxy::filterAcceptsRow(int source_row, const QModelIndex& source_parent) const {
    const QModelIndex idx = sourceModel()->index(source_row, 0, source_parent);
    if (sourceModel()->data(idx, LogModel::LevelRole).toInt() < m_minLevel) return false;
    if (!m_category.isEmpty() && sourceModel()->data(idx, LogModel::CategoryRole).toString() != m_category) return false;
    return QSortFilterProxyModel::filterAcceptsRow(source_row, source_parent);
}

}  // namespace archivist::ui
