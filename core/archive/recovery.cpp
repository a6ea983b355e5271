#include "core/archive/recovery.h"

#include <algorithm>
#include <system_error>

#include "core/archive/segment_format.h"
#include "core/archive/segment_writer.h"

namespace archivist::archive {

namespace {

std::string at(const std::filesystem::path& path, uint64_t offset) {
    return path.string() + " @" + std::to_string(offset);
}

void addNote(RecoveryReport& report, const std::string& text) {
    if (!report.note.empty()) report.note += "; ";
    report.note += text;
}

// Where recovery of `segment` starts when the frame at the watermark `wm` does not read: walks the
// segment from its first frame (skipping quarantine markers and resynchronising after damage) to
// find what `wm` is. A frame boundary, the end of a marker, or the end of a damaged region: start
// there. Inside a damaged region: start at the region (it is quarantined whole). Inside an intact
// frame: "corrupt" (the index does not describe this archive).
Expected<uint64_t> locateWatermark(const std::filesystem::path& path, uint32_t segment, uint64_t wm) {
    SegmentReader reader;
    if (auto opened = reader.open(path, segment); !opened) return opened.error();
    if (wm <= reader.firstFrameOffset()) return reader.firstFrameOffset();
    uint64_t prevEnd = reader.firstFrameOffset();
    Frame frame;
    for (;;) {
        if (reader.next(frame)) {
            if (wm > prevEnd && wm <= frame.ref.offset) return frame.ref.offset;  // at or inside markers before it
            const uint64_t end = frame.ref.offset + frame.ref.length;
            if (end == wm) return wm;
            if (end > wm)
                return makeError("corrupt", "index watermark " + at(path, wm) +
                                                " is not on a frame boundary (a frame spans " +
                                                std::to_string(frame.ref.offset) + ".." + std::to_string(end) + ")");
            prevEnd = end;
            continue;
        }
        if (reader.readFailed()) return makeError("io", "read " + path.string() + ": " + reader.stopMessage());
        if (reader.stop() == ScanStop::End) return reader.fileBytes();  // wm ≤ size was checked: inside trailing markers
        if (wm > prevEnd && wm <= reader.stopOffset()) return reader.stopOffset();
        const DamagedRegion region = describeDamage(reader, segment);
        const uint64_t regionEnd = region.offset + region.length;
        if (wm < regionEnd) return region.offset;
        if (wm == regionEnd) return wm;
        prevEnd = regionEnd;
        reader.seek(regionEnd);
    }
}

}  // namespace

Expected<RecoveryReport> recover(const std::filesystem::path& dir, Watermark wm,
                                 const std::function<Expected<void>(const Frame&)>& onFrame, FileSystem* fs) {
    if (!fs) fs = defaultFileSystem();
    RecoveryReport report;
    removeQuarantineWorkFiles(dir);
    const auto segments = listSegments(dir);
    if (segments.empty()) {
        if (wm.segment != 0)
            return makeError("index_ahead", "the index has frames up to segment " + std::to_string(wm.segment) +
                                                " but the archive " + dir.string() + " holds no segment");
        return report;
    }
    const uint32_t last = segments.back();
    report.last_segment = last;
    size_t first = 0;
    if (wm.segment != 0) {
        if (wm.segment > last)
            return makeError("index_ahead", "the index watermark names segment " + std::to_string(wm.segment) +
                                                " but the last segment in " + dir.string() + " is " +
                                                std::to_string(last));
        const auto it = std::find(segments.begin(), segments.end(), wm.segment);
        if (it == segments.end())
            return makeError("corrupt", "segment " + segmentPath(dir, wm.segment).string() +
                                            " named by the index watermark is missing");
        first = size_t(it - segments.begin());
    }
    for (size_t i = first; i + 1 < segments.size(); ++i) {
        if (segments[i + 1] != segments[i] + 1)
            return makeError("corrupt", "segment " + segmentPath(dir, segments[i] + 1).string() + " is missing");
    }

    SegmentReader reader;
    Frame frame;
    for (size_t i = first; i < segments.size(); ++i) {
        const uint32_t seg = segments[i];
        const bool isLast = seg == last;
        const auto path = segmentPath(dir, seg);
        const bool wmHere = seg == wm.segment;

        std::error_code ec;
        const uint64_t size = std::filesystem::file_size(path, ec);
        if (ec) return makeError("io", "stat " + path.string() + ": " + ec.message());
        if (wmHere && wm.offset > size)
            return makeError("index_ahead", "the index watermark " + at(path, wm.offset) + " is past the end of the " +
                                                std::to_string(size) + "-byte segment");

        auto opened = reader.open(path, seg);
        if (!opened) {
            if (opened.error().code != "corrupt") return opened.error();
            // A crash while creating the newest segment leaves a prefix of its header (or nothing).
            const bool partialHeader = size < kHeaderBytes;
            if (isLast && partialHeader && !(wmHere && wm.offset > 0)) {
                if (size > 0) {
                    auto cut = fs->truncateFile(path, 0);
                    if (!cut) return cut.error();
                    report.bytes_truncated += size;
                    addNote(report, "cut the incomplete header of " + path.string() + " (" + std::to_string(size) +
                                        " bytes)");
                }
                break;
            }
            return opened.error();
        }

        uint64_t start = wmHere && wm.offset > 0 ? wm.offset : reader.firstFrameOffset();
        if (start < reader.firstFrameOffset())
            return makeError("corrupt", "the index watermark " + at(path, start) + " lies inside the segment header");
        // Nothing at or below the watermark is ever cut: the index has acknowledged it.
        const uint64_t cutFloor = wmHere ? wm.offset : 0;
        bool located = !(wmHere && wm.offset > 0);
        reader.seek(start);
        for (;;) {
            while (reader.next(frame)) {
                auto r = onFrame(frame);
                if (!r) return r.error();
                ++report.frames_replayed;
                report.events_replayed += frame.events;
            }
            if (reader.stop() == ScanStop::End) break;
            if (reader.readFailed())
                return makeError("io", "read " + at(path, reader.stopOffset()) + ": " + reader.stopMessage());
            if (!located && reader.stopOffset() == start) {
                located = true;
                auto where = locateWatermark(path, seg, start);
                if (!where) return where.error();
                if (*where != start) {
                    start = *where;
                    reader.seek(start);
                    continue;
                }
            }
            located = true;
            const DamagedRegion region = describeDamage(reader, seg);
            if (region.torn && isLast && region.offset >= cutFloor) {
                auto kept = keepTornTail(dir, region, fs);
                if (!kept) return kept.error();
                report.torn_tails.push_back(std::move(*kept));
                auto cut = fs->truncateFile(path, region.offset);
                if (!cut) return cut.error();
                report.bytes_truncated += region.length;
                addNote(report, "cut " + std::to_string(region.length) + " bytes of torn tail at " +
                                    at(path, region.offset) + " (" + region.why + ")");
                break;
            }
            auto entry = quarantineRegion(dir, region, -1, fs);
            if (!entry) return entry.error();
            report.bytes_quarantined += region.length;
            addNote(report, "quarantined " + std::to_string(region.length) + " damaged bytes at " +
                                at(path, region.offset) + " (" + region.why + ") as " +
                                (quarantineDir(dir) / entry->name).string() + ".bin");
            report.quarantined.push_back(std::move(*entry));
            // The segment file was replaced: read the new one, after the marker.
            if (auto reopened = reader.open(path, seg); !reopened) return reopened.error();
            reader.seek(region.offset + region.length);
        }
    }
    return report;
}

}  // namespace archivist::archive
