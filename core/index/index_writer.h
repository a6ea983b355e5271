#pragma once
// IndexWriter: the writer thread's handle on the partitioned index (index.h; docs/index-schema.md).
// It assigns row keys, splits each commit group into the writer lanes' shares, records the frame
// in the catalog and hands the shares to the lanes; a group is committed once every lane has
// committed its share. findEvent() is the writer's exact deduplication: groups handed over but not
// yet committed, then the index (Lookup).
// Thread: writer only — one thread owns the object for its whole life (index() is shared).
// The index is derived from the archive: a group lost in a crash is re-indexed from the archive
// by watermark recovery (the lowest lane watermark), so durability here is relaxed on purpose.
// Errors: those of Index, plus "duplicate" (commit() of an id that is already stored or appears
// twice), "read_only".
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/index/index.h"
#include "core/index/lookup.h"
#include "core/ingest/recent_id_cache.h"
#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::index {

// One event to insert in a commit group.
struct NewEvent {
    protocol::Event event;
    uint32_t line = 0;   // line within its frame
    uint32_t frame = 0;  // which of the group's frames (submit()'s `frames`) holds it
    uint32_t flags = 0;  // protocol::EventFlag bits
    int64_t first_seen_at_ms = 0;
    uint32_t source = 0;  // sourceId(); 0 = record no sighting for it
    // Worked out by the verify threads when they can (0 / empty: submit() computes them).
    int64_t sighash = 0;
    std::vector<int64_t> tag_keys;  // sorted, distinct (indexTagKeys())
    bool copies_expected = true;    // ingest::RawBatch::copies_expected: its lane remembers its rollup facts
};

// The `#x` tag keys an event is indexed under: sorted, each once (tag_key.h rules).
std::vector<int64_t> indexTagKeys(const protocol::Event& e);

// A further sighting of an event that is already stored or stored in the same commit; a sighting
// of an unknown id is ignored. `rk` is the stored row's key when the caller knows it (0: looked up).
struct Sighting {
    protocol::Bytes32 id{};
    uint32_t source = 0;
    int64_t seen_at_ms = 0;
    int64_t rk = 0;
    int64_t created_at = 0;  // needed when rk is 0
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

struct Found {
    int64_t rk = 0;
    int64_t sighash = 0;
    archive::EventPos pos;  // where the event is archived (the sightings log refers to it)
};

// Sightings recorded while a live rebuild runs (core/engine/index_rebuild.h), kept in a small
// SQLite file of the new generation until it takes over. Thread: the writer thread.
class SightingJournal {
public:
    struct Entry {
        protocol::Bytes32 id{};
        std::string source;
        int64_t seen_at_ms = 0;
        int64_t created_at = 0;
    };
    static Expected<std::shared_ptr<SightingJournal>> create(const std::filesystem::path& file);
    Expected<void> append(const std::vector<Entry>& entries);  // one transaction
    // In the order appended; fn's error stops and is returned.
    Expected<void> forEach(const std::function<Expected<void>(const Entry&)>& fn);
    uint64_t entries() const { return m_entries; }

private:
    Db m_db;
    uint64_t m_entries = 0;
};

class IndexWriter {
public:
    // Opens (or creates) the index in `dir`, repairs and backfills full-text search from the archive
    // when needed (frame_text may be empty when there is no archive: tests), starts its lanes.
    static Expected<std::unique_ptr<IndexWriter>> open(const std::filesystem::path& dir, IndexOptions opts = {},
                                                       observe::MetricsRegistry* metrics = nullptr,
                                                       const FrameTextFn& frame_text = {});
    // `close_on_destroy`: the destructor closes the index (lanes drain, background work stops).
    explicit IndexWriter(std::shared_ptr<Index> index, bool close_on_destroy = true);
    ~IndexWriter();
    IndexWriter(const IndexWriter&) = delete;
    IndexWriter& operator=(const IndexWriter&) = delete;

    // The index in use. Writer thread (the owner); other threads use currentIndex(), which a
    // replace() on the writer thread does not race with.
    const std::shared_ptr<Index>& index() const { return m_index; }
    std::shared_ptr<Index> currentIndex() const {
        std::lock_guard lock(m_replaceMutex);
        return m_index;
    }
    // What every lane has committed: recovery replays the archive after it.
    archive::Watermark watermark() const { return m_index->watermark(); }
    // The stored (or handed over) event with this id: its row key and signature hash.
    std::optional<Found> findEvent(const protocol::Bytes32& id, int64_t created_at);
    Expected<std::optional<Found>> lookup(const protocol::Bytes32& id, int64_t created_at);
    // Get or insert a source name ("wss://relay.example", "import:file.jsonl"); cached (bounded).
    Expected<uint32_t> sourceId(std::string_view name);

