#include "core/ingest/verify_pool.h"

#include "core/util/thread_priority.h"

#include "core/observe/metrics.h"
#include "core/protocol/event_codec.h"

namespace archivist::ingest {

VerifyPool::VerifyPool(BoundedQueue<RawBatch>& in, BoundedQueue<VerifiedBatch>& out,
                       SourceTable& sources, protocol::ValidationPolicy policy, size_t threads,
                       observe::MetricsRegistry& metrics)
    : m_in(in), m_out(out), m_sources(sources), m_policy(policy),
      m_threadCount(threads ? threads : 1) {
    m_verified = &metrics.counter("archivist_events_valid_total",
                                  "Events that passed validation (before deduplication)");
    for (size_t r = 0; r < static_cast<size_t>(protocol::Reject::Count); ++r) {
        const auto reason = static_cast<protocol::Reject>(r);
        m_rejected.push_back(r == 0 ? nullptr
                                    : &metrics.counter("archivist_events_rejected_total",
                                                       "Events rejected, by reason",
                                                       {{"reason", protocol::rejectName(reason)}}));
    }
}

VerifyPool::~VerifyPool() { join(); }

void VerifyPool::start() {
    for (size_t i = 0; i < m_threadCount; ++i)
        m_threads.emplace_back([this] {
            lowerThisThreadPriority();  // the console's GUI thread comes first
            run();
        });
}

void VerifyPool::join() {
    if (m_threads.empty()) return;
    for (auto& t : m_threads)
        if (t.joinable()) t.join();
    m_threads.clear();
    m_out.close();
}

void VerifyPool::run() {
    protocol::EventValidator validator(m_policy);
    RawBatch batch;
    while (m_in.pop(batch)) {
        SourceCounters& counters = m_sources.counters(batch.source);
        VerifiedBatch out;
        out.source = batch.source;
        out.items.reserve(batch.items.size());
        uint64_t invalid = 0;
        for (RawItem& raw : batch.items) {
            VerifiedItem item;
            const protocol::Reject r =
                validator.validate(raw.json, raw.received_at_ms / 1000, item.event, item.flags);
            if (r != protocol::Reject::None) {
                ++invalid;
                counters.invalid_by_reason[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
                m_rejected[static_cast<size_t>(r)]->inc();
                continue;
            }
            item.received_at_ms = raw.received_at_ms;
            protocol::appendEventJson(item.canonical, item.event);
            out.items.push_back(std::move(item));
        }
        m_verified->inc(out.items.size());
        // Count invalid only now, after the reasons: a waiter that sees settled() == received
        // must also see every reason.
        if (invalid) counters.invalid.fetch_add(invalid, std::memory_order_release);
        if (!out.items.empty() && !m_out.push(std::move(out))) {
            // The writer is gone (fatal error); these items can never be stored. The owner reports
            // the failure; nothing is counted as stored.
            return;
        }
    }
}

}  // namespace archivist::ingest
