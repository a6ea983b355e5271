#pragma once
// Table model of log records copied from the engine's LogRing. Appends at the end; when more than
// capacity rows are held the oldest are removed, so it is bounded like the ring.
// Thread: GUI only.
#include <QAbstractTableModel>
#include <QSet>
#include <QString>
#include <deque>
#include <vector>

#include "core/observe/log_ring.h"

namespace archivist::ui {

class LogModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Time, Level, Category, Message, ColumnCount };
    enum Role { LevelRole = Qt::UserRole + 1, CategoryRole };
    static constexpr int kMaxCategories = 256;

    explicit LogModel(size_t capacity, QObject* parent = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Appends records (oldest first), evicting the oldest rows beyond capacity.
    void append(const std::vector<observe::LogRecord>& records);
    size_t capacity() const { return m_capacity; }
    // Categories seen so far (bounded by kMaxCategories), sorted.
    QStringList categories() const;

signals:
    void categoryAdded(const QString& category);

private:
    struct Row {
        qint64 time_ms;
        int level;
        QString category;
        QString message;
    };
    const size_t m_capacity;
    std::deque<Row> m_rows;
    QSet<QString> m_categories;
};

QString logLevelText(int level);

}  // namespace archivist::ui
