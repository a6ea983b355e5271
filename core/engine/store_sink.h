#pragma once
// StoreSink: the relay connections' view of the ingest pipeline (net::EventSink over a Store).
// Thread: any (Store's submit side and source counters are thread-safe).
#include "core/engine/store.h"
#include "core/net/event_sink.h"

namespace archivist::engine {

class StoreSink final : public net::EventSink {
public:
    explicit StoreSink(Store& store) : m_store(store) {}
    std::optional<ingest::SourceId> addSource(const std::string& name) override {
        auto id = m_store.addSource(name);
        if (!id) return std::nullopt;
        return *id;
    }
    bool trySubmit(ingest::RawBatch& batch) override { return m_store.trySubmit(batch); }
    uint64_t received(ingest::SourceId source) const override {
        return m_store.sources().counters(source).received.load(std::memory_order_acquire);
    }
    uint64_t settled(ingest::SourceId source) const override { return m_store.sources().counters(source).settled(); }
    bool accepting() const override { return m_store.accepting(); }

private:
    Store& m_store;
};

}  // namespace archivist::engine
