#pragma once
// One relay as the console sees it: a row of EngineSnapshot::relays. A value (copied across
// threads with the snapshot); only engine, observe and protocol types, so ui/ needs nothing from
// core/net or core/relays. EngineImpl fills it from the connection's status, the pipeline's
// per-source outcome and the relay intelligence's brief (relayRow() in relay_rows.h).
#include <array>
#include <cstdint>
#include <string>

#include "core/observe/relay_state.h"
#include "core/protocol/event.h"

namespace archivist::engine {

using observe::BackfillState;
using observe::EventRefusal;
using observe::RelayState;

struct RelayRow {
    std::string url;
    std::string source;
    RelayState state = RelayState::Candidate;
    int64_t state_since_ms = 0;
    int64_t connected_since_ms = 0;   // 0 when not connected
    int consecutive_failures = 0;
    int64_t next_attempt_ms = 0;      // when backing off
    std::string last_error;           // "reason: detail"
    std::string last_notice;
    int64_t rtt_ms = -1;              // last ping round trip
    // Traffic (this run).
    uint64_t connects = 0;
    uint64_t messages = 0;
    uint64_t bytes_received = 0;
    uint64_t bytes_sent = 0;
    uint64_t events_received = 0;     // EVENT messages, refused ones included
    uint64_t notices = 0;
    uint64_t closed_by_relay = 0;
    uint64_t auth_attempts = 0;
    uint64_t auth_failures = 0;
    uint64_t rate_limited = 0;        // "rate-limited:" answers from the relay
    uint64_t flood_pauses = 0;        // our rate limiter paused unsolicited traffic
    uint64_t bad_messages = 0;
    uint64_t read_pauses = 0;
    int64_t paused_ms_total = 0;
    bool reading_paused = false;
    int64_t buffered_bytes = 0;
    // What became of its events: the pipeline's outcome, and what subscription discipline
    // refused before the pipeline (by EventRefusal, index = value − 1).
    uint64_t stored = 0, duplicate = 0, invalid = 0;
    std::array<uint64_t, size_t(protocol::Reject::Count)> invalid_by_reason{};
    std::array<uint64_t, observe::kEventRefusalReasons> refused_by_reason{};
    // Sync.
    int64_t live_cursor = -1;         // -1 unknown
    BackfillState backfill = BackfillState::NotStarted;
    double backfill_fraction = 0;     // 0…1 of the historical range
    int64_t backfill_cursor = -1;     // oldest second reached
    uint64_t backfill_queries = 0;
    uint64_t backfill_gaps = 0;
    bool catching_up = false;
    // NIP-77 reconciliation (docs/backfill.md).
    observe::SyncMethod method = observe::SyncMethod::Req;
    observe::NegentropySupport negentropy = observe::NegentropySupport::Unknown;  // judged by behaviour
    std::string negentropy_reason;    // why unusable
    int64_t negentropy_retry_after_ms = 0;
    bool reconciling = false;
    bool reconcile_periodic = false;
    double reconcile_fraction = 0;
    int64_t reconciled_ms = 0;        // last completed pass over the whole history, 0 = never
    uint64_t reconcile_windows = 0, reconcile_splits = 0;
    uint64_t reconcile_missing = 0;   // events fetched because reconciliation found them missing (this run)
    uint64_t late_events = 0;         // of those, older than the live cursor at the pass start (all runs)
    // NIP-11 summary.
    std::string info_name;
    std::string info_software;
    uint32_t max_limit = 0;           // 0 = not advertised
    bool auth_required = false;
    bool payment_required = false;
    bool supports_negentropy = false;
    // Relay intelligence (from the directory).
    bool pinned = false;
    double score = -1;                // -1 = not scored yet
    double uptime_24h = -1;           // 0 … 1, -1 unknown

    uint64_t refused() const {
        uint64_t n = 0;
        for (uint64_t r : refused_by_reason) n += r;
        return n;
    }
};

}  // namespace archivist::engine
