// Quarantine of damaged archive bytes (core/archive/quarantine.h): markers keep every other frame
// in place, the copy is exact and idempotent, standard zstd tools still read the segment, damaged
// frames yield their readable lines, the open segment can be quarantined while the writer appends,
// and the low-disk threshold refuses before the disk is full.
#include <QtTest>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/archive/fault_injecting_file_system.h"
#include "core/archive/quarantine.h"
#include "core/archive/segment_format.h"
#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"

using namespace archivist;
using namespace archivist::archive;
namespace fs = std::filesystem;

namespace {

std::string makeLines(int frame, int count) {
    std::string out;
    for (int i = 0; i < count; ++i)
        out += "{\"frame\":" + std::to_string(frame) + ",\"line\":" + std::to_string(i) + ",\"pad\":\"" +
               std::string(size_t(20 + (i * 13) % 50), char('a' + (frame + i) % 26)) + "\"}\n";
    return out;
}

std::string readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void writeFile(const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

struct Built {
    std::vector<AppendedFrame> frames;
    std::vector<std::string> texts;
};

Built build(const fs::path& dir, int frames, int lines = 40) {
    Built b;
    ArchiveOptions o;
    o.sync = false;
    ArchiveWriter w(dir, o);
    if (!w.open()) return b;
    for (int i = 0; i < frames; ++i) {
        b.texts.push_back(makeLines(i, lines));
        auto a = w.append(b.texts.back(), uint32_t(lines));
        if (!a) return {};
        b.frames.push_back(*a);
    }
    (void)w.close();
    return b;
}

std::vector<Frame> scan(const fs::path& dir, uint32_t segment, bool& clean) {
    std::vector<Frame> out;
    SegmentReader r;
    clean = r.open(segmentPath(dir, segment), segment).ok();
    Frame f;
    while (clean && r.next(f)) out.push_back(f);
    clean = clean && r.stop() == ScanStop::End;
    return out;
}

// What a damaged region looks like to the reader, found the way recovery and salvage find it.
DamagedRegion damageAt(const fs::path& dir, uint32_t segment, uint64_t offset) {
    SegmentReader r;
    if (!r.open(segmentPath(dir, segment), segment)) return {};
    r.seek(offset);
    Frame f;
    while (r.next(f)) {
    }
    return describeDamage(r, segment);
}

void invert(std::string& bytes, uint64_t at, size_t n) {
    for (size_t i = 0; i < n; ++i) bytes[size_t(at + i)] = char(~uint8_t(bytes[size_t(at + i)]));
}

}  // namespace

class TestQuarantine : public QObject {
    Q_OBJECT
private slots:
    void markerKeepsEveryOtherFrameInPlaceAndZstdReadsTheSegment() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, 5);
        QCOMPARE(b.frames.size(), size_t(5));
        const fs::path file = segmentPath(dir, 1);
        std::string bytes = readFile(file);
        invert(bytes, b.frames[2].ref.offset + 30, 8);
        writeFile(file, bytes);

        const DamagedRegion region = damageAt(dir, 1, b.frames[0].ref.offset);
        QCOMPARE(region.offset, b.frames[2].ref.offset);
        QCOMPARE(region.length, uint64_t(b.frames[2].ref.length));  // up to the next intact frame
        QVERIFY(!region.at_end);
        QVERIFY(!region.torn);
        QVERIFY(region.declared_content_bytes > 0);

        auto entry = quarantineRegion(dir, region, 40);
        QVERIFY2(entry.ok(), entry.ok() ? "" : entry.error().message.c_str());
        QCOMPARE(entry->state, QuarantineState::Pending);
        QCOMPARE(entry->indexed_events, int64_t(40));
        const std::string after = readFile(file);
        QCOMPARE(after.size(), bytes.size());
        QCOMPARE(after.substr(0, size_t(region.offset)), bytes.substr(0, size_t(region.offset)));
        QCOMPARE(after.substr(size_t(region.offset + region.length)), bytes.substr(size_t(region.offset + region.length)));

        // Every other frame is still where the index says it is.
        for (size_t i : {0, 1, 3, 4}) {
            auto text = readFrame(dir, b.frames[i].ref);
            QVERIFY(text.ok());
            QCOMPARE(*text, b.texts[i]);
        }
        auto gone = readFrame(dir, b.frames[2].ref);
        QVERIFY(!gone.ok());
        QVERIFY(gone.error().message.find("quarantined") != std::string::npos);
        bool clean = false;
        const auto frames = scan(dir, 1, clean);
        QVERIFY(clean);
        QCOMPARE(frames.size(), size_t(4));

        // The quarantine holds the exact bytes; listing finds the entry.
        auto kept = readQuarantinedBytes(dir, *entry);
        QVERIFY(kept.ok());
        QCOMPARE(*kept, bytes.substr(size_t(region.offset), size_t(region.length)));
        auto list = listQuarantine(dir);
        QVERIFY(list.ok());
        QCOMPARE(list->size(), size_t(1));
        QCOMPARE(list->front().name, entry->name);
        QCOMPARE(list->front().sha256, entry->sha256);

