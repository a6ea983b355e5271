#pragma once
// Value snapshot of one relay connection, published by the connection four times a second for
// the engine (which turns it into the snapshot's engine::RelayRow), the headless summary and
// tests. No pointers; copied across threads.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/observe/relay_state.h"
#include "core/protocol/event.h"

namespace archivist::net {

// The query side of the relay, filled in by its SessionDriver (sync::RelaySync).
struct SyncStatus {
    int64_t live_cursor = -1;         // persisted or about to be; -1 unknown
    observe::BackfillState backfill = observe::BackfillState::NotStarted;
    double backfill_fraction = 0;     // 0…1 of the historical range
    int64_t backfill_cursor = -1;     // oldest second reached
    uint64_t backfill_queries = 0;
    uint64_t backfill_gaps = 0;
    bool catching_up = false;
    size_t subscriptions = 0;         // REQ subscriptions open now
    // NIP-77 reconciliation (docs/backfill.md).
    observe::SyncMethod method = observe::SyncMethod::Req;
    observe::NegentropySupport negentropy = observe::NegentropySupport::Unknown;  // judged by behaviour
    std::string negentropy_reason;    // why unusable
    int64_t negentropy_retry_after_ms = 0;
    bool reconciling = false;         // a pass is running
    bool reconcile_periodic = false;  // … and it is the periodic one
    double reconcile_fraction = 0;    // of the running pass
    int64_t reconciled_ms = 0;        // the last completed pass over the whole history (0 = never)
    uint64_t reconcile_windows = 0;   // this run
    uint64_t reconcile_splits = 0;    // windows halved after a size refusal (this run)
    uint64_t reconcile_missing = 0;   // events the relay had and we lacked, fetched by reconciliation (this run)
    uint64_t late_events = 0;         // of those, older than the live cursor at the pass start (all runs)
};

struct RelayStatusView {
    std::string url;
    std::string source;
    observe::RelayState state = observe::RelayState::Candidate;
    int64_t state_since_ms = 0;
    int64_t connected_since_ms = 0;   // 0 when not open
    int consecutive_failures = 0;
    int64_t next_attempt_ms = 0;      // when backing off
    std::string last_error;           // "reason: detail"
    std::string last_notice;          // bounded
    int64_t rtt_ms = -1;              // last ping round trip
    // Traffic (this run).
    uint64_t connects = 0;
    uint64_t messages = 0;
    uint64_t bytes_received = 0;
    uint64_t bytes_sent = 0;          // text messages we sent, WebSocket framing included
    uint64_t events_received = 0;     // EVENT messages, refused ones included
    uint64_t notices = 0;
    uint64_t closed_by_relay = 0;     // CLOSED messages
    uint64_t auth_attempts = 0;
    uint64_t auth_failures = 0;
    uint64_t rate_limited = 0;        // "rate-limited:" answers from the relay (CLOSED)
    uint64_t flood_pauses = 0;        // reading paused by our rate limiter: unsolicited traffic over the limit
    uint64_t bad_messages = 0;        // unparseable relay messages
    uint64_t read_pauses = 0;         // reading paused (rate limit or full pipeline)
    int64_t paused_ms_total = 0;
    bool reading_paused = false;
    int64_t buffered_bytes = 0;       // memory held by this connection right now
    uint64_t unreported = 0;          // reports the owner of relay state has not taken yet (retried)
    // Events refused by subscription discipline (never handed to the pipeline), by
    // observe::EventRefusal (index = value − 1).
    std::array<uint64_t, observe::kEventRefusalReasons> refused_by_reason{};
    // NIP-11 summary.
    std::string info_name;
    std::string info_software;
    uint32_t max_limit = 0;           // 0 = not advertised
    bool auth_required = false;
    bool payment_required = false;
    bool supports_negentropy = false;
    SyncStatus sync;
};

}  // namespace archivist::net
