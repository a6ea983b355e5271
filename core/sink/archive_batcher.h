#pragma once
// ArchiveBatcher: turns committed archive frames into ClickHouse insert batches.
//
// A batch covers whole frames [start, end) of the archive (segment/offset positions, see
// sink_state.h) and holds their events as JSONEachRow rows: each archived line, unchanged, with
// `"node"` and `"batch"` members added. Rows are tagged with their partition (monthPartition of
// created_at), because a ClickHouse insert of one block commits one part per partition, each
// atomically: after an ambiguous failure the sink asks, per partition, how many rows of this batch
// arrived (ClickHouseSink), and sends again only the partitions that did not.
//
// The batch identity is "<start>-<end>-<hash>": the positions and a hash of the frames' content
// checksums, so an identity names exactly one set of rows wherever and however often it is built.
//
// Contract
// - build() reads only frames that end at or before `horizon` (the durable end of the archive:
//   frames past it may be in the middle of being appended). Sealed segments are read to their end.
// - Bounded: it stops adding frames once the rows reach limits.max_bytes or limits.max_rows (at
//   least one frame is always taken, so a batch exceeds max_bytes by at most one frame).
// - A line that does not parse as an event is not shipped: it is counted in skipped_lines and
//   described in skipped_example (the archive keeps it; `archivist verify` reports it).
// - Errors: "corrupt" (a torn or damaged frame before the horizon, a missing segment, a position
//   that is not a frame boundary), "io", "ahead" (the position lies beyond the horizon).
// Thread: one thread at a time.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sink/sink_state.h"
#include "core/util/expected.h"

namespace archivist::sink {

struct BatchLimits {
    size_t max_bytes = 8u << 20;   // uncompressed row bytes
    size_t max_rows = 100000;
};

struct BatchPart {
    uint64_t rows = 0;
    std::set<std::string> pubkeys;  // distinct authors in this partition: narrows the check query
    bool confirmed = false;         // the server holds this part (acknowledged or found by the check)
};

struct ShipBatch {
    SourcePosition start;
    SourcePosition end;
    std::string id;
    std::string rows;               // JSONEachRow, archive order
    struct RowRef {
        uint32_t begin = 0;
        uint32_t length = 0;        // including the '\n'
        uint32_t partition = 0;
    };
    std::vector<RowRef> refs;
    std::map<uint32_t, BatchPart> parts;  // by partition (YYYYMM)
    uint64_t row_count = 0;
    uint64_t archive_bytes = 0;     // compressed frame bytes covered
    uint32_t frames = 0;
    bool full = false;              // a limit stopped it: more frames were waiting
    uint64_t skipped_lines = 0;
    std::string skipped_example;
    // The rows of the partitions not yet confirmed, in archive order (all rows when none is).
    std::string unconfirmedRows() const;
    uint64_t unconfirmedRowCount() const;
    size_t memoryBytes() const;
};

class ArchiveBatcher {
public:
    ArchiveBatcher(std::filesystem::path archive_dir, std::string node);

    // The next batch from `from`. With exact_end, reads exactly up to it (rebuilding a pending
    // batch; no limits) and fails ("corrupt") if no frame ends there. Returns a batch with
    // row_count == 0 and end == from when nothing lies between `from` and `horizon`. A batch may
    // hold no rows but still advance (frames whose lines were all skipped).
    Expected<ShipBatch> build(SourcePosition from, SourcePosition horizon, const BatchLimits& limits,
                              std::optional<SourcePosition> exact_end = std::nullopt);

    // Lines in the frames between two positions (for the lag after a replay rewinds the cursor).
    Expected<uint64_t> countRows(SourcePosition from, SourcePosition to);

    // The Unix time (seconds) when `segment` was created (its header), cached; 0 if unreadable.
    int64_t segmentCreatedAt(uint32_t segment);

    // The first position at or after which every frame was archived no earlier than `since_s`:
    // the start of the newest segment created at or before since_s ({0,0} if none).
    SourcePosition positionForTime(int64_t since_s);

private:
    std::filesystem::path m_dir;
    std::string m_node;
    std::unordered_map<uint32_t, int64_t> m_createdAt;  // bounded by the number of segments
};

// Appends one archived line as a row with node and batch members. Returns the row's created_at
// and pubkey (hex) through the out-parameters; false when the line is not an event.
bool appendShipRow(std::string& out, std::string_view line, std::string_view node, std::string_view batch,
                   int64_t& created_at, std::string& pubkey_hex);

}  // namespace archivist::sink
