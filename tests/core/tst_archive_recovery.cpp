#include <QtTest>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/archive/fault_injecting_file_system.h"
#include "core/archive/recovery.h"
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
        out += "{\"id\":\"" + std::to_string(frame * 1000 + i) + "\",\"kind\":1,\"content\":\"f" +
               std::to_string(frame) + " l" + std::to_string(i) + " " + std::string(size_t(5 + (i * 7) % 30), 'x') +
               "\"}\n";
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

// An archive built once, with the layout of every frame.
struct Built {
    std::vector<AppendedFrame> frames;  // archive order
    std::vector<std::string> texts;
    std::vector<uint32_t> segments;
};

// `perSegment` frames in each segment (sealing between them).
Built build(const fs::path& dir, const std::vector<int>& perSegment) {
    Built b;
    ArchiveOptions opts;
    opts.sync = false;
    ArchiveWriter w(dir, opts);
    if (!w.open()) return b;
    int n = 0;
    for (size_t s = 0; s < perSegment.size(); ++s) {
        if (s > 0 && !w.seal()) return b;
        for (int i = 0; i < perSegment[s]; ++i, ++n) {
            const int lines = 3 + (n * 5) % 11;
            b.texts.push_back(makeLines(n, lines));
            auto a = w.append(b.texts.back(), uint32_t(lines));
            if (!a) return b;
            b.frames.push_back(a.value());
        }
    }
    (void)w.close();
    b.segments = listSegments(dir);
    return b;
}

// The real file system without fsync/fdatasync: these tests are about which bytes go where, not
// about durability, and thousands of recoveries with several syncs each would take minutes.
class NoSyncFileSystem final : public FileSystem {
    class File final : public WritableFile {
    public:
        explicit File(std::unique_ptr<WritableFile> base) : m_base(std::move(base)) {}
        Expected<void> append(std::string_view d) override { return m_base->append(d); }
        Expected<void> sync() override { return {}; }
        Expected<void> truncate(uint64_t n) override { return m_base->truncate(n); }
        uint64_t size() const override { return m_base->size(); }
        Expected<void> close() override { return m_base->close(); }

    private:
        std::unique_ptr<WritableFile> m_base;
    };
    FileSystem* m_base = defaultFileSystem();

public:
    Expected<std::unique_ptr<WritableFile>> openAppend(const fs::path& p) override {
        auto f = m_base->openAppend(p);
        if (!f) return f.error();
        return std::unique_ptr<WritableFile>(new File(std::move(*f)));
    }
    Expected<void> syncDir(const fs::path&) override { return {}; }
    Expected<void> truncateFile(const fs::path& p, uint64_t n) override {
        std::error_code ec;
        fs::resize_file(p, n, ec);
        if (ec) return makeError("io", ec.message());
        return {};
    }
    Expected<void> rename(const fs::path& a, const fs::path& b) override { return m_base->rename(a, b); }
    Expected<uint64_t> availableBytes(const fs::path& p) override { return m_base->availableBytes(p); }
};

NoSyncFileSystem* noSync() {
    static NoSyncFileSystem fs;
    return &fs;
}

Watermark after(const AppendedFrame& f) { return Watermark{f.ref.segment, f.ref.offset + f.ref.length}; }

struct Replay {
    std::vector<Frame> frames;
    Expected<RecoveryReport> result = makeError("unset", "");
};

Replay runRecovery(const fs::path& dir, Watermark wm, FileSystem* fsys = defaultFileSystem()) {
    Replay r;
    r.result = recover(
        dir, wm,
        [&](const Frame& f) -> Expected<void> {
            r.frames.push_back(f);
            return {};
        },
        fsys);
    return r;
}

// Every frame of every segment, and whether each scan ended cleanly.
std::vector<Frame> scanAll(const fs::path& dir, bool& clean) {
    std::vector<Frame> out;
    clean = true;
    for (uint32_t seg : listSegments(dir)) {
        SegmentReader r;
        if (!r.open(segmentPath(dir, seg), seg)) {
            clean = false;
            continue;
        }
        Frame f;
        while (r.next(f)) out.push_back(f);
        if (r.stop() != ScanStop::End) clean = false;
    }
    return out;
}

