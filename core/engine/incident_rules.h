#pragma once
// Incident rules: deterministic functions over two consecutive engine snapshots (previous,
// current) that decide which incidents to raise. The thresholds and their meaning are documented
// in docs/incidents.md; a test checks each rule fires at its threshold and not below.
//
// Contract
// - evaluateIncidentRules() reads only the two snapshots, the thresholds and the small rule state
//   (how long each queue has been near capacity); "now" is current.taken_at_ms. It raises
//   nothing itself: the caller feeds the result to an observe::IncidentLog.
// - Rate rules (flooding, rate limited, invalid signatures, auth failures, address refusals,
//   slow commits, write errors) compare counters between the two snapshots and yield one
//   occurrence per tick in which they grew past the threshold. Level rules (stalled, queue near
//   capacity, low disk) yield one occurrence when the condition starts, and again only after it
//   ended and started anew.
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
    uint64_t flooding_read_pauses_per_tick = 3;  // relay_flooding: read pauses grew by ≥ this
    uint64_t rate_limited_per_tick = 1;          // relay_rate_limited: rate_limited grew by ≥ this
    uint64_t invalid_sig_per_tick = 10;          // invalid_signature_spike: bad signatures grew by ≥ this …
    double invalid_sig_share = 0.5;              // … or were ≥ this share of the relay's events that tick
    uint64_t invalid_sig_share_min = 3;          //     (share rule only with at least this many)
    uint64_t auth_failures_per_tick = 1;         // auth_failures
    uint64_t address_refusals_per_tick = 1;      // address_refused
    double queue_fraction = kQueueNearCapacityFraction;  // queue_near_capacity: depth ≥ fraction × capacity …
    qint64 queue_hold_ms = 2000;                 // … continuously for at least this long
    double slow_commit_mean_s = 0.5;             // slow_commits: mean commit time in the tick ≥ this
    qint64 low_disk_bytes = qint64(1) << 30;     // low_disk: free bytes below this …
    double low_disk_fraction = 0.02;             // … or below this share of the file system
    uint64_t write_errors_per_tick = 1;          // write_errors: failed commit attempts grew by ≥ this
};

// What the rules remember between ticks. Bounded: one entry per queue name in the current
// snapshot (names that disappear are dropped).
struct IncidentRuleState {
    struct QueueHigh {
        qint64 since_ms = 0;
        bool raised = false;
    };
    std::map<QString, QueueHigh> queues;
    bool low_disk = false;
};

struct RaisedIncident {
    observe::IncidentKind kind = observe::IncidentKind::Count;
    observe::IncidentSeverity severity = observe::IncidentSeverity::Info;
    std::string relay;
    std::string message;
};

std::vector<RaisedIncident> evaluateIncidentRules(const EngineSnapshot& previous, const EngineSnapshot& current,
                                                  const IncidentThresholds& thresholds, IncidentRuleState& state);

}  // namespace archivist::engine
