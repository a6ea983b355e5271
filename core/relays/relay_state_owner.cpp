#include "core/relays/relay_state_owner.h"

#include <pthread.h>

#include <algorithm>

#include "core/observe/log.h"
#include "core/observe/metrics.h"
#include "core/relays/relay_state_store.h"
#include "core/util/clock.h"

namespace archivist::relays {

namespace {

std::string kindsText(const std::vector<uint16_t>& kinds) {
    std::string out;
    for (size_t i = 0; i < kinds.size(); ++i) out += (i ? "," : "") + std::to_string(kinds[i]);
    return out;
}

// A document problem is the relay's (logged); anything else is ours (the batch fails).
StateResult<void> keepNip11(RelayStateStore& store, const std::string& url, const std::string& document, int64_t at_ms) {
    auto r = store.nip11().save(url, document, at_ms);
    if (r || r.error().code == StateErrorCode::Sqlite) return r;
    qCInfo(lcRelays) << "NIP-11 document of" << url.c_str() << "not kept:" << r.error().message.c_str();
    return {};
}

}  // namespace

RelayStateOwner::RelayStateOwner(std::unique_ptr<RelayStateStore> store, observe::MetricsRegistry* metrics,
                                 OwnerOptions options)
    : m_store(std::move(store)), m_opts(options), m_metrics(metrics) {
    if (!m_metrics) return;
    m_writeErrors = &m_metrics->counter("archivist_relay_state_write_errors_total",
                                        "Failed writes of relay state (relays.sqlite); each batch is retried");
    m_metrics->gaugeFn("archivist_queue_depth", "Items waiting in a bounded queue", {{"queue", "relay_state_reports"}},
                       [this] { return double(stats().pending_relays); }, this);
    m_metrics->gaugeFn("archivist_queue_capacity", "Capacity of a bounded queue", {{"queue", "relay_state_reports"}},
                       [] { return double(kMaxPendingRelays); }, this);
    m_metrics->gaugeFn("archivist_queue_depth", "Items waiting in a bounded queue", {{"queue", "relay_state_jobs"}},
                       [this] { return double(stats().jobs_waiting); }, this);
    m_metrics->gaugeFn("archivist_queue_capacity", "Capacity of a bounded queue", {{"queue", "relay_state_jobs"}},
                       [] { return double(kMaxJobs); }, this);
    m_metrics->gaugeFn("archivist_relay_state_reports_refused_total",
                       "Relay-state reports refused because the owner's inbox was full (kept and retried by their producer)",
                       {}, [this] { return double(stats().reports_refused); }, this);
}

RelayStateOwner::~RelayStateOwner() {
    stop();
    if (m_metrics) m_metrics->removeGaugeFns(this);
}

RelayStateStore& RelayStateOwner::storeBeforeStart() { return *m_store; }

void RelayStateOwner::setTicker(Ticker ticker) {
    {
        std::lock_guard lock(m_mutex);
        if (m_started) {
            m_jobs.push_back([this, t = std::move(ticker)](RelayStateStore&) mutable { m_ticker = std::move(t); });
            m_nudged = true;
        } else {
            m_ticker = std::move(ticker);
        }
    }
    m_cv.notify_one();
}

void RelayStateOwner::start() {
    std::lock_guard lock(m_mutex);
    if (m_started) return;
    m_started = true;
    m_thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "relay-state");
        run();
    });
}

void RelayStateOwner::stop(std::chrono::milliseconds deadline) {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping) return;
        m_stopping = true;
        m_deadline = std::chrono::steady_clock::now() + deadline;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
    std::lock_guard lock(m_mutex);
    m_stopped = true;
}

// ---------------------------------------------------------------- the inbox

RelayStateOwner::PendingRelay* RelayStateOwner::slotFor(const std::string& url, size_t gaps, size_t probes) {
    if (m_stopping || m_inboxGaps + gaps > kMaxPendingGaps || m_inboxProbes + probes > kMaxPendingProbes) return nullptr;
    auto it = m_inbox.find(url);
    if (it == m_inbox.end()) {
        if (m_inbox.size() >= kMaxPendingRelays) return nullptr;
        it = m_inbox.emplace(url, PendingRelay{}).first;
    }
    m_inboxGaps += gaps;
    m_inboxProbes += probes;
    ++it->second.reports;
    ++m_stats.reports_taken;
    return &it->second;
}

template <typename Fill>
bool RelayStateOwner::take(const std::string& url, size_t gaps, size_t probes, Fill fill) {
    {
        std::lock_guard lock(m_mutex);
        PendingRelay* p = slotFor(url, gaps, probes);
        if (!p) {
            ++m_stats.reports_refused;
            return false;
        }
        fill(*p);
    }
    m_cv.notify_one();
    return true;
}

