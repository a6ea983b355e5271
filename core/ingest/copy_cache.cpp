#include "core/ingest/copy_cache.h"

#include <algorithm>

#include "core/ingest/recent_id_cache.h"
#include "core/protocol/sha256.h"

namespace archivist::ingest {

CopyCache::CopyCache(size_t capacity)
    : m_capacity(capacity ? capacity : 1),
      m_shardCapacity((m_capacity + kShards - 1) / kShards),
      m_shards(std::make_unique<Shard[]>(kShards)) {
    size_t tableSize = 8;
    while (tableSize < 2 * m_shardCapacity) tableSize *= 2;
    for (size_t s = 0; s < kShards; ++s) {
        Shard& shard = m_shards[s];
        shard.table = std::make_unique<uint32_t[]>(tableSize);  // zeroed: every slot empty
        shard.mask = tableSize - 1;
        shard.ring.reserve(m_shardCapacity);
    }
}

CopyCache::~CopyCache() = default;

protocol::Bytes32 CopyCache::keyOf(std::string_view json) { return protocol::sha256(json); }

size_t CopyCache::Shard::findSlot(const protocol::Bytes32& key, size_t home) const {
    for (size_t i = home & mask;; i = (i + 1) & mask) {
        const uint32_t at = table[i];
        if (!at) return mask + 1;
        if (ring[at - 1].key == key) return i;
    }
}

void CopyCache::Shard::erase(size_t i) {
    // Backward shift: every later slot of the run whose home is not between the hole and itself
    // moves into the hole, so that no lookup stops early at it.
    for (size_t j = (i + 1) & mask; table[j]; j = (j + 1) & mask) {
        const size_t home = IdHash{}(ring[table[j] - 1].key) & mask;
        const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays) continue;
        table[i] = table[j];
        i = j;
    }
    table[i] = 0;
}

std::optional<CopyCache::Entry> CopyCache::find(const protocol::Bytes32& key) const {
    const size_t h = IdHash{}(key);
    Shard& shard = shardOf(h);
    std::lock_guard lock(shard.mutex);
    const size_t i = shard.findSlot(key, h);
    if (i > shard.mask) return std::nullopt;
    return shard.ring[shard.table[i] - 1].entry;
}

void CopyCache::insert(const protocol::Bytes32& key, const Entry& e) {
    const size_t h = IdHash{}(key);
    Shard& shard = shardOf(h);
    std::lock_guard lock(shard.mutex);
    if (shard.findSlot(key, h) <= shard.mask) return;
    size_t pos;
    if (shard.ring.size() < m_shardCapacity) {
        pos = shard.ring.size();
        shard.ring.push_back(Node{key, e});
    } else {
        // Full: the oldest entry makes room.
        pos = shard.next;
        const protocol::Bytes32& old = shard.ring[pos].key;
        shard.erase(shard.findSlot(old, IdHash{}(old)));
        shard.ring[pos] = Node{key, e};
        shard.next = (pos + 1) % m_shardCapacity;
    }
    size_t i = h & shard.mask;
    while (shard.table[i]) i = (i + 1) & shard.mask;
    shard.table[i] = uint32_t(pos + 1);
}

void CopyCache::clear() {
    for (size_t s = 0; s < kShards; ++s) {
        Shard& shard = m_shards[s];
        std::lock_guard lock(shard.mutex);
        std::fill(shard.table.get(), shard.table.get() + shard.mask + 1, 0u);
        shard.ring.clear();
        shard.next = 0;
    }
}

size_t CopyCache::size() const {
    size_t n = 0;
    for (size_t s = 0; s < kShards; ++s) {
        std::lock_guard lock(m_shards[s].mutex);
        n += m_shards[s].ring.size();
    }
    return n;
}

size_t CopyCache::bytesAtCapacity() const {
    return kShards * (m_shardCapacity * sizeof(Node) + (m_shards[0].mask + 1) * sizeof(uint32_t));
}

}  // namespace archivist::ingest
