#pragma once
// VerifyPool: N threads that take RawBatches, validate every item (size, strict parse, id, BIP-340
// signature — protocol::EventValidator, one per thread) and pass the valid ones on as VerifiedBatches.
// Rejections are counted on the source (per reason) and in the metrics registry; nothing invalid
// goes further. Output push blocks when the writer's queue is full (backpressure, never drops).
//
// Lifecycle: start() spawns the threads; they exit once the input queue is closed and drained.
// join() waits for them and then closes the output queue (so the writer drains and stops).
// Thread: start/join from the owner thread.
#include <atomic>
#include <thread>
#include <vector>

#include "core/ingest/bounded_queue.h"
#include "core/ingest/ingest_types.h"
#include "core/ingest/source_table.h"
#include "core/protocol/event_validator.h"

namespace archivist::observe {
class MetricsRegistry;
class Counter;
}

namespace archivist::ingest {

class VerifyPool {
public:
    VerifyPool(BoundedQueue<RawBatch>& in, BoundedQueue<VerifiedBatch>& out, SourceTable& sources,
               protocol::ValidationPolicy policy, size_t threads, observe::MetricsRegistry& metrics);
    ~VerifyPool();
    VerifyPool(const VerifyPool&) = delete;
    VerifyPool& operator=(const VerifyPool&) = delete;

    void start();
    void join();
    size_t threadCount() const { return m_threadCount; }

private:
    void run();

    BoundedQueue<RawBatch>& m_in;
    BoundedQueue<VerifiedBatch>& m_out;
    SourceTable& m_sources;
    const protocol::ValidationPolicy m_policy;
    const size_t m_threadCount;
    std::vector<std::thread> m_threads;
    observe::Counter* m_verified = nullptr;
    std::vector<observe::Counter*> m_rejected;  // indexed by protocol::Reject
};

}  // namespace archivist::ingest