bool RelayStateOwner::reportStatus(const net::StatusReport& r) {
    return take(r.url, 0, 0, [&](PendingRelay& p) {
        // The newest status wins; the time the socket last opened survives coalescing.
        const auto connected = r.last_connected_ms ? r.last_connected_ms
                                                   : (p.status ? p.status->last_connected_ms : std::nullopt);
        p.status = r;
        p.status->last_connected_ms = connected;
    });
}

bool RelayStateOwner::reportNip11(const net::Nip11Report& r) {
    return take(r.url, 0, 0, [&](PendingRelay& p) { p.nip11 = r; });
}

bool RelayStateOwner::reportProbe(const net::ProbeResult& r) {
    return take(r.url, 0, 1, [&](PendingRelay& p) { p.probes.push_back(r); });
}

bool RelayStateOwner::reportProgress(const sync::SyncProgress& r) {
    return take(r.url, r.gaps.size(), 0, [&](PendingRelay& p) {
        if (r.live_cursor) p.live_cursor = std::max(p.live_cursor.value_or(*r.live_cursor), *r.live_cursor);
        if (r.backfill_checkpoint) p.backfill = std::make_pair(*r.backfill_checkpoint, r.backfill_done);
        for (const auto& g : r.gaps) p.gaps.emplace_back(g, r.at_ms);
        if (r.negentropy) p.negentropy = r.negentropy;
        if (r.reconciled_ms) p.reconciled_ms = std::max(p.reconciled_ms.value_or(*r.reconciled_ms), *r.reconciled_ms);
        p.late_events += r.late_events;
    });
}

void RelayStateOwner::mergeOlder(PendingRelay& newer, PendingRelay&& older) {
    if (!newer.status) newer.status = std::move(older.status);
    else if (!newer.status->last_connected_ms && older.status) newer.status->last_connected_ms = older.status->last_connected_ms;
    if (!newer.nip11) newer.nip11 = std::move(older.nip11);
    if (older.live_cursor) newer.live_cursor = std::max(newer.live_cursor.value_or(*older.live_cursor), *older.live_cursor);
    if (!newer.backfill) newer.backfill = std::move(older.backfill);
    if (!newer.negentropy) newer.negentropy = std::move(older.negentropy);
    if (older.reconciled_ms)
        newer.reconciled_ms = std::max(newer.reconciled_ms.value_or(*older.reconciled_ms), *older.reconciled_ms);
    newer.late_events += older.late_events;
    older.gaps.insert(older.gaps.end(), std::make_move_iterator(newer.gaps.begin()), std::make_move_iterator(newer.gaps.end()));
    newer.gaps = std::move(older.gaps);
    older.probes.insert(older.probes.end(), std::make_move_iterator(newer.probes.begin()),
                        std::make_move_iterator(newer.probes.end()));
    newer.probes = std::move(older.probes);
    newer.reports += older.reports;
}

// ---------------------------------------------------------------- jobs

bool RelayStateOwner::post(Job job) {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping || m_jobs.size() >= kMaxJobs) return false;
        m_jobs.push_back(std::move(job));
    }
    m_cv.notify_one();
    return true;
}

void RelayStateOwner::nudge() {
    {
        std::lock_guard lock(m_mutex);
        m_nudged = true;
    }
    m_cv.notify_one();
}

void RelayStateOwner::countWriteError(const std::string& what, const std::string& message) {
    {
        std::lock_guard lock(m_mutex);
        ++m_stats.write_errors;
        m_stats.last_error = what + ": " + message;
    }
    if (m_writeErrors) m_writeErrors->inc();
    qCWarning(lcRelays) << "relay state:" << what.c_str() << "not written:" << message.c_str();
}

RelayStateOwner::Stats RelayStateOwner::stats() const {
    std::lock_guard lock(m_mutex);
    Stats s = m_stats;
    s.pending_relays = m_inbox.size();
    s.jobs_waiting = m_jobs.size();
    return s;
}

// ---------------------------------------------------------------- the thread

