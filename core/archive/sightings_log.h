#pragma once
// The sightings log: the durable record of which source (relay, import) carried each archived
// event and when, kept beside the archive and outside the derived index (decision 0019; format in
// docs/archive-format.md "The sightings log").
//
// Directory: <data>/sightings/, files sightings-NNNNNN.log.zst numbered from 1. Each file has the
// archive segment header (segment_format.h; its segment field = the file number) followed by
// zstd frames (content size and checksum present, no dictionary), exactly like a segment; the
// highest-numbered file is the open one. A frame's content is binary (below) and ends in '\n' so
// that the segment reader's frame rules hold for it. One frame per commit group, appended and
// fdatasync'd before the group is handed to the index (so before any of its events or sightings
// is acknowledged).
//
// Frame content (version 1), all integers LEB128 varints, signed ones zigzag-encoded:
//   u8       version = 1
//   varint   names: how many new source names this frame introduces, then for each
//            varint code, varint byte length, the UTF-8 bytes
//   varint   records, then for each (the "previous" values start at 0 in every frame):
//            varint  (zigzag(segment − prev segment) << 1) | origin
//            varint  same segment: zigzag(offset − prev offset); else the offset
//            varint  same frame: zigzag(line − prev line); else the line
//            varint  source code
//            varint  zigzag(seen_at_ms − prev seen_at_ms)
//   u8       '\n'
// A record refers to an event by its archive position (EventPos). `origin` marks the sighting
// that brought the event into the archive (its seen_at is the event's first_seen_at); the
// others are later copies. Codes are assigned in order from 0; a file's first frame restates the
// whole dictionary (so a reader can start at any file).
//
// Crash safety: open() scans the last file; a torn tail there (an incomplete frame or zero fill
// at the end of the file) is cut, after a copy of its bytes was kept in sightings/quarantine/.
// Nothing else is ever cut: damage elsewhere stays in place, is reported (open report, log,
// metric) and skipped by readers (which resynchronise at the next valid frame); after damage in
// the open file the writer starts a new file.
//
// Thread: SightingsLog by one thread at a time (the commit writer); readers from any thread.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/archive/file_system.h"
#include "core/util/expected.h"

typedef struct ZSTD_CCtx_s ZSTD_CCtx;

namespace archivist::archive {

inline constexpr uint8_t kSightingsVersion = 1;
inline constexpr std::string_view kSightingsPrefix = "sightings-";
inline constexpr std::string_view kSightingsSuffix = ".log.zst";

struct SightingRecord {
    EventPos pos;
    uint32_t source = 0;  // code in the log's dictionary
    int64_t seen_at_ms = 0;
    bool origin = false;
};

// Where a frame of the log starts (or where the next one will): file number, byte offset.
struct LogCursor {
    uint32_t file = 0;
    uint64_t offset = 0;
    bool operator==(const LogCursor&) const = default;
    bool operator<(const LogCursor& o) const { return file != o.file ? file < o.file : offset < o.offset; }
};

// A region of the log that does not decode (left in place, skipped by readers).
struct LogDamage {
    uint32_t file = 0;
    uint64_t offset = 0;
    uint64_t length = 0;
    std::string why;
};

std::filesystem::path sightingsFilePath(const std::filesystem::path& dir, uint32_t file);
std::vector<uint32_t> listSightingsFiles(const std::filesystem::path& dir);  // ascending

// Encodes / decodes one frame's content (tests and the bench use these directly).
std::string encodeSightingsFrame(const std::vector<std::pair<uint32_t, std::string>>& new_names,
                                 const std::vector<SightingRecord>& records);
Expected<void> decodeSightingsFrame(std::string_view content, std::vector<std::pair<uint32_t, std::string>>& names,
                                    std::vector<SightingRecord>& records);

struct SightingsLogOptions {
    bool sync = true;                      // fdatasync after every frame
    uint64_t file_bytes = 256ull << 20;    // start a new file beyond this size
    int zstd_level = 3;
};

struct SightingsOpenReport {
    uint64_t torn_bytes_cut = 0;
    std::vector<LogDamage> damage;  // in the last file (earlier files: see SightingsLogReader)
    uint32_t files = 0;
    uint64_t bytes = 0;
    EventPos last_origin;           // the newest origin record (segment 0: none)
};

class SightingsLog {
public:
    // `fs` is borrowed and must outlive the log.
    SightingsLog(std::filesystem::path dir, SightingsLogOptions opts = {}, FileSystem* fs = defaultFileSystem());
    ~SightingsLog();
    SightingsLog(const SightingsLog&) = delete;
    SightingsLog& operator=(const SightingsLog&) = delete;

