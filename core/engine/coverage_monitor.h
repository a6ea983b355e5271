#pragma once
// CoverageMonitor: coverage of referenced events (core/engine/coverage.h), kept per month (UTC,
// created_at of the referencing events) by a paced, low-priority background thread, each month
// with the time it was computed ("as of"). The console's Statistics dock reads the kept months; it
// never waits for a computation.
//
// Which months are computed again (decision 0017):
// - at start, every month that holds events (found with one indexed query per month);
// - a month gets new events (its references change): the writer thread reports every stored
//   event (observeStored), which marks its month;
// - an event arrives that a month references and lacked: each month's missing ids are kept as
//   8-byte prefixes (at most kMaxTrackedMissing over all months); a stored event whose id prefix
//   is among them marks those months. A month with more missing ids than fit is "untracked":
//   any stored event marks it (a prefix collision or an untracked month only costs a recomputation).
// A marked month is computed again no sooner than min_interval_ms after its last computation;
// after each computation the thread sleeps max(min_pause_ms, elapsed × (1 − duty) / duty), so it
// uses at most `duty` of one core. Months are kept in memory (derived data: recomputed at start).
//
// Bounded: one month's computation at a time (computeCoverage's bounds, one frame cache of
// frame_cache_bytes); the kept months (one entry per month with events, each with its kinds);
// kMaxTrackedMissing prefixes. Gauges: dirtyMonths(), trackedMissing().
// Thread: start()/stop() on the owner's thread; observeStored() on the writer thread; report()
// and the gauges from any thread. stop() interrupts a computation and joins the thread.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/engine/coverage.h"

namespace archivist::index {
class Index;
class IndexReader;
}  // namespace archivist::index

namespace archivist::engine {

struct CoverageMonitorOptions {
    int64_t min_interval_ms = 60000;  // a month is computed again at most this often
    int64_t min_pause_ms = 1000;      // between two computations
    double duty = 0.2;                // of one core, at most
    size_t frame_cache_bytes = 8u << 20;
};

class CoverageMonitor {
public:
    static constexpr size_t kMaxTrackedMissing = 250000;

    // `index` returns the store's current index (a rebuild replaces it).
    CoverageMonitor(std::function<std::shared_ptr<index::Index>()> index, std::filesystem::path archive_dir,
                    CoverageMonitorOptions options = {});
    ~CoverageMonitor();

    void start();
    void stop();
    void observeStored(const protocol::Event& event);

    // The kept months overlapping the request's range (whole months): rows and by_month as kept,
    // each by_month row with its as_of_ms; totals are sums over the months (an id referenced in two
    // months counts in each: CoverageReport::summed_months); report.as_of_ms is the oldest month's.
    // months_pending: months of the range marked for computation (their numbers are older).
    CoverageReport report(const CoverageRequest& request) const;

    size_t dirtyMonths() const;
    size_t trackedMissing() const;
    uint64_t computations() const { return m_computations.load(); }
    uint64_t errors() const { return m_errors.load(); }  // failed computations (logged; tried again later)

    // Months as "YYYY-MM" keys: year × 12 + month − 1 (UTC).
    static int32_t monthKey(int64_t unix_s);

private:
    struct Month {
        std::vector<CoverageRow> rows;  // by kind
        CoverageRow all;                // every kind together; all.as_of_ms
        uint64_t referencing_events = 0;
        std::vector<uint64_t> missing;  // tracked prefixes (empty when untracked)
        bool untracked = false;
        int64_t computed_ms = 0;
    };
    void run();
    bool computeMonth(int32_t key, index::IndexReader& reader);
    void forgetMissingLocked(int32_t key, Month& m);

    const std::function<std::shared_ptr<index::Index>()> m_index;
    const std::filesystem::path m_archiveDir;
    const CoverageMonitorOptions m_opts;

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;
    std::atomic<bool> m_cancel{false};
    std::map<int32_t, Month> m_months;
    std::set<int32_t> m_dirty;
    std::set<int32_t> m_untracked;
    std::map<int32_t, int64_t> m_failedMs;  // months whose last computation failed (≤ one per month)
    std::unordered_multimap<uint64_t, int32_t> m_missing;  // id prefix → month (≤ kMaxTrackedMissing)
    std::atomic<index::IndexReader*> m_reader{nullptr};     // the computation's, for stop()'s interrupt
    std::atomic<uint64_t> m_computations{0};
    std::atomic<uint64_t> m_errors{0};
    std::thread m_thread;
};

}  // namespace archivist::engine