void copyArchive(const fs::path& from, const fs::path& to) {
    fs::remove_all(to);
    fs::create_directories(to);
    for (const auto& e : fs::directory_iterator(from)) fs::copy_file(e.path(), to / e.path().filename());
}

}  // namespace

class TestArchiveRecovery : public QObject {
    Q_OBJECT
private:
    // Damages the last frame of the archive in every possible way (`mode` "cut": every length from
    // its first byte to its end; "flip": every byte inverted) and checks recovery each time.
    // (Bytes are inverted, not single bits: zstd entropy tables hold a few bits whose value does not
    // change the decoded content, so a single-bit flip there is harmless and undetectable.)
    // A cut frame is a torn tail: recovery keeps a copy of it and cuts it. A flipped frame is
    // complete: it is quarantined (a marker of the same length takes its place) unless the flip
    // makes it read as an incomplete frame at the end of the file (a block header now claiming
    // more bytes than follow), which is indistinguishable from a torn append: then it is cut like
    // one — never more than that one frame, and never without a copy of its bytes.
    void damageLastFrameEverywhere(const std::vector<int>& perSegment, int wmFrame, const QString& mode) {
        QTemporaryDir tmp;
        const fs::path pristine = fs::path(tmp.path().toStdString()) / "pristine";
        const fs::path work = fs::path(tmp.path().toStdString()) / "work";
        const Built b = build(pristine, perSegment);
        QVERIFY(!b.frames.empty());
        const size_t n = b.frames.size();
        const AppendedFrame& last = b.frames.back();
        const fs::path lastFile = segmentPath(work, last.ref.segment);
        const std::string lastBytes = readFile(segmentPath(pristine, last.ref.segment));
        QCOMPARE(uint64_t(lastBytes.size()), last.ref.offset + last.ref.length);
        const Watermark wm = wmFrame < 0 ? Watermark{} : after(b.frames[size_t(wmFrame)]);
        const size_t firstReplayed = size_t(wmFrame + 1);

        const bool cut = mode == "cut";
        const uint64_t positions = cut ? uint64_t(last.ref.length) + 1 : uint64_t(last.ref.length);
        int quarantinedCases = 0;
        for (uint64_t i = 0; i < positions; ++i) {
            copyArchive(pristine, work);
            std::string damaged = lastBytes;
            if (cut)
                damaged.resize(size_t(last.ref.offset + i));
            else
                damaged[size_t(last.ref.offset + i)] = char(~uint8_t(damaged[size_t(last.ref.offset + i)]));
            writeFile(lastFile, damaged);
            const bool intact = cut && i == last.ref.length;

            const Replay r = runRecovery(work, wm, noSync());
            const QByteArray where = (mode + " at byte " + QString::number(i) + " of the last frame").toUtf8();
            QVERIFY2(r.result.ok(),
                     (where + ": " + (r.result.ok() ? QByteArray() : QByteArray::fromStdString(r.result.error().message))).constData());
            const size_t expectReplayed = n - firstReplayed - (intact ? 0 : 1);
            QVERIFY2(r.frames.size() == expectReplayed, where.constData());
            for (size_t k = 0; k < r.frames.size(); ++k) {
                QVERIFY2(r.frames[k].ref == b.frames[firstReplayed + k].ref, where.constData());
                QVERIFY2(r.frames[k].text == b.texts[firstReplayed + k], where.constData());
            }
            QCOMPARE(r.result->frames_replayed, uint32_t(expectReplayed));
            QCOMPARE(r.result->last_segment, last.ref.segment);
            const uint64_t damagedBytes = intact ? 0 : (cut ? i : uint64_t(last.ref.length));
            const bool quarantined = r.result->bytes_quarantined > 0;
            quarantinedCases += quarantined;
            QVERIFY2(!(cut && quarantined), where.constData());  // an incomplete frame is never quarantined
            QVERIFY2(r.result->bytes_truncated + r.result->bytes_quarantined == damagedBytes, where.constData());
            QVERIFY2(r.result->note.empty() == (damagedBytes == 0), where.constData());
            // The file: cut at the frame, or as long as before with a marker in the frame's place.
            QVERIFY2(uint64_t(fs::file_size(lastFile)) ==
                         (intact || quarantined ? last.ref.offset + last.ref.length : last.ref.offset),
                     where.constData());
            // Nothing is gone for good: the damaged bytes are in the quarantine, byte for byte.
            if (damagedBytes > 0) {
                auto entries = listQuarantine(work);
                QVERIFY2(entries && entries->size() == 1, where.constData());
                const QuarantineEntry& e = entries->front();
                QVERIFY2(e.offset == last.ref.offset && e.length == damagedBytes, where.constData());
                QVERIFY2(e.state == (quarantined ? QuarantineState::Pending : QuarantineState::Torn), where.constData());
                auto kept = readQuarantinedBytes(work, e);
                QVERIFY2(kept && *kept == damaged.substr(size_t(last.ref.offset)), where.constData());
            }

            bool clean = false;
            const auto after = scanAll(work, clean);
            QVERIFY2(clean, where.constData());
            QVERIFY2(after.size() == (intact ? n : n - 1), where.constData());
            for (size_t k = 0; k < after.size(); ++k) QVERIFY2(after[k].text == b.texts[k], where.constData());
        }
        if (!cut) QVERIFY2(quarantinedCases > int(positions) / 2, "most flips leave a complete frame: quarantined");
    }

private slots:
    void damagedLastFrameIsCutAndTheRestReplayed_data() {
        QTest::addColumn<QString>("mode");
        QTest::addColumn<std::vector<int>>("perSegment");
        QTest::addColumn<int>("wmFrame");  // index of the last indexed frame; -1 = nothing indexed
        for (const char* mode : {"cut", "flip"}) {
            QTest::addRow("%s, one segment, watermark after frame 2 of 7", mode)
                << QString(mode) << std::vector<int>{7} << 2;
            QTest::addRow("%s, one segment, nothing indexed", mode) << QString(mode) << std::vector<int>{4} << -1;
            QTest::addRow("%s, watermark in the sealed segment", mode)
                << QString(mode) << std::vector<int>{4, 3} << 1;
            QTest::addRow("%s, everything but the last frame indexed", mode)
                << QString(mode) << std::vector<int>{3, 3} << 4;
        }
    }
    void damagedLastFrameIsCutAndTheRestReplayed() {
        QFETCH(QString, mode);
        QFETCH(std::vector<int>, perSegment);
        QFETCH(int, wmFrame);
        damageLastFrameEverywhere(perSegment, wmFrame, mode);
    }

