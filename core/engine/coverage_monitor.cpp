#include "core/engine/coverage_monitor.h"

#include <algorithm>
#include <cstring>

#include "core/archive/segment_reader.h"
#include "core/index/index_reader.h"
#include "core/observe/log.h"
#include "core/util/civil_date.h"
#include "core/util/clock.h"
#include "core/util/thread_name.h"
#include "core/util/thread_priority.h"

namespace archivist::engine {

namespace {

uint64_t prefixOf(const protocol::Bytes32& id) {
    uint64_t p = 0;
    std::memcpy(&p, id.data(), sizeof p);
    return p;
}

int64_t monthStart(int32_t key) {
    const int64_t y = key >= 0 ? key / 12 : -((-int64_t(key) + 11) / 12);
    return daysFromCivil(y, unsigned(key - y * 12) + 1, 1) * 86400;
}

}  // namespace

int32_t CoverageMonitor::monthKey(int64_t unix_s) {
    unix_s = std::clamp<int64_t>(unix_s, -(int64_t(1) << 40), int64_t(1) << 40);  // ±34,000 years: keys fit
    const CivilDate d = civilFromDays(unix_s >= 0 ? unix_s / 86400 : -((-unix_s + 86399) / 86400));
    return int32_t(d.year * 12 + int64_t(d.month) - 1);
}

CoverageMonitor::CoverageMonitor(std::function<std::shared_ptr<index::Index>()> index, std::filesystem::path archive_dir,
                                 CoverageMonitorOptions options)
    : m_index(std::move(index)), m_archiveDir(std::move(archive_dir)), m_opts(options) {}

CoverageMonitor::~CoverageMonitor() { stop(); }

void CoverageMonitor::start() {
    if (m_thread.joinable()) return;
    m_stop = false;
    m_cancel.store(false);
    m_thread = std::thread([this] { run(); });
}

void CoverageMonitor::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
        m_cancel.store(true);
        if (index::IndexReader* r = m_reader.load()) r->interrupt();
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void CoverageMonitor::observeStored(const protocol::Event& e) {
    std::lock_guard lock(m_mutex);
    m_dirty.insert(monthKey(e.created_at));
    if (!m_missing.empty()) {
        auto [a, b] = m_missing.equal_range(prefixOf(e.id));
        for (auto it = a; it != b; ++it) m_dirty.insert(it->second);
    }
    m_dirty.insert(m_untracked.begin(), m_untracked.end());
}

size_t CoverageMonitor::dirtyMonths() const {
    std::lock_guard lock(m_mutex);
    return m_dirty.size();
}

size_t CoverageMonitor::trackedMissing() const {
    std::lock_guard lock(m_mutex);
    return m_missing.size();
}

void CoverageMonitor::forgetMissingLocked(int32_t key, Month& m) {
    for (uint64_t p : m.missing) {
        auto [a, b] = m_missing.equal_range(p);
        for (auto it = a; it != b; ++it)
            if (it->second == key) {
                m_missing.erase(it);
                break;
            }
    }
    m.missing.clear();
    m.untracked = false;
    m_untracked.erase(key);
}

void CoverageMonitor::run() {
    setThreadName("coverage");  // named in profiles and thread lists like every engine thread
    lowerThisThreadPriority(10);  // derived data: the pipeline and the console go first
    std::shared_ptr<index::Index> idx;
    std::unique_ptr<index::IndexReader> reader;
    auto openReader = [&]() -> bool {
        auto current = m_index();
        if (current == idx && reader) return true;
        {
            std::lock_guard lock(m_mutex);  // stop() interrupts under the lock: never a reader being destroyed
            m_reader.store(nullptr);
        }
        reader.reset();
        idx = current;
        if (!idx) return false;
        auto r = index::IndexReader::open(idx);
        if (!r) {
            qCWarning(lcEngine) << "coverage: cannot read the index:" << r.error().message.c_str();
            return false;
        }
        reader = std::move(*r);
        return true;
    };
    // The archive's months that hold events (one indexed query each: from a month's first event
    // to the next month's), oldest first.
    bool seeded = false;
    std::optional<int64_t> seedFrom;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            if (m_stop) break;
        }
        while (!seeded && !m_cancel.load() && openReader()) {
            protocol::Filter f;
            if (seedFrom) f.since = *seedFrom;
            auto next = reader->query({f}, std::nullopt, 1, index::Order::OldestFirst);
            if (!next) break;  // tried again in the next round
            if (next->empty()) {
                seeded = true;
                break;
            }
            const int32_t k = monthKey(next->front().created_at);
            {
                std::lock_guard lock(m_mutex);
                m_dirty.insert(k);
            }
            seedFrom = monthStart(k + 1);
        }
        // The month due soonest: marked, and not computed within min_interval_ms.
        std::optional<int32_t> due;
        int64_t waitMs = 1000;
        {
            std::unique_lock lock(m_mutex);
            const int64_t now = wallMs();
            for (int32_t k : m_dirty) {
                auto it = m_months.find(k);
                auto failed = m_failedMs.find(k);
                const int64_t ready = std::max(it == m_months.end() ? 0 : it->second.computed_ms + m_opts.min_interval_ms,
                                               failed == m_failedMs.end() ? 0 : failed->second + m_opts.min_interval_ms);
                if (ready <= now) {
                    due = k;
                    break;
                }
                waitMs = std::min(waitMs, ready - now);
            }
            if (!due) {
                m_cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(50, waitMs)), [this] { return m_stop; });
                continue;
            }
            m_dirty.erase(*due);  // marks made while it is computed count for the next round
        }
        if (!openReader()) {
            std::unique_lock lock(m_mutex);
            m_dirty.insert(*due);
            m_cv.wait_for(lock, std::chrono::milliseconds(m_opts.min_pause_ms * 5), [this] { return m_stop; });
            continue;
        }
        const int64_t started = wallMs();
        const bool ok = computeMonth(*due, *reader);
        const int64_t elapsed = wallMs() - started;
        std::unique_lock lock(m_mutex);
        if (!ok && !m_stop) {
            m_dirty.insert(*due);  // tried again after the interval
            m_failedMs[*due] = wallMs();
        } else if (ok) {
            m_failedMs.erase(*due);
        }
        const int64_t pause =
            std::max<int64_t>(m_opts.min_pause_ms, int64_t(double(elapsed) * (1.0 - m_opts.duty) / m_opts.duty));
        m_cv.wait_for(lock, std::chrono::milliseconds(pause), [this] { return m_stop; });
    }
    std::lock_guard lock(m_mutex);
    m_reader.store(nullptr);
}