    // Creates the directory if needed, reads the dictionary and cuts a torn tail of the last file
    // (see above), opens it for appending (or creates file 1). Errors: "io", "disk_full".
    Expected<SightingsOpenReport> open();
    // The code of a source name (assigned now if new; written with the next frame).
    uint32_t code(std::string_view name);
    // Appends one frame holding `records` (and the names assigned since the last frame) and
    // fdatasyncs it. On error no byte of it remains in the file (truncated back) and the names
    // stay pending; the caller retries. Empty `records`: nothing is written.
    Expected<LogCursor> append(const std::vector<SightingRecord>& records);
    LogCursor end() const { return LogCursor{m_file, m_goodSize}; }
    uint64_t bytesWritten() const { return m_bytesWritten; }
    uint64_t recordsWritten() const { return m_recordsWritten; }
    const std::filesystem::path& dir() const { return m_dir; }
    Expected<void> close();

private:
    Expected<void> startFile(uint32_t number);
    Expected<void> cutBack();

    std::filesystem::path m_dir;
    SightingsLogOptions m_opts;
    FileSystem* m_fs;
    ZSTD_CCtx* m_cctx = nullptr;
    std::unique_ptr<WritableFile> m_writable;
    uint32_t m_file = 0;
    uint64_t m_goodSize = 0;
    bool m_needsCut = false;
    bool m_fileHasFrame = false;  // the open file holds a frame (else the next one restates the dictionary)
    std::vector<std::string> m_names;  // code → name (durable ones first, then pending)
    size_t m_durableNames = 0;
    std::unordered_map<std::string, uint32_t> m_codes;
    std::string m_out;
    uint64_t m_bytesWritten = 0;
    uint64_t m_recordsWritten = 0;
};

// Sequential reading of the whole log (or from a cursor) with its dictionary.
class SightingsLogReader {
public:
    struct Frame {
        LogCursor at;    // where the frame starts
        LogCursor next;  // where the next one starts
        std::vector<SightingRecord> records;
    };
    explicit SightingsLogReader(std::filesystem::path dir) : m_dir(std::move(dir)) {}
    // Calls fn for every frame at or after `from` in log order (fn returns false to stop). The
    // dictionary is built from the start of `from`'s file — or, with `seek`, from its first frame
    // (which restates it) and what this reader learnt in earlier scans, going straight to `from`
    // (a frame boundary a previous scan reached). Names accumulate across scans. Damaged regions
    // are skipped and listed in damage(). Errors: "io" (a read failed), a bad file header ("corrupt").
    Expected<void> scan(const std::function<bool(const Frame&)>& fn, LogCursor from = {}, bool seek = false);
    // The name of a code ("" when unknown: its frame was damaged).
    const std::string& name(uint32_t code) const;
    const std::vector<std::string>& names() const { return m_names; }
    const std::vector<LogDamage>& damage() const { return m_damage; }
    uint64_t unknownSources() const { return m_unknown; }

private:
    std::filesystem::path m_dir;
    std::vector<std::string> m_names;
    std::vector<LogDamage> m_damage;
    uint64_t m_unknown = 0;
};

}  // namespace archivist::archive