void RelayStateOwner::run() {
    int64_t nextTick = 0;  // wall ms; 0 = now
    int64_t retryDelay = 0;
    std::chrono::steady_clock::time_point retryAt{};
    for (;;) {
        std::deque<Job> jobs;
        Inbox batch;
        bool tick = false, stopping = false;
        {
            std::unique_lock lock(m_mutex);
            const auto wake = [&] {
                const bool canWrite = !m_inbox.empty() && std::chrono::steady_clock::now() >= retryAt;
                return m_stopping || !m_jobs.empty() || m_nudged || canWrite ||
                       (m_ticker && wallMs() >= nextTick);
            };
            auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
            if (m_ticker) until = std::min(until, std::chrono::steady_clock::now() +
                                                      std::chrono::milliseconds(std::max<int64_t>(1, nextTick - wallMs())));
            if (!m_inbox.empty() && retryAt > std::chrono::steady_clock::now()) until = std::min(until, retryAt);
            m_cv.wait_until(lock, until, wake);
            stopping = m_stopping;
            jobs.swap(m_jobs);
            tick = m_ticker && (m_nudged || wallMs() >= nextTick);
            m_nudged = false;
            if (std::chrono::steady_clock::now() >= retryAt || stopping) {
                batch.swap(m_inbox);
                m_inboxGaps = m_inboxProbes = 0;
            }
        }
        for (auto& job : jobs) job(*m_store);
        if (tick) nextTick = m_ticker(*m_store, wallMs());
        if (!batch.empty()) {
            if (writeBatch(batch)) {
                retryDelay = 0;
                retryAt = {};
            } else {
                retryDelay = std::clamp<int64_t>(retryDelay * 2, m_opts.retry_base_ms, m_opts.retry_cap_ms);
                retryAt = std::chrono::steady_clock::now() + std::chrono::milliseconds(retryDelay);
            }
        }
        if (!stopping) continue;
        // Stopping: jobs posted before stop() have run; write what is left until the deadline.
        std::unique_lock lock(m_mutex);
        if (!m_jobs.empty()) continue;
        if (m_inbox.empty()) break;
        if (std::chrono::steady_clock::now() >= m_deadline) {
            qCWarning(lcRelays) << "relay state: stopping with" << m_inbox.size()
                                << "relays' reports not written (the database kept failing)";
            break;
        }
        m_cv.wait_until(lock, std::min(m_deadline, std::max(retryAt, std::chrono::steady_clock::now())));
    }
}

bool RelayStateOwner::writeBatch(Inbox& batch) {
    uint64_t reports = 0;
    auto r = m_store->transaction([&]() -> StateResult<void> {
        const int64_t now = wallMs();
        for (auto& [url, p] : batch) {
            reports += p.reports;
            if (p.status) {
                const auto& s = *p.status;
                if (auto w = m_store->directory().saveStatus(url, s.state, s.consecutive_failures, s.last_error,
                                                              s.last_connected_ms);
                    !w)
                    return w;
            }
            if (p.nip11)
                if (auto w = keepNip11(*m_store, url, p.nip11->document, p.nip11->fetched_ms); !w) return w;
            if (p.live_cursor)
                if (auto w = m_store->sync().saveLiveCursor(url, *p.live_cursor); !w) return w;
            if (p.backfill)
                if (auto w = m_store->sync().saveBackfill(url, p.backfill->first, p.backfill->second); !w) return w;
            if (p.negentropy)
                if (auto w = m_store->sync().saveNegentropy(url, *p.negentropy); !w) return w;
            if (p.reconciled_ms || p.late_events)
                if (auto w = m_store->sync().saveReconciled(url, p.reconciled_ms, p.late_events); !w) return w;
            for (const auto& [g, at] : p.gaps) {
                GapRecord rec{url, g.since, g.until, kindsText(g.kinds), g.reason, at ? at : now};
                if (auto w = m_store->sync().addGap(rec); !w) return w;
            }
            for (const auto& probe : p.probes) {
                if (auto w = m_store->observations().recordOutcome(url, probe.at_ms, OutcomeKind::Probe, probe.ok,
                                                                   probe.open_rtt_ms, probe.read_rtt_ms, probe.error);
                    !w)
                    return w;
                if (!probe.nip11_json.empty())
                    if (auto w = keepNip11(*m_store, url, probe.nip11_json, probe.at_ms); !w) return w;
            }
        }
        return {};
    });
    std::lock_guard lock(m_mutex);
    if (r) {
        ++m_stats.batches_written;
        m_stats.reports_written += reports;
        return true;
    }
    ++m_stats.write_errors;
    m_stats.last_error = r.error().message;
    if (m_writeErrors) m_writeErrors->inc();
    qCWarning(lcRelays) << "relay state: reports not written (kept, retried):" << r.error().message.c_str();
    // Back into the inbox, under whatever arrived meanwhile (it is newer).
    for (auto& [url, older] : batch) {
        m_inboxGaps += older.gaps.size();
        m_inboxProbes += older.probes.size();
        auto it = m_inbox.find(url);
        if (it == m_inbox.end()) m_inbox.emplace(url, std::move(older));
        else mergeOlder(it->second, std::move(older));
    }
    return false;
}

}  // namespace archivist::relays
