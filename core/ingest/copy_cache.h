#pragma once
// CopyCache: what the verify threads learnt from the event JSON they handled lately, keyed by the
// SHA-256 of its exact bytes. On the relay path most arrivals are copies of an event another relay
// sent moments ago, byte for byte; a copy found here is neither parsed nor hashed into its id
// again, and when the bytes it repeats passed a BIP-340 check, its signature is not checked again
// either (the same bytes verify the same way). Keyed by SHA-256 as event ids are: equal keys are
// equal bytes as surely as equal ids are equal events.
//
// An entry is only what the bytes alone decide: the id, created_at, the signature's hash and the
// flags that do not depend on the receive time. Whether the event is stored is asked again for
// every copy (RecentIdCache, the index); the copy carries its JSON on (VerifiedItem::unparsed) in
// case the writer has to store it after all.
//
// Bounded: FIFO eviction at capacity, in shards (one mutex each) so that verify threads rarely
// wait on each other. A shard is a FifoTable placed by a keyed hash (IdHash), so crafted JSON
// cannot pile its keys into one probe run.
// Thread: any.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "core/ingest/recent_id_cache.h"
#include "core/protocol/event.h"
#include "core/util/fifo_table.h"

namespace archivist::ingest {

class CopyCache {
public:
    struct Entry {
        protocol::Bytes32 id{};
        int64_t created_at = 0;
        int64_t sighash = 0;              // index::sigHash of the signature
        uint32_t flags = 0;               // protocol::EventFlag bits, kFlagFutureTimestamp never set
        bool signature_checked = false;   // these bytes passed checkSignature (false: taken as a stored copy's)
    };
    static constexpr size_t kShards = 16;

    explicit CopyCache(size_t capacity);
    ~CopyCache();
    CopyCache(const CopyCache&) = delete;
    CopyCache& operator=(const CopyCache&) = delete;

    static protocol::Bytes32 keyOf(std::string_view json);
    std::optional<Entry> find(const protocol::Bytes32& key) const;
    // Hints that `key` is looked up soon (its slot's cache line; no lock, nothing read).
    void prefetch(const protocol::Bytes32& key) const { shardOf(key).table.prefetchSlot(key); }
    // Then, best once the slot has arrived: asks for the entry the slot points to (under the
    // shard's lock: it reads the slot).
    void prefetchEntry(const protocol::Bytes32& key) const;
    void insert(const protocol::Bytes32& key, const Entry& e);  // a key already present stays as it is
    void clear();
    size_t size() const;
    size_t capacity() const { return m_capacity; }

private:
    struct Shard {
        explicit Shard(size_t capacity) : table(capacity) {}
        mutable std::mutex mutex;
        FifoTable<protocol::Bytes32, Entry, IdHash> table;
    };
    Shard& shardOf(const protocol::Bytes32& key) const;

    size_t m_capacity = 0;
    std::vector<std::unique_ptr<Shard>> m_shards;
};

}  // namespace archivist::ingest
