#pragma once
// The one vocabulary of relay states. The connection's state machine moves through it, the relay
// database stores it (by relayStateName), the engine snapshot, every console panel and the
// command line show it. Its human texts live in one translation table (ui/relays_model.cpp,
// relayStateText). Names are stable: they are stored in relays.sqlite, printed by
// `archivist relays` and the headless summary, and used as the `state` label on /metrics.
// Thread: any (pure functions).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace archivist::observe {

enum class RelayState : uint8_t {
    Candidate,     // "candidate": known, not being connected (never started, or reset at engine start)
    Resolving,     // "resolving": DNS + address policy
    FetchingInfo,  // "fetching_info": the NIP-11 document
    Connecting,    // "connecting": TCP/TLS/websocket upgrade
    Connected,     // "connected": subscriptions running
    BackingOff,    // "backing_off": waiting before the next attempt after a failure
    Failing,       // "failing": backing off after many consecutive failures (still retried, at the cap)
    Refused,       // "refused": the address policy refused every address (not retried until it changes)
    Restricted,    // "restricted": the relay answered restricted:/blocked: or refused our AUTH
    Blocked,       // "blocked": blocked by the operator
    Stopped,       // "stopped": disconnected on purpose (the operator, the optimizer dropping it, shutdown)
    Count
};
inline constexpr size_t kRelayStateCount = size_t(RelayState::Count);

const char* relayStateName(RelayState s);
// Inverse of relayStateName; nullopt-like RelayState::Count when the name is unknown.
RelayState relayStateFromName(std::string_view name);

// Trying to connect or connected: what a previous run may have left in the database and what
// must not outlive it (reset to Candidate at engine start).
bool isLiveState(RelayState s);
// The operator or the relay said no, or the relay keeps failing: nothing to wait for.
bool isUnreachableState(RelayState s);

// Subscription discipline: what a relay sends must belong to a subscription we opened and match
// its filter. Events refused for it are counted against the relay by reason — in the Relays
// panel, on /metrics and in `archivist relays --json` — and never stored.
enum class EventRefusal : uint8_t {
    None,                 // accepted
    UnknownSubscription,  // "unknown_subscription": an id we never opened (or closed long ago)
    OutsideFilter,        // "outside_filter": kinds/authors/tags/ids or since/until of that REQ do not match
    Count
};
// Counters of refusals are arrays over the reasons: index = size_t(refusal) − 1.
inline constexpr size_t kEventRefusalReasons = size_t(EventRefusal::Count) - 1;
const char* eventRefusalName(EventRefusal r);  // "accepted", "unknown_subscription", "outside_filter"

enum class BackfillState : uint8_t {
    NotStarted,  // "not_started"
    Waiting,     // "waiting": for a backfill slot
    Running,     // "running"
    Done,        // "done"
    Disabled,    // "disabled": backfill is off
    Count
};
const char* backfillStateName(BackfillState s);

// NIP-77 support of a relay, judged by what it does (docs/backfill.md, "Support judged by
// behaviour"), not by what its NIP-11 document lists. Persisted in relays.sqlite by name.
enum class NegentropySupport : uint8_t {
    Unknown,   // "unknown": never tried (a relay that lists 77, or not yet probed once)
    Usable,    // "usable": a reconciliation completed
    Unusable,  // "unusable": NOTICE / CLOSED / NEG-ERR / silence / malformed; retried after retry_after
    Count
};
const char* negentropySupportName(NegentropySupport s);
NegentropySupport negentropySupportFromName(std::string_view name);  // Unknown for any other text

// How a relay's history is kept complete right now: "negentropy" (reconciliation windows),
// "req" (REQ pagination: the relay does not support NIP-77 or its retry-after has not passed).
enum class SyncMethod : uint8_t { Negentropy, Req, Count };
const char* syncMethodName(SyncMethod m);

}  // namespace archivist::observe
