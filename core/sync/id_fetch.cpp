#include "core/sync/id_fetch.h"

#include <QDateTime>
#include <algorithm>

namespace archivist::sync {

void IdFetch::start() {
    std::lock_guard lock(m_mutex);
    m_tallies.clear();
    m_batch.clear();
    m_active = false;
}

void IdFetch::stop() {
    std::lock_guard lock(m_mutex);
    m_active = false;
    m_batch = {};
    m_cv.notify_all();
}

void IdFetch::publish(std::vector<protocol::Bytes32> ids) {
    std::lock_guard lock(m_mutex);
    if (ids.size() > kMaxBatch) ids.resize(kMaxBatch);
    m_batch = std::move(ids);
    m_active = true;
    ++m_generation;
    for (auto& [who, part] : m_parts) part = Part{part.url, m_generation, 0, false};
}

bool IdFetch::batchDoneLocked() const {
    if (!m_active || m_parts.empty()) return false;
    return std::all_of(m_parts.begin(), m_parts.end(),
                       [this](const auto& p) { return p.second.generation == m_generation && p.second.done; });
}

IdFetch::Wait IdFetch::wait(const std::atomic<bool>* cancel, int64_t no_relay_ms) {
    std::unique_lock lock(m_mutex);
    int64_t lonelySince = m_parts.empty() ? QDateTime::currentMSecsSinceEpoch() : 0;
    for (;;) {
        if (cancel && cancel->load()) return Wait::Cancelled;
        if (batchDoneLocked()) return Wait::Done;
        const int64_t now = QDateTime::currentMSecsSinceEpoch();
        if (!m_parts.empty()) lonelySince = 0;
        else if (!lonelySince) lonelySince = now;
        else if (now - lonelySince >= no_relay_ms) return Wait::NoRelay;
        m_cv.wait_for(lock, std::chrono::milliseconds(100));
    }
}

std::vector<IdFetchRelayTally> IdFetch::tallies() const {
    std::lock_guard lock(m_mutex);
    std::vector<IdFetchRelayTally> out;
    for (const auto& [url, t] : m_tallies) out.push_back(t);
    return out;
}

size_t IdFetch::participants() const {
    std::lock_guard lock(m_mutex);
    return m_parts.size();
}

IdFetchRelayTally& IdFetch::tallyLocked(const std::string& url) {
    auto& t = m_tallies[url];
    t.url = url;
    return t;
}

void IdFetch::join(const void* who, const std::string& url) {
    std::lock_guard lock(m_mutex);
    if (m_parts.size() >= kMaxRelays && !m_parts.count(who)) return;
    m_parts[who] = Part{url, m_generation, 0, false};
    m_cv.notify_all();
}

void IdFetch::leave(const void* who) {
    std::lock_guard lock(m_mutex);
    if (m_parts.erase(who)) m_cv.notify_all();
}

std::vector<protocol::Bytes32> IdFetch::nextChunk(const void* who, size_t max, uint64_t* generation) {
    std::lock_guard lock(m_mutex);
    auto it = m_parts.find(who);
    if (!m_active || it == m_parts.end()) return {};
    Part& p = it->second;
    if (p.generation != m_generation) p = Part{p.url, m_generation, 0, false};
    if (p.done || p.next >= m_batch.size()) return {};
    const size_t end = std::min(m_batch.size(), p.next + std::max<size_t>(1, max));
    std::vector<protocol::Bytes32> out(m_batch.begin() + long(p.next), m_batch.begin() + long(end));
    p.next = end;
    if (generation) *generation = m_generation;
    return out;
}

bool IdFetch::hasWork(const void* who) const {
    std::lock_guard lock(m_mutex);
    auto it = m_parts.find(who);
    if (!m_active || it == m_parts.end()) return false;
    const Part& p = it->second;
    return p.generation != m_generation || (!p.done && p.next < m_batch.size());
}

void IdFetch::returned(const void* who) {
    std::lock_guard lock(m_mutex);
    if (auto it = m_parts.find(who); it != m_parts.end()) ++tallyLocked(it->second.url).returned;
}

void IdFetch::ended(const void* who, uint64_t generation, size_t ids, bool ok, const std::string& error) {
    std::lock_guard lock(m_mutex);
    auto it = m_parts.find(who);
    if (it == m_parts.end() || generation != m_generation) return;
    auto& t = tallyLocked(it->second.url);
    t.asked += ids;
    if (!ok) {
        ++t.failed;
        t.last_error = error.substr(0, 300);
    }
}

void IdFetch::partDone(const void* who, uint64_t generation) {
    std::lock_guard lock(m_mutex);
    auto it = m_parts.find(who);
    if (it == m_parts.end() || generation != m_generation || it->second.generation != generation) return;
    if (it->second.next < m_batch.size() || it->second.done) return;
    it->second.done = true;
    ++tallyLocked(it->second.url).batches;
    m_cv.notify_all();
}

}  // namespace archivist::sync
