#pragma once
// Relay scoring (issue 5, part 5): one number per relay that the optimizer ranks by, and the parts
// it is made of (what the Scoring panel shows). docs/relay-scoring.md gives the formula, every
// constant and a worked example.
//
// Contract
// - Pure and deterministic: no clock (now is an input), no I/O, no state. The same inputs and
//   params always give the same breakdown, bit for bit.
// - Inputs come from windowed statistics (docs/relay-scoring.md, "Inputs"): rates are per
//   connected hour, -1 marks an unknown value. Out-of-range or non-finite inputs are clamped or
//   treated as unknown; they never produce NaN.
// - Components are 0 … 1 or -1 (unknown). `total` is ≥ 0 and may exceed 1 by at most the
//   exploration bonus.
// Thread: any (no shared state).
#include <cstdint>

namespace archivist::relays {

struct ScoreInputs {
    double novel_per_hour = 0;                 // novel events (first sighting in the archive) per connected hour
    double network_median_novel_per_hour = 0;  // median of novel_per_hour over relays with data
    double rejected_fraction = -1;             // rejected / received over the window, -1 unknown
    double uptime_24h = -1;                    // 0 … 1, -1 unknown
    double uptime_7d = -1;                     // 0 … 1, -1 unknown
    int64_t rtt_ms = -1;                       // open round trip (probe or connection), -1 unknown
    double observed_hours = 0;                 // connected hours in the window (0 = no observation)
    int tries = 0;                             // connection attempts ever
    int consecutive_failures = 0;
    bool seed = false;                         // from the built-in seed list
    bool pinned = false;                       // pinned by the operator
};

struct ScoreParams {
    // Value assumed for a component that has not been observed: the median relay (novelty 0.5).
    double prior = 0.5;
    // A network median below this (including 0: nothing observed yet) is taken as this, so the
    // ratio novel/median stays finite and a relay needs at least this rate to score 0.5 novelty.
    double min_median_novel_per_hour = 1.0;
    // uptime = w·uptime_24h + (1 − w)·uptime_7d when both are known, else the known one.
    double uptime_24h_weight = 0.5;
    // latency = 1 at or below good, 0 at or above bad, linear between.
    int64_t latency_good_ms = 100;
    int64_t latency_bad_ms = 2000;
    // Component weights (normalised by their sum).
    double weight_novelty = 0.55;
    double weight_uptime = 0.20;
    double weight_latency = 0.10;
    double weight_rejection = 0.15;
    // confidence = observed_hours / (observed_hours + confidence_hours): weight of the observed
    // novelty and rejection against the prior.
    double confidence_hours = 0.5;
    // exploration = bonus · exp(−observed_hours / exploration_hours − tries / exploration_tries).
    double exploration_bonus = 0.3;
    double exploration_hours = 1.0;
    double exploration_tries = 3.0;
    // (quality + exploration) is multiplied by failure_factor per consecutive failure.
    double failure_factor = 0.85;
    // Seeds and pinned relays never score below this.
    double floor = 0.5;
};

// Maps field by field onto engine::ScoreView (total … floor_applied); quality and failure_multiplier
// are the intermediate values the document's worked example shows.
struct ScoreBreakdown {
    double total = 0;
    double novelty = -1;     // raw, before blending with the prior; -1 unknown
    double uptime = -1;
    double latency = -1;
    double rejection = -1;   // 1 = nothing rejected
    double confidence = 0;
    double exploration = 0;
    bool floor_applied = false;
    double quality = 0;             // weighted components after the prior blend, 0 … 1
    double failure_multiplier = 1;  // failure_factor ^ consecutive_failures
};

ScoreBreakdown scoreRelay(const ScoreInputs& in, const ScoreParams& params);

}  // namespace archivist::relays
