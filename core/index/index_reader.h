#pragma once
// IndexReader: a read-only connection (WAL readers never block the writer) for queries, stats,
// export and verify. Thread: one thread at a time per instance; open one per thread.
// Errors: "sqlite", "locked" (busy beyond the timeout), "schema" (file written by a newer build or
// not initialised), "fts_off" (a search on an index without full-text search), "interrupted"
// (interrupt() stopped the call).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/protocol/event.h"
#include "core/protocol/filter.h"
#include "core/util/expected.h"

struct sqlite3;
struct sqlite3_stmt;

namespace archivist::index {

struct EventRow {
    int64_t rowid = 0;
    protocol::Bytes32 id{};
    protocol::Bytes32 pubkey{};
    uint16_t kind = 0;
    int64_t created_at = 0;
    int64_t first_seen_at_ms = 0;
    uint32_t flags = 0;
    archive::FrameRef frame;
    uint32_t line = 0;
};

struct Cursor {
    int64_t created_at = 0;
    protocol::Bytes32 id{};
};

enum class Order : uint8_t {
    NewestFirst,  // created_at DESC, id ASC
    OldestFirst,  // created_at ASC, id ASC
};

struct SightingRow {
    std::string source;
    int64_t seen_at_ms = 0;
};

struct FrameRow {
    int64_t id = 0;
    archive::AppendedFrame frame;
};

struct IndexStats {
    uint64_t events = 0;
    uint64_t frames = 0;
    uint32_t segments = 0;
    uint64_t sealed_segments = 0;
    uint64_t index_bytes = 0;  // db + wal + shm
    std::vector<std::pair<uint16_t, uint64_t>> kinds;
    archive::Watermark watermark;
    bool fts = false;
};

class IndexReader {
public:
    static Expected<std::unique_ptr<IndexReader>> open(const std::filesystem::path& db_file);
    ~IndexReader();
    IndexReader(const IndexReader&) = delete;
    IndexReader& operator=(const IndexReader&) = delete;

    // Keyset pagination: rows strictly after `after` in `order`. Filters are ORed (none = all),
    // each event at most once; within one filter every condition holds; since/until inclusive;
    // #x tags via the tags table by key (tag_key.h: values longer than 512 bytes are not indexed
    // and never match; a different value sharing the key, probability 2^-64, would match too —
    // callers that load the events confirm with tagsConfirmed(), and count() does not);
    // search through FTS5: each whitespace-separated word must occur as a word prefix, case- and
    // diacritic-insensitive (error "fts_off" without the full-text table). The filter's own limit
    // is ignored here; `limit` caps the page.
    Expected<std::vector<EventRow>> query(const std::vector<protocol::Filter>& filters, std::optional<Cursor> after,
                                          size_t limit, Order order = Order::NewestFirst);
    Expected<uint64_t> count(const std::vector<protocol::Filter>& filters);
    // As query()/count(), restricted to events that `source` carried (a relay URL or other source
    // name, compared exactly) according to the sightings table. An unknown source matches nothing.
    Expected<std::vector<EventRow>> querySeenBy(const std::vector<protocol::Filter>& filters, const std::string& source,
                                                std::optional<Cursor> after, size_t limit,
                                                Order order = Order::NewestFirst);
    Expected<uint64_t> countSeenBy(const std::vector<protocol::Filter>& filters, const std::string& source);
    Expected<IndexStats> stats();
    Expected<std::vector<SightingRow>> sightings(int64_t rowid);
    // Every event in archive order (frame id, line); fn returns false to stop.
    Expected<void> forEachEvent(const std::function<bool(const EventRow&)>& fn);
    Expected<void> forEachFrame(const std::function<bool(const FrameRow&)>& fn);
    Expected<std::optional<EventRow>> findById(const protocol::Bytes32& id);
    // Thread: any (the one exception to the class's thread rule), but the caller must make sure
    // this reader is not being destroyed meanwhile. The statement running on this connection, if
    // any, stops soon and its call returns error "interrupted"; without one it is a no-op.
    void interrupt();

private:
    IndexReader() = default;
    Expected<std::vector<EventRow>> queryImpl(const std::vector<protocol::Filter>& filters, const std::string* source,
                                              std::optional<Cursor> after, size_t limit, Order order);
    Expected<uint64_t> countImpl(const std::vector<protocol::Filter>& filters, const std::string* source);
    sqlite3* m_db = nullptr;
    std::filesystem::path m_path;
    bool m_fts = false;
    sqlite3_stmt* m_findById = nullptr;
};

}  // namespace archivist::index
