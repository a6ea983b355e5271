#pragma once
// Long-running maintenance over an open data directory: verify, reindex, export, stats.
// Each takes a progress callback (called about once a second) and an optional cancel flag, so the
// command line and the console's File menu share one implementation.
// Thread: the caller's; the Store's pipeline must not be running (these use the writer's index
// connection or read-only connections).
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/store.h"
#include "core/protocol/filter.h"
#include "core/util/expected.h"

namespace archivist::engine {

struct WorkProgress {
    std::string phase;
    uint64_t done = 0;
    uint64_t total = 0;  // 0 when unknown
    double seconds = 0;
};
using ProgressFn = std::function<void(const WorkProgress&)>;

struct VerifyReport {
    uint64_t archived_events = 0;  // lines in the archive
    uint64_t indexed_events = 0;   // rows in the index
    uint64_t frames = 0;
    uint64_t segments = 0;
    uint64_t problems = 0;
    std::vector<std::string> details;  // first kMaxDetails problems, human readable
    static constexpr size_t kMaxDetails = 100;
    uint64_t damaged_regions = 0;      // damage found in the segments (not yet quarantined)
    uint64_t quarantine_pending = 0;   // quarantine entries awaiting salvage (each is a problem)
    uint64_t quarantine_done = 0;      // salvaged or accepted entries (listed in notes, not problems)
    std::vector<std::string> notes;    // quarantine entries that need nothing more, human readable
    bool ok() const { return problems == 0; }
};
// Archive ↔ index agreement: every archived frame is indexed with the same length, line count and
// checksum; every archived line is a valid event whose index row points back at that exact frame
// and line; no indexed frame or event is missing from the archive; counts agree. Damage in a
// segment is reported and the check goes on after it; quarantine entries not yet salvaged (or
// accepted as lost) are problems.
Expected<VerifyReport> verifyStore(Store& store, const ProgressFn& progress, const std::atomic<bool>* cancel = nullptr);

struct ReindexReport {
    uint64_t frames = 0;
    uint64_t events = 0;
    uint64_t damaged_lines = 0;
    uint64_t duplicate_lines = 0;
    archive::RecoveryReport recovery;  // what the walk cut or quarantined
};
// Builds a new index generation from the segments (bulk: core/index/bulk_build.h) and puts it in
// place of the current one (sightings are not in the archive and are lost; each event's
// first_seen_at becomes the reindex time). The pipeline must not be running.
Expected<ReindexReport> reindexStore(Store& store, const ProgressFn& progress, const std::atomic<bool>* cancel = nullptr);

// Streams matching events oldest first (created_at ASC, id ASC) as canonical JSONL to `out`.
// Each line holds exactly the seven NIP-01 fields. Returns the number written. With `seen_by`, only
// events that source (a relay URL or other source name, exact) carried, according to the sightings.
// A frame that cannot be read (damaged or quarantined) is an error ("corrupt"), unless
// `skipped_damaged` is given: then its events are left out and counted there.
Expected<uint64_t> exportEvents(Store& store, const std::vector<protocol::Filter>& filters, std::FILE* out,
                                const ProgressFn& progress, const std::atomic<bool>* cancel = nullptr,
                                const std::string& seen_by = {}, uint64_t* skipped_damaged = nullptr);

struct StoreStats {
    uint64_t events = 0;
    uint64_t frames = 0;
    uint32_t segments = 0;
    uint64_t archive_bytes = 0;
    uint64_t index_bytes = 0;
    std::vector<std::pair<uint16_t, uint64_t>> kinds;
    bool fts = false;
    uint64_t parts = 0;      // immutable parts of the index
    uint64_t buckets = 0;    // months holding parts
    uint64_t hot_files = 0;  // the writer lanes' files (active and frozen)
};
Expected<StoreStats> storeStats(Store& store);
std::string statsJson(const StoreStats& s);

}  // namespace archivist::engine
