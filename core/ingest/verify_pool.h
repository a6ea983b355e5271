#pragma once
// VerifyPool: N threads that take RawBatches, validate every item (size, strict parse, id, BIP-340
// signature — protocol::EventValidator, one per thread) and pass the valid ones on as VerifiedBatches.
// Rejections are counted on the source (per reason) and in the metrics registry; nothing invalid
// goes further. Output push blocks when the writer's queue is full (backpressure, never drops).
//
// Duplicates cost a hash, not a signature: after the id is checked and before the signature, each
// thread looks the id up (the recent-id cache, then the index: RecentIdCache, index::Lookup). A
// copy of a stored event whose signature bytes hash like the stored copy's is the same signed
// event: it goes on as a duplicate without a BIP-340 check. A stored id with other signature
// bytes is verified (BIP-340 signatures are randomised; a forged one must not become a
// sighting), and so is every id not stored. The lookup only reads; the commit writer's
// deduplication stays the exact authority (and verifies an item it finds new after all).
//
// Copies cost less than that: JSON byte-identical to an event handled lately (CopyCache, keyed by
// the SHA-256 of the bytes) is neither parsed nor hashed into its id again. It goes on with its id,
// created_at and signature hash from the cache and its JSON (VerifiedItem::unparsed), which the
// writer parses only if it has to store the event after all. When those bytes passed a BIP-340
// check, the copy's signature is not checked either, whether or not the event is stored yet. A
// thread adds an item to the cache as soon as it passed, so that a copy another thread handles
// meanwhile is not verified twice; such a copy may reach the writer before the item it repeats,
// and the writer then parses it (and takes the other for its copy).
//
// Lifecycle: start() spawns the threads; they exit once the input queue is closed and drained.
// join() waits for them and then closes the output queue (so the writer drains and stops).
// Thread: start/join from the owner thread.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "core/ingest/bounded_queue.h"
#include "core/ingest/copy_cache.h"
#include "core/ingest/ingest_types.h"
#include "core/ingest/recent_id_cache.h"
#include "core/ingest/source_table.h"
#include "core/protocol/event_validator.h"

namespace archivist::observe {
class MetricsRegistry;
class Counter;
}

namespace archivist::index {
class Index;
}

namespace archivist::ingest {

class VerifyPool {
public:
    // `recent` and `index` may be null (no duplicate precheck), `copies` too (every item parsed).
    VerifyPool(BoundedQueue<RawBatch>& in, BoundedQueue<VerifiedBatch>& out, SourceTable& sources,
               protocol::ValidationPolicy policy, size_t threads, observe::MetricsRegistry& metrics,
               const RecentIdCache* recent = nullptr, std::shared_ptr<index::Index> index = nullptr,
               CopyCache* copies = nullptr);
    ~VerifyPool();
    VerifyPool(const VerifyPool&) = delete;
    VerifyPool& operator=(const VerifyPool&) = delete;

    void start();
    void join();
    size_t threadCount() const { return m_threadCount; }

private:
    void run(std::shared_ptr<index::Index> idx);

    BoundedQueue<RawBatch>& m_in;
    BoundedQueue<VerifiedBatch>& m_out;
    SourceTable& m_sources;
    const protocol::ValidationPolicy m_policy;
    const size_t m_threadCount;
    const RecentIdCache* m_recent;
    CopyCache* m_copies;
    std::shared_ptr<index::Index> m_index;
    observe::MetricsRegistry& m_metrics;
    std::vector<std::thread> m_threads;
    observe::Counter* m_verified = nullptr;
    observe::Counter* m_sigSkipped = nullptr;
    observe::Counter* m_copiesRecognised = nullptr;
    observe::Counter* m_lookupErrors = nullptr;
    observe::Counter* m_lookupStored = nullptr;  // index lookups that found the id stored
    observe::Counter* m_lookupAbsent = nullptr;  // … and that found it absent
    observe::Counter* m_lookupsLeft = nullptr;   // copies left to the writer's in-flight set
    std::vector<observe::Counter*> m_rejected;  // indexed by protocol::Reject
};

}  // namespace archivist::ingest
