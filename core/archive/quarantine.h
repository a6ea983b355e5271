#pragma once
// Damage in the archive: finding where a damaged region ends, and quarantining it (decision 0013,
// docs/archive-format.md "Damage and quarantine").
//
// A damaged region is a run of bytes where a frame should start but none does, up to the next
// complete valid frame (or quarantine marker) — found by resynchronising on the zstd frame magic
// and test-decoding — or to the end of the file. A region at the end of the newest segment that
// looks like an interrupted append (an incomplete frame, or zero fill) and is at most one frame
// long is a torn tail: recovery keeps a copy of its bytes (an entry in state "torn", which needs
// nothing more) and cuts it. Every other region is quarantined: its bytes are copied to
// <archive>/quarantine/<name>.bin with a manifest <name>.json (state "pending" until salvage has
// processed it), and the segment is rewritten (new file, fsync, rename, directory fsync) with a
// marker of exactly the same length in their place. No other frame moves, so every FrameRef and
// the index watermark stay valid, and the segment stays a valid .jsonl.zst (zstd skips the marker).
//
// Thread: the caller's. Quarantining a segment an ArchiveWriter has open goes through
// ArchiveWriter::quarantine() (it reopens the file after the rename).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/archive/file_system.h"
#include "core/archive/segment_reader.h"
#include "core/util/expected.h"

namespace archivist::archive {

struct DamagedRegion {
    uint32_t segment = 0;
    uint64_t offset = 0;   // where a frame should have started
    uint64_t length = 0;   // up to the next valid frame or marker, or to the end of the file
    bool at_end = false;   // nothing valid follows in this file
    bool torn = false;     // at_end, at most one frame long, and an incomplete frame or zero fill
    uint64_t declared_content_bytes = 0;  // uncompressed size its frame header declares (0: unreadable)
    std::string why;       // what the reader found at `offset`
};

// Call after reader.next() stopped with Torn or Corrupt (and not readFailed()). Leaves the reader
// stopped; seek(offset + length) continues after the region. A region shorter than a marker that
// is followed by a valid frame is extended over that frame (its bytes stay recoverable).
DamagedRegion describeDamage(SegmentReader& reader, uint32_t segment);

// Pending: awaiting salvage (verify fails). Torn: a torn tail cut by recovery, kept for the record
// (never acknowledged; verify lists it, salvage still recovers its lines). Salvaged, Accepted: done.
enum class QuarantineState : uint8_t { Pending, Torn, Salvaged, Accepted };
const char* quarantineStateName(QuarantineState s);  // "pending", "torn", "salvaged", "accepted"
inline bool needsSalvage(QuarantineState s) { return s == QuarantineState::Pending; }

struct QuarantineEntry {
    std::string name;          // file stem in <archive>/quarantine/, e.g. q-000001-000006380382
    uint32_t segment = 0;
    uint64_t offset = 0;
    uint64_t length = 0;
    std::string reason;
    int64_t detected_at_s = 0;
    std::string sha256;        // hex, of the quarantined bytes
    int64_t indexed_events = -1;          // events the index held in these bytes (-1: unknown)
    uint64_t declared_content_bytes = 0;  // from the damaged frame's header (0: unknown)
    QuarantineState state = QuarantineState::Pending;
    // Filled by salvage (or --accept-loss):
    int64_t processed_at_s = 0;
    uint64_t recovered_events = 0;  // lines recovered and re-verified (id + signature)
    uint64_t restored_events = 0;   // of those, stored again (the rest were archived elsewhere)
    uint64_t lost_events = 0;       // exact when indexed_events was known, else an estimate
    bool lost_is_estimate = true;
    std::string note;
};

std::filesystem::path quarantineDir(const std::filesystem::path& archive_dir);

// Copies the region's bytes into the quarantine (idempotent: the same bytes at the same place
// reuse their entry), then rewrites the segment with a marker in their place. Reads the segment up
// to `file_bytes` (0: its current size; bytes after it are not copied). Errors: "io",
// "disk_full" (nothing changed in the segment unless the final rename happened).
Expected<QuarantineEntry> quarantineRegion(const std::filesystem::path& archive_dir, const DamagedRegion& region,
                                           int64_t indexed_events, FileSystem* fs = defaultFileSystem(),
                                           uint64_t file_bytes = 0);
// Keeps a copy of a torn tail's bytes (state Torn) before recovery cuts it. Nothing is changed in
// the segment. Errors: as quarantineRegion.
Expected<QuarantineEntry> keepTornTail(const std::filesystem::path& archive_dir, const DamagedRegion& region,
                                       FileSystem* fs = defaultFileSystem());

// Every entry, sorted by (segment, offset). A missing directory is an empty list; an unreadable
// manifest is an error ("corrupt" naming the file).
Expected<std::vector<QuarantineEntry>> listQuarantine(const std::filesystem::path& archive_dir);
// Rewrites an entry's manifest atomically (after salvage changed its state).
Expected<void> saveQuarantineEntry(const std::filesystem::path& archive_dir, const QuarantineEntry& entry,
                                   FileSystem* fs = defaultFileSystem());
// The quarantined bytes of an entry (checked against its sha256: "corrupt" if they differ).
Expected<std::string> readQuarantinedBytes(const std::filesystem::path& archive_dir, const QuarantineEntry& entry);

// What can still be read from damaged bytes (salvage): every complete valid frame found in them
// (resynchronising on the zstd frame magic), and from each frame that does not decode, the
// complete lines its content yields before the damage (streaming decode, output bounded by
// kMaxFrameBytes per frame). The lines still need their id and signature checked.
struct RecoveredText {
    std::vector<std::string> texts;  // whole lines, each ending in '\n', one text per frame
    uint64_t intact_frames = 0;
    uint64_t intact_bytes = 0;            // compressed bytes of the intact frames
    uint64_t damaged_frames = 0;          // frames whose header was readable but whose content was not
    uint64_t damaged_declared_bytes = 0;  // content size the damaged frames' headers declare
    uint64_t damaged_decoded_bytes = 0;   // of it, complete lines decoded
};
RecoveredText recoverFrames(std::string_view bytes);

// Removes work files a crash may leave in the archive directory (a segment being rewritten, a
// quarantine file being written). Returns how many were removed.
size_t removeQuarantineWorkFiles(const std::filesystem::path& archive_dir);

// One line for people: "segment 1 @6380382, 512.0 KiB: <reason>".
std::string describeEntry(const QuarantineEntry& e);

}  // namespace archivist::archive
