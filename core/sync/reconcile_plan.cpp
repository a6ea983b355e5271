#include "core/sync/reconcile_plan.h"

#include <algorithm>

namespace archivist::sync {

namespace {
constexpr size_t kMedianSplitItems = 64;  // fewer of ours in a window: cut at the middle second
}

ReconcilePlan::ReconcilePlan(int64_t floor, int64_t top, uint32_t max_splits)
    : m_floor(std::max<int64_t>(0, floor)), m_top(top), m_maxSplits(max_splits), m_nextUntil(top) {}

std::optional<std::pair<int64_t, int64_t>> ReconcilePlan::needLocalSet() const {
    if (!m_stack.empty() || m_nextUntil < m_floor) return std::nullopt;
    return std::make_pair(m_floor, m_nextUntil);
}

void ReconcilePlan::setLocalSet(int64_t since, std::vector<NegentropyItem> items) {
    if (!m_stack.empty() || m_nextUntil < m_floor) return;
    since = std::clamp(since, m_floor, m_nextUntil);
    std::sort(items.begin(), items.end());
    m_stack.push_back(ReconcileWindow{since, m_nextUntil, std::move(items), 0});
    m_nextUntil = since - 1;
    m_rootSplits = 0;
    ++m_windows;
}

void ReconcilePlan::completed() {
    if (!m_stack.empty()) m_stack.pop_back();
}

bool ReconcilePlan::split() {
    if (m_stack.empty()) return false;
    ReconcileWindow& w = m_stack.back();
    if (m_rootSplits >= m_maxSplits || w.since >= w.until) return false;
    // Older half [since, mid], newer (mid, until].
    int64_t mid = w.since + (w.until - w.since) / 2;
    if (w.items.size() >= kMedianSplitItems) {
        const auto median = int64_t(w.items[w.items.size() / 2].timestamp);
        if (median > w.since && median <= w.until) mid = median - 1;
    }
    ReconcileWindow older{w.since, mid, {}, w.depth + 1};
    ReconcileWindow newer{mid + 1, w.until, {}, w.depth + 1};
    // Items are sorted by (timestamp, id): the halves are two contiguous runs.
    const auto cut = std::lower_bound(w.items.begin(), w.items.end(), NegentropyItem{uint64_t(mid + 1), {}});
    older.items.assign(w.items.begin(), cut);
    newer.items.assign(cut, w.items.end());
    m_stack.pop_back();
    m_stack.push_back(std::move(older));
    m_stack.push_back(std::move(newer));  // newest first
    ++m_splits;
    ++m_rootSplits;
    return true;
}

double ReconcilePlan::fraction() const {
    if (m_top <= m_floor) return done() ? 1.0 : 0.0;
    int64_t covered_to = m_stack.empty() ? m_nextUntil : m_stack.back().until;
    return std::clamp(double(m_top - covered_to) / double(m_top - m_floor + 1), 0.0, 1.0);
}

}  // namespace archivist::sync