        // Standard zstd reads the segment (header and marker are skippable frames).
        if (QStandardPaths::findExecutable("zstd").isEmpty()) QSKIP("zstd is not installed");
        QProcess zstd;
        zstd.start("zstd", {"-dc", QString::fromStdString(file.string())});
        QVERIFY(zstd.waitForFinished(30000));
        QCOMPARE(zstd.exitCode(), 0);
        QCOMPARE(zstd.readAllStandardOutput().toStdString(), b.texts[0] + b.texts[1] + b.texts[3] + b.texts[4]);
    }

    void quarantineIsIdempotentAndNeverOverwritesOtherBytes() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, 3);
        const fs::path file = segmentPath(dir, 1);
        std::string bytes = readFile(file);
        invert(bytes, b.frames[1].ref.offset + 20, 4);
        writeFile(file, bytes);
        const std::string damaged = bytes;
        const DamagedRegion region = damageAt(dir, 1, b.frames[0].ref.offset);
        // A crash between the copy and the rewrite: the same damage is found again next time.
        auto first = quarantineRegion(dir, region, -1);
        QVERIFY(first.ok());
        writeFile(file, damaged);
        auto again = quarantineRegion(dir, damageAt(dir, 1, b.frames[0].ref.offset), -1);
        QVERIFY(again.ok());
        QCOMPARE(again->name, first->name);
        QCOMPARE(listQuarantine(dir)->size(), size_t(1));
        // Other bytes at the same place (the marker itself damaged later): a second entry.
        std::string marked = readFile(file);
        invert(marked, region.offset, 2);
        writeFile(file, marked);
        const DamagedRegion second = damageAt(dir, 1, b.frames[0].ref.offset);
        QCOMPARE(second.offset, region.offset);
        auto other = quarantineRegion(dir, second, -1);
        QVERIFY(other.ok());
        QVERIFY(other->name != first->name);
        QCOMPARE(listQuarantine(dir)->size(), size_t(2));
        QCOMPARE(*readQuarantinedBytes(dir, *first), damaged.substr(size_t(region.offset), size_t(region.length)));
        // A quarantine copy that no longer matches its manifest is refused.
        writeFile(quarantineDir(dir) / (first->name + ".bin"), "something else");
        QCOMPARE(readQuarantinedBytes(dir, *first).error().code, std::string("corrupt"));
    }

    void tailClassification() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, 3);
        const fs::path file = segmentPath(dir, 1);
        const std::string pristine = readFile(file);
        const FrameRef last = b.frames[2].ref;
        struct Case {
            const char* name;
            std::string bytes;
            bool torn;
        };
        std::string cut = pristine.substr(0, size_t(last.offset + last.length / 2));
        std::string zeros = pristine.substr(0, size_t(last.offset)) + std::string(4096, '\0');
        std::string flipped = pristine;
        invert(flipped, last.offset + last.length / 2, 4);
        std::string garbage = pristine.substr(0, size_t(last.offset)) + std::string(300, 'g');
        for (const Case& c : {Case{"incomplete frame", cut, true}, Case{"zero fill", zeros, true},
                              Case{"complete frame, bad content", flipped, false},
                              Case{"garbage after the last frame", garbage, false}}) {
            writeFile(file, c.bytes);
            const DamagedRegion d = damageAt(dir, 1, b.frames[0].ref.offset);
            QVERIFY2(d.at_end, c.name);
            QCOMPARE(d.offset, last.offset);
            QCOMPARE(d.length, uint64_t(c.bytes.size()) - last.offset);
            QVERIFY2(d.torn == c.torn, c.name);
        }
    }

    void recoverFramesFindsIntactFramesAndTheReadablePartOfADamagedOne() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, 4, 6000);  // ~330 KiB per frame: several zstd blocks of ≤ 128 KiB
        const std::string bytes = readFile(segmentPath(dir, 1));
        // Frames 1–3 as one region, frame 2 damaged near its end: frames 1 and 3 come back whole,
        // frame 2 up to the damage.
        std::string region = bytes.substr(size_t(b.frames[1].ref.offset),
                                          size_t(b.frames[3].ref.offset + b.frames[3].ref.length - b.frames[1].ref.offset));
        const uint64_t inFrame2 = b.frames[2].ref.offset - b.frames[1].ref.offset;
        invert(region, inFrame2 + b.frames[2].ref.length - 40, 6);
        const RecoveredText t = recoverFrames(region);
        QCOMPARE(t.intact_frames, uint64_t(2));
        QCOMPARE(t.damaged_frames, uint64_t(1));
        QCOMPARE(t.damaged_declared_bytes, uint64_t(b.texts[2].size()));
        QVERIFY(t.damaged_decoded_bytes <= t.damaged_declared_bytes);
        QCOMPARE(t.texts.size(), size_t(3));
        QCOMPARE(t.texts[0], b.texts[1]);
        QCOMPARE(t.texts.back(), b.texts[3]);
        // What came out of the damaged frame is whole lines; those before the damage are exact.
        const std::string& partial = t.texts[1];
        QVERIFY(partial.empty() || partial.back() == '\n');
        size_t exactLines = 0;
        for (size_t pos = 0; pos < partial.size();) {
            const size_t nl = partial.find('\n', pos);
            if (b.texts[2].find(partial.substr(pos, nl + 1 - pos)) != std::string::npos) ++exactLines;
            pos = nl + 1;
        }
        QVERIFY2(exactLines > 3000, "the lines of the blocks before the damage come back");
    }

    void openSegmentIsQuarantinedWhileTheWriterAppends() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveOptions o;
        o.sync = false;
        ArchiveWriter w(dir, o);
        QVERIFY(w.open().ok());
        std::vector<AppendedFrame> frames;
        std::vector<std::string> texts;
        for (int i = 0; i < 4; ++i) {
            texts.push_back(makeLines(i, 30));
            frames.push_back(*w.append(texts.back(), 30));
        }
        // Damage frame 1 on disk behind the writer's back (bit rot), then quarantine it through
        // the writer from another thread.
        {
            std::fstream f(segmentPath(dir, 1), std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(std::streamoff(frames[1].ref.offset + 25));
            f.write("\xff\x00\xff\x00", 4);
        }
        const DamagedRegion region = damageAt(dir, 1, frames[0].ref.offset);
        QCOMPARE(region.offset, frames[1].ref.offset);
        Expected<QuarantineEntry> entry = makeError("unset", "");
        std::thread other([&] { entry = w.quarantine(region, 30); });
        other.join();
        QVERIFY2(entry.ok(), entry.ok() ? "" : entry.error().message.c_str());
        // The writer appends to the new file, right after the old end.
        texts.push_back(makeLines(4, 30));
        auto a = w.append(texts.back(), 30);
        QVERIFY(a.ok());
        QCOMPARE(a->ref.offset, frames[3].ref.offset + frames[3].ref.length);
        QVERIFY(w.close().ok());
        bool clean = false;
        const auto got = scan(dir, 1, clean);
        QVERIFY(clean);
        QCOMPARE(got.size(), size_t(4));
        QCOMPARE(got[0].text, texts[0]);
        QCOMPARE(got[1].text, texts[2]);
        QCOMPARE(got.back().text, texts[4]);
    }

    void lowDiskThresholdRefusesBeforeTheDiskIsFull() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        FaultInjectingFileSystem faults;
        ArchiveOptions o;
        o.sync = false;
        o.min_free_bytes = 10u << 20;
        ArchiveWriter w(dir, o, &faults);
        QVERIFY(w.open().ok());
        faults.setAvailableBytes(50u << 20);
        QVERIFY(w.append(makeLines(0, 10), 10).ok());
        const uint64_t size = w.openSegmentBytes();
        faults.setAvailableBytes(10u << 20);  // less than threshold + frame
        auto refused = w.append(makeLines(1, 10), 10);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().code, std::string("disk_full"));
        QVERIFY(refused.error().message.find("low-disk threshold") != std::string::npos);
        QCOMPARE(w.openSegmentBytes(), size);
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 1))), size);  // nothing written
        faults.setAvailableBytes(-1);  // space is back
        QVERIFY(w.append(makeLines(1, 10), 10).ok());
    }

    void nthCallFaults() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        FaultInjectingFileSystem faults;
        ArchiveWriter w(dir, {}, &faults);
        QVERIFY(w.open().ok());
        faults.failAt(FaultOp::Sync, 2, FaultKind::IoError, false);
        QVERIFY(w.append(makeLines(0, 3), 3).ok());
        auto second = w.append(makeLines(1, 3), 3);
        QVERIFY(!second.ok());
        QCOMPARE(second.error().code, std::string("io"));
        QVERIFY(w.append(makeLines(1, 3), 3).ok());  // one-shot: the next call works
        faults.failAt(FaultOp::Append, 1, FaultKind::ShortWrite, true);
        const uint64_t size = w.openSegmentBytes();
        QCOMPARE(w.append(makeLines(2, 3), 3).error().code, std::string("disk_full"));
        QCOMPARE(w.append(makeLines(2, 3), 3).error().code, std::string("disk_full"));  // persistent
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 1))), size);  // the half-written frame was cut
        faults.clearFaults();
        QVERIFY(w.append(makeLines(2, 3), 3).ok());
        QVERIFY(faults.counters().injected_append_failures >= 2);
    }
};

QTEST_GUILESS_MAIN(TestQuarantine)
#include "tst_quarantine.moc"
