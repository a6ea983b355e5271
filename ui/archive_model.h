#pragma once
// ArchiveModel: the archive browser's lazily paged table. It never loads everything: the view's
// fetchMore() asks the engine for the next keyset page (created_at, id) after the last row, and
// rows are appended when the answer (a queued pageReady value) arrives. One page request is in
// flight at a time; setQuery() starts over and makes any older answer stale (ignored by id).
// Bound: at most kMaxRows rows are held; beyond that canFetchMore() is false and limitReached()
// tells the user to narrow the filter.
// Order: by created_at, newest or oldest first (sort() on the Created column; the engine pages
// either way with a keyset, so reaching the oldest of millions of events is one request), or by
// kind or author (sort() on those columns; rows of one value newest first). A kind or author sort
// orders ONE month (UTC) of created_at at a time — the newest month with a matching event, or the
// month setStart() names — and says which (sortWindowSince/Until); the engine pages it with a
// keyset too. setStart() begins the pages at a position (jump to a date).
// Thread: GUI only.
#include <QAbstractTableModel>
#include <QVector>
#include <optional>

#include "core/engine/engine.h"

namespace archivist::ui {

class ArchiveModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { CreatedAt, Kind, Author, Content, FirstSeen, Id, ColumnCount };
    enum Role { PubkeyRole = Qt::UserRole + 1, KindRole };
    static constexpr int kMaxRows = 250'000;  // ≈ 200 MB of row values at most
    static constexpr int kDefaultPageSize = 200;

    explicit ArchiveModel(engine::Engine* engine, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex& parent = {}) const override;
    void fetchMore(const QModelIndex& parent = {}) override;
    // Created (ascending = oldest first), Kind and Author sort; the other columns do not. It
    // starts over from the first page.
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;
    int sortColumn() const;
    Qt::SortOrder sortOrder() const;
    engine::PageSort sortKey() const { return m_sort; }
    // Starts over at the events created at or before `seconds` (newest first) or at or after it
    // (oldest first); nullopt = the newest (or oldest) end. Sorted by kind or author: the month
    // holding `seconds` is sorted (nullopt: the newest month with a matching event).
    void setStart(std::optional<qint64> seconds);
    // Sorted by kind or author: the month the rows come from (first and last second, UTC), known
    // once the first page arrived; 0/0 otherwise.
    qint64 sortWindowSince() const { return m_windowSince; }
    qint64 sortWindowUntil() const { return m_windowUntil; }

    // Clears the rows and requests the first page of `query`.
    void setQuery(const engine::QueryFilter& query);
    const engine::QueryFilter& query() const { return m_query; }
    void setPageSize(int rows) { m_pageSize = rows; }
    int pageSize() const { return m_pageSize; }

    const engine::EventRowView* row(int r) const { return r >= 0 && r < m_rows.size() ? &m_rows[r] : nullptr; }
    bool loading() const { return m_pending != 0; }
    bool atEnd() const { return m_atEnd; }
    bool limitReached() const { return m_rows.size() >= kMaxRows; }
    QString lastError() const { return m_error; }

signals:
    void loadingChanged(bool loading);
    void errorOccurred(const QString& message);
    void pageLoaded(int rows_added);
    void sortWindowChanged();

private:
    void request();
    void onPage(quint64 id, const engine::PageResult& result);

    engine::Engine* m_engine;
    engine::QueryFilter m_query;
    QVector<engine::EventRowView> m_rows;  // bounded: kMaxRows
    quint64 m_pending = 0;                 // id of the page request in flight, 0 = none
    bool m_atEnd = true;                   // nothing requested yet
    bool m_active = false;                 // setQuery() was called
    int m_pageSize = kDefaultPageSize;
    QString m_error;
    bool m_oldestFirst = false;
    engine::PageSort m_sort = engine::PageSort::CreatedAt;
    bool m_descending = false;                   // Kind/Author
    std::optional<qint64> m_monthOf;             // Kind/Author: the month sorted (none: the newest)
    qint64 m_windowSince = 0, m_windowUntil = 0; // Kind/Author: the month the answer sorted
    std::optional<engine::PageCursor> m_start;   // where the first page begins
};

}  // namespace archivist::ui
