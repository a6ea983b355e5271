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

// Checks that `offset` is where a frame of `segment` ends (or the first frame offset) by scanning
// from the first frame. Used only when the watermark's frame position does not decode.
Expected<void> checkFrameBoundary(const std::filesystem::path& path, uint32_t segment, uint64_t offset) {
    SegmentReader reader;
    auto opened = reader.open(path, segment);
    if (!opened) return opened.error();
    if (offset == reader.firstFrameOffset()) return {};
    Frame frame;
    while (reader.next(frame)) {
        const uint64_t end = frame.ref.offset + frame.ref.length;
        if (end == offset) return {};
        if (end > offset)
            return makeError("corrupt", "index watermark " + at(path, offset) +
                                            " is not on a frame boundary (a frame spans " +
                                            std::to_string(frame.ref.offset) + ".." + std::to_string(end) + ")");
    }
    if (reader.readFailed()) return makeError("io", "read " + path.string() + ": " + reader.stopMessage());
    return makeError("corrupt", "archive is damaged before the index watermark: " +
                                    at(path, reader.stopOffset()) + ": " + reader.stopMessage());
}

}  // namespace

Expected<RecoveryReport> recover(const std::filesystem::path& dir, Watermark wm,
                                 const std::function<Expected<void>(const Frame&)>& onFrame, FileSystem* fs) {
    if (!fs) fs = defaultFileSystem();
    RecoveryReport report;
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

        const uint64_t start = wmHere && wm.offset > 0 ? wm.offset : reader.firstFrameOffset();
        if (start < reader.firstFrameOffset())
            return makeError("corrupt", "the index watermark " + at(path, start) + " lies inside the segment header");
        reader.seek(start);
        while (reader.next(frame)) {
            auto r = onFrame(frame);
            if (!r) return r.error();
            ++report.frames_replayed;
            report.events_replayed += frame.events;
        }
        if (reader.stop() == ScanStop::End) continue;
        if (reader.readFailed())
            return makeError("io", "read " + at(path, reader.stopOffset()) + ": " + reader.stopMessage());

        const uint64_t bad = reader.stopOffset();
        const char* kind = reader.stop() == ScanStop::Torn ? "torn" : "corrupt";
        if (wmHere && bad == start) {
            auto boundary = checkFrameBoundary(path, seg, start);
            if (!boundary) return boundary.error();
        }
        if (!isLast)
            return makeError("corrupt", std::string(kind) + " frame in sealed segment " + at(path, bad) + ": " +
                                            reader.stopMessage() + " (not cut; restore the segment from a copy)");
        auto cut = fs->truncateFile(path, bad);
        if (!cut) return cut.error();
        report.bytes_truncated += size - bad;
        addNote(report, std::string("cut ") + std::to_string(size - bad) + " bytes of " + kind + " tail at " +
                            at(path, bad) + " (" + reader.stopMessage() + ")");
        break;
    }
    return report;
}

}  // namespace archivist::archive
