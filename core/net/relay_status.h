#pragma once
// Value snapshot of one relay connection, published for the engine snapshot, the console, the
// headless status line and tests. No pointers; copied across threads.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/protocol/event.h"

namespace archivist::net {

enum class RelayState : uint8_t {
    Idle,          // not started
    Resolving,     // DNS + address policy
    FetchingInfo,  // NIP-11 document
    Connecting,    // TCP/TLS/websocket upgrade
    Open,          // subscriptions running
    BackingOff,    // waiting before the next attempt after a failure
    Failing,       // backing off after many consecutive failures (still retried, at the cap)
    Refused,       // the address policy refused every address: not retried until the policy changes
    Restricted,    // the relay answered restricted:/blocked: (or auth failed): we stopped asking
    Blocked,       // blocked by the operator
    Stopped,       // disconnected by the operator or shutting down
};
const char* relayStateName(RelayState s);

enum class BackfillState : uint8_t { NotStarted, Waiting /* for a slot */, Running, Done, Disabled };
const char* backfillStateName(BackfillState s);

struct RelayStatusView {
    std::string url;
    std::string source;
    RelayState state = RelayState::Idle;
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
    uint64_t events_received = 0;
    uint64_t notices = 0;
    uint64_t closed_by_relay = 0;     // CLOSED messages
    uint64_t auth_attempts = 0;
    uint64_t auth_failures = 0;
    uint64_t rate_limited = 0;        // rate-limited: answers + local rate limiter pauses
    uint64_t bad_messages = 0;        // unparseable relay messages
    uint64_t read_pauses = 0;         // reading paused (rate limit or full pipeline)
    int64_t paused_ms_total = 0;
    bool reading_paused = false;
    int64_t buffered_bytes = 0;       // memory held by this connection right now
    // Pipeline outcome of this relay's events (from the source table).
    uint64_t stored = 0, duplicate = 0, invalid = 0;
    std::array<uint64_t, static_cast<size_t>(protocol::Reject::Count)> invalid_by_reason{};
    // Sync.
    int64_t live_cursor = -1;         // persisted; -1 unknown
    BackfillState backfill = BackfillState::NotStarted;
    double backfill_fraction = 0;     // 0…1 of the historical range
    int64_t backfill_cursor = -1;     // oldest second reached
    uint64_t backfill_queries = 0;
    uint64_t backfill_gaps = 0;
    bool catching_up = false;
    // NIP-11 summary.
    std::string info_name;
    std::string info_software;
    uint32_t max_limit = 0;           // 0 = not advertised
    bool auth_required = false;
    bool payment_required = false;
    bool supports_negentropy = false;
    // Relay intelligence, filled in by the engine from the directory (not by the connection).
    bool pinned = false;
    double score = -1;                // -1 = not scored yet
    double uptime_24h = -1;           // 0 … 1, -1 unknown
};

}  // namespace archivist::net
