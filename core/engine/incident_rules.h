#pragma once
// Incident rules: deterministic functions over two consecutive engine snapshots (previous,
// current) that decide which alerts to raise. The thresholds and their meaning are documented
// in docs/incidents.md; a test checks each rule fires at its threshold and not below.
//
// Contract
// - evaluateIncidentRules() reads only the two snapshots, the thresholds and the small rule state
//   (since when each condition holds); "now" is current.taken_at_ms. It raises nothing itself:
//   the caller feeds the result to an observe::IncidentLog, then calls resolveQuiet().
// - Event rules (flooding, rate limited, invalid signatures, auth failures, address refusals,
//   slow commits, write errors, relay-state write errors, events off subscription) compare
//   counters between the two snapshots and yield one event occurrence per tick in which they
//   grew past the threshold.
// - Condition rules (relay down / connection refused / DNS failure, stalled, offline, queue near
//   capacity, index behind, low disk, intake paused, archive damage awaiting salvage, sink failing
//   / behind) yield a level occurrence on every tick while their condition has held for at least
//   its hold time; when they stop, the log resolves the alert.
// - Work the operator asked for is not a fault: a queue filled by an import or a backfill
//   (backpressure by design) does not count as near capacity, answers to our own queries never
//   count as a flood, and a commit is slow only for its size.
// - A relay that is absent from the previous snapshot (new, or the first tick) has no deltas.
// Thread: any (no shared state; the rule state belongs to the caller).
#include <QString>
#include <QVector>
#include <map>
#include <string>
#include <vector>

#include "core/engine/engine.h"
#include "core/observe/incidents.h"

namespace archivist::engine {

// Gauge thresholds shared by the incident rule and the console's Memory panel: a queue or cache
// at or above kQueueWarnFraction of its capacity is amber, at or above kQueueNearCapacityFraction
// red (and, after kQueueNearCapacityHoldMs, an incident).
inline constexpr double kQueueWarnFraction = 0.70;
inline constexpr double kQueueNearCapacityFraction = 0.90;
// A gauge named "… cache" is a cache, not a queue: full is its normal state (it evicts), so it
// raises no queue_near_capacity incident and the Memory panel does not colour it.
inline bool isCacheGauge(const QString& name) { return name.endsWith(QLatin1String(" cache")); }

struct IncidentThresholds {
    uint64_t flood_pauses_per_tick = 1;          // relay_flooding: our flood limit paused unsolicited traffic
    uint64_t rate_limited_per_tick = 1;          // relay_rate_limited: the relay answered rate-limited
    uint64_t invalid_sig_per_tick = 10;          // invalid_signature_spike: bad signatures grew by ≥ this …
    double invalid_sig_share = 0.5;              // … or were ≥ this share of the relay's events that tick
    uint64_t invalid_sig_share_min = 3;          //     (share rule only with at least this many)
    uint64_t auth_failures_per_tick = 1;         // auth_failures
    uint64_t address_refusals_per_tick = 1;      // address_refused
    qint64 relay_down_hold_ms = 20000;           // relay_down / connection_refused / dns_failure
    qint64 offline_hold_ms = 15000;              // offline: no relay connected for this long
    double queue_fraction = kQueueNearCapacityFraction;  // queue_near_capacity: depth ≥ fraction × capacity …
    qint64 queue_hold_ms = 10000;                // … continuously for at least this long
    double slow_commit_mean_s = 0.5;             // slow_commits: mean commit time in the tick ≥ this …
    double slow_commit_s_per_event = 0.001;      // … and ≥ this per event committed (a big group may take long)
    qint64 index_behind_hold_ms = 30000;         // index_behind: events wait for the writer, no commit for this long
    qint64 low_disk_bytes = qint64(1) << 30;     // low_disk: free bytes below this …
    double low_disk_fraction = 0.02;             // … or below this share of the file system
    uint64_t write_errors_per_tick = 1;          // write_errors: failed commit attempts grew by ≥ this
    uint64_t sink_failures = 3;                  // sink_failing: this many sink failures in a row
    double sink_lag_s = 300;                     // sink_behind: oldest unshipped event archived this long ago
    uint64_t relay_state_errors_per_tick = 1;    // relay_state_write_errors: failed relays.sqlite writes grew by ≥ this
    uint64_t refused_events_per_tick = 1;        // events_off_subscription: a relay's refused events grew by ≥ this
};

// What the rules remember between ticks: since when each condition holds. Bounded: one entry
// per condition holding now (a relay's reachability, each queue, offline, index behind).
struct IncidentRuleState {
    std::map<std::string, qint64> holding;  // condition key → since (ms)
    quint64 writer_commits = 0;             // index_behind: commits when the writer queue was last seen moving
};

struct RaisedIncident {
    observe::IncidentKind kind = observe::IncidentKind::Count;
    observe::IncidentSeverity severity = observe::IncidentSeverity::Info;
    std::string relay;
    std::string message;
    bool level = false;  // a condition that holds now (see observe::IncidentLog)
};

// The alert a relay's failure is reported as (relay_down, connection_refused or dns_failure),
// from its state and last error. Count when the relay is not failing.
observe::IncidentKind relayFailureKind(const RelayRow& r);

std::vector<RaisedIncident> evaluateIncidentRules(const EngineSnapshot& previous, const EngineSnapshot& current,
                                                  const IncidentThresholds& thresholds, IncidentRuleState& state);

}  // namespace archivist::engine
