#pragma once
// ArchiveWriter: appends zstd frames of event JSONL to the open segment and seals segments.
// Layout: core/archive/segment_format.h. Durability contract: when append() returns success (and
// opts.sync is on) the frame is on disk; on failure no byte of it remains in the file.
// Thread: writer only (one ArchiveWriter per archive directory; the directory lock is the
// caller's business) — except quarantine(), which any thread may call while the writer runs.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/archive/file_system.h"
#include "core/util/expected.h"

typedef struct ZSTD_CCtx_s ZSTD_CCtx;

namespace archivist::archive {

struct ArchiveOptions {
    uint64_t seal_bytes = 256ull << 20;
    int64_t seal_age_s = 7 * 86400;
    int zstd_level = 3;
    bool sync = true;  // fdatasync after every frame (off only for tests/benchmarks)
    // Low-disk threshold: append() refuses ("disk_full") while fewer bytes than this would stay
    // free on the archive's file system, so intake pauses before the disk is full. 0 = off.
    uint64_t min_free_bytes = 0;
    // appendFrames() cuts its input into frames of at most this many uncompressed bytes (at line
    // boundaries; a longer line is a frame of its own). Small frames keep a random event read
    // cheap (one frame is decompressed to read one event); 128 KiB costs ≈ 1 % of compression.
    size_t frame_bytes = 128u << 10;
};

struct DamagedRegion;
struct QuarantineEntry;

class ArchiveWriter {
public:
    // `fs` is borrowed and must outlive the writer.
    ArchiveWriter(std::filesystem::path dir, ArchiveOptions opts = {}, FileSystem* fs = defaultFileSystem());
    ~ArchiveWriter();
    ArchiveWriter(const ArchiveWriter&) = delete;
    ArchiveWriter& operator=(const ArchiveWriter&) = delete;

    // Creates the directory if needed; opens the highest-numbered segment for appending (writing the
    // header if the file is new/empty), or creates segment 1. Call recover() BEFORE open() on start-up.
    // Errors: "io"; "corrupt" when the open segment's header is invalid or incomplete (recover() cuts
    // an incomplete header).
    Expected<void> open();
    // Compresses `jsonl` (whole lines each ending '\n'; `events` = number of lines) into ONE zstd frame,
    // appends it, and fdatasyncs when opts.sync. On any error the file is truncated back to its size
    // before the call (no partial frame remains) and the error is returned (code "io", message names
    // file + errno text); the writer stays usable so the caller can retry after a pause (disk full).
    // If even that truncate fails, the next append() retries it before writing.
    // "usage" errors (nothing written): not open, empty input, input not ending in '\n', `events` not
    // equal to the number of lines, more than kMaxFrameBytes.
    Expected<AppendedFrame> append(std::string_view jsonl, uint32_t events);
    // The same for a commit group: `jsonl` cut into frames of at most opts.frame_bytes at line
    // boundaries, all appended with one write and (opts.sync) one fdatasync; on failure none of
    // them remains. The frames in file order; their `events` add up to `events`.
    Expected<std::vector<AppendedFrame>> appendFrames(std::string_view jsonl, uint32_t events);
    // size >= seal_bytes or age >= seal_age_s, and the segment holds at least one frame.
    bool shouldSeal() const;
    // Syncs and closes the open segment, creates the next one (header written, directory synced).
    // Returns the number of the segment that was sealed. On error the current segment stays open.
    Expected<uint32_t> seal();
    uint32_t openSegment() const { return m_segment; }
    uint64_t openSegmentBytes() const;
    Expected<void> close();  // sync + close (shutdown); idempotent
    // Quarantines a damaged region of any segment of this archive (core/archive/quarantine.h)
    // while the writer may be appending: serialised with append()/seal(); when the region is in the
    // open segment, the file is reopened after the rewrite and appends continue at its end.
    // Thread: any. Errors: those of quarantineRegion, "usage" when the region lies past the
    // writer's durable end.
    Expected<QuarantineEntry> quarantine(const DamagedRegion& region, int64_t indexed_events);
    const std::filesystem::path& dir() const { return m_dir; }
    // Errors closing a sealed segment's descriptor after its successful sync (data is durable).
    uint64_t closeErrors() const { return m_closeErrors; }

private:
    Expected<void> createSegment(uint32_t segment, std::unique_ptr<WritableFile>& out, int64_t& created_at_s);
    // Writes and syncs a new segment's header (and the directory); on failure the file is emptied.
    Expected<void> writeHeader(WritableFile& file, uint32_t segment, int64_t created_at_s);
    Expected<void> repairTail();
    Expected<void> checkFreeSpace(uint64_t frame_bytes);
    Expected<void> reopenIfReplaced();  // after quarantine() replaced the open segment's file
    // Checks of append()/appendFrames() input (whole lines, `events` of them, size bound).
    Expected<void> checkInput(std::string_view jsonl, uint32_t events, uint64_t max_bytes,
                              bool count_lines = true) const;
    Expected<void> checkLines(uint64_t lines, uint32_t events) const;
    // Compresses `chunk` as one frame to the end of m_out; returns its compressed size.
    Expected<size_t> compressFrame(std::string_view chunk);
    // Appends m_out[0, bytes) and syncs; on failure cuts the file back (see append()).
    Expected<void> writeOut(size_t bytes);

    std::filesystem::path m_dir;
    ArchiveOptions m_opts;
    FileSystem* m_fs;
    ZSTD_CCtx* m_cctx = nullptr;
    std::string m_out;      // compressed frames of one append, written with one write
    size_t m_outUsed = 0;   // bytes of m_out in use
    std::unique_ptr<WritableFile> m_file;
    uint32_t m_segment = 0;
    int64_t m_createdAt = 0;
    uint64_t m_firstFrameOffset = 0;
    uint64_t m_goodSize = 0;     // file size after the last successful append
    bool m_needsRepair = false;  // a failed append left bytes past m_goodSize
    uint64_t m_closeErrors = 0;
    bool m_reopen = false;   // quarantine() replaced the open segment: reopen before writing
    mutable std::mutex m_fileMutex;  // append/seal/close vs quarantine() from another thread
};

std::filesystem::path segmentPath(const std::filesystem::path& dir, uint32_t segment);
std::vector<uint32_t> listSegments(const std::filesystem::path& dir);  // sorted ascending
// First 8 bytes of SHA-256(uncompressed), big-endian.
uint64_t frameChecksum(std::string_view uncompressed);

}  // namespace archivist::archive
