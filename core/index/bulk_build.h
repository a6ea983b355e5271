#pragma once
// Bulk building of an index generation from the archive (docs/index-schema.md "Rebuilding"):
// `archivist reindex`, the console's live rebuild, the migration of a single-file (schema 1/2)
// index, and the repair of a damaged one.
//
// One thread reads the segments frame by frame; `threads` parser threads parse and check each
// line (and ask the provenance source what an older index knew about the event); one thread takes
// the events in archive order, deduplicates them exactly (within the run being built, the run
// before it, and the parts already built — filters, then an exact probe), gives them row keys and
// cuts runs of `run_events`; a builder thread turns each run into level-0 parts, one per bucket,
// rows first and indexes after; one thread per lane writes the full-text documents. At the end
// every bucket's parts are merged once (compactBucket): each event is written twice in all,
// however large the archive — the cost per event stays flat.
//
// Memory is bounded: frames in flight (`threads` × 4), two runs of rows (no content), the
// full-text queues.
// Thread: bulkBuild() blocks the calling thread; `target` must not be started.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/index/index.h"
#include "core/util/expected.h"

namespace archivist::index {

struct OldProvenance {
    int64_t first_seen_at_ms = 0;
    std::vector<std::pair<std::string, int64_t>> sightings;  // (source name, seen_at_ms)
    // sightings[0] is the one that brought the event (the sightings log knows; an index only
    // knows times, and the earliest is taken for it).
    bool first_is_origin = false;
    // The sightings log knew the event but the older index it falls back to did not (counted in
    // BulkReport::not_in_old_index: the rebuild repaired a gap of the old index).
    bool unknown_to_fallback = false;
};

// What an older index knew about events (one instance per parser thread).
class ProvenanceSource {
public:
    virtual ~ProvenanceSource() = default;
    // `pos`: where the event is archived (the line being indexed).
    virtual Expected<std::optional<OldProvenance>> lookup(const protocol::Bytes32& id, int64_t created_at,
                                                          const archive::EventPos& pos) = 0;
};
using ProvenanceFactory = std::function<Expected<std::unique_ptr<ProvenanceSource>>()>;

// Reads a single-file index of schema version 1 or 2 (index.sqlite): for migrations.
ProvenanceFactory legacyProvenance(const std::filesystem::path& legacy_db);
// Reads an open partitioned index (the live rebuild).
ProvenanceFactory indexProvenance(std::shared_ptr<Index> index);
// Reads the durable sightings log (core/archive/sightings_log.h) in `log_dir`: every sighting and
// the first-seen time of each event it holds; events it does not know (archived before the log
// existed) are asked of `fallback` (may be empty), and what both know is merged. The log is read
// in windows of archive segments (bounded memory: about `max_records` records at a time).
ProvenanceFactory logProvenance(const std::filesystem::path& log_dir, ProvenanceFactory fallback,
                                size_t max_records = 4u << 20);

struct BulkProgress {
    uint64_t bytes_done = 0;
    uint64_t bytes_total = 0;
    uint64_t events = 0;
    bool merging = false;
};

struct BulkOptions {
    std::string source = "reindex";  // the sighting source of events without provenance
    int64_t seen_at_ms = 0;          // their first_seen_at
    unsigned threads = 0;            // parser threads; 0: one per core
    size_t run_events = 131072;
    // Stop at this watermark (the live rebuild: what the live index has); none: read the whole
    // archive, stopping before a torn or damaged frame at the end of the last segment (recovery
    // cuts it afterwards). Damage in a sealed segment is an error ("corrupt").
    std::optional<archive::Watermark> until;
    ProvenanceFactory provenance;
    const std::atomic<bool>* cancel = nullptr;
    std::function<void(const BulkProgress&)> progress;  // from the reading thread, ~4 times a second
    bool final_merge = true;
};

struct BulkReport {
    uint64_t frames = 0;
    uint64_t events = 0;
    uint64_t damaged_lines = 0;    // not a valid event, or id mismatch (see `archivist verify`)
    uint64_t duplicate_lines = 0;  // events archived more than once (indexed once)
    uint64_t sightings_carried = 0;
    uint64_t not_in_old_index = 0;
    archive::Watermark watermark;  // end of the last frame read
    double seconds = 0;
};

Expected<BulkReport> bulkBuild(Index& target, const std::filesystem::path& archive_dir, const BulkOptions& options);

}  // namespace archivist::index
