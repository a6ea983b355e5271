#include "ui/archive_model.h"

#include <QDateTime>

#include "ui/event_cells.h"

namespace archivist::ui {

ArchiveModel::ArchiveModel(engine::Engine* engine, QObject* parent) : QAbstractTableModel(parent), m_engine(engine) {
    connect(m_engine, &engine::Engine::pageReady, this, &ArchiveModel::onPage);
}

int ArchiveModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }

int ArchiveModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant ArchiveModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_rows.size() || index.column() >= ColumnCount) return {};
    const auto& e = m_rows[index.row()];
    if (role == Qt::UserRole) return e.id_hex;  // any column: the selected event
    if (role == PubkeyRole) return e.pubkey_hex;
    if (role == KindRole) return e.kind;
    using event_cells::Field;
    static constexpr std::optional<Field> kShared[ColumnCount] = {Field::CreatedAt, Field::Kind,  Field::Author,
                                                                  Field::Content,   std::nullopt, Field::Id};
    if (const auto field = kShared[index.column()]) return event_cells::cell(e, *field, role);
    // FirstSeen
    if (role != Qt::DisplayRole) return {};
    return e.first_seen_ms ? QDateTime::fromMSecsSinceEpoch(e.first_seen_ms, Qt::UTC).toString("yyyy-MM-dd HH:mm:ss")
                           : QString();
}

QVariant ArchiveModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case CreatedAt: return tr("Created (UTC)");
    case Kind: return tr("Kind");
    case Author: return tr("Author");
    case Content: return tr("Content");
    case FirstSeen: return tr("First seen (UTC)");
    case Id: return tr("Id");
    }
    return {};
}

bool ArchiveModel::canFetchMore(const QModelIndex& parent) const {
    return !parent.isValid() && m_active && !m_atEnd && m_pending == 0 && m_rows.size() < kMaxRows;
}

void ArchiveModel::fetchMore(const QModelIndex& parent) {
    if (canFetchMore(parent)) request();
}

void ArchiveModel::sort(int column, Qt::SortOrder order) {
    engine::PageSort key;
    switch (column) {
    case CreatedAt: key = engine::PageSort::CreatedAt; break;
    case Kind: key = engine::PageSort::Kind; break;
    case Author: key = engine::PageSort::Author; break;
    default: return;
    }
    if (key == m_sort && order == sortOrder() && !m_start && !m_monthOf) return;
    m_sort = key;
    if (key == engine::PageSort::CreatedAt) m_oldestFirst = order == Qt::AscendingOrder;
    else m_descending = order == Qt::DescendingOrder;
    m_start.reset();
    m_monthOf.reset();
    if (m_active) setQuery(m_query);
}

int ArchiveModel::sortColumn() const {
    switch (m_sort) {
    case engine::PageSort::Kind: return Kind;
    case engine::PageSort::Author: return Author;
    case engine::PageSort::CreatedAt: break;
    }
    return CreatedAt;
}

Qt::SortOrder ArchiveModel::sortOrder() const {
    if (m_sort == engine::PageSort::CreatedAt) return m_oldestFirst ? Qt::AscendingOrder : Qt::DescendingOrder;
    return m_descending ? Qt::DescendingOrder : Qt::AscendingOrder;
}

void ArchiveModel::setStart(std::optional<qint64> seconds) {
    m_start.reset();
    m_monthOf.reset();
    if (seconds && m_sort != engine::PageSort::CreatedAt) {
        m_monthOf = seconds;
    } else if (seconds) {
        // Strictly after (t, 000…0) newest first: created before t, or at t. Oldest first the
        // position (t − 1, fff…f) starts at t itself.
        engine::PageCursor start;
        start.created_at = m_oldestFirst ? *seconds - 1 : *seconds;
        start.id_hex = QString(64, QLatin1Char(m_oldestFirst ? 'f' : '0'));
        m_start = start;
    }
    if (m_active) setQuery(m_query);
}

void ArchiveModel::setQuery(const engine::QueryFilter& query) {
    const bool wasLoading = m_pending != 0;
    beginResetModel();
    m_rows.clear();
    m_rows.squeeze();
    m_query = query;
    m_active = true;
    m_atEnd = false;
    m_error.clear();
    m_pending = 0;  // an answer to the old query is now stale
    const bool hadWindow = m_windowSince || m_windowUntil;
    m_windowSince = m_windowUntil = 0;
    endResetModel();
    if (hadWindow) emit sortWindowChanged();
    // A view (or the model tester) may already have fetched the first page on the reset.
    if (m_pending == 0) request();
    if (wasLoading && m_pending == 0) emit loadingChanged(false);
}

void ArchiveModel::request() {
    engine::PageRequest req;
    req.query = m_query;
    req.page_size = std::min(m_pageSize, kMaxRows - int(m_rows.size()));
    req.oldest_first = m_oldestFirst;
    req.sort = m_sort;
    req.descending = m_descending;
    req.month_of = m_monthOf;
    if (!m_rows.isEmpty()) {
        const auto& last = m_rows.back();
        req.after = engine::PageCursor{last.created_at, last.id_hex, last.kind, last.pubkey_hex};
        // The month the first page sorted: later pages stay in it (the newest may have moved on).
        if (m_sort != engine::PageSort::CreatedAt && m_windowUntil) req.month_of = m_windowUntil;
    } else {
        req.after = m_start;
    }
    m_pending = m_engine->requestPage(req);
    if (m_pending == 0) {
        m_atEnd = true;
        m_error = tr("The engine cannot query the archive.");
        emit errorOccurred(m_error);
        return;
    }
    emit loadingChanged(true);
}

void ArchiveModel::onPage(quint64 id, const engine::PageResult& result) {
    if (id == 0 || id != m_pending) return;  // stale: another query or page was asked since
    if (!result.ok) {
        m_pending = 0;
        m_atEnd = true;
        m_error = result.error;
        emit loadingChanged(false);
        emit errorOccurred(m_error);
        return;
    }
    if (result.window_since != m_windowSince || result.window_until != m_windowUntil) {
        m_windowSince = result.window_since;
        m_windowUntil = result.window_until;
        emit sortWindowChanged();
    }
    const int room = kMaxRows - int(m_rows.size());
    const int n = std::min<int>(room, int(result.rows.size()));
    m_atEnd = result.at_end || n == 0;
    // m_pending stays set while rows are inserted: a fetchMore() from a rowsInserted handler must
    // not ask for the page after the old last row again.
    if (n > 0) {
        beginInsertRows({}, int(m_rows.size()), int(m_rows.size()) + n - 1);
        m_rows.append(result.rows.mid(0, n));
        endInsertRows();
    }
    m_pending = 0;
    emit loadingChanged(false);
    emit pageLoaded(n);
}

}  // namespace archivist::ui
