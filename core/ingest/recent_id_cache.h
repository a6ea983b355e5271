#pragma once
// RecentIdCache: the ids of the most recently committed events, with their index row keys and
// signature hashes, so most duplicates are recognised without asking SQLite — by the commit
// writer (exact deduplication) and, read-only, by the verify threads (a duplicate whose signature
// hashes like the stored copy's skips BIP-340). Bounded: FIFO eviction at capacity. Only committed
// events enter it (an id is "seen" only once it is durable).
//
// epoch() counts insertions and generation() counts clear()s: a lookup that found an id absent
// everywhere at epoch E (read BEFORE the lookup) is still valid later while fewer than capacity()
// insertions happened since and the generation is the same — every id committed since is then in
// the cache (absentStillValid).
// The table is open-addressed (linear probing, at most half full, backward-shift deletion): a
// lookup reads one slot where a node-based map read a bucket, then a node; an insertion allocates
// nothing. Thread: any (one mutex).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/protocol/event.h"

namespace archivist::observe {
class Counter;
class MetricsRegistry;
}  // namespace archivist::observe

namespace archivist::ingest {

// The counter of index lookups of an event id that the recent ids did not know, by the thread
// that asked ("verify", "writer") and what the index said ("stored", "absent").
observe::Counter& idLookupCounter(observe::MetricsRegistry& metrics, const char* thread, const char* result);

struct IdHash {
    size_t operator()(const protocol::Bytes32& id) const noexcept;
};

class RecentIdCache {
public:
    struct Entry {
        int64_t rk = 0;
        int64_t sighash = 0;
        archive::EventPos pos;  // where it is archived (for the sightings log)
    };
    explicit RecentIdCache(size_t capacity);
    std::optional<int64_t> find(const protocol::Bytes32& id) const;
    std::optional<Entry> findEntry(const protocol::Bytes32& id) const;
    // Hints that `id` is looked up soon: asks for its home slot's cache lines. Reads no entry, so
    // it takes no lock.
    void prefetch(const protocol::Bytes32& id) const {
        const char* slot = reinterpret_cast<const char*>(&m_slots[IdHash{}(id) & m_mask]);
        __builtin_prefetch(slot);
        __builtin_prefetch(slot + sizeof(Slot) - 1);
    }
    // The commit writer's question, under one lock: the id's entry, whether the cache is still the
    // one of `generation`, and whether an absence found at (epoch, generation) still holds.
    struct Probe {
        std::optional<Entry> entry;
        bool same_generation = false;
        bool absent_still_valid = false;
    };
    Probe probe(const protocol::Bytes32& id, uint64_t epoch, uint64_t generation) const;
    void insert(const protocol::Bytes32& id, int64_t rk, int64_t sighash = 0, archive::EventPos pos = {});
    // A committed group's events, under one lock (in order: the FIFO order is theirs).
    void insertMany(const std::vector<std::pair<protocol::Bytes32, Entry>>& entries);
    void clear();
    size_t size() const;
    size_t capacity() const { return m_capacity; }
    uint64_t hits() const;
    uint64_t epoch() const;
    uint64_t generation() const;
    bool absentStillValid(uint64_t epoch, uint64_t generation) const;

private:
    struct Slot {  // all zero: empty
        protocol::Bytes32 id;
        Entry entry;
        bool used;
    };
    struct FreeSlots {
        void operator()(Slot* p) const { std::free(p); }
    };
    // Locked helpers.
    size_t slotOf(const protocol::Bytes32& id) const;  // its slot, or m_slots.size() when absent
    void insertLocked(const protocol::Bytes32& id, const Entry& e);
    void eraseSlot(size_t i);
    bool absentStillValidLocked(uint64_t epoch, uint64_t generation) const;

    size_t m_capacity;
    mutable std::mutex m_mutex;
    // A power of two ≥ 2 × capacity, from calloc: pages no entry reached yet take no memory.
    std::unique_ptr<Slot[], FreeSlots> m_slots;
    size_t m_slotCount = 0;
    size_t m_mask = 0;
    size_t m_size = 0;
    std::vector<protocol::Bytes32> m_ring;  // insertion order, for FIFO eviction
    size_t m_next = 0;
    uint64_t m_epoch = 0;
    uint64_t m_generation = 0;
    mutable uint64_t m_hits = 0;
};

}  // namespace archivist::ingest
