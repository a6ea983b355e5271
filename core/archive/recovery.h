#pragma once
// Start-up recovery of the archive from the index watermark (rules: docs/archive-format.md).
// Thread: the caller's, before any ArchiveWriter is opened on `dir`.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "core/archive/archive_types.h"
#include "core/archive/file_system.h"
#include "core/archive/segment_reader.h"
#include "core/util/expected.h"

namespace archivist::archive {

struct RecoveryReport {
    uint32_t frames_replayed = 0;
    uint64_t events_replayed = 0;
    uint64_t bytes_truncated = 0;
    uint32_t last_segment = 0;  // 0 when the archive holds no segment
    std::string note;           // human-readable: what was cut and why; empty when nothing happened
};

// Walks the archive from `wm` (wm.segment==0 means "nothing indexed": start at the first frame of
// the first segment). Every complete frame after the watermark is passed to onFrame (in archive
// order) so the caller re-indexes it; if onFrame returns an error, recovery stops and returns it
// (nothing truncated). A torn or corrupt frame in the LAST segment is cut off (file truncated to
// the frame's offset, synced) and everything after it too; an incomplete header of the last
// segment (a crash while creating it) is cut to an empty file, which ArchiveWriter::open() then
// initialises. A torn/corrupt frame in an earlier (sealed) segment is an error ("corrupt"), never
// silently cut. Errors:
//   "index_ahead"  the watermark is beyond the end of the archive (segment or offset missing);
//   "corrupt"      damage outside the last segment's tail, a bad header, a missing segment between
//                  the watermark and the last one, or a watermark that is not a frame boundary;
//   "io"           a read or the truncate failed (nothing is cut on a read failure).
Expected<RecoveryReport> recover(const std::filesystem::path& dir, Watermark wm,
                                 const std::function<Expected<void>(const Frame&)>& onFrame,
                                 FileSystem* fs = defaultFileSystem());

}  // namespace archivist::archive
