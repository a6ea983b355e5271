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
        for (uint64_t i = 0; i < positions; ++i) {
            copyArchive(pristine, work);
            std::string damaged = lastBytes;
            if (cut)
                damaged.resize(size_t(last.ref.offset + i));
            else
                damaged[size_t(last.ref.offset + i)] = char(~uint8_t(damaged[size_t(last.ref.offset + i)]));
            writeFile(lastFile, damaged);
            const bool intact = cut && i == last.ref.length;

            const Replay r = runRecovery(work, wm);
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
            const uint64_t expectCut = intact ? 0 : (cut ? i : uint64_t(last.ref.length));
            QVERIFY2(r.result->bytes_truncated == expectCut, where.constData());
            QVERIFY2(r.result->note.empty() == (expectCut == 0), where.constData());
            QCOMPARE(r.result->last_segment, last.ref.segment);
            QVERIFY2(uint64_t(fs::file_size(lastFile)) == (intact ? last.ref.offset + last.ref.length : last.ref.offset),
                     where.constData());

            bool clean = false;
            const auto after = scanAll(work, clean);
            QVERIFY2(clean, where.constData());
            QVERIFY2(after.size() == (intact ? n : n - 1), where.constData());
            for (size_t k = 0; k < after.size(); ++k) QVERIFY2(after[k].text == b.texts[k], where.constData());
        }
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

    void damageInsideTheLastSegmentCutsEverythingAfterIt() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const Built b = build(dir, {6});
        const fs::path file = segmentPath(dir, 1);
        std::string bytes = readFile(file);
        const FrameRef bad = b.frames[3].ref;
        bytes[size_t(bad.offset + bad.length / 2)] ^= char(0xFF);
        writeFile(file, bytes);
        const Replay r = runRecovery(dir, after(b.frames[0]));
        QVERIFY(r.result.ok());
        QCOMPARE(r.frames.size(), size_t(2));  // frames 1 and 2
        QCOMPARE(r.result->bytes_truncated, uint64_t(bytes.size() - bad.offset));
        QCOMPARE(uint64_t(fs::file_size(file)), bad.offset);
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

    void damageInASealedSegmentIsAnErrorAndNothingIsCut_data() {
        QTest::addColumn<bool>("truncated");
        QTest::newRow("corrupt frame") << false;
        QTest::newRow("torn tail") << true;
    }
    void damageInASealedSegmentIsAnErrorAndNothingIsCut() {
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
        QVERIFY(!r.result.ok());
        QCOMPARE(r.result.error().code, std::string("corrupt"));
        QVERIFY(r.result.error().message.find("segment-000001") != std::string::npos);
        QCOMPARE(r.frames.size(), size_t(2));  // the intact frames before the damage were offered
        QCOMPARE(readFile(sealed), bytes);
        QCOMPARE(readFile(segmentPath(dir, 2)), open);
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
