#pragma once
// RecentIdCache: the ids of the most recently committed events, with their index row ids, so the
// writer can recognise most duplicates without asking SQLite. Bounded: FIFO eviction at capacity.
// Only committed events enter it (an id is "seen" only once it is durable).
// Thread: writer only.
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/protocol/event.h"

namespace archivist::ingest {

struct IdHash {
    size_t operator()(const protocol::Bytes32& id) const noexcept;
};

class RecentIdCache {
public:
    explicit RecentIdCache(size_t capacity);
    std::optional<int64_t> find(const protocol::Bytes32& id) const;
    void insert(const protocol::Bytes32& id, int64_t rowid);
    void clear();
    size_t size() const { return m_map.size(); }
    size_t capacity() const { return m_capacity; }
    uint64_t hits() const { return m_hits; }

private:
    size_t m_capacity;
    std::unordered_map<protocol::Bytes32, int64_t, IdHash> m_map;
    std::vector<protocol::Bytes32> m_ring;  // insertion order, for FIFO eviction
    size_t m_next = 0;
    mutable uint64_t m_hits = 0;
};

}  // namespace archivist::ingest