    // Hands a group over: the frame rows (one per frame; NewEvent::frame says which holds an event),
    // every event (+ tags, full-text document, its own sighting), the extra sightings (earliest
    // seen_at kept), and each lane's watermark = end of the last frame. The caller has
    // deduplicated the events. Returns the ticket; the row keys of `events`, in order, go to `rks`.
    // Blocks while a lane queue is full.
    Expected<uint64_t> submit(std::span<const archive::AppendedFrame> frames, std::span<const NewEvent> events,
                              std::span<const Sighting> sightings, std::vector<int64_t>* rks = nullptr);
    // A group of at most one frame (frame == nullptr: sightings only).
    Expected<uint64_t> submit(const archive::AppendedFrame* frame, std::span<const NewEvent> events,
                              std::span<const Sighting> sightings, std::vector<int64_t>* rks = nullptr) {
        return submit(frame ? std::span<const archive::AppendedFrame>(frame, 1) : std::span<const archive::AppendedFrame>(),
                      events, sightings, rks);
    }
    // Tickets committed by every lane since the last call, in order (waits up to `wait` for one).
    std::vector<uint64_t> completed(std::chrono::milliseconds wait);
    size_t pendingTickets() const { return m_pending.size(); }
    // submit() then wait until committed. Refuses ("duplicate") an event that is already stored or
    // appears twice, before anything is written. Returns the row keys of `events` in order.
    Expected<std::vector<int64_t>> commit(std::span<const archive::AppendedFrame> frames, std::span<const NewEvent> events,
                                          std::span<const Sighting> sightings);
    Expected<std::vector<int64_t>> commit(const archive::AppendedFrame* frame, std::span<const NewEvent> events,
                                          std::span<const Sighting> sightings) {
        return commit(frame ? std::span<const archive::AppendedFrame>(frame, 1) : std::span<const archive::AppendedFrame>(),
                      events, sightings);
    }
    // Lookups read hot files in one read transaction: end it so the next lookup sees new commits.
    void refresh() { m_lookup.refresh(); }
    // Takes `next` (a promoted, not yet started generation) in place of the current index, which is
    // closed. Nothing may be handed over and uncommitted. Starts `next`.
    Expected<void> replace(std::shared_ptr<Index> next);
    // While set, the extra sightings of every group handed over are also written to `journal`.
    void setJournal(std::shared_ptr<SightingJournal> journal) { m_journal = std::move(journal); }
    // The name of an index source id (cached; bounded).
    Expected<std::string> sourceName(uint32_t id);

    Expected<void> markSegmentSealed(uint32_t segment, uint64_t bytes, int64_t sealed_at_s);
    Expected<std::vector<SealedSegment>> sealedSegments();
    uint64_t eventCount() const { return m_index->eventCount(); }
    Expected<uint64_t> countEventRows();
    bool fts() const { return m_index->fts(); }
    // Kept for the callers of the single-file index: the lanes checkpoint their own files.
    Expected<void> checkpoint() { return {}; }

    static constexpr size_t kSourceCacheMax = 100000;

private:
    struct Pending {
        uint64_t ticket = 0;
        std::vector<protocol::Bytes32> ids;
    };
    std::shared_ptr<Index> m_index;
    mutable std::mutex m_replaceMutex;  // guards the assignment of m_index against currentIndex()
    bool m_closeOnDestroy = true;
    Lookup m_lookup;
    uint64_t m_nextTicket = 1;
    std::deque<Pending> m_pending;  // handed over, not yet committed (bounded by the lane queues)
    std::unordered_map<protocol::Bytes32, Found, ingest::IdHash> m_inFlight;
    std::unordered_map<std::string, uint32_t> m_sources;  // bounded: cleared at kSourceCacheMax
    std::unordered_map<uint32_t, std::string> m_sourceNames;  // bounded: cleared at kSourceCacheMax
    std::shared_ptr<SightingJournal> m_journal;
};

}  // namespace archivist::index
