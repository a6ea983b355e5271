#pragma once
// RelayStateOwner: the one owner of relay state. One thread ("relay-state") owns the
// RelayStateStore (relays.sqlite: directory, sync state, observations, NIP-11 history);
// everything else talks to it in two ways:
//   reports    value reports from the network threads and the prober — status changes, NIP-11
//              documents, probe results (net::ConnectionReports) and cursors, checkpoints and
//              gaps after commit (sync::SyncReports). Never blocking: they land in a bounded
//              inbox, coalesced per relay, and are written in one transaction per batch.
//   jobs       questions and commands (directory pages, NIP-11 lookups, operator actions, the
//              optimizer's cycle): closures run on the owner thread with the store, in posting
//              order; a job replies by posting its answer to the asker's own thread.
//
// Contract
// - No SQLite call on any other thread, no mutex around the database (the store has none).
// - Bounded: reports for at most kMaxPendingRelays relays, kMaxPendingGaps gaps and
//   kMaxPendingProbes probes wait; beyond that a report is refused (false) and its producer
//   keeps it and offers it again — the producer is slowed, nothing is lost. At most kMaxJobs
//   jobs wait (post() returns false beyond).
// - A failed write is an incident, not a silence: it is counted (stats().write_errors,
//   archivist_relay_state_write_errors_total, the engine raises relay_state_write_errors), logged,
//   and the batch goes back into the inbox (under anything newer) to be retried with a growing
//   delay (retry_base_ms … retry_cap_ms).
// - Before start() the creating thread may use the store (open-time work); from start() on,
//   only the owner thread. stop() runs the jobs already posted, writes every report taken
//   (retrying until `deadline`), then joins; reports offered after stop() are refused.
// Thread: reports, post(), nudge() and stats() from any thread; jobs and the ticker on the owner
// thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/net/connection_reports.h"
#include "core/sync/sync_reports.h"

namespace archivist::observe {
class Counter;
class MetricsRegistry;
}  // namespace archivist::observe

namespace archivist::relays {

class RelayStateStore;

struct OwnerOptions {
    int64_t retry_base_ms = 1000;   // after a failed write; doubles up to retry_cap_ms
    int64_t retry_cap_ms = 30000;
};

class RelayStateOwner final : public net::ConnectionReports, public sync::SyncReports {
public:
    static constexpr size_t kMaxPendingRelays = 4096;
    static constexpr size_t kMaxPendingGaps = 16384;
    static constexpr size_t kMaxPendingProbes = 1024;
    static constexpr size_t kMaxJobs = 1024;

    using Job = std::function<void(RelayStateStore&)>;
    // Runs on the owner thread when due (and on nudge()); returns when it wants to run next
    // (wall-clock ms).
    using Ticker = std::function<int64_t(RelayStateStore&, int64_t now_ms)>;

    struct Stats {
        uint64_t reports_taken = 0;      // accepted into the inbox
        uint64_t reports_refused = 0;    // inbox full or stopped: the producer keeps them
        uint64_t batches_written = 0;    // transactions committed
        uint64_t reports_written = 0;    // reports those transactions carried (after coalescing: fewer)
        uint64_t write_errors = 0;       // failed transactions (retried)
        std::string last_error;
        size_t pending_relays = 0;
        size_t jobs_waiting = 0;
    };

    // metrics may be null.
    RelayStateOwner(std::unique_ptr<RelayStateStore> store, observe::MetricsRegistry* metrics, OwnerOptions options = {});
    ~RelayStateOwner() override;  // stop()
    RelayStateOwner(const RelayStateOwner&) = delete;
    RelayStateOwner& operator=(const RelayStateOwner&) = delete;

    // Before start() only: the store, for open-time work on the creating thread.
    RelayStateStore& storeBeforeStart();
    // The ticker (one; a later call replaces it). Any thread: after start() it is installed by a job.
    void setTicker(Ticker ticker);
    void start();
    void stop(std::chrono::milliseconds deadline = std::chrono::milliseconds(5000));

    // net::ConnectionReports
    bool reportStatus(const net::StatusReport& report) override;
    bool reportNip11(const net::Nip11Report& report) override;
    bool reportProbe(const net::ProbeResult& result) override;
    // sync::SyncReports
    bool reportProgress(const sync::SyncProgress& progress) override;

    bool post(Job job);
    void nudge();  // run the ticker soon
    // A job's write failed: counted and logged like a failed report batch (the engine raises the
    // incident); `what` says what was not written. The job decides what it keeps for a retry
    // (discoveries, statistics and outcomes are kept; scores are saved anew by the next cycle).
    // Any thread.
    void countWriteError(const std::string& what, const std::string& message);
    Stats stats() const;

private:
    struct PendingRelay {
        std::optional<net::StatusReport> status;
        std::optional<net::Nip11Report> nip11;
        std::optional<int64_t> live_cursor;
        std::optional<std::pair<std::string, bool>> backfill;  // checkpoint, done
        std::vector<std::pair<sync::BackfillGap, int64_t>> gaps;  // with recorded_ms
        std::optional<sync::NegentropyVerdict> negentropy;
        std::optional<int64_t> reconciled_ms;
        uint64_t late_events = 0;
        std::vector<net::ProbeResult> probes;
        uint64_t reports = 0;
    };
    using Inbox = std::unordered_map<std::string, PendingRelay>;

    // Lock held. nullptr when the inbox cannot take a report for `url`.
    PendingRelay* slotFor(const std::string& url, size_t gaps, size_t probes);
    // Takes one report: fill(pending) under the lock, or false (counted) when there is no room.
    template <typename Fill>
    bool take(const std::string& url, size_t gaps, size_t probes, Fill fill);
    static void mergeOlder(PendingRelay& newer, PendingRelay&& older);
    void run();
    bool writeBatch(Inbox& batch);  // true when committed; else the batch is back in the inbox

    std::unique_ptr<RelayStateStore> m_store;
    const OwnerOptions m_opts;
    observe::MetricsRegistry* m_metrics;
    observe::Counter* m_writeErrors = nullptr;
    Ticker m_ticker;

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    Inbox m_inbox;
    size_t m_inboxGaps = 0, m_inboxProbes = 0;
    std::deque<Job> m_jobs;
    bool m_nudged = false;
    bool m_started = false;
    bool m_stopping = false;
    bool m_stopped = false;
    std::chrono::steady_clock::time_point m_deadline;
    Stats m_stats;
    std::thread m_thread;
};

}  // namespace archivist::relays
