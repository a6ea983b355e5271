#include "core/relays/hourly_stats.h"

#include <vector>

#include "core/observe/log.h"
#include "core/relays/relay_state_store.h"
#include "core/util/clock.h"

namespace archivist::relays {

void HourlyStats::Acc::add(const Acc& o) {
    received += o.received;
    bytes += o.bytes;
    novel += o.novel;
    duplicates += o.duplicates;
    failures += o.failures;
    connected_s += o.connected_s;
    for (size_t i = 0; i < rejected.size(); ++i) rejected[i] += o.rejected[i];
    for (size_t i = 0; i < refused.size(); ++i) refused[i] += o.refused[i];
}

HourlyStats::HourlyStats(size_t max_relays, std::function<int64_t()> clock_ms)
    : m_maxRelays(max_relays == 0 ? 1 : max_relays),
      m_clock(clock_ms ? std::move(clock_ms) : std::function<int64_t()>(&wallMs)) {}

HourlyStats::Acc* HourlyStats::slot(const std::string& url, int64_t hour, uint64_t events) {
    auto hit = m_hours.find(hour);
    if (hit == m_hours.end()) {
        while (m_hours.size() >= kMaxHours) {
            auto oldest = m_hours.begin();
            if (oldest->first > hour) {
                // Older than everything held while full: the update itself is what drops.
                ++m_droppedEntries;
                return nullptr;
            }
            m_droppedEntries += oldest->second.size();
            m_entries -= oldest->second.size();
            qCWarning(lcRelays) << "hourly relay statistics: dropped hour" << oldest->first << "with"
                                << oldest->second.size() << "relays (flushes kept failing)";
            m_hours.erase(oldest);
        }
        hit = m_hours.emplace(hour, Hour{}).first;
    }
    Hour& h = hit->second;
    auto it = h.find(url);
    if (it != h.end()) return &it->second;
    if (h.size() >= m_maxRelays) {
        ++m_overflowUpdates;
        m_overflowEvents += events;
        if (m_overflowLoggedHour != hour) {
            m_overflowLoggedHour = hour;
            qCWarning(lcRelays) << "hourly relay statistics: more than" << m_maxRelays
                                << "relays in one hour; further relays are counted as overflow";
        }
        return nullptr;
    }
    ++m_entries;
    return &h.emplace(url, Acc{}).first->second;
}

HourlyStats::Acc* HourlyStats::slotNow(const std::string& url, uint64_t events) {
    return slot(url, m_clock() / kHourMs, events);
}

void HourlyStats::addReceived(const std::string& url, uint64_t events, uint64_t bytes) {
    std::lock_guard lock(m_mutex);
    if (Acc* a = slotNow(url, events)) {
        a->received += events;
        a->bytes += bytes;
    }
}

void HourlyStats::addOutcome(const std::string& url, uint64_t stored, uint64_t duplicates, const RejectCounts& rejected) {
    std::lock_guard lock(m_mutex);
    if (Acc* a = slotNow(url)) {
        a->novel += stored;
        a->duplicates += duplicates;
        for (size_t i = 0; i < rejected.size(); ++i) a->rejected[i] += rejected[i];
    }
}

void HourlyStats::addRejected(const std::string& url, protocol::Reject reason, uint64_t n) {
    if (size_t(reason) >= size_t(protocol::Reject::Count)) return;
    std::lock_guard lock(m_mutex);
    if (Acc* a = slotNow(url)) a->rejected[size_t(reason)] += n;
}

void HourlyStats::addRefused(const std::string& url, const RefusalCounts& refused) {
    std::lock_guard lock(m_mutex);
    if (Acc* a = slotNow(url))
        for (size_t i = 0; i < refused.size(); ++i) a->refused[i] += refused[i];
}

void HourlyStats::addConnectedSeconds(const std::string& url, int64_t seconds) {
    std::lock_guard lock(m_mutex);
    if (Acc* a = slotNow(url)) a->connected_s += seconds;
}

void HourlyStats::addFailure(const std::string& url, uint64_t n) {
    std::lock_guard lock(m_mutex);
    if (Acc* a = slotNow(url)) a->failures += n;
}

Expected<size_t> HourlyStats::flush(RelayStateStore& store, int64_t now_ms) {
    std::map<int64_t, Hour> taken;
    {
        std::lock_guard lock(m_mutex);
        taken.swap(m_hours);
        m_entries = 0;
    }
    if (taken.empty()) {
        std::lock_guard lock(m_mutex);
        m_lastFlushMs = now_ms;
        return size_t(0);
    }
    std::vector<HourlyRow> rows;
    for (const auto& [hour, relays] : taken) {
        for (const auto& [url, a] : relays) {
            HourlyRow r;
            r.url = url;
            r.hour = hour;
            r.received = a.received;
            r.bytes = a.bytes;
            r.novel = a.novel;
            r.duplicates = a.duplicates;
            r.failures = a.failures;
            r.connected_s = a.connected_s;
            for (size_t i = 0; i < a.rejected.size(); ++i) {
                if (!a.rejected[i]) continue;
                r.rejected += a.rejected[i];
                r.rejected_by_reason[protocol::rejectName(protocol::Reject(i))] += a.rejected[i];
            }
            for (size_t i = 0; i < a.refused.size(); ++i) {
                if (!a.refused[i]) continue;
                r.rejected += a.refused[i];
                r.rejected_by_reason[observe::eventRefusalName(observe::EventRefusal(i + 1))] += a.refused[i];
            }
            rows.push_back(std::move(r));
        }
    }
    auto written = store.observations().addHourly(rows);
    std::lock_guard lock(m_mutex);
    if (!written) {
        ++m_flushFailures;
        qCWarning(lcRelays) << "hourly relay statistics: flush failed, keeping" << rows.size()
                            << "rows for the next try:" << QString::fromStdString(written.error().message);
        for (const auto& [hour, relays] : taken) {
            for (const auto& [url, a] : relays) {
                uint64_t events = a.received;
                if (Acc* dst = slot(url, hour, events)) dst->add(a);
            }
        }
        return toError(written.error());
    }
    m_lastFlushMs = now_ms;
    if (*written < rows.size()) {
        m_unknownRows += rows.size() - *written;
        qCDebug(lcRelays) << "hourly relay statistics:" << rows.size() - *written << "rows for relays not in the directory";
    }
    return *written;
}

size_t HourlyStats::entries() const {
    std::lock_guard lock(m_mutex);
    return m_entries;
}

uint64_t HourlyStats::overflowUpdates() const {
    std::lock_guard lock(m_mutex);
    return m_overflowUpdates;
}

uint64_t HourlyStats::overflowEvents() const {
    std::lock_guard lock(m_mutex);
    return m_overflowEvents;
}

uint64_t HourlyStats::droppedEntries() const {
    std::lock_guard lock(m_mutex);
    return m_droppedEntries;
}

uint64_t HourlyStats::unknownRelayRows() const {
    std::lock_guard lock(m_mutex);
    return m_unknownRows;
}

uint64_t HourlyStats::flushFailures() const {
    std::lock_guard lock(m_mutex);
    return m_flushFailures;
}

int64_t HourlyStats::lastFlushMs() const {
    std::lock_guard lock(m_mutex);
    return m_lastFlushMs;
}

}  // namespace archivist::relays
