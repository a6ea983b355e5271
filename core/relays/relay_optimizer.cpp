#include "core/relays/relay_optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_set>

namespace archivist::relays {

namespace {

using Kind = OptimizerSwap::Kind;

std::string fmtScore(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

std::string fmtDuration(int64_t ms) {
    char buf[48];
    if (ms % (3600 * 1000) == 0) std::snprintf(buf, sizeof buf, "%lld h", static_cast<long long>(ms / (3600 * 1000)));
    else std::snprintf(buf, sizeof buf, "%lld min", static_cast<long long>(ms / 60000));
    return buf;
}

bool blockedNow(const OptimizerRelay& r, int64_t now_ms) { return r.blocked || r.blocked_until_ms > now_ms; }

bool blockExpired(const OptimizerRelay& r, int64_t now_ms) {
    return r.blocked_until_ms != 0 && r.blocked_until_ms <= now_ms;
}

bool exploreTarget(const OptimizerRelay& r, int64_t now_ms) { return r.tries == 0 || blockExpired(r, now_ms); }

bool betterScore(const OptimizerRelay* a, const OptimizerRelay* b) {
    if (a->score != b->score) return a->score > b->score;
    return a->url < b->url;
}

bool weakerScore(const OptimizerRelay* a, const OptimizerRelay* b) {
    if (a->score != b->score) return a->score < b->score;
    return a->url < b->url;
}

bool exploreFirst(const OptimizerRelay* a, const OptimizerRelay* b) {
    if (a->last_attempt_ms != b->last_attempt_ms) return a->last_attempt_ms < b->last_attempt_ms;
    return betterScore(a, b);
}

std::string exploreReason(const OptimizerRelay& r, int64_t now_ms) {
    return r.tries == 0 || !blockExpired(r, now_ms) ? "exploration: never tried" : "exploration: retry after failure block";
}

}  // namespace

size_t swapBudget(const OptimizerParams& p) {
    const double f = std::isfinite(p.swap_fraction) && p.swap_fraction > 0 ? p.swap_fraction : 0.0;
    return std::max<size_t>(1, static_cast<size_t>(std::floor(f * double(p.max_relays))));
}

OptimizerPlan planCycle(const std::vector<OptimizerRelay>& connected, const std::vector<OptimizerRelay>& candidates,
                        const OptimizerParams& p, int64_t now_ms) {
    OptimizerPlan plan;
    const int block_after = std::max(1, p.block_after_failures);
    const int64_t until = now_ms + std::max<int64_t>(0, p.block_retry_ms);
    std::unordered_set<std::string> seen;

    auto record = [&](Kind kind, const OptimizerRelay* removed, const OptimizerRelay* added, std::string reason) {
        OptimizerSwap s;
        s.kind = kind;
        s.at_ms = now_ms;
        if (removed) {
            s.removed = removed->url;
            s.removed_score = removed->score;
            plan.disconnect.push_back(removed->url);
        }
        if (added) {
            s.added = added->url;
            s.added_score = added->score;
            plan.connect.push_back(added->url);
        }
        s.reason = std::move(reason);
        plan.swaps.push_back(std::move(s));
    };

    // 1. Forced drops from the active set.
    std::vector<const OptimizerRelay*> kept;
    for (const auto& r : connected) {
        if (!seen.insert(r.url).second) continue;
        if (r.pinned) {
            kept.push_back(&r);
        } else if (blockedNow(r, now_ms)) {
            record(Kind::Blocked, &r, nullptr, r.blocked ? "blocked by operator" : "blocked after failures");
        } else if (r.consecutive_failures >= block_after) {
            plan.block.emplace_back(r.url, until);
            record(Kind::Failing, &r, nullptr,
                   "blocked after " + std::to_string(r.consecutive_failures) + " consecutive failures (retry in " +
                       fmtDuration(p.block_retry_ms) + ")");
        } else {
            kept.push_back(&r);
        }
    }
    if (kept.size() > p.max_relays) {
        std::vector<const OptimizerRelay*> unpinned;
        for (auto* r : kept)
            if (!r->pinned) unpinned.push_back(r);
        std::sort(unpinned.begin(), unpinned.end(), weakerScore);
        std::unordered_set<const OptimizerRelay*> dropped;
        for (auto* r : unpinned) {
            if (kept.size() - dropped.size() <= p.max_relays) break;
            dropped.insert(r);
            record(Kind::OverCap, r, nullptr, "over the cap of " + std::to_string(p.max_relays) + " relays");
        }
        std::erase_if(kept, [&](const OptimizerRelay* r) { return dropped.count(r) != 0; });
    }

    // 2. Eligible candidates.
    std::vector<const OptimizerRelay*> pool;
    for (const auto& c : candidates) {
        if (!seen.insert(c.url).second) continue;
        if (blockedNow(c, now_ms)) continue;
        if (!c.pinned && c.consecutive_failures >= block_after && c.blocked_until_ms == 0) {
            plan.block.emplace_back(c.url, until);
            continue;
        }
        pool.push_back(&c);
    }
    std::unordered_set<const OptimizerRelay*> taken;

    size_t free = kept.size() < p.max_relays ? p.max_relays - kept.size() : 0;
    size_t budget = swapBudget(p);
    size_t explore_quota = p.explore_swaps_per_cycle;

    // Swap victims: unpinned, not reconnecting, weakest first. Relays connected this cycle are never victims.
    std::vector<const OptimizerRelay*> victims;
    for (auto* r : kept)
        if (!r->pinned && r->consecutive_failures == 0) victims.push_back(r);
    std::sort(victims.begin(), victims.end(), weakerScore);
    size_t vi = 0;

    // 3. Pinned candidates: free slots first, then swaps from the budget.
    std::vector<const OptimizerRelay*> pinned;
    for (auto* c : pool)
        if (c->pinned) pinned.push_back(c);
    std::sort(pinned.begin(), pinned.end(), betterScore);
    for (auto* c : pinned) {
        if (free > 0) {
            --free;
            taken.insert(c);
            record(Kind::Pinned, nullptr, c, "pinned");
        } else if (budget > 0 && vi < victims.size()) {
            --budget;
            taken.insert(c);
            record(Kind::Pinned, victims[vi++], c, "pinned relay replaces the weakest");
        }
    }

    // 4. Exploration into free slots.
    std::vector<const OptimizerRelay*> targets;
    for (auto* c : pool)
        if (!taken.count(c) && exploreTarget(*c, now_ms)) targets.push_back(c);
    std::sort(targets.begin(), targets.end(), exploreFirst);
    size_t ti = 0;
    while (explore_quota > 0 && free > 0 && ti < targets.size()) {
        auto* c = targets[ti++];
        --explore_quota;
        --free;
        taken.insert(c);
        record(Kind::Exploration, nullptr, c, exploreReason(*c, now_ms));
    }

    // 5. Remaining free slots by score.
    std::vector<const OptimizerRelay*> ranked;
    for (auto* c : pool)
        if (!taken.count(c)) ranked.push_back(c);
    std::sort(ranked.begin(), ranked.end(), betterScore);
    size_t ri = 0;
    auto nextRanked = [&]() -> const OptimizerRelay* {
        while (ri < ranked.size() && taken.count(ranked[ri])) ++ri;
        return ri < ranked.size() ? ranked[ri] : nullptr;
    };
    while (free > 0) {
        auto* c = nextRanked();
        if (!c) break;
        --free;
        taken.insert(c);
        record(Kind::Fill, nullptr, c, "free slot (score " + fmtScore(c->score) + ")");
    }

    // 6. Exploration swaps: unconditional, within the quota and the budget.
    while (explore_quota > 0 && budget > 0 && vi < victims.size()) {
        while (ti < targets.size() && taken.count(targets[ti])) ++ti;
        if (ti >= targets.size()) break;
        auto* c = targets[ti++];
        auto* v = victims[vi++];
        --explore_quota;
        --budget;
        taken.insert(c);
        record(Kind::Exploration, v, c, exploreReason(*c, now_ms) + " (replaces the weakest, score " + fmtScore(v->score) + ")");
    }

    // 7. Score swaps with hysteresis.
    while (budget > 0 && vi < victims.size()) {
        auto* c = nextRanked();
        auto* v = victims[vi];
        if (!c || !(c->score > v->score + p.min_gain)) break;
        ++vi;
        --budget;
        taken.insert(c);
        record(Kind::Score, v, c, "score " + fmtScore(v->score) + " < candidate " + fmtScore(c->score));
    }
    return plan;
}

std::vector<OptimizerRelay> selectCandidates(const std::vector<OptimizerRelay>& inactive, size_t n_best,
                                             size_t n_explore, int64_t now_ms) {
    std::vector<const OptimizerRelay*> eligible;
    eligible.reserve(inactive.size());
    for (const auto& r : inactive)
        if (!blockedNow(r, now_ms)) eligible.push_back(&r);

    std::unordered_set<const OptimizerRelay*> chosen;
    std::vector<OptimizerRelay> out;
    auto take = [&](const OptimizerRelay* r) {
        if (chosen.insert(r).second) out.push_back(*r);
    };
    for (auto* r : eligible)
        if (r->pinned) take(r);

    auto best = eligible;
    const size_t nb = std::min(n_best, best.size());
    std::partial_sort(best.begin(), best.begin() + nb, best.end(), betterScore);
    for (size_t i = 0; i < nb; ++i) take(best[i]);

    std::vector<const OptimizerRelay*> explore;
    for (auto* r : eligible)
        if (exploreTarget(*r, now_ms) && !chosen.count(r)) explore.push_back(r);
    const size_t ne = std::min(n_explore, explore.size());
    std::partial_sort(explore.begin(), explore.begin() + ne, explore.end(), exploreFirst);
    for (size_t i = 0; i < ne; ++i) take(explore[i]);
    return out;
}

Optimizer::Optimizer(OptimizerParams params) : m_params(params) {}

OptimizerPlan Optimizer::runCycle(const std::vector<OptimizerRelay>& connected,
                                  const std::vector<OptimizerRelay>& candidates, int64_t now_ms) {
    OptimizerPlan plan = planCycle(connected, candidates, m_params, now_ms);
    for (const auto& s : plan.swaps) {
        m_history.push_back(s);
        while (m_history.size() > kHistoryCapacity) m_history.pop_front();
    }
    m_last_cycle_ms = now_ms;
    return plan;
}

std::vector<OptimizerSwap> Optimizer::recentSwaps() const { return {m_history.rbegin(), m_history.rend()}; }

}  // namespace archivist::relays
