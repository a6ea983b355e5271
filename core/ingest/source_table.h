#pragma once
// SourceTable: every place events come from (a relay URL, an import job) with its live counters.
//
// Contract
// - add() returns a stable SourceId; the entry (and references to its counters) stays valid for the
//   table's lifetime. Capacity is fixed at construction (bounded; add() fails when full) and exported
//   as a gauge. Names are unique: adding an existing name returns the existing id.
// - Counters are atomics, updated by the verify pool (received, invalid by reason) and by the
//   commit writer (stored, duplicate — only after the index transaction committed).
// - index_source_id is the source's row id in the index database, filled lazily by the writer.
// Thread: any.
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/ingest/ingest_types.h"
#include "core/protocol/event.h"

namespace archivist::ingest {

struct SourceCounters {
    std::atomic<uint64_t> received{0};   // items handed to the verify pool
    std::atomic<uint64_t> stored{0};     // new events committed
    std::atomic<uint64_t> duplicate{0};  // valid events already stored (committed as a sighting)
    std::atomic<uint64_t> invalid{0};    // rejected, any reason
    std::array<std::atomic<uint64_t>, static_cast<size_t>(protocol::Reject::Count)> invalid_by_reason{};

    uint64_t settled() const {
        return stored.load(std::memory_order_acquire) + duplicate.load(std::memory_order_acquire) +
               invalid.load(std::memory_order_acquire);
    }
};

// A plain copy of one source's counters for reports and the console.
struct SourceSnapshot {
    SourceId id = 0;
    std::string name;
    uint64_t received = 0, stored = 0, duplicate = 0, invalid = 0;
    std::array<uint64_t, static_cast<size_t>(protocol::Reject::Count)> invalid_by_reason{};
    uint64_t settled() const { return stored + duplicate + invalid; }
};

class SourceTable {
public:
    explicit SourceTable(size_t capacity = 65536);

    std::optional<SourceId> add(const std::string& name);
    const std::string& name(SourceId id) const;
    std::optional<SourceId> find(const std::string& name) const;
    SourceCounters& counters(SourceId id);
    const SourceCounters& counters(SourceId id) const;
    SourceSnapshot snapshot(SourceId id) const;
    std::vector<SourceSnapshot> snapshotAll() const;

    // Writer-side cache of the index database's id for this source (0 = not yet known).
    uint32_t indexSourceId(SourceId id) const;
    void setIndexSourceId(SourceId id, uint32_t index_id);
    // Forgets every index id (the index content was replaced: ids are looked up again).
    void clearIndexSourceIds();

    size_t size() const;
    size_t capacity() const { return m_capacity; }

private:
    struct Entry {
        std::string name;
        SourceCounters counters;
        std::atomic<uint32_t> index_id{0};
    };
    const size_t m_capacity;
    mutable std::mutex m_mutex;            // guards m_entries growth and m_byName
    std::deque<Entry> m_entries;           // deque: stable addresses on growth
    std::unordered_map<std::string, SourceId> m_byName;
    std::atomic<size_t> m_size{0};
};

}  // namespace archivist::ingest
