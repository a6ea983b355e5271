#pragma once
// BackfillSlots: how many relays run historical backfill at once, and who goes next. Relays ask
// with how far behind they are; a free slot goes to the most-behind waiter (the relay with the
// most history left), so one slow relay cannot starve the rest and the largest holes close first.
// Bounded: at most one waiter entry per relay; waiters beyond `max_waiters` are refused (they ask
// again later).
// Thread: any.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace archivist::sync {

class BackfillSlots {
public:
    explicit BackfillSlots(size_t slots = 8, size_t max_waiters = 100000);
    // Registers/updates the waiter and grants a slot if one is free and no waiter is further behind.
    bool tryAcquire(const std::string& relay, int64_t behind_s);
    void release(const std::string& relay);
    void forget(const std::string& relay);  // relay removed: drop its waiter entry and slot
    size_t inUse() const;
    size_t waiting() const;
    size_t capacity() const { return m_slots; }

private:
    const size_t m_slots;
    const size_t m_maxWaiters;
    mutable std::mutex m_mutex;
    std::unordered_set<std::string> m_holders;
    std::unordered_map<std::string, int64_t> m_waiters;
};

}  // namespace archivist::sync
