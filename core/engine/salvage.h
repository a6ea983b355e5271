#pragma once
// Salvage: find every damaged region of the archive, quarantine it, and recover what it still
// holds (decision 0013; `archivist salvage`, File → Salvage… in the console).
//
//  1. Scan: every segment is read frame by frame; after damage the scan resynchronises on the next
//     valid frame (core/archive/quarantine.h). Each damaged region is quarantined — bytes copied
//     to archive/quarantine/, the segment rewritten with a marker of the same length — together
//     with the number of events the index held in it.
//  2. If the index held events in a quarantined region, the index is rebuilt from the archive
//     (hooks.rebuild_index), so it forgets them; everything else keeps its place.
//  3. Every pending quarantine entry is salvaged: each intact frame and every complete line of a
//     damaged frame is stored again through the ingest pipeline (hooks.store_lines), which
//     re-verifies each (id and signature) and skips events already archived; the entry records
//     what was recovered and what is lost (exactly when the index knew the count, else an
//     estimate from the damaged frames' declared size), and becomes "salvaged".
//  4. With accept_loss, entries salvage could not read (their bytes missing or altered) are
//     marked "accepted" instead of staying pending.
// `archivist verify` fails while any entry is pending.
// Thread: the caller's (a job thread); the hooks run on it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/archive/quarantine.h"
#include "core/engine/maintenance.h"
#include "core/engine/store.h"
#include "core/util/expected.h"

namespace archivist::engine {

struct SalvageOptions {
    bool accept_loss = false;
};

struct StoredCounts {
    uint64_t stored = 0;
    uint64_t duplicate = 0;
    uint64_t invalid = 0;
};

struct SalvageHooks {
    // Rebuilds the index from the archive (CLI: reindexStore; console: the live rebuild).
    std::function<Expected<void>(const ProgressFn&)> rebuild_index;
    // Stores these lines (one event JSON each, no newline) as source `source`, returns once each
    // has settled.
    std::function<Expected<StoredCounts>(const std::string& source, std::vector<std::string>&& lines)> store_lines;
};

struct SalvagedEntry {
    archive::QuarantineEntry entry;  // as saved after processing
    uint64_t intact_frames = 0;
    uint64_t damaged_frames = 0;
    uint64_t invalid_lines = 0;      // decoded, but not a valid event (id or signature)
    std::string error;               // why it could not be processed (then it stays pending or is accepted)
};

struct SalvageReport {
    uint64_t segments = 0;
    uint64_t frames_scanned = 0;
    uint64_t regions_quarantined = 0;  // damage found by this scan
    bool index_rebuilt = false;
    std::vector<SalvagedEntry> processed;
    uint64_t recovered = 0, restored = 0, lost = 0;
    bool lost_is_estimate = false;
    uint64_t accepted = 0;
    uint64_t still_pending = 0;
};

// The store_lines hook the command line and the console share: submits `lines` to the running
// pipeline as source `source` and waits until each has settled. Stops with an error on `cancel`
// ("cancelled"), when the writer failed, or — stop_on_disk_trouble — when it pauses on a full or
// failing disk (code "disk_full" or "io").
Expected<StoredCounts> storeLines(Store& store, const std::string& source, std::vector<std::string>&& lines,
                                  const std::atomic<bool>* cancel, bool stop_on_disk_trouble);

Expected<SalvageReport> salvageStore(Store& store, const SalvageOptions& options, const SalvageHooks& hooks,
                                     const ProgressFn& progress, const std::atomic<bool>* cancel = nullptr);

// The report for people, one item per line.
std::vector<std::string> describeSalvage(const SalvageReport& r);
// The report as one JSON object (`salvage --json`).
std::string salvageJson(const SalvageReport& r);

}  // namespace archivist::engine
