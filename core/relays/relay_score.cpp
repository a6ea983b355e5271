#include "core/relays/relay_score.h"

#include <algorithm>
#include <cmath>

namespace archivist::relays {

namespace {

bool known(double v) { return std::isfinite(v) && v >= 0; }

double clamp01(double v) { return std::clamp(v, 0.0, 1.0); }

double nonNegative(double v) { return std::isfinite(v) && v > 0 ? v : 0.0; }

double novelty(const ScoreInputs& in, const ScoreParams& p) {
    const double hours = nonNegative(in.observed_hours);
    if (hours <= 0 || std::isnan(in.novel_per_hour) || in.novel_per_hour < 0) return -1;
    double median = in.network_median_novel_per_hour;
    if (!std::isfinite(median) || median < p.min_median_novel_per_hour) median = p.min_median_novel_per_hour;
    if (!(median > 0)) median = 1.0;  // a misconfigured minimum must not divide by zero
    const double ratio = in.novel_per_hour / median;  // may be +inf
    return 1.0 - 1.0 / (1.0 + ratio);                 // r/(1+r), exact 1 for r = inf
}

double uptime(const ScoreInputs& in, const ScoreParams& p) {
    const bool k24 = known(in.uptime_24h);
    const bool k7 = known(in.uptime_7d);
    if (k24 && k7) {
        const double w = clamp01(p.uptime_24h_weight);
        return w * clamp01(in.uptime_24h) + (1 - w) * clamp01(in.uptime_7d);
    }
    if (k24) return clamp01(in.uptime_24h);
    if (k7) return clamp01(in.uptime_7d);
    return -1;
}

double latency(const ScoreInputs& in, const ScoreParams& p) {
    if (in.rtt_ms < 0) return -1;
    if (in.rtt_ms <= p.latency_good_ms) return 1;
    if (in.rtt_ms >= p.latency_bad_ms) return 0;
    return double(p.latency_bad_ms - in.rtt_ms) / double(p.latency_bad_ms - p.latency_good_ms);
}

double rejection(const ScoreInputs& in) {
    if (!known(in.rejected_fraction)) return -1;
    return 1.0 - clamp01(in.rejected_fraction);
}

}  // namespace

ScoreBreakdown scoreRelay(const ScoreInputs& in, const ScoreParams& p) {
    ScoreBreakdown b;
    b.novelty = novelty(in, p);
    b.uptime = uptime(in, p);
    b.latency = latency(in, p);
    b.rejection = rejection(in);

    const double hours = nonNegative(in.observed_hours);
    if (hours > 0) b.confidence = p.confidence_hours > 0 ? hours / (hours + p.confidence_hours) : 1.0;

    const double prior = clamp01(p.prior);
    // Observed-by-connection components are blended with the prior by confidence; probe-derived
    // ones (uptime, latency) are used as measured, the prior only standing in when unknown.
    auto blended = [&](double v) { return v < 0 ? prior : b.confidence * v + (1 - b.confidence) * prior; };
    auto measured = [&](double v) { return v < 0 ? prior : v; };

    const double wn = std::max(0.0, p.weight_novelty);
    const double wu = std::max(0.0, p.weight_uptime);
    const double wl = std::max(0.0, p.weight_latency);
    const double wr = std::max(0.0, p.weight_rejection);
    const double wsum = wn + wu + wl + wr;
    if (wsum > 0) {
        b.quality = (wn * blended(b.novelty) + wu * measured(b.uptime) + wl * measured(b.latency) +
                     wr * blended(b.rejection)) / wsum;
    } else {
        b.quality = prior;
    }

    const double tries = std::max(0, in.tries);
    double decay = 0;
    if (p.exploration_hours > 0) decay += hours / p.exploration_hours;
    if (p.exploration_tries > 0) decay += tries / p.exploration_tries;
    b.exploration = std::max(0.0, p.exploration_bonus) * std::exp(-decay);

    const int failures = std::max(0, in.consecutive_failures);
    b.failure_multiplier = std::pow(clamp01(p.failure_factor), failures);

    b.total = (b.quality + b.exploration) * b.failure_multiplier;
    if ((in.seed || in.pinned) && b.total < p.floor) {
        b.total = p.floor;
        b.floor_applied = true;
    }
    return b;
}

}  // namespace archivist::relays
