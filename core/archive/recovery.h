#pragma once
// Start-up recovery of the archive from the index watermark (rules: docs/archive-format.md).
// Thread: the caller's, before any ArchiveWriter is opened on `dir`.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/archive/file_system.h"
#include "core/archive/quarantine.h"
#include "core/archive/segment_reader.h"
#include "core/util/expected.h"

namespace archivist::archive {

struct RecoveryReport {
    uint32_t frames_replayed = 0;
    uint64_t events_replayed = 0;
    uint64_t bytes_truncated = 0;     // torn tail cut (at most one frame)
    uint64_t bytes_quarantined = 0;   // damaged bytes moved to the quarantine
    std::vector<QuarantineEntry> quarantined;  // entries this recovery created (or found again)
    std::vector<QuarantineEntry> torn_tails;   // copies of the torn tails it cut (state Torn)
    uint32_t last_segment = 0;  // 0 when the archive holds no segment
    std::string note;           // human-readable: what was cut or quarantined and why; empty when nothing happened
};

// Walks the archive from `wm` (wm.segment==0 means "nothing indexed": start at the first frame of
// the first segment). Every complete frame after the watermark is passed to onFrame (in archive
// order) so the caller re-indexes it; if onFrame returns an error, recovery stops and returns it.
// Damage after the watermark (core/archive/quarantine.h):
//  - a torn tail of the LAST segment — an incomplete frame or zero fill at the end of the file,
//    at most one frame long, not below the watermark — is cut (the file truncated, synced) after
//    a copy of its bytes was kept in <dir>/quarantine/ (state "torn");
//  - any other damaged region, in any segment, is quarantined: its bytes are copied to
//    <dir>/quarantine/ and replaced in the segment by a marker of the same length; the frames after
//    it are recovered and handed to onFrame.
// So recovery never shortens a file by more than one frame. An incomplete header of the last
// segment (a crash while creating it) is cut to an empty file, which ArchiveWriter::open() then
// initialises. A watermark inside a quarantined or damaged region continues after it. Errors:
//   "index_ahead"  the watermark is beyond the end of the archive (segment or offset missing);
//   "corrupt"      a bad segment header, a missing segment between the watermark and the last one,
//                  or a watermark inside an intact frame (not a frame boundary);
//   "io"/"disk_full"  a read, the truncate or the quarantine failed (nothing is cut on a read failure).
Expected<RecoveryReport> recover(const std::filesystem::path& dir, Watermark wm,
                                 const std::function<Expected<void>(const Frame&)>& onFrame,
                                 FileSystem* fs = defaultFileSystem());

}  // namespace archivist::archive
