#pragma once
// IndexWriter: the only writable connection to the SQLite index (docs/index-schema.md).
// Thread: writer only — one thread owns the object for its whole life.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/protocol/event.h"
#include "core/util/expected.h"

struct sqlite3;
struct sqlite3_stmt;

namespace archivist::index {

struct IndexOptions {
    bool fts = true;  // FTS5 over content; remembered in meta
    int cache_mib = 64;
};

struct NewEvent {
    protocol::Event event;
    uint32_t line = 0;  // line within its frame
    uint32_t flags = 0;
    int64_t first_seen_at_ms = 0;
    uint32_t source = 0;  // index source id (sourceId())
};

// A further sighting of an event that is stored, or stored in the same commit.
struct Sighting {
    protocol::Bytes32 id{};
    uint32_t source = 0;
    int64_t seen_at_ms = 0;
};

class IndexWriter {
public:
    // Creates or migrates the schema. Errors: "sqlite", "schema" (written by a newer build).
    static Expected<std::unique_ptr<IndexWriter>> open(const std::filesystem::path& db_file, IndexOptions opts = {});
    ~IndexWriter();
    IndexWriter(const IndexWriter&) = delete;
    IndexWriter& operator=(const IndexWriter&) = delete;

    archive::Watermark watermark() const { return m_watermark; }
    std::optional<int64_t> findEvent(const protocol::Bytes32& id);
    Expected<uint32_t> sourceId(std::string_view name);  // get or insert; cached (bounded)

    // ONE transaction: the frame row (if frame), every event (+ tags, + FTS, + its own sighting),
    // kind counts and event count, the extra sightings (earliest seen_at kept), and the watermark
    // = end of frame. Returns the rowids of `events` in order. Rolled back entirely on error.
    Expected<std::vector<int64_t>> commit(const archive::AppendedFrame* frame, std::span<const NewEvent> events,
                                          std::span<const Sighting> sightings);
    Expected<void> markSegmentSealed(uint32_t segment, uint64_t bytes, int64_t sealed_at_s);
    // Drops every derived row and resets the watermark (sources are kept). For reindex.
    Expected<void> resetForReindex();
    uint64_t eventCount() const { return m_eventCount; }
    bool fts() const { return m_fts; }
    Expected<void> checkpoint();

private:
    IndexWriter() = default;
    Expected<void> exec(const char* sql);
    Expected<sqlite3_stmt*> prepare(const char* sql);
    Error sqliteError(const std::string& what) const;

    sqlite3* m_db = nullptr;
    archive::Watermark m_watermark;
    uint64_t m_eventCount = 0;
    bool m_fts = true;
    std::unordered_map<std::string, uint32_t> m_sources;  // bounded: cleared past kSourceCacheMax
    static constexpr size_t kSourceCacheMax = 100000;
    sqlite3_stmt* m_findEvent = nullptr;
    sqlite3_stmt* m_insertEvent = nullptr;
    sqlite3_stmt* m_insertTag = nullptr;
    sqlite3_stmt* m_insertFts = nullptr;
    sqlite3_stmt* m_insertFrame = nullptr;
    sqlite3_stmt* m_insertSighting = nullptr;
    sqlite3_stmt* m_sightingById = nullptr;
    sqlite3_stmt* m_kindCount = nullptr;
    sqlite3_stmt* m_setMeta = nullptr;
    sqlite3_stmt* m_findSource = nullptr;
    sqlite3_stmt* m_insertSource = nullptr;
};

}  // namespace archivist::index
