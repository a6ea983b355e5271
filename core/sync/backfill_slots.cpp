#include "core/sync/backfill_slots.h"

namespace archivist::sync {

BackfillSlots::BackfillSlots(size_t slots, size_t max_waiters) : m_slots(slots ? slots : 1), m_maxWaiters(max_waiters) {}

bool BackfillSlots::tryAcquire(const std::string& relay, int64_t behind_s) {
    std::lock_guard lock(m_mutex);
    if (m_holders.count(relay)) return true;
    if (!m_waiters.count(relay) && m_waiters.size() >= m_maxWaiters) return false;
    m_waiters[relay] = behind_s;
    if (m_holders.size() >= m_slots) return false;
    // Free slots go to the most-behind waiters first: grant only if fewer waiters are further behind than free slots.
    size_t ahead = 0;
    for (const auto& [name, behind] : m_waiters)
        if (name != relay && (behind > behind_s || (behind == behind_s && name < relay))) ++ahead;
    if (ahead >= m_slots - m_holders.size()) return false;
    m_waiters.erase(relay);
    m_holders.insert(relay);
    return true;
}

void BackfillSlots::release(const std::string& relay) {
    std::lock_guard lock(m_mutex);
    m_holders.erase(relay);
}

void BackfillSlots::forget(const std::string& relay) {
    std::lock_guard lock(m_mutex);
    m_holders.erase(relay);
    m_waiters.erase(relay);
}

size_t BackfillSlots::inUse() const {
    std::lock_guard lock(m_mutex);
    return m_holders.size();
}

size_t BackfillSlots::waiting() const {
    std::lock_guard lock(m_mutex);
    return m_waiters.size();
}

}  // namespace archivist::sync
