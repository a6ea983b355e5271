#include "core/ingest/recent_id_cache.h"

#include <cstring>
#include <new>
#include <random>

#include "core/observe/metrics.h"

namespace archivist::ingest {

namespace {
// Per-process random key: ids come from the network, so bucket placement must not be predictable.
const uint64_t kHashKey = [] {
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ rd() ^ 0x9e3779b97f4a7c15ull;
}();
}  // namespace

size_t IdHash::operator()(const protocol::Bytes32& id) const noexcept {
    uint64_t a, b;
    std::memcpy(&a, id.data(), 8);
    std::memcpy(&b, id.data() + 8, 8);
    uint64_t h = (a ^ kHashKey) * 0xbf58476d1ce4e5b9ull;
    h ^= (b + kHashKey) * 0x94d049bb133111ebull;
    return static_cast<size_t>(h ^ (h >> 31));
}

RecentIdCache::RecentIdCache(size_t capacity) : m_capacity(capacity ? capacity : 1) {
    size_t slots = 8;
    while (slots < 2 * m_capacity) slots *= 2;
    m_slots.reset(static_cast<Slot*>(std::calloc(slots, sizeof(Slot))));
    if (!m_slots) throw std::bad_alloc();
    m_slotCount = slots;
    m_mask = slots - 1;
    m_ring.reserve(m_capacity);
}

size_t RecentIdCache::slotOf(const protocol::Bytes32& id) const {
    for (size_t i = IdHash{}(id) & m_mask;; i = (i + 1) & m_mask) {
        const Slot& s = m_slots[i];
        if (!s.used) return m_slotCount;
        if (s.id == id) return i;
    }
}

void RecentIdCache::eraseSlot(size_t i) {
    // Backward-shift deletion: every later slot of the run whose home is not between the hole and
    // itself moves into the hole, so no lookup ever stops early at it.
    for (size_t j = (i + 1) & m_mask; m_slots[j].used; j = (j + 1) & m_mask) {
        const size_t home = IdHash{}(m_slots[j].id) & m_mask;
        const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays) continue;
        m_slots[i] = m_slots[j];
        i = j;
    }
    m_slots[i].used = false;
    --m_size;
}

void RecentIdCache::insertLocked(const protocol::Bytes32& id, const Entry& e) {
    size_t i = IdHash{}(id) & m_mask;
    for (; m_slots[i].used; i = (i + 1) & m_mask)
        if (m_slots[i].id == id) return;
    ++m_epoch;
    if (m_ring.size() < m_capacity) {
        m_ring.push_back(id);
    } else {
        const size_t old = slotOf(m_ring[m_next]);
        if (old != m_slotCount) {
            eraseSlot(old);
            // The deletion may have moved entries of this id's run: find its free slot again.
            for (i = IdHash{}(id) & m_mask; m_slots[i].used; i = (i + 1) & m_mask) {
            }
        }
        m_ring[m_next] = id;
        m_next = (m_next + 1) % m_capacity;
    }
    m_slots[i] = Slot{id, e, true};
    ++m_size;
}

std::optional<RecentIdCache::Entry> RecentIdCache::findEntry(const protocol::Bytes32& id) const {
    std::lock_guard lock(m_mutex);
    const size_t i = slotOf(id);
    if (i == m_slotCount) return std::nullopt;
    ++m_hits;
    return m_slots[i].entry;
}

RecentIdCache::Probe RecentIdCache::probe(const protocol::Bytes32& id, uint64_t epoch, uint64_t generation) const {
    std::lock_guard lock(m_mutex);
    Probe p;
    if (const size_t i = slotOf(id); i != m_slotCount) {
        ++m_hits;
        p.entry = m_slots[i].entry;
    }
    p.same_generation = generation == m_generation;
    p.absent_still_valid = absentStillValidLocked(epoch, generation);
    return p;
}

std::optional<int64_t> RecentIdCache::find(const protocol::Bytes32& id) const {
    auto e = findEntry(id);
    if (!e) return std::nullopt;
    return e->rk;
}

void RecentIdCache::insert(const protocol::Bytes32& id, int64_t rk, int64_t sighash, archive::EventPos pos) {
    std::lock_guard lock(m_mutex);
    insertLocked(id, Entry{rk, sighash, pos});
}

void RecentIdCache::insertMany(const std::vector<std::pair<protocol::Bytes32, Entry>>& entries) {
    std::lock_guard lock(m_mutex);
    for (const auto& [id, e] : entries) insertLocked(id, e);
}

void RecentIdCache::clear() {
    std::lock_guard lock(m_mutex);
    // Only the slots in use (the ring names them all): the others stay untouched.
    std::vector<size_t> used;
    used.reserve(m_ring.size());
    for (const protocol::Bytes32& id : m_ring)
        if (const size_t i = slotOf(id); i != m_slotCount) used.push_back(i);
    for (size_t i : used) m_slots[i].used = false;
    m_size = 0;
    m_ring.clear();
    m_next = 0;
    ++m_generation;
}

size_t RecentIdCache::size() const {
    std::lock_guard lock(m_mutex);
    return m_size;
}

uint64_t RecentIdCache::hits() const {
    std::lock_guard lock(m_mutex);
    return m_hits;
}

uint64_t RecentIdCache::epoch() const {
    std::lock_guard lock(m_mutex);
    return m_epoch;
}

uint64_t RecentIdCache::generation() const {
    std::lock_guard lock(m_mutex);
    return m_generation;
}

bool RecentIdCache::absentStillValid(uint64_t epoch, uint64_t generation) const {
    std::lock_guard lock(m_mutex);
    return absentStillValidLocked(epoch, generation);
}

bool RecentIdCache::absentStillValidLocked(uint64_t epoch, uint64_t generation) const {
    return generation == m_generation && epoch <= m_epoch && m_epoch - epoch < m_capacity;
}

observe::Counter& idLookupCounter(observe::MetricsRegistry& metrics, const char* thread, const char* result) {
    return metrics.counter("archivist_id_lookups_total",
                           "Index lookups of an event id, to tell a copy of a stored event from a new one",
                           {{"thread", thread}, {"result", result}});
}

}  // namespace archivist::ingest
