#pragma once
// `archivist snapshot`: the archive as files that analysis tools read directly (docs/analysis.md).
//
// The output directory gets archive segments (docs/archive-format.md) and manifest.json:
// - unfiltered: every sealed segment as a hard link (a copy when the output is on another file
//   system) after it was read through and verified; the open segment's committed frames (up to
//   the index watermark) rewritten as a complete segment of the same number — DuckDB silently
//   drops a truncated last frame, so the open file itself is never handed over;
// - with --since/--until/--kinds: new segments holding just the matching events, numbered from 1.
// Verified: every frame decodes with its zstd and frame checksums, and every line is an event
// whose id matches its content. The manifest counts what the files hold — events, per kind, per
// UTC day, created_at range, and per file bytes, events and SHA-256 — and the index's count for
// the same range (engine/research_stats.h, whole UTC days), which it must equal.
// Thread: the caller's; the Store's pipeline must not be running.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/maintenance.h"
#include "core/engine/research_stats.h"

namespace archivist::engine {

struct SnapshotOptions {
    std::filesystem::path output;  // created; must be empty if it exists
    std::optional<int64_t> since;  // unix seconds: from the start of its UTC day
    std::optional<int64_t> until;  // unix seconds: to the end of its UTC day
    std::vector<uint16_t> kinds;
};

struct SnapshotReport {
    struct File {
        std::string name;
        uint64_t bytes = 0;
        uint64_t events = 0;
        std::string sha256;
        bool linked = false;  // a hard link of the sealed segment
    };
    std::vector<File> files;
    uint64_t events = 0;
    std::map<uint16_t, uint64_t> kinds;
    std::map<std::string, uint64_t> days;
    std::optional<int64_t> created_min, created_max;
    uint64_t index_events = 0;  // the rollups' count for the same range and kinds
    uint64_t archived_duplicates = 0;  // events met again in the archive (written once)
    std::string manifest;  // manifest.json's text
};

Expected<SnapshotReport> snapshotStore(Store& store, const SnapshotOptions& options, const ProgressFn& progress = {},
                                       const std::atomic<bool>* cancel = nullptr);

}  // namespace archivist::engine
