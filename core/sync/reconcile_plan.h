#pragma once
// ReconcilePlan: the windows of one reconciliation pass over a relay's history [floor, top],
// newest first (docs/backfill.md, "Reconciliation windows"). Pure logic, no sockets: RelaySync
// drives it.
//
//   while (!plan.done()) {
//       if (auto range = plan.needLocalSet()) { load the local set of *range; plan.setLocalSet(...); }
//       w = plan.current();  reconcile w (NEG-OPEN … NEG-MSG), fetch what we lack;
//       then plan.completed()   — or, on a "too many"/size refusal, plan.split() and go on;
//       when split() says no: cover w by REQ pagination, then plan.completed().
//   }
//
// - A root window is sized by what we hold: [since, until] with ≤ max_items local items (the
//   LocalSetSource decides since). Windows only move down: the next root ends at since − 1.
// - Splitting cuts a window in two (the newer half first) and partitions its items: nothing is
//   read again. Where we hold enough items the cut is at their median (we usually hold what the
//   relay holds, so both halves carry about half of its set), else at the middle second.
//   Bounded: at most max_splits splits per root window, and a one-second window is never split;
//   then the caller covers the refused piece by REQ pagination (never a split storm).
// - Memory: the items of the current root window (≤ max_items), shared by its pieces.
// Thread: not thread-safe; one owner.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/sync/negentropy.h"

namespace archivist::sync {

struct ReconcileWindow {
    int64_t since = 0;  // inclusive
    int64_t until = 0;  // inclusive
    std::vector<NegentropyItem> items;
    uint32_t depth = 0;  // splits below its root window
};

class ReconcilePlan {
public:
    ReconcilePlan(int64_t floor, int64_t top, uint32_t max_splits = 32);

    bool done() const { return m_stack.empty() && m_nextUntil < m_floor; }
    // The range whose local set is needed next ([floor, until]), when no window is pending.
    std::optional<std::pair<int64_t, int64_t>> needLocalSet() const;
    // The answer for needLocalSet(): the root window [since, until] with these items.
    void setLocalSet(int64_t since, std::vector<NegentropyItem> items);
    // The window to work on now (nullptr when a local set is needed or done()).
    const ReconcileWindow* current() const { return m_stack.empty() ? nullptr : &m_stack.back(); }
    void completed();   // the current window is covered
    bool split();       // replaces the current window by its halves; false when it may not be split
    uint64_t splits() const { return m_splits; }
    uint64_t windows() const { return m_windows; }
    double fraction() const;  // 0 … 1 of [floor, top] covered

private:
    int64_t m_floor, m_top;
    uint32_t m_maxSplits;
    uint32_t m_rootSplits = 0;         // splits of the current root window
    int64_t m_nextUntil;               // the next root window ends here
    std::vector<ReconcileWindow> m_stack;  // LIFO; ≤ max_splits + 1 entries
    uint64_t m_splits = 0, m_windows = 0;
};

}  // namespace archivist::sync
