#pragma once
// The sink's durable state: one small JSON file per sink target in <data-dir>/sinks/, written
// atomically (temporary file, fsync, rename, fsync of the directory). It lives next to the archive
// and not in the derived index, so rebuilding the index never moves a sink's position.
//
// Per stream — "events" (positions in the archive: segment/offset) and "sightings" (positions in
// the sightings log: file/offset, core/archive/sightings_log.h), each with its own cursor:
// - position: every row of the source before it has been acknowledged by the server;
// - rows_before: how many rows lie before position (for the lag in events);
// - pending: a batch [position, pending.end) that was (or was about to be) sent and not yet
//   acknowledged. It is written BEFORE the first byte of the batch leaves, so after a crash the
//   sink rebuilds exactly that batch and asks the server which of its parts arrived (docs/clickhouse.md).
//
// File format (version 1):
//   {"version":1,"target":"…","node":"…","updated_at_ms":…,
//    "events":{"segment":S,"offset":O,"rows_before":N,
//              "pending":null | {"end_segment":S,"end_offset":O,"batch":"…","rows":N}},
//    "sightings":{the same fields; segment = log file number}}
// (A file without "sightings" — written before sightings were shipped — starts that stream at 0.)
// Errors: "io" (cannot read/write), "corrupt" (not this format). A missing file is not an error.
// Thread: any (no shared state).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/archive/archive_types.h"
#include "core/util/expected.h"

namespace archivist::sink {

// A position in an append-only source: archive segment and byte offset (the end, exclusive, of the
// last acknowledged frame). {0, 0} is the beginning.
using SourcePosition = archive::Watermark;

inline bool positionLess(const SourcePosition& a, const SourcePosition& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
}

// Frame bytes between two positions of a source whose files start with a kHeaderBytes header
// (archive segments, sightings log files): `file_bytes(n)` is the size of file n.
uint64_t frameBytesBetween(const SourcePosition& from, const SourcePosition& to,
                           const std::function<uint64_t(uint32_t)>& file_bytes);

struct PendingBatch {
    SourcePosition end;
    std::string batch;  // the batch identity recorded with every row on the server
    uint64_t rows = 0;
    bool operator==(const PendingBatch&) const = default;
};

struct StreamCursor {
    SourcePosition position;
    uint64_t rows_before = 0;
    std::optional<PendingBatch> pending;
    bool operator==(const StreamCursor&) const = default;
};

struct SinkState {
    std::string target;  // what the cursor is valid for (sinkTargetIdentity)
    std::string node;
    StreamCursor events;
    StreamCursor sightings;  // position.segment = log file, offset = byte offset in it
    int64_t updated_at_ms = 0;
    bool operator==(const SinkState&) const = default;
};

// nullopt when the file does not exist.
Expected<std::optional<SinkState>> loadSinkState(const std::filesystem::path& file);
Expected<void> saveSinkState(const std::filesystem::path& file, const SinkState& state);
std::string sinkStateJson(const SinkState& state);

}  // namespace archivist::sink
