#pragma once
// EventSink: where relay connections hand raw events — the ingest pipeline (engine::Store) in the
// engine, a plain recorder in tests. Thread: any (implementations are thread-safe).
#include <cstdint>
#include <optional>
#include <string>

#include "core/ingest/ingest_types.h"

namespace archivist::net {

class EventSink {
public:
    virtual ~EventSink() = default;
    // A named source (the relay URL); nullopt when the source table is full.
    virtual std::optional<ingest::SourceId> addSource(const std::string& name) = 0;
    // Never blocks. false: the pipeline is full (the batch is left untouched; the caller pauses
    // reading and retries) or closed (accepting() is false).
    virtual bool trySubmit(ingest::RawBatch& batch) = 0;
    // Items of `source` handed to the pipeline so far / settled (stored, duplicate or invalid).
    virtual uint64_t received(ingest::SourceId source) const = 0;
    virtual uint64_t settled(ingest::SourceId source) const = 0;
    virtual bool accepting() const = 0;
};

}  // namespace archivist::net
