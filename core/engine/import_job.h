#pragma once
// Import of JSONL / JSONL.zst files (strfry and nak export format: one event object per line) into
// an open Store. Blank lines are skipped; every other line is "read" and ends up stored,
// duplicate or invalid (with a reason). Each file is its own source ("import:<file name>").
// The call returns only when every line read has settled (committed or rejected), so the
// summary describes durable facts.
// Thread: any one thread (blocks it); cancel from any thread.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/engine/store.h"
#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::engine {

struct ImportProgress {
    uint64_t read = 0;
    uint64_t stored = 0;
    uint64_t duplicate = 0;
    uint64_t invalid = 0;
    std::array<uint64_t, static_cast<size_t>(protocol::Reject::Count)> invalid_by_reason{};
    uint64_t bytes_read = 0;   // of all files so far, as stored on disk
    uint64_t bytes_total = 0;  // 0 when unknown (stdin)
    double seconds = 0;
    size_t file_index = 0;
    size_t file_count = 0;
    std::string current_file;
    bool finished = false;
};

// The `import --json` object: read, stored, duplicate, invalid, invalid_by_reason (+ seconds).
std::string importSummaryJson(const ImportProgress& p);

// progress is called about every `progress_interval_ms` and once at the end (finished = true).
Expected<ImportProgress> runImport(Store& store, const std::vector<std::string>& files,
                                   const std::function<void(const ImportProgress&)>& progress,
                                   const std::atomic<bool>* cancel = nullptr, int progress_interval_ms = 1000);

}  // namespace archivist::engine
