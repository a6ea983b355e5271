#include "core/ingest/recent_id_cache.h"

#include <cstring>
#include <random>

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
    m_map.reserve(m_capacity);
    m_ring.reserve(m_capacity);
}

std::optional<RecentIdCache::Entry> RecentIdCache::findEntry(const protocol::Bytes32& id) const {
    std::lock_guard lock(m_mutex);
    auto it = m_map.find(id);
    if (it == m_map.end()) return std::nullopt;
    ++m_hits;
    return it->second;
}

std::optional<int64_t> RecentIdCache::find(const protocol::Bytes32& id) const {
    auto e = findEntry(id);
    if (!e) return std::nullopt;
    return e->rk;
}

void RecentIdCache::insert(const protocol::Bytes32& id, int64_t rk, int64_t sighash, archive::EventPos pos) {
    std::lock_guard lock(m_mutex);
    if (m_map.count(id)) return;
    ++m_epoch;
    if (m_ring.size() < m_capacity) {
        m_ring.push_back(id);
    } else {
        m_map.erase(m_ring[m_next]);
        m_ring[m_next] = id;
        m_next = (m_next + 1) % m_capacity;
    }
    m_map.emplace(id, Entry{rk, sighash, pos});
}

void RecentIdCache::clear() {
    std::lock_guard lock(m_mutex);
    m_map.clear();
    m_ring.clear();
    m_next = 0;
    ++m_generation;
}

size_t RecentIdCache::size() const {
    std::lock_guard lock(m_mutex);
    return m_map.size();
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
    return generation == m_generation && epoch <= m_epoch && m_epoch - epoch < m_capacity;
}

}  // namespace archivist::ingest
