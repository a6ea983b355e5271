#include "ui/log_model.h"

#include <QColor>
#include <QDateTime>
#include <algorithm>

namespace archivist::ui {

QString logLevelText(int level) {
    switch (level) {
    case 0: return LogModel::tr("debug");
    case 1: return LogModel::tr("info");
    case 2: return LogModel::tr("warning");
    case 3: return LogModel::tr("critical");
    default: return LogModel::tr("fatal");
    }
}

LogModel::LogModel(size_t capacity, QObject* parent) : QAbstractTableModel(parent), m_capacity(std::max<size_t>(1, capacity)) {}

int LogModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }
int LogModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant LogModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case Time: return tr("Time");
    case Level: return tr("Level");
    case Category: return tr("Category");
    case Message: return tr("Message");
    }
    return {};
}

QVariant LogModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const Row& r = m_rows[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Time: return QDateTime::fromMSecsSinceEpoch(r.time_ms).toString(QStringLiteral("HH:mm:ss.zzz"));
        case Level: return logLevelText(r.level);
        case Category: return r.category;
        case Message: return r.message;
        }
        return {};
    case Qt::ToolTipRole:
        if (index.column() == Message) return r.message;
        if (index.column() == Time) return QDateTime::fromMSecsSinceEpoch(r.time_ms).toString(Qt::ISODateWithMs);
        return {};
    case Qt::ForegroundRole:
        if (r.level >= 3) return QColor(0xb0, 0x20, 0x20);
        if (r.level == 2) return QColor(0xa0, 0x60, 0x00);
        return {};
    case LevelRole: return r.level;
    case CategoryRole: return r.category;
    }
    return {};
}

QStringList LogModel::categories() const {
    QStringList out(m_categories.begin(), m_categories.end());
    out.sort();
    return out;
}

void LogModel::append(const std::vector<observe::LogRecord>& records) {
    if (records.empty()) return;
    // Only the newest `capacity` of this batch can survive.
    const size_t skip = records.size() > m_capacity ? records.size() - m_capacity : 0;
    const size_t incoming = records.size() - skip;
    const size_t overflow = m_rows.size() + incoming > m_capacity ? m_rows.size() + incoming - m_capacity : 0;
    if (overflow > 0) {
        beginRemoveRows({}, 0, int(overflow) - 1);
        m_rows.erase(m_rows.begin(), m_rows.begin() + long(overflow));
        endRemoveRows();
    }
    beginInsertRows({}, int(m_rows.size()), int(m_rows.size() + incoming) - 1);
    for (size_t i = skip; i < records.size(); ++i) {
        const auto& rec = records[i];
        m_rows.push_back({rec.time_ms, rec.level, QString::fromStdString(rec.category), QString::fromStdString(rec.message)});
    }
    endInsertRows();
    for (size_t i = skip; i < records.size(); ++i) {
        const QString cat = QString::fromStdString(records[i].category);
        if (m_categories.size() < kMaxCategories && !m_categories.contains(cat)) {
            m_categories.insert(cat);
            emit categoryAdded(cat);
        }
    }
}

}  // namespace archivist::ui
