#include "core/ingest/copy_cache.h"

#include <algorithm>

#include "core/protocol/sha256.h"

namespace archivist::ingest {

CopyCache::CopyCache(size_t capacity) {
    const size_t each = std::max<size_t>(1, (capacity + kShards - 1) / kShards);
    m_capacity = each * kShards;  // what the shards hold together
    for (size_t s = 0; s < kShards; ++s) m_shards.push_back(std::make_unique<Shard>(each));
}

CopyCache::~CopyCache() = default;

protocol::Bytes32 CopyCache::keyOf(std::string_view json) { return protocol::sha256(json); }

CopyCache::Shard& CopyCache::shardOf(const protocol::Bytes32& key) const {
    // The high bits: the table inside the shard places by the low ones.
    return *m_shards[(IdHash{}(key) >> 48) % kShards];
}

std::optional<CopyCache::Entry> CopyCache::find(const protocol::Bytes32& key) const {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    const Entry* e = shard.table.find(key);
    if (!e) return std::nullopt;
    return *e;
}

void CopyCache::prefetchEntry(const protocol::Bytes32& key) const {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    shard.table.prefetchEntry(key);
}

void CopyCache::insert(const protocol::Bytes32& key, const Entry& e) {
    Shard& shard = shardOf(key);
    std::lock_guard lock(shard.mutex);
    shard.table.insert(key, e);
}

void CopyCache::clear() {
    for (auto& shard : m_shards) {
        std::lock_guard lock(shard->mutex);
        shard->table.clear();
    }
}

size_t CopyCache::size() const {
    size_t n = 0;
    for (const auto& shard : m_shards) {
        std::lock_guard lock(shard->mutex);
        n += shard->table.size();
    }
    return n;
}

}  // namespace archivist::ingest