bool CoverageMonitor::computeMonth(int32_t key, index::IndexReader& reader) {
    archive::FrameCache frames(m_archiveDir, m_opts.frame_cache_bytes);
    CoverageRequest q;
    q.since = monthStart(key);
    q.until = monthStart(key + 1) - 1;
    q.want_missing = true;
    m_reader.store(&reader);
    if (m_cancel.load()) reader.interrupt();
    auto rep = computeCoverage(reader, frames, q, {}, &m_cancel);
    m_reader.store(nullptr);
    if (!rep) {
        if (rep.error().code == "cancelled" || rep.error().code == "interrupted") return false;
        ++m_errors;
        qCWarning(lcEngine) << "coverage of a month failed (tried again after" << m_opts.min_interval_ms / 1000
                            << "s):" << rep.error().message.c_str();
        return false;
    }
    ++m_computations;
    std::lock_guard lock(m_mutex);
    auto it = m_months.find(key);
    if (it != m_months.end()) forgetMissingLocked(key, it->second);
    if (rep->referencing_events == 0) {
        if (it != m_months.end()) m_months.erase(it);
        return true;
    }
    Month& m = m_months[key];
    m.rows = std::move(rep->rows);
    m.all = rep->by_month.empty() ? CoverageRow{} : rep->by_month.front();
    m.all.as_of_ms = rep->as_of_ms;
    m.referencing_events = rep->referencing_events;
    m.computed_ms = rep->as_of_ms;
    if (m_missing.size() + rep->missing.size() <= kMaxTrackedMissing) {
        m.missing.reserve(rep->missing.size());
        for (const auto& id : rep->missing) {
            m.missing.push_back(prefixOf(id));
            m_missing.emplace(m.missing.back(), key);
        }
    } else {
        m.untracked = true;
        m_untracked.insert(key);
    }
    return true;
}

CoverageReport CoverageMonitor::report(const CoverageRequest& q) const {
    CoverageReport out;
    out.summed_months = true;
    const int32_t from = q.since ? monthKey(*q.since) : INT32_MIN;
    const int32_t to = q.until ? monthKey(*q.until) : INT32_MAX;
    std::lock_guard lock(m_mutex);
    for (auto it = m_months.lower_bound(from); it != m_months.end() && it->first <= to; ++it) {
        const Month& m = it->second;
        out.rows.insert(out.rows.end(), m.rows.begin(), m.rows.end());
        out.by_month.push_back(m.all);
        out.referenced += m.all.referenced;
        out.held += m.all.held;
        out.referencing_events += m.referencing_events;
        out.as_of_ms = out.as_of_ms ? std::min(out.as_of_ms, m.computed_ms) : m.computed_ms;
    }
    for (auto it = m_dirty.lower_bound(from); it != m_dirty.end() && *it <= to; ++it) ++out.months_pending;
    return out;
}

}  // namespace archivist::engine
