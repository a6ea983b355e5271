#pragma once
// IndexReader: queries over the partitioned index (docs/index-schema.md "Queries") for the
// archive browser, export, stats and verify. It reads one snapshot of the file set per call and
// fans out: the months (buckets) that can hold matching events are visited in the page's order —
// newest first for NewestFirst — each month's parts and the hot files merged by (created_at, id),
// and it stops as soon as the page is full. A search (NIP-50 text) walks the full-text posting
// lists in row-key order, which is created_at order, and reads only the rows it needs; when that
// turns out to read many rows the other conditions reject, it switches to walking the rows of
// those conditions and testing each against the full-text index.
//
// Thread: one thread at a time per instance (interrupt() from any). Open one per thread.
// Errors: "sqlite", "locked", "index_corrupt", "schema" (no index, or one written by a newer
// build), "fts_off" (a search on an index without full-text search), "interrupted".
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/index/index.h"
#include "core/protocol/event.h"
#include "core/protocol/filter.h"
#include "core/util/expected.h"

namespace archivist::index {

struct EventRow {
    int64_t rowid = 0;  // the row key (layout.h): unique in the index, stable across flushes and merges
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

// Pages sorted by kind or by author (docs/index-schema.md "Sorted pages"): the key's order, then
// newest first within one key value (created_at DESC, id ASC). Confined to a window of created_at
// inside ONE month (bucket): a page reads only that month's parts and the hot files, each through
// its (kind, created_at) or (pubkey, created_at) index — never a global sort.
enum class SortKey : uint8_t { Kind, Author };

struct SortSpec {
    SortKey key = SortKey::Kind;
    bool descending = false;  // the key's order (kind 9 before 1; authors from ff… down)
    int64_t since = 0;        // the window, inclusive: bucketOf(since) == bucketOf(until)
    int64_t until = 0;
};

// Keyset position in a sorted page: rows strictly after (key, created_at, id).
struct SortCursor {
    uint16_t kind = 0;             // SortKey::Kind
    protocol::Bytes32 pubkey{};    // SortKey::Author
    int64_t created_at = 0;
    protocol::Bytes32 id{};
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
    uint64_t index_bytes = 0;  // every file of the index directory
    std::vector<std::pair<uint16_t, uint64_t>> kinds;
    archive::Watermark watermark;
    bool fts = false;
    uint64_t parts = 0;
    uint64_t hot_files = 0;
    uint64_t buckets = 0;  // months holding parts
};

// Where a row lives (verify).
struct RowPlace {
    std::filesystem::path file;
    FileKind kind = FileKind::Part;
    Bucket bucket = 0;  // parts
};

class IndexReader {
public:
    // The index of `dir` (the data directory's index/ directory): the one open in this process if
    // any, else opened read-only.
    static Expected<std::unique_ptr<IndexReader>> open(const std::filesystem::path& dir);
    static Expected<std::unique_ptr<IndexReader>> open(std::shared_ptr<Index> index);
    ~IndexReader();
    IndexReader(const IndexReader&) = delete;
    IndexReader& operator=(const IndexReader&) = delete;

    // Keyset pagination: rows strictly after `after` in `order`. Filters are ORed (none = all),
    // each event at most once; within one filter every condition holds; since/until inclusive;
    // #x tags by key (tag_key.h: values longer than 512 bytes are not indexed and never match; a
    // different value sharing the key, probability 2^-64, would match too — callers that load the
    // events confirm with tagsConfirmed(), count() does not); search through the full-text index:
    // each whitespace-separated word must occur as a word prefix, case- and diacritic-insensitive
    // (a word the tokenizer splits, like "don't", needs each piece, not necessarily adjacent;
    // error "fts_off" without full-text search). The filter's own limit is ignored; `limit` caps
    // the page.
    Expected<std::vector<EventRow>> query(const std::vector<protocol::Filter>& filters, std::optional<Cursor> after,
                                          size_t limit, Order order = Order::NewestFirst);
    Expected<uint64_t> count(const std::vector<protocol::Filter>& filters);
    // As query()/count(), restricted to events that `source` carried (a relay URL or other source
    // name, compared exactly) according to the sightings. An unknown source matches nothing.
    Expected<std::vector<EventRow>> querySeenBy(const std::vector<protocol::Filter>& filters, const std::string& source,
                                                std::optional<Cursor> after, size_t limit,
                                                Order order = Order::NewestFirst);
    Expected<uint64_t> countSeenBy(const std::vector<protocol::Filter>& filters, const std::string& source);
    // Keyset pages sorted by kind or author within sort.since … sort.until (one month; error
    // "sort_window" otherwise), the filters as in query() (a search is probed per row in the
    // full-text index), `source` (may be null) as in querySeenBy(). Each page reads at most the
    // month's files: per part, the rows of the cursor's key value after the cursor, then key value
    // by key value, each an index range; per hot file, one pass over its rows in the window for
    // each chunk; rows of a key value come newest first.
    Expected<std::vector<EventRow>> querySorted(const std::vector<protocol::Filter>& filters, const SortSpec& sort,
                                                std::optional<SortCursor> after, size_t limit,
                                                const std::string* source = nullptr);
    Expected<IndexStats> stats();
    // The sources that carried the event with this row key, earliest first (each source once,
    // its earliest seen_at).
    Expected<std::vector<SightingRow>> sightings(int64_t rowid);
    // Every event once, file by file (parts month by month, then the hot files); fn returns false
    // to stop. `place` (may be null) receives the file of each row.
    Expected<void> forEachEvent(const std::function<bool(const EventRow&)>& fn);
    Expected<void> forEachEventIn(const std::function<bool(const EventRow&, const RowPlace&)>& fn);
    Expected<void> forEachFrame(const std::function<bool(const FrameRow&)>& fn);
    // The key (created_at, id) of every event with since ≤ created_at ≤ until, newest second first
    // (the events of one second in no set order); fn returns false to stop. Reads the keys alone —
    // a part's created_at index (a covering scan), a hot file's rows by row key — and holds at most
    // one chunk of keys per file of a month: the local side of NIP-77 reconciliation windows,
    // several times cheaper per event than query() with a time-only filter (docs/benchmarks.md).
    Expected<void> forEachKeyNewestFirst(int64_t since, int64_t until,
                                         const std::function<bool(int64_t created_at, const protocol::Bytes32& id)>& fn);
    Expected<std::optional<EventRow>> findById(const protocol::Bytes32& id);
    // Every row holding this id, with its file (verify: an event must be indexed exactly once).
    Expected<std::vector<std::pair<EventRow, RowPlace>>> findAllById(const protocol::Bytes32& id);
    // Thread: any (the one exception to the class's thread rule), but the caller must make sure
    // this reader is not being destroyed meanwhile. The call running on this reader, if any, stops
    // soon and returns error "interrupted"; without one it is a no-op.
    void interrupt();

    std::shared_ptr<Index> index() const;

    class Impl;

private:
    explicit IndexReader(std::shared_ptr<Index> index);
    std::shared_ptr<Index> m_index;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace archivist::index
