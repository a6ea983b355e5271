#pragma once
// Filters a LogModel by category ("" = all) and minimum level.
// Thread: GUI only.
#include <QSortFilterProxyModel>

namespace archivist::ui {

class LogFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setCategory(const QString& category);
    void setMinimumLevel(int level);
    QString category() const { return m_category; }
    int minimumLevel() const { return m_minLevel; }

protected:
    bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

private:
    QString m_category;
    int m_minLevel = 0;
};

}  // namespace archivist::ui
