// Fuzzes the segment scanner and recovery: the input is written as a segment file twice — as is
// (exercising header validation) and behind a valid header (exercising frame scanning) — and
// scanned with SegmentReader; every frame found is re-read with readFrame, then recover() runs on
// the archive. Nothing may crash, hang or read out of bounds, and the scan must agree with readFrame.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/archive/recovery.h"
#include "core/archive/segment_format.h"
#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"

namespace {

using namespace archivist;
using namespace archivist::archive;

// One private temporary directory per process, removed at normal exit.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "fuzz_segment.XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) std::abort();
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

const std::filesystem::path& workDir() {
    static const TempDir dir;
    return dir.path;
}

void writeFile(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

void scanAndCheck(const std::filesystem::path& dir) {
    const auto path = segmentPath(dir, 1);
    SegmentReader reader;
    if (!reader.open(path, 1)) return;
    Frame frame;
    int frames = 0;
    while (reader.next(frame) && frames < 10000) {
        ++frames;
        auto again = readFrame(dir, frame.ref);
        if (!again || again.value() != frame.text) std::abort();  // the two read paths disagree
        if (frame.text.empty() || frame.text.back() != '\n') std::abort();
    }
    if (reader.stop() != ScanStop::End && reader.stopOffset() > reader.fileBytes()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto dir = workDir();
    const auto path = segmentPath(dir, 1);

    writeFile(path, input);  // raw: header validation
    scanAndCheck(dir);

    writeFile(path, encodeSegmentHeader(1, 1700000000) + input);  // behind a valid header: frame scanning
    scanAndCheck(dir);

    // Recovery must leave a segment that scans cleanly (or refuse with an error).
    auto r = recover(dir, Watermark{}, [](const Frame&) -> Expected<void> { return {}; });
    if (r) {
        SegmentReader reader;
        if (!reader.open(path, 1)) std::abort();
        Frame frame;
        while (reader.next(frame)) {
        }
        if (reader.stop() != ScanStop::End) std::abort();
    }
    return 0;
}
