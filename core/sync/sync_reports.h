#pragma once
// SyncReports: what a relay's sync (sync::RelaySync) tells the owner of relay state
// (relays::RelayStateOwner) — the live cursor, backfill checkpoints and gaps — once the events
// they cover have settled in the pipeline. A narrow interface of value reports, like EventSink:
// the network threads never touch SQLite and never wait for it.
//
// Contract (every implementation)
// - Thread: any. Never blocks.
// - Reports of one relay are coalesced (the highest cursor, the newest checkpoint, every gap in
//   order) and written in one transaction, so the checkpoint and the gaps it took are durable
//   together. None is lost: when the owner cannot take a report now (its bounded inbox is full)
//   it returns false and the caller keeps the report and offers it again.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/observe/relay_state.h"
#include "core/sync/backfill_planner.h"

namespace archivist::sync {

// What the relay's behaviour says about its NIP-77 support (docs/backfill.md).
struct NegentropyVerdict {
    observe::NegentropySupport support = observe::NegentropySupport::Unknown;
    std::string reason;           // why unusable ("closed: …", "notice: …", "timeout", "malformed: …"); bounded
    int64_t retry_after_ms = 0;   // unusable: not tried again before this wall-clock time

    bool operator==(const NegentropyVerdict&) const = default;
};

struct SyncProgress {
    std::string url;
    std::optional<int64_t> live_cursor;              // everything the relay sent up to this second has settled
    std::optional<std::string> backfill_checkpoint;  // BackfillPlanner::checkpoint() after the last completed query
    bool backfill_done = false;                      // meaningful with backfill_checkpoint
    std::vector<BackfillGap> gaps;                   // windows that could not be covered, oldest first
    int64_t at_ms = 0;                               // when the gaps were found (recorded_at)
    std::optional<NegentropyVerdict> negentropy;     // the newest verdict (settled or not: it is about the relay)
    std::optional<int64_t> reconciled_ms;            // a reconciliation of the whole history completed (settled)
    uint64_t late_events = 0;                        // events it found missing that predate the previous pass (added)
};

class SyncReports {
public:
    virtual ~SyncReports() = default;
    virtual bool reportProgress(const SyncProgress& progress) = 0;
};

// What a relay's sync resumes from: read from the directory by the owner when it adds the relay
// to the pool (RelaySync's constructor takes it).
struct SyncResume {
    std::optional<int64_t> live_cursor;  // created_at second up to which everything is committed
    std::string backfill_checkpoint;     // "" = not started
    bool backfill_done = false;
    NegentropyVerdict negentropy;
    int64_t reconciled_ms = 0;           // 0 = never
    uint64_t late_events = 0;
};

}  // namespace archivist::sync
