#pragma once
// IntakeGate: an EventSink in front of another one that can be held shut. While held, trySubmit()
// refuses every batch as "pipeline full", so relay connections pause reading and retry later —
// nothing is dropped. Used to quiet the pipeline while a maintenance job (verify) reads the store.
// Thread: any. Does not own the inner sink, which must outlive the gate.
#include <atomic>

#include "core/net/event_sink.h"

namespace archivist::engine {

class IntakeGate final : public net::EventSink {
public:
    explicit IntakeGate(net::EventSink& inner) : m_inner(inner) {}

    void setHeld(bool held) { m_held.store(held, std::memory_order_release); }
    bool held() const { return m_held.load(std::memory_order_acquire); }
    // Batches refused because the gate was held (they stay with their relay and are retried).
    uint64_t refusedWhileHeld() const { return m_refused.load(std::memory_order_relaxed); }

    std::optional<ingest::SourceId> addSource(const std::string& name) override { return m_inner.addSource(name); }
    bool trySubmit(ingest::RawBatch& batch) override;
    uint64_t received(ingest::SourceId source) const override { return m_inner.received(source); }
    uint64_t settled(ingest::SourceId source) const override { return m_inner.settled(source); }
    bool accepting() const override { return m_inner.accepting(); }

private:
    net::EventSink& m_inner;
    std::atomic<bool> m_held{false};
    std::atomic<uint64_t> m_refused{0};
};

}  // namespace archivist::engine
