#pragma once
// Relay optimizer (issue 5, part 6): once per cycle (default 5 min) decides which relays to
// connect, disconnect and block, given the active set and a bounded list of candidates with their
// scores (relay_score.h). docs/relay-scoring.md, "Optimizer", states the rules.
//
// Contract (planCycle)
// - Cap: |connected| − |disconnect| + |connect| ≤ max_relays, always. The one exception is an
//   active set that already holds more pinned relays than max_relays: pinned relays are never
//   dropped, so the plan then disconnects every unpinned relay and connects nothing. An active
//   set above the cap (max_relays lowered) loses its weakest unpinned relays at once.
// - Pinned relays are never disconnected nor blocked; pinned candidates take free slots first.
// - Operator-blocked relays (blocked, or blocked_until_ms > now) are never connected and are
//   disconnected if active.
// - A relay with consecutive_failures ≥ block_after_failures is disconnected and blocked until
//   now + block_retry_ms; after that it is a candidate again (retried by exploration).
// - Score swaps and exploration swaps together number at most max(1, ⌊swap_fraction·max_relays⌋)
//   per cycle; forced drops (blocked, failing) do not count against that budget.
// - Exploration: free slots first, then at most explore_swaps_per_cycle swaps against the weakest
//   relay. Never-tried relays (tries == 0) come first, then relays whose failure block expired,
//   oldest attempt first. Hence, if candidates always include the exploration targets (see
//   selectCandidates), every relay is tried within ⌈N / explore_swaps_per_cycle⌉ + 1 cycles.
// - Relays that are reconnecting (0 < consecutive_failures < block_after_failures) are not chosen
//   as the weakest for a swap: they either recover or reach the block threshold.
// - Deterministic: ties are broken by URL. Duplicate URLs are ignored after the first; a
//   candidate that is also in `connected` is ignored.
// Thread: planCycle/selectCandidates any (pure); Optimizer is not thread-safe (one owner thread).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace archivist::relays {

struct OptimizerRelay {
    std::string url;
    double score = 0;               // scoreRelay(...).total
    bool connected = false;         // in the active set (connected or reconnecting)
    bool pinned = false;            // by the operator
    bool blocked = false;           // by the operator
    int consecutive_failures = 0;
    int tries = 0;                  // connection attempts ever; 0 = never tried
    int64_t last_attempt_ms = 0;    // 0 = never
    int64_t blocked_until_ms = 0;   // failure block; 0 = never blocked, ≤ now = expired
};

struct OptimizerParams {
    size_t max_relays = 150;
    double swap_fraction = 0.05;        // swaps per cycle: max(1, ⌊swap_fraction·max_relays⌋)
    size_t explore_swaps_per_cycle = 4; // part of the swap budget, not added to it
    int block_after_failures = 10;
    int64_t block_retry_ms = 24LL * 3600 * 1000;
    double min_gain = 0.05;             // a score swap needs candidate > weakest + min_gain
};

struct OptimizerSwap {
    enum class Kind { Fill, Exploration, Score, Pinned, Blocked, Failing, OverCap };
    Kind kind = Kind::Score;
    int64_t at_ms = 0;
    std::string removed;       // "" when a free slot was filled
    std::string added;         // "" when a relay was only dropped
    double removed_score = 0;
    double added_score = 0;
    std::string reason;        // human readable, e.g. "score 0.12 < candidate 0.61"
};

struct OptimizerPlan {
    std::vector<std::string> connect;
    std::vector<std::string> disconnect;
    std::vector<std::pair<std::string, int64_t>> block;  // url, blocked until (ms)
    std::vector<OptimizerSwap> swaps;                     // every decision, in order made
};

// Swap budget per cycle: max(1, ⌊swap_fraction·max_relays⌋).
size_t swapBudget(const OptimizerParams& params);

OptimizerPlan planCycle(const std::vector<OptimizerRelay>& connected,
                        const std::vector<OptimizerRelay>& candidates,
                        const OptimizerParams& params, int64_t now_ms);

// The candidate list planCycle expects, from an in-memory list of every inactive relay: the
// n_best eligible ones by score plus the first n_explore exploration targets (never tried, or
// block expired; oldest attempt first) and every eligible pinned relay. Result is bounded by
// n_best + n_explore + pinned count. The engine builds the same list with SQL.
std::vector<OptimizerRelay> selectCandidates(const std::vector<OptimizerRelay>& inactive,
                                             size_t n_best, size_t n_explore, int64_t now_ms);

// Runs planCycle and keeps the last kHistoryCapacity swaps (what the Scoring panel lists).
class Optimizer {
public:
    static constexpr size_t kHistoryCapacity = 100;

    explicit Optimizer(OptimizerParams params = {});

    OptimizerPlan runCycle(const std::vector<OptimizerRelay>& connected,
                           const std::vector<OptimizerRelay>& candidates, int64_t now_ms);

    // Newest first, at most kHistoryCapacity.
    std::vector<OptimizerSwap> recentSwaps() const;
    const OptimizerParams& params() const { return m_params; }
    int64_t lastCycleMs() const { return m_last_cycle_ms; }

private:
    OptimizerParams m_params;
    std::deque<OptimizerSwap> m_history;  // oldest at front
    int64_t m_last_cycle_ms = 0;
};

}  // namespace archivist::relays
