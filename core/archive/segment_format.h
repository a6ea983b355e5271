#pragma once
// On-disk layout of an archive segment (prose spec: docs/archive-format.md).
//
// Archive directory: segment-000001.jsonl.zst, segment-000002.jsonl.zst, ... numbered from 1,
// zero-padded to at least 6 digits. The highest-numbered segment is the open one; all lower ones
// are sealed and never written again.
//
// Segment file = header + frame*
//
//   header: one zstd SKIPPABLE frame (standard zstd tools ignore it)
//     off  size  field
//       0     4  magic          uint32 LE = kHeaderMagic (0x184D2A5A, in the skippable range)
//       4     4  payload_bytes  uint32 LE = kHeaderPayloadBytes (readers accept
//                               kMinHeaderPayloadBytes..kMaxHeaderPayloadBytes; extra bytes are
//                               reserved for later versions and ignored)
//     payload:
//       8     9  "ARCHIVIST"    ASCII, no terminator
//      17     1  version        uint8 = kFormatVersion (1)
//      18     2  reserved       zero
//      20     4  segment        uint32 LE, equals the number in the file name
//      24     8  created_at     int64 LE, unix seconds when the segment was created
//      32     8  reserved       zero
//   first frame starts at 8 + payload_bytes (40 for files this version writes)
//
//   frame: one standard zstd frame (RFC 8878) with
//     - Frame_Content_Size present (<= kMaxFrameBytes),
//     - Content_Checksum present (XXH64 low 32 bits; checked on every decode),
//     - no dictionary;
//     content: one or more whole lines of canonical NIP-01 event JSON, each ending in '\n'
//     (so the content is non-empty and ends in '\n'; events in the frame = number of '\n').
//
//   quarantine marker ("tombstone", decision 0013): one zstd SKIPPABLE frame that took the place
//   of damaged bytes, byte for byte (same offset, same length), so no other frame moves:
//       0     4  magic          uint32 LE = kTombstoneMagic (0x184D2A5E)
//       4     4  payload_bytes  uint32 LE = length of the damaged region − 8
//     payload, as far as it fits (the rest zero):
//       8    20  "ARCHIVIST-QUARANTINE"
//      28     1  version        uint8 = 1
//      29     3  reserved       zero
//      32     8  offset         uint64 LE, where the damaged bytes were (= this marker's offset)
//      40     8  length         uint64 LE, how many (= this marker's length)
//      48     2  name_bytes     uint16 LE, then the quarantine entry's name (archive/quarantine/)
//   A damaged region is at least kMinTombstoneBytes long; readers skip markers like any
//   skippable frame (zstd tools do too).
//
// A frame is addressed by FrameRef{segment, offset of its first byte, compressed length}.
// verify's per-frame checksum (not stored in the file; the index keeps it) is the first 8 bytes,
// big-endian, of SHA-256 over the frame's uncompressed content.
//
// Concatenating the frames' contents (e.g. `zstdcat segment-*.jsonl.zst`) yields JSONL.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/expected.h"

struct ZSTD_CCtx_s;
typedef struct ZSTD_CCtx_s ZSTD_CCtx;

namespace archivist::archive {

inline constexpr uint32_t kHeaderMagic = 0x184D2A5A;
inline constexpr char kHeaderAscii[] = "ARCHIVIST";      // 9 bytes on disk, no NUL
inline constexpr size_t kHeaderAsciiBytes = 9;
inline constexpr uint8_t kFormatVersion = 1;
inline constexpr uint32_t kHeaderPayloadBytes = 32;
inline constexpr uint32_t kMinHeaderPayloadBytes = 24;  // up to and including created_at
inline constexpr uint32_t kMaxHeaderPayloadBytes = 4096;
inline constexpr uint64_t kHeaderBytes = 8 + kHeaderPayloadBytes;  // as written by this version
inline constexpr uint64_t kMaxFrameBytes = 64ull << 20;            // uncompressed, per frame
inline constexpr int kSegmentNumberDigits = 6;
inline constexpr std::string_view kSegmentPrefix = "segment-";
inline constexpr std::string_view kSegmentSuffix = ".jsonl.zst";
inline constexpr uint32_t kTombstoneMagic = 0x184D2A5E;
inline constexpr char kTombstoneAscii[] = "ARCHIVIST-QUARANTINE";  // 20 bytes on disk
inline constexpr size_t kTombstoneAsciiBytes = 20;
inline constexpr uint64_t kMinTombstoneBytes = 8;                   // magic + payload size
inline constexpr uint32_t kZstdFrameMagic = 0xFD2FB528;

struct SegmentHeader {
    uint8_t version = kFormatVersion;
    uint32_t segment = 0;
    int64_t created_at_s = 0;
    uint64_t header_bytes = kHeaderBytes;  // offset of the first frame
};

// The exact kHeaderBytes bytes this version writes.
std::string encodeSegmentHeader(uint32_t segment, int64_t created_at_s);

inline constexpr uint64_t kMaxTombstoneBytes = 0xFFFFFFFFull + kMinTombstoneBytes;  // one marker
// The start of the quarantine marker that replaces `length` (kMinTombstoneBytes…kMaxTombstoneBytes)
// damaged bytes at `offset`, naming the quarantine entry `entry_name`: the returned bytes are
// followed by `length` − their size zero bytes (the caller streams those). A longer region is
// covered by consecutive markers.
std::string encodeTombstoneStart(uint64_t offset, uint64_t length, std::string_view entry_name);

// Parses the header at the start of `bytes` (which may hold more than the header).
// Errors: "torn" when `bytes` is a strict prefix of a plausible header (too short to decide),
// "corrupt" for anything else that is not a valid version-1 header.
Expected<SegmentHeader> parseSegmentHeader(std::string_view bytes);

// Creates `cctx` if it is null and sets it up for this format's frames: the level, a content
// checksum, the content size in the frame header, no dictionary id. Errors: "io" (no memory).
Expected<void> prepareFrameCompressor(ZSTD_CCtx*& cctx, int level);

}  // namespace archivist::archive
