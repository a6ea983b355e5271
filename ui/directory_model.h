#pragma once
// DirectoryModel: a lazily paged view of the persisted relay directory (Engine::requestDirectory).
// setRequest() starts over at offset 0; the view's fetchMore() asks for the next page at
// offset = rows loaded; refresh() re-reads the rows already loaded (offset 0, up to
// kMaxRefreshRows) and updates them in place, so a directory that changed underneath shows its
// new state without losing the scroll position.
// Newest request wins: one request is in flight at a time and an answer whose id is not the one
// awaited (an older page, a superseded filter) is ignored.
// Bound: at most kMaxRows rows are held; beyond that canFetchMore() is false.
// Thread: GUI only. The engine is not owned and must outlive the model.
#include <QAbstractTableModel>
#include <QVector>
#include <algorithm>

#include "core/engine/relay_directory_types.h"

namespace archivist::engine {
class Engine;
}

namespace archivist::ui {

class DirectoryModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Url,
        Source,
        Status,
        Pinned,
        Score,
        Uptime24h,
        Uptime7d,
        OpenRtt,
        ReadRtt,
        LastProbe,
        Nip11Name,
        Nip11Software,
        Nip11Summary,
        FirstSeen,
        LastSeen,
        Failures,
        LastError,
        ColumnCount
    };
    enum Role {
        UrlRole = Qt::UserRole + 1,  // the row's relay URL (any column)
        PinnedRole,                  // bool
        BlockedRole,                 // bool
    };
    static constexpr int kMaxRows = 20'000;
    static constexpr int kMaxRefreshRows = 5'000;  // the engine's page limit
    static constexpr int kDefaultPageSize = 200;

    explicit DirectoryModel(engine::Engine* engine, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex& parent = {}) const override;
    void fetchMore(const QModelIndex& parent = {}) override;

    // Clears the rows and requests the first page. request.offset and request.limit are ignored
    // (the model pages by itself).
    void setRequest(const engine::DirectoryRequest& request);
    const engine::DirectoryRequest& request() const { return m_request; }
    // Re-reads the loaded rows (at least one page); supersedes a page request in flight.
    void refresh();
    void setPageSize(int rows) { m_pageSize = std::clamp(rows, 1, kMaxRefreshRows); }

    const engine::DirectoryEntryView* entry(int row) const;
    quint64 totalMatching() const { return m_total; }
    bool loading() const { return m_pending != 0; }
    bool atEnd() const { return m_atEnd; }
    QString lastError() const { return m_error; }

signals:
    void loadingChanged(bool loading);
    void errorOccurred(const QString& message);
    // Rows added or refreshed; totalMatching() may have changed.
    void pageLoaded();

private:
    enum class Pending { None, Append, Refresh };
    void send(int offset, int limit, Pending kind);
    void onDirectory(quint64 id, const engine::DirectoryPage& page);
    QVariant display(const engine::DirectoryEntryView& e, int column) const;

    engine::Engine* m_engine;
    engine::DirectoryRequest m_request;
    QVector<engine::DirectoryEntryView> m_rows;  // bounded: kMaxRows
    quint64 m_pending = 0;                       // id awaited, 0 = none
    Pending m_pendingKind = Pending::None;
    int m_pendingOffset = 0;
    quint64 m_total = 0;
    bool m_atEnd = true;     // nothing requested yet
    bool m_active = false;   // setRequest() was called
    int m_pageSize = kDefaultPageSize;
    QString m_error;
};

}  // namespace archivist::ui
