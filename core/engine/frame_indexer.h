#pragma once
// Indexes one archived frame from its text: used by start-up recovery (frames past the watermark)
// and by `reindex` (every frame). Each line is parsed strictly and its id re-checked; events
// already in the index are skipped (counted), lines that do not parse are counted as damaged.
// Thread: writer only (uses the IndexWriter).
#include <cstdint>
#include <functional>
#include <vector>

#include "core/archive/segment_reader.h"
#include "core/index/index_writer.h"
#include "core/util/expected.h"

namespace archivist::engine {

struct FrameIndexResult {
    uint64_t indexed = 0;
    uint64_t already_indexed = 0;
    uint64_t damaged_lines = 0;  // not a valid event or id mismatch: reported by `verify`
};

// Called for each event about to be indexed (its source and first_seen_at preset to
// index_source/seen_at_ms): may change them and add further sightings of it. A rebuild uses it to
// carry over what the old index knew about the event.
using CarryOverFn = std::function<void(index::NewEvent&, std::vector<index::Sighting>&)>;

Expected<FrameIndexResult> indexFrame(index::IndexWriter& index, const archive::Frame& frame,
                                      uint32_t index_source, int64_t seen_at_ms, const CarryOverFn& carry_over = {});

}  // namespace archivist::engine
