#pragma once
// Value types shared by the archive (writer of segments) and the index (which records where
// every frame and event lives). See core/archive/segment_format.h for the on-disk layout.
#include <cstdint>

namespace archivist::archive {

// Where one compressed zstd frame lives: segment number, byte offset of the frame's first byte
// in the segment file, and its compressed length in bytes.
struct FrameRef {
    uint32_t segment = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    bool operator==(const FrameRef&) const = default;
};

// A frame as appended: its place, how many event lines it holds, its uncompressed size and a
// checksum of the uncompressed bytes (first 8 bytes of SHA-256, big-endian) used by `verify`.
struct AppendedFrame {
    FrameRef ref;
    uint32_t events = 0;
    uint64_t raw_bytes = 0;
    uint64_t checksum = 0;
};

// The index's watermark: every frame that ends at or before (segment, offset) is indexed.
// offset is the end (exclusive) of the last indexed frame in `segment`.
struct Watermark {
    uint32_t segment = 0;
    uint64_t offset = 0;
    bool operator==(const Watermark&) const = default;
};

// Where one event lives in the archive: its frame (segment, offset of the frame's first byte) and
// its line within the frame (0-based). Stable for the life of the archive (frames never move,
// quarantine replaces bytes in place): the durable sightings log refers to events by it.
// segment 0 = unknown.
struct EventPos {
    uint32_t segment = 0;
    uint64_t offset = 0;
    uint32_t line = 0;
    bool operator==(const EventPos&) const = default;
    bool operator<(const EventPos& o) const {
        if (segment != o.segment) return segment < o.segment;
        if (offset != o.offset) return offset < o.offset;
        return line < o.line;
    }
};

}  // namespace archivist::archive
