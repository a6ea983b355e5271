#pragma once
// SightingsBatcher: turns the durable sightings log (core/archive/sightings_log.h) into
// ClickHouse insert batches for the `sightings` table (id, relay, seen_at, node, batch).
//
// A batch covers whole log frames [start, end) — positions are (log file, byte offset), kept in a
// SourcePosition (segment = file) — and holds one JSONEachRow row per record. The log names events
// by archive position; the batcher reads each referenced archive frame (a bounded cache of the ids
// of recently read frames) to ship the event id. A record whose event cannot be read (its archive
// bytes were quarantined) is not shipped: counted in skipped and described in skipped_example.
// The batch identity is "s<start>-<end>-<hash of the records>", so a rebuilt pending batch is
// recognised exactly.
// Thread: one thread at a time.
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/archive/sightings_log.h"
#include "core/sink/sink_state.h"
#include "core/util/expected.h"

namespace archivist::sink {

struct SightingsBatch {
    SourcePosition start;
    SourcePosition end;
    std::string id;
    std::string rows;  // JSONEachRow
    uint64_t row_count = 0;
    uint64_t log_bytes = 0;  // compressed log bytes covered
    bool full = false;
    uint64_t skipped = 0;
    std::string skipped_example;
    size_t memoryBytes() const { return rows.capacity() + id.capacity(); }
};

class SightingsBatcher {
public:
    SightingsBatcher(std::filesystem::path archive_dir, std::filesystem::path log_dir, std::string node);
    // The next batch from `from`, reading only frames that end at or before `horizon` (the log's
    // durable end), at most max_rows rows (at least one frame). With exact_end: exactly up to it
    // ("corrupt" if no frame ends there). A batch with row_count 0 and end == from: nothing new.
    Expected<SightingsBatch> build(SourcePosition from, SourcePosition horizon, size_t max_rows,
                                   std::optional<SourcePosition> exact_end = std::nullopt);
    // The start of the newest log file created at or before since_s ({0,0}: from the beginning).
    SourcePosition positionForTime(int64_t since_s) const;
    const std::filesystem::path& logDir() const { return m_logDir; }
    // Memory held by the cache of archive frames' ids (bounded by kMaxCachedIds ids).
    size_t cacheBytes() const { return m_cachedIds * 96; }
    static constexpr size_t kMaxCacheBytes = 262144 * 96;

private:
    // The ids (hex) of the lines of the archive frame at (segment, offset); nullptr if unreadable.
    const std::vector<std::string>* frameIds(uint32_t segment, uint64_t offset, std::string& why);

    std::filesystem::path m_archiveDir;
    std::filesystem::path m_logDir;
    std::string m_node;
    archive::SightingsLogReader m_reader;  // keeps the dictionary between batches
    bool m_primed = false;                 // a scan from a file's start has filled the dictionary
    std::map<std::pair<uint32_t, uint64_t>, std::vector<std::string>> m_ids;  // bounded: kMaxCachedIds
    std::deque<std::pair<uint32_t, uint64_t>> m_order;                        // insertion order
    size_t m_cachedIds = 0;
    static constexpr size_t kMaxCachedIds = 262144;
};

// Bytes of log frames between two log positions (the sightings stream's lag).
uint64_t sightingsLagBytes(const std::filesystem::path& log_dir, SourcePosition from, SourcePosition to);

}  // namespace archivist::sink
