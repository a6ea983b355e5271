#pragma once
// Reading segments: a sequential frame scanner (recovery, reindex, verify), random access to one
// frame by FrameRef, and a bounded cache of decompressed frames for random event reads.
// Layout: core/archive/segment_format.h.
#include <cstdint>
#include <filesystem>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/util/expected.h"

typedef struct ZSTD_DCtx_s ZSTD_DCtx;

namespace archivist::archive {

struct Frame {
    FrameRef ref;
    std::string text;   // the uncompressed frame: whole lines, each ending in '\n'
    uint32_t events = 0;  // number of lines
    uint64_t checksum = 0;  // frameChecksum(text)
};

// End: clean end of file. Torn: an incomplete frame at end of file (a crash mid-append).
// Corrupt: a frame that does not decode, fails its checksum, breaks the frame rules, or exceeds
// the size limits. Quarantine markers (segment_format.h) are skipped, never a stop.
enum class ScanStop : uint8_t { End, Torn, Corrupt };

// Thread: any (one reader per thread). Sees the file as it was at open() (its size then).
class SegmentReader {
public:
    SegmentReader();
    ~SegmentReader();
    SegmentReader(const SegmentReader&) = delete;
    SegmentReader& operator=(const SegmentReader&) = delete;

    // Validates the header ("corrupt" if bad, incomplete or naming another segment; "io" if the
    // file cannot be read) and positions at the first frame.
    Expected<void> open(const std::filesystem::path& path, uint32_t segment);
    void seek(uint64_t offset);  // next frame starts here (0 = first frame after header)
    // Reads the next frame, skipping quarantine markers. Returns true with `out` filled, or false at
    // a stop (see stop()/stopOffset()).
    // Memory: one frame at a time; frames larger than kMaxFrameBytes (64 MiB uncompressed) → Corrupt.
    bool next(Frame& out);
    // After a Torn/Corrupt stop: the first offset after `after` where a complete, valid frame (or a
    // quarantine marker) starts — found by scanning for the zstd frame magic and test-decoding each
    // candidate — or fileBytes() when there is none. Does not move the reader (seek() does).
    // A read error ends the scan at fileBytes() with readFailed() set.
    uint64_t resync(uint64_t after);
    // True when every byte from `offset` to the end of the file is zero (a file extended by a
    // crash before its data reached the disk).
    bool zeroFrom(uint64_t offset);
    // Up to n bytes of the file at offset (fewer at its end or on a read error).
    std::string peek(uint64_t offset, size_t n);
    uint64_t tombstonesSkipped() const { return m_tombstones; }       // since open()
    uint64_t tombstoneBytesSkipped() const { return m_tombstoneBytes; }
    ScanStop stop() const { return m_stop; }
    uint64_t stopOffset() const { return m_stopOffset; }  // where the offending frame starts (End: file size)
    std::string stopMessage() const { return m_stopMessage; }
    uint64_t firstFrameOffset() const { return m_firstFrameOffset; }
    uint64_t fileBytes() const { return m_fileBytes; }
    const std::filesystem::path& path() const { return m_path; }
    // True when the last stop was caused by a failed read (the stop is then reported as Corrupt
    // although the bytes may be fine: do not cut the file on it).
    bool readFailed() const { return m_ioError; }

private:
    enum class At { Frame, Tombstone, Torn, Corrupt };
    // What starts at `pos`: a valid frame (decoded into *out when given) or a marker, with its
    // `length`; or why not.
    At inspect(uint64_t pos, Frame* out, uint64_t& length, std::string& why);
    size_t ensure(uint64_t offset, size_t want);  // bytes available at offset (≤ want), reading as needed
    bool stopAt(ScanStop stop, uint64_t offset, std::string message);
    void closeFile();

    int m_fd = -1;
    ZSTD_DCtx* m_dctx = nullptr;
    std::filesystem::path m_path;
    uint32_t m_segment = 0;
    uint64_t m_fileBytes = 0;
    uint64_t m_firstFrameOffset = 0;
    uint64_t m_pos = 0;
    std::string m_buf;      // file bytes [m_bufStart, m_bufStart + m_bufLen); bounded by the frame limit
    uint64_t m_bufStart = 0;
    size_t m_bufLen = 0;
    ScanStop m_stop = ScanStop::End;
    bool m_ioError = false;
    uint64_t m_stopOffset = 0;
    std::string m_stopMessage;
    uint64_t m_tombstones = 0;
    uint64_t m_tombstoneBytes = 0;
};

// Largest compressed frame a reader accepts: what zstd can produce for kMaxFrameBytes.
size_t maxCompressedFrameBytes();

// Random access: decompress the frame at ref (checks length and zstd checksum).
// Errors: "io" (cannot open/read), "corrupt" (not exactly one valid frame of ref.length bytes).
// Thread: any (uses a per-thread decompression context).
Expected<std::string> readFrame(const std::filesystem::path& dir, const FrameRef& ref);

// A small bounded LRU of decompressed frames for random event reads (export, archive browser).
// Thread: owner thread only.
class FrameCache {
public:
    explicit FrameCache(std::filesystem::path dir, size_t max_bytes = 64 << 20);
    // The line (0-based) of the frame at ref, without '\n'. The view stays valid until the next
    // call. Errors: those of readFrame, and "not_found" for a line past the frame's end.
    // A frame larger than the capacity is kept alone (the bound is exceeded by that one frame).
    Expected<std::string_view> line(const FrameRef& ref, uint32_t line);
    size_t bytes() const { return m_bytes; }
    size_t capacityBytes() const { return m_capacity; }
    uint64_t hits() const { return m_hits; }
    uint64_t misses() const { return m_misses; }

private:
    struct Entry {
        FrameRef ref;
        std::string text;
        std::vector<uint32_t> line_starts;
        size_t cost = 0;
    };
    using Key = std::pair<uint32_t, uint64_t>;  // segment, offset

    std::filesystem::path m_dir;
    size_t m_capacity;
    size_t m_bytes = 0;
    uint64_t m_hits = 0;
    uint64_t m_misses = 0;
    std::list<Entry> m_lru;  // front = most recent
    std::map<Key, std::list<Entry>::iterator> m_map;
};

}  // namespace archivist::archive
