#pragma once
// Read access to the files of an Index snapshot from one thread: a bounded LRU of connections
// (FileConnections) and the exact id lookup every deduplication uses (Lookup).
//
// Lookup::find(id, created_at) looks where the event can only be: the hot files of the id's lane,
// then the parts of the bucket of its created_at — each part's id filter first, its SQLite file
// only when the filter says "maybe". Hot files are read in one read transaction per refresh()
// (not one per probe); refresh() ends it, so a lookup after refresh() sees every commit that
// completed before.
// Thread: one thread per object.
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/index/index.h"

namespace archivist::index {

class FileConnections {
public:
    struct Conn {
        FilePtr file;  // keeps the file alive while connected
        Db db;
        bool in_read = false;  // hot files: a read transaction is open
        std::unordered_map<std::string, Stmt> stmts;  // bounded: cleared at kMaxStatements
        uint64_t pass = 0;  // the pass (beginPass) that last used it
        // A cached statement (reset, bindings cleared).
        Expected<Stmt*> stmt(const std::string& sql);
    };
    static constexpr size_t kMaxStatements = 48;

    // `cache_kib`: each connection's SQLite page cache.
    explicit FileConnections(size_t capacity, int cache_kib = 1024);
    ~FileConnections();
    // A moved-from set holds nothing and counts for nothing in totals() (bound 0: at most one
    // connection, should it be used again).
    FileConnections(FileConnections&& o) noexcept;
    FileConnections& operator=(FileConnections&& o) noexcept;
    // The connection to `file` (parts are opened immutable). `keep_read`: for hot files, open a
    // read transaction that lasts until endReads(). The pointer is valid until the next get().
    // A full set closes its least recently used connection — unless that one was used in the
    // current pass, i.e. the pass visits more files than the set holds (a query over every part
    // of a backfilled archive): then it closes the most recently used one, so that the files
    // visited first stay open for the next pass instead of each pass reopening every file.
    Expected<Conn*> get(const FilePtr& file, bool keep_read = false);
    // Starts a pass (one query call); without passes, the set is a plain LRU.
    void beginPass() { ++m_pass; }
    // Connections opened since construction (reopened files count again).
    uint64_t opened() const { return m_opened; }
    void endReads();
    // Drops connections to files that are not in `snap` (they are being replaced).
    void retain(const Snapshot& snap);
    void clear();
    size_t size() const { return m_map.size(); }
    size_t capacity() const { return m_capacity; }
    // Every set of this process together (the gauge "index reader connections cache", Index::
    // gauges()): the connections open and the sum of the sets' bounds. Any thread.
    struct Totals {
        int64_t open = 0;
        int64_t capacity = 0;
        // Times a set found the process out of file descriptors and closed half its connections.
        uint64_t descriptor_shortfalls = 0;
    };
    static Totals totals();
    // Every connection's sqlite3 handle (for interrupt()).
    template <typename Fn>
    void forEachDb(Fn&& fn) {
        for (auto& c : m_lru) fn(c.db.get());
    }

private:
    size_t m_capacity;
    int m_cacheKib;
    uint64_t m_pass = 0;
    uint64_t m_opened = 0;
    std::list<Conn> m_lru;  // front = most recent
    std::unordered_map<int64_t, std::list<Conn>::iterator> m_map;
};

class Lookup {
public:
    struct Found {
        int64_t rk = 0;
        int64_t sighash = 0;
        archive::EventPos pos;
        // With a source: the earliest seen_at of that source's sighting of the event in the file
        // that holds the event's row (none: no such sighting there; others may exist elsewhere).
        std::optional<int64_t> source_seen_at;
    };
    explicit Lookup(std::shared_ptr<Index> index);
    // `source` (a source name, optional): also read that source's sighting next to the row. The
    // name is resolved against the same index the row is read from.
    Expected<std::optional<Found>> find(const protocol::Bytes32& id, int64_t created_at, std::string_view source = {});
    // Ends read transactions and picks up the newest snapshot.
    void refresh();
    size_t connections() const { return m_conns.size(); }
    size_t connectionCapacity() const { return m_conns.capacity(); }
    uint64_t filterSkips() const { return m_filterSkips; }
    uint64_t probes() const { return m_probes; }

private:
    static constexpr size_t kSourceIdsMax = 1024;
    void ensureSnapshot();
    uint32_t sourceIdOf(std::string_view name);  // 0: not registered in this index (or unreadable)
    std::shared_ptr<Index> m_index;
    std::unordered_map<std::string, uint32_t> m_sourceIds;  // of m_index; bounded by kSourceIdsMax
    SnapshotPtr m_snap;
    FileConnections m_conns;
    uint64_t m_filterSkips = 0;
    uint64_t m_probes = 0;
};

}  // namespace archivist::index
