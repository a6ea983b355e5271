#pragma once
// Import of JSONL / JSONL.zst files (strfry and nak export format: one event object per line) into
// an open Store. Blank lines are skipped; every other line is "read" and ends up stored,
// duplicate or invalid (with a reason). Each file is its own source ("import:<file name>").
// The call returns when every line read has settled (committed or rejected), or early when
// cancelled or (stop_on_disk_trouble) when the writer pauses on a full or failing disk; then
// `stopped` says why. Counts are durable facts: "stored" counts only committed events. Lines still
// in the pipeline when it returns early may be committed by Store::shutdown(): call
// refreshImportCounts() after it for the final figures (not_stored = read − settled).
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
    uint64_t not_stored = 0;     // read but not settled (after an early stop)
    std::string stopped;         // "" ran to the end; "cancelled"; or the writer's error (disk)
    bool writer_paused = false;  // the writer is retrying a failed commit (intake paused)
    std::string writer_error;
    // Each file's source and its counters when the import started (for refreshImportCounts).
    struct Baseline {
        ingest::SourceId id = 0;
        ingest::SourceSnapshot base;
    };
    std::vector<Baseline> sources;
};

// Recomputes stored/duplicate/invalid and not_stored from the source counters (e.g. after
// Store::shutdown() committed what was in flight).
void refreshImportCounts(ImportProgress& p, const ingest::SourceTable& table);

// The `import --json` object: read, stored, duplicate, invalid, not_stored, invalid_by_reason (+ seconds).
std::string importSummaryJson(const ImportProgress& p);

// progress is called about every `progress_interval_ms` and once at the end (finished = true).
// Errors: "io" for an unreadable input or a writer that stopped, "capacity" for the source table.
Expected<ImportProgress> runImport(Store& store, const std::vector<std::string>& files,
                                   const std::function<void(const ImportProgress&)>& progress,
                                   const std::atomic<bool>* cancel = nullptr, int progress_interval_ms = 1000,
                                   bool stop_on_disk_trouble = false);

}  // namespace archivist::engine