    // D1: damage in the middle of the open segment costs that frame, not the frames after it.
    void damageInsideTheLastSegmentIsQuarantinedAndTheRestKept_data() {
        QTest::addColumn<int>("victim");
        QTest::addColumn<double>("where");  // position inside the victim frame, 0…1
        for (int victim : {0, 2, 3, 4})
            for (double where : {0.0, 0.01, 0.5, 0.99}) QTest::addRow("frame %d at %.2f", victim, where) << victim << where;
    }
    void damageInsideTheLastSegmentIsQuarantinedAndTheRestKept() {
        QFETCH(int, victim);
        QFETCH(double, where);
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {6});
        const fs::path file = segmentPath(dir, 1);
        std::string bytes = readFile(file);
        const FrameRef bad = b.frames[size_t(victim)].ref;
        const uint64_t first = std::min<uint64_t>(bad.offset + uint64_t(where * bad.length), bad.offset + bad.length - 4);
        for (uint64_t k = 0; k < 4; ++k) bytes[size_t(first + k)] = char(~uint8_t(bytes[size_t(first + k)]));
        writeFile(file, bytes);
        const Replay r = runRecovery(dir, Watermark{});  // nothing indexed: the whole segment is walked
        QVERIFY2(r.result.ok(), r.result.ok() ? "" : r.result.error().message.c_str());
        QCOMPARE(r.frames.size(), b.frames.size() - 1);  // every frame but the damaged one
        for (const Frame& f : r.frames) QVERIFY(!(f.ref == bad));
        QCOMPARE(r.result->bytes_truncated, uint64_t(0));
        QCOMPARE(r.result->bytes_quarantined, uint64_t(bad.length));
        QCOMPARE(r.result->quarantined.size(), size_t(1));
        QCOMPARE(r.result->quarantined[0].offset, bad.offset);
        QCOMPARE(uint64_t(fs::file_size(file)), uint64_t(bytes.size()));  // not shortened at all
        // Every other byte is as it was; the damaged frame's bytes are in the quarantine.
        const std::string now = readFile(file);
        QCOMPARE(now.substr(0, size_t(bad.offset)), bytes.substr(0, size_t(bad.offset)));
        QCOMPARE(now.substr(size_t(bad.offset + bad.length)), bytes.substr(size_t(bad.offset + bad.length)));
        auto kept = readQuarantinedBytes(dir, r.result->quarantined[0]);
        QVERIFY(kept.ok());
        QCOMPARE(*kept, bytes.substr(size_t(bad.offset), bad.length));
        // A second recovery finds nothing new: the marker is skipped like any skippable frame.
        const Replay again = runRecovery(dir, Watermark{});
        QVERIFY(again.result.ok());
        QCOMPARE(again.frames.size(), b.frames.size() - 1);
        QCOMPARE(again.result->bytes_quarantined, uint64_t(0));
        bool clean = false;
        QCOMPARE(scanAll(dir, clean).size(), b.frames.size() - 1);
        QVERIFY(clean);
    }

    void cleanArchiveReplaysOnlyPastTheWatermark() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {3, 2, 4});
        const auto sizes = [&] {
            std::vector<uint64_t> s;
            for (auto seg : b.segments) s.push_back(fs::file_size(segmentPath(dir, seg)));
            return s;
        };
        const auto before = sizes();
        for (int wmFrame = -1; wmFrame < int(b.frames.size()); ++wmFrame) {
            const Watermark wm = wmFrame < 0 ? Watermark{} : after(b.frames[size_t(wmFrame)]);
            const Replay r = runRecovery(dir, wm);
            QVERIFY(r.result.ok());
            QCOMPARE(r.frames.size(), b.frames.size() - size_t(wmFrame + 1));
            uint64_t events = 0;
            for (size_t k = 0; k < r.frames.size(); ++k) {
                QCOMPARE(r.frames[k].ref, b.frames[size_t(wmFrame + 1) + k].ref);
                QCOMPARE(r.frames[k].checksum, b.frames[size_t(wmFrame + 1) + k].checksum);
                events += r.frames[k].events;
            }
            QCOMPARE(r.result->events_replayed, events);
            QCOMPARE(r.result->bytes_truncated, uint64_t(0));
            QVERIFY(r.result->note.empty());
            QCOMPARE(r.result->last_segment, 3u);
        }
        // A watermark at the very start of a segment (nothing of it indexed) also works.
        const Replay r = runRecovery(dir, Watermark{2, 0});
        QVERIFY(r.result.ok());
        QCOMPARE(r.frames.size(), size_t(6));
        QCOMPARE(sizes(), before);
    }

    void emptyArchive() {
        QTemporaryDir tmp;
        const Replay r = runRecovery(tmp.path().toStdString(), Watermark{});
        QVERIFY(r.result.ok());
        QCOMPARE(r.result->last_segment, 0u);
        const Replay ahead = runRecovery(tmp.path().toStdString(), Watermark{1, 100});
        QVERIFY(!ahead.result.ok());
        QCOMPARE(ahead.result.error().code, std::string("index_ahead"));
    }

    void watermarkBeyondTheEndIsIndexAhead_data() {
        QTest::addColumn<int>("segmentDelta");
        QTest::addColumn<int>("offsetDelta");
        QTest::newRow("next segment") << 1 << 0;
        QTest::newRow("far segment") << 9 << 0;
        QTest::newRow("past the end of the last segment") << 0 << 1;
        QTest::newRow("far past the end") << 0 << 100000;
    }
    void watermarkBeyondTheEndIsIndexAhead() {
        QFETCH(int, segmentDelta);
        QFETCH(int, offsetDelta);
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {2, 2});
        const Watermark end = after(b.frames.back());
        const std::string before = readFile(segmentPath(dir, 2));
        const Replay r = runRecovery(dir, Watermark{end.segment + uint32_t(segmentDelta), end.offset + uint64_t(offsetDelta)});
        QVERIFY(!r.result.ok());
        QCOMPARE(r.result.error().code, std::string("index_ahead"));
        QVERIFY(r.frames.empty());
        QCOMPARE(readFile(segmentPath(dir, 2)), before);
    }

    // D2: damage in a sealed segment no longer stops recovery: it is quarantined, never cut, and
    // everything after it (in that segment and the next) is recovered.
    void damageInASealedSegmentIsQuarantinedNothingIsCut_data() {
        QTest::addColumn<bool>("truncated");
        QTest::newRow("corrupt frame") << false;
        QTest::newRow("torn tail") << true;
    }
    void damageInASealedSegmentIsQuarantinedNothingIsCut() {
        QFETCH(bool, truncated);
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {3, 2});
        const fs::path sealed = segmentPath(dir, 1);
        std::string bytes = readFile(sealed);
        const FrameRef victim = b.frames[2].ref;
        if (truncated)
            bytes.resize(size_t(victim.offset + victim.length - 3));
        else
            bytes[size_t(victim.offset + victim.length / 2)] ^= char(0xFF);
        writeFile(sealed, bytes);
        const std::string open = readFile(segmentPath(dir, 2));
        const Replay r = runRecovery(dir, Watermark{});
        QVERIFY2(r.result.ok(), r.result.ok() ? "" : r.result.error().message.c_str());
        QCOMPARE(r.frames.size(), size_t(4));  // frames 0, 1 and the open segment's two
        QCOMPARE(r.result->bytes_truncated, uint64_t(0));
        QCOMPARE(r.result->quarantined.size(), size_t(1));
        QCOMPARE(r.result->quarantined[0].segment, 1u);
        QCOMPARE(r.result->quarantined[0].offset, victim.offset);
        QCOMPARE(uint64_t(fs::file_size(sealed)), uint64_t(bytes.size()));
        QCOMPARE(readFile(sealed).substr(0, size_t(victim.offset)), bytes.substr(0, size_t(victim.offset)));
        QCOMPARE(readFile(segmentPath(dir, 2)), open);
        auto kept = readQuarantinedBytes(dir, r.result->quarantined[0]);
        QVERIFY(kept.ok());
        QCOMPARE(*kept, bytes.substr(size_t(victim.offset)));
    }

    void callbackErrorStopsRecoveryWithoutCutting() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {4});
        const fs::path file = segmentPath(dir, 1);
        std::string bytes = readFile(file);
        bytes.resize(bytes.size() - 5);  // torn tail
        writeFile(file, bytes);
        int calls = 0;
        auto r = recover(dir, Watermark{}, [&](const Frame&) -> Expected<void> {
            if (++calls == 2) return makeError("sqlite", "database is locked");
            return {};
        });
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, std::string("sqlite"));
        QCOMPARE(calls, 2);
        QCOMPARE(readFile(file), bytes);
    }

    // A watermark inside a region quarantined earlier (salvage ran) continues after the marker.
    void watermarkInsideAQuarantinedRegionContinuesAfterIt() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {5});
        DamagedRegion region;
        region.segment = 1;
        region.offset = b.frames[1].ref.offset;
        region.length = b.frames[1].ref.length + b.frames[2].ref.length;
        region.why = "test";
        QVERIFY(quarantineRegion(dir, region, 5).ok());
        const Replay r = runRecovery(dir, after(b.frames[1]));  // inside the marker
        QVERIFY2(r.result.ok(), r.result.ok() ? "" : r.result.error().message.c_str());
        QCOMPARE(r.frames.size(), size_t(2));  // frames 3 and 4
        QCOMPARE(r.frames[0].ref, b.frames[3].ref);
        QCOMPARE(r.result->bytes_quarantined, uint64_t(0));
    }

    // Damage across the watermark (the end of an indexed frame and the start of the next went bad)
    // is quarantined whole — nothing at or below the watermark is ever cut — and recovery goes on
    // after it.
    void damageAcrossTheWatermarkIsQuarantinedNotCut() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {5});
        const fs::path file = segmentPath(dir, 1);
        std::string bytes = readFile(file);
        const uint64_t boundary = b.frames[2].ref.offset;  // = the end of frame 1 = the watermark
        for (uint64_t k = boundary - 6; k < boundary + 6; ++k) bytes[size_t(k)] = char(~uint8_t(bytes[size_t(k)]));
        writeFile(file, bytes);
        const Replay r = runRecovery(dir, after(b.frames[1]));
        QVERIFY2(r.result.ok(), r.result.ok() ? "" : r.result.error().message.c_str());
        QCOMPARE(r.result->bytes_truncated, uint64_t(0));
        QCOMPARE(r.result->quarantined.size(), size_t(1));
        QCOMPARE(r.result->quarantined[0].offset, b.frames[1].ref.offset);
        QCOMPARE(r.result->quarantined[0].length, uint64_t(b.frames[1].ref.length + b.frames[2].ref.length));
        QCOMPARE(r.frames.size(), size_t(2));  // frames 3 and 4
        QCOMPARE(r.frames[0].ref, b.frames[3].ref);
        QCOMPARE(uint64_t(fs::file_size(file)), uint64_t(bytes.size()));
        // And a watermark past the end of the file is still "index_ahead", nothing cut.
        std::string shorter = readFile(file);
        shorter.resize(shorter.size() - 3);
        writeFile(file, shorter);
        const Replay ahead = runRecovery(dir, after(b.frames[4]));
        QVERIFY(!ahead.result.ok());
        QCOMPARE(ahead.result.error().code, std::string("index_ahead"));
        QCOMPARE(readFile(file), shorter);
    }

    void misalignedWatermarkIsCorruptNotCut() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {4});
        const std::string before = readFile(segmentPath(dir, 1));
        const Replay r = runRecovery(dir, Watermark{1, b.frames[1].ref.offset + 3});
        QVERIFY(!r.result.ok());
        QCOMPARE(r.result.error().code, std::string("corrupt"));
        QVERIFY(r.result.error().message.find("frame boundary") != std::string::npos);
        QCOMPARE(readFile(segmentPath(dir, 1)), before);
    }

    void missingSegmentIsCorrupt() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {1, 1, 1});
        fs::remove(segmentPath(dir, 2));
        const Replay r = runRecovery(dir, Watermark{});
        QVERIFY(!r.result.ok());
        QCOMPARE(r.result.error().code, std::string("corrupt"));
        const Replay named = runRecovery(dir, after(b.frames[1]));
        QVERIFY(!named.result.ok());
        QCOMPARE(named.result.error().code, std::string("corrupt"));
    }

    void incompleteHeaderOfTheNewestSegmentIsReset() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {2});
        writeFile(segmentPath(dir, 2), encodeSegmentHeader(2, 1700000000).substr(0, 13));  // crash mid-seal
        const Replay r = runRecovery(dir, after(b.frames.back()));
        QVERIFY2(r.result.ok(), r.result.ok() ? "" : r.result.error().message.c_str());
        QCOMPARE(r.result->bytes_truncated, uint64_t(13));
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 2))), uint64_t(0));
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());
        QCOMPARE(w.openSegment(), 2u);
        auto a = w.append(makeLines(99, 2), 2);
        QVERIFY(a.ok());
        QCOMPARE(a->ref.offset, kHeaderBytes);
        QVERIFY(w.close().ok());
        bool clean = false;
        QCOMPARE(scanAll(dir, clean).size(), size_t(3));
        QVERIFY(clean);
    }

    void writerContinuesAtTheCutPoint() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {3});
        const fs::path file = segmentPath(dir, 1);
        std::string bytes = readFile(file);
        bytes.resize(size_t(b.frames[2].ref.offset + 7));
        writeFile(file, bytes);
        const Replay r = runRecovery(dir, after(b.frames[1]));
        QVERIFY(r.result.ok());
        QVERIFY(r.frames.empty());
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());
        auto a = w.append(b.texts[2], b.frames[2].events);
        QVERIFY(a.ok());
        QCOMPARE(a->ref, b.frames[2].ref);  // same bytes, same place
        QVERIFY(w.close().ok());
        bool clean = false;
        QCOMPARE(scanAll(dir, clean).size(), size_t(3));
        QVERIFY(clean);
    }

    void failedTruncateIsAnIoError() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        build(dir, {2});
        const fs::path file = segmentPath(dir, 1);
        std::string bytes = readFile(file);
        bytes.resize(bytes.size() - 2);
        writeFile(file, bytes);
        FaultInjectingFileSystem faults;
        faults.failTruncate(true);
        const Replay r = runRecovery(dir, Watermark{}, &faults);
        QVERIFY(!r.result.ok());
        QCOMPARE(r.result.error().code, std::string("io"));
        QCOMPARE(readFile(file), bytes);
    }
};

QTEST_GUILESS_MAIN(TestArchiveRecovery)
#include "tst_archive_recovery.moc"
