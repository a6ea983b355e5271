#pragma once
// IndexWriter: the only writable connection to the SQLite index (schema: docs/index-schema.md).
// Thread: writer only — one thread owns the object for its whole life.
// The index is derived from the archive: a transaction rolled back or lost (synchronous=NORMAL)
// is re-indexed from the archive by watermark recovery, so durability here is relaxed on purpose.
// Errors: "sqlite" (message from SQLite), "locked" (busy beyond the busy timeout), "schema"
// (the file was written by a newer Archivist), "read_only" (a mutating call on a read-only writer).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/protocol/event.h"
#include "core/util/expected.h"

struct sqlite3;
struct sqlite3_stmt;

namespace archivist::index {

struct IndexOptions {
    // FTS5 over content. nullopt keeps the stored setting (a new index: on). A value is applied at
    // open and remembered in meta: off drops the table, on creates it and marks a backfill pending.
    std::optional<bool> fts;
    int cache_mib = 64;      // SQLite page cache of this connection
    bool read_only = false;  // open without writing anything (no migration, no FTS change); mutating
                             // calls fail with "read_only"
};

// One event to insert in a commit group.
struct NewEvent {
    protocol::Event event;
    uint32_t line = 0;  // line within its frame
    uint32_t flags = 0;  // protocol::EventFlag bits
    int64_t first_seen_at_ms = 0;
    uint32_t source = 0;  // sourceId(); 0 = record no sighting for it
};

// A further sighting of an event that is already stored or stored in the same commit; a sighting
// of an unknown id is ignored.
struct Sighting {
    protocol::Bytes32 id{};
    uint32_t source = 0;
    int64_t seen_at_ms = 0;
};

// What an index knows about an event beyond the archive: when it was first seen and by whom.
struct Provenance {
    int64_t first_seen_at_ms = 0;
    std::vector<std::pair<std::string, int64_t>> sightings;  // (source name, seen_at_ms), earliest first
};

// A row of the segments table.
struct SealedSegment {
    uint32_t segment = 0;
    int64_t sealed_at_s = 0;
    uint64_t bytes = 0;
};

// Reads one frame's uncompressed text (e.g. archive::readFrame bound to the archive directory).
using FrameTextFn = std::function<Expected<std::string>(const archive::FrameRef&)>;

class IndexWriter {
public:
    // Creates the file if needed, applies migrations and the FTS option.
    static Expected<std::unique_ptr<IndexWriter>> open(const std::filesystem::path& db_file, IndexOptions opts = {});
    ~IndexWriter();
    IndexWriter(const IndexWriter&) = delete;
    IndexWriter& operator=(const IndexWriter&) = delete;

    // End of the last indexed frame; cached, updated by commits.
    archive::Watermark watermark() const { return m_watermark; }
    // Rowid if an event with this id is stored (committed, or inserted earlier in this thread).
    std::optional<int64_t> findEvent(const protocol::Bytes32& id);
    // Get or insert a source name ("wss://relay.example", "import:file.jsonl"); its own tiny
    // transaction; cached in a map bounded by kSourceCacheMax entries.
    Expected<uint32_t> sourceId(std::string_view name);

    // ONE transaction: the frame row (if frame != nullptr), every event (+ tags, + FTS, + its own
    // sighting (event, source, first_seen_at)), kind_counts and event_count, the extra sightings
    // (earliest seen_at kept), and the watermark = end of frame when frame is given.
    // Returns the rowids of `events` in order. On any error (e.g. an id already stored, or twice
    // in `events`) everything is rolled back and the watermark is unchanged.
    Expected<std::vector<int64_t>> commit(const archive::AppendedFrame* frame, std::span<const NewEvent> events,
                                          std::span<const Sighting> sightings);
    Expected<void> markSegmentSealed(uint32_t segment, uint64_t bytes, int64_t sealed_at_s);
    Expected<std::vector<SealedSegment>> sealedSegments();
    // The stored event's first_seen_at and at most `max_sightings` of its sightings (earliest
    // first); nullopt when the id is not stored. Errors: "sqlite".
    Expected<std::optional<Provenance>> provenance(const protocol::Bytes32& id, size_t max_sightings = 256);
    // Drops every derived row (events, tags, FTS, frames, sightings, kind_counts) and
    // resets the watermark to {0,0}; sources are kept. For `archivist reindex`.
    Expected<void> resetForReindex();
    uint64_t eventCount() const { return m_eventCount; }  // the stored counter (meta.event_count)
    // The events table's rows, counted (a scan: for reports, not for every commit).
    Expected<uint64_t> countEventRows();
    bool fts() const { return m_fts; }

    // True when FTS was turned on over an index that already held events: their content exists
    // only in the archive. search queries miss those events until backfillFts() completes.
    bool ftsBackfillPending() const { return m_ftsBackfillPending; }
    // Fills the FTS table for every indexed frame from the archive, a batch of frames per
    // transaction, resumable after a crash (progress in meta). Returns events added.
    // Errors: those of frame_text (the backfill stops; progress so far is kept), "sqlite".
    Expected<uint64_t> backfillFts(const FrameTextFn& frame_text);

    // wal_checkpoint(TRUNCATE): call at shutdown so the -wal file does not linger.
    Expected<void> checkpoint();
    // Checkpoints and leaves WAL mode, so that closing this writer leaves one self-contained file
    // (the source of replaceWith()).
    Expected<void> detachWal();
    // Replaces this index's whole content with the database file `source` (SQLite's online
    // backup, in one write transaction: other connections see the old index until it commits,
    // then the new one) and reloads the cached state (watermark, event count, FTS, sources).
    // Source ids and rowids of the old content are void afterwards. `cancel` is checked between
    // steps of `pages_per_step` pages; a cancelled or failed copy leaves the old content.
    // `progress(done, total)` (pages) may be empty. Errors: "cancelled", "sqlite", "locked".
    Expected<void> replaceWith(const std::filesystem::path& source, const std::atomic<bool>* cancel,
                               const std::function<void(uint64_t, uint64_t)>& progress = {},
                               int pages_per_step = 4096);

    static constexpr size_t kSourceCacheMax = 100000;

private:
    IndexWriter() = default;
    Expected<void> exec(const char* sql);
    void rollbackAfterError();
    Expected<void> applyFts(bool want);
    Expected<void> prepareStatements();
    void loadState();
    Expected<void> requireWritable() const;
    Error sqliteError(const std::string& what) const;
    Expected<std::vector<int64_t>> rollbackWith(Error e);

    sqlite3* m_db = nullptr;
    bool m_readOnly = false;
    archive::Watermark m_watermark;
    uint64_t m_eventCount = 0;
    bool m_fts = false;
    bool m_ftsBackfillPending = false;
    bool m_readTxn = false;  // a transaction is open on m_db (deferred read, or upgraded by commit())
    void beginRead();
    void endRead();
    struct TagRow {
        int64_t key;  // tagKey(name, value)
        int64_t event;
    };
    std::vector<uint32_t> m_order;   // reused per commit
    std::vector<TagRow> m_tagRows;   // reused per commit
    std::unordered_map<std::string, uint32_t> m_sources;  // bounded: cleared at kSourceCacheMax
    std::vector<std::pair<uint16_t, int64_t>> m_kindDelta;  // reused per commit
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
    sqlite3_stmt* m_sealSegment = nullptr;
    sqlite3_stmt* m_provenance = nullptr;  // prepared on first use (rebuilds only)
};

}  // namespace archivist::index
