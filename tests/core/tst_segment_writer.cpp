#include <QtTest>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/archive/fault_injecting_file_system.h"
#include "core/archive/segment_format.h"
#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"

using namespace archivist::archive;
namespace fs = std::filesystem;

namespace {

std::string makeLines(int frame, int count, size_t pad = 40) {
    std::string out;
    for (int i = 0; i < count; ++i) {
        out += "{\"id\":\"" + std::to_string(frame * 1000 + i) + "\",\"kind\":1,\"content\":\"frame " +
               std::to_string(frame) + " line " + std::to_string(i) + " " + std::string(pad, char('a' + i % 26)) +
               "\"}\n";
    }
    return out;
}

std::string readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Scan {
    std::vector<Frame> frames;
    ScanStop stop = ScanStop::Corrupt;
    bool opened = false;
};

Scan scanSegment(const fs::path& dir, uint32_t segment) {
    Scan s;
    SegmentReader r;
    if (!r.open(segmentPath(dir, segment), segment)) return s;
    s.opened = true;
    Frame f;
    while (r.next(f)) s.frames.push_back(f);
    s.stop = r.stop();
    return s;
}

}  // namespace

class TestSegmentWriter : public QObject {
    Q_OBJECT
private slots:
    void segmentNamesAndListing() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        QCOMPARE(segmentPath(dir, 1).filename().string(), std::string("segment-000001.jsonl.zst"));
        QCOMPARE(segmentPath(dir, 1234567).filename().string(), std::string("segment-1234567.jsonl.zst"));
        for (const char* name : {"segment-000003.jsonl.zst", "segment-000001.jsonl.zst", "segment-000010.jsonl.zst",
                                 "segment-1.jsonl.zst", "segment-000002.jsonl", "segment-00000x.jsonl.zst",
                                 "notes.txt", "segment-0000002.jsonl.zst"})
            std::ofstream(dir / name) << "";
        QCOMPARE(listSegments(dir), (std::vector<uint32_t>{1, 3, 10}));
        QVERIFY(listSegments(dir / "missing").empty());
    }

    void headerIsSkippableFrameWithSignature() {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "archive";
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());  // creates the directory and segment 1
        QCOMPARE(w.openSegment(), 1u);
        QCOMPARE(w.openSegmentBytes(), kHeaderBytes);
        const std::string bytes = readFile(segmentPath(dir, 1));
        QCOMPARE(bytes.size(), size_t(kHeaderBytes));
        QCOMPARE(uint8_t(bytes[0]), uint8_t(0x5A));
        QCOMPARE(uint8_t(bytes[3]), uint8_t(0x18));
        QCOMPARE(bytes.substr(8, 9), std::string("ARCHIVIST"));
        auto h = parseSegmentHeader(bytes);
        QVERIFY(h.ok());
        QCOMPARE(h->segment, 1u);
        QCOMPARE(int(h->version), 1);
        const int64_t now = QDateTime::currentSecsSinceEpoch();
        QVERIFY(h->created_at_s <= now && h->created_at_s > now - 60);
    }

    void roundTripAcrossFramesAndSeal() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());
        std::vector<std::string> inputs;
        std::vector<AppendedFrame> appended;
        for (int i = 0; i < 8; ++i) {
            if (i == 5) {
                auto sealed = w.seal();
                QVERIFY(sealed.ok());
                QCOMPARE(sealed.value(), 1u);
                QCOMPARE(w.openSegment(), 2u);
                QCOMPARE(w.openSegmentBytes(), kHeaderBytes);
            }
            inputs.push_back(makeLines(i, 10 + i * 7));
            auto a = w.append(inputs.back(), uint32_t(10 + i * 7));
            QVERIFY2(a.ok(), a.ok() ? "" : a.error().message.c_str());
            QCOMPARE(a->events, uint32_t(10 + i * 7));
            QCOMPARE(a->raw_bytes, uint64_t(inputs.back().size()));
            QCOMPARE(a->checksum, frameChecksum(inputs.back()));
            appended.push_back(a.value());
        }
        QVERIFY(w.close().ok());
        QCOMPARE(listSegments(dir), (std::vector<uint32_t>{1, 2}));
        QCOMPARE(appended[0].ref.offset, kHeaderBytes);
        QCOMPARE(appended[5].ref, (FrameRef{2, kHeaderBytes, appended[5].ref.length}));

        std::vector<Frame> frames;
        for (uint32_t seg : {1u, 2u}) {
            const Scan s = scanSegment(dir, seg);
            QVERIFY(s.opened);
            QCOMPARE(s.stop, ScanStop::End);
            frames.insert(frames.end(), s.frames.begin(), s.frames.end());
        }
        QCOMPARE(frames.size(), inputs.size());
        for (size_t i = 0; i < frames.size(); ++i) {
            QCOMPARE(frames[i].text, inputs[i]);
            QCOMPARE(frames[i].ref, appended[i].ref);
            QCOMPARE(frames[i].events, appended[i].events);
            QCOMPARE(frames[i].checksum, appended[i].checksum);
            auto direct = readFrame(dir, appended[i].ref);
            QVERIFY(direct.ok());
            QCOMPARE(direct.value(), inputs[i]);
        }
        // Segment 1 is exactly header + its frames: sealed files hold nothing else.
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 1))), appended[4].ref.offset + appended[4].ref.length);
    }

    void zstdcatPrintsTheJsonl() {
        const QString zstd = QStandardPaths::findExecutable("zstd");
        if (zstd.isEmpty()) QSKIP("the zstd command-line tool is not installed");
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());
        std::string all;
        for (int i = 0; i < 6; ++i) {
            if (i == 3) QVERIFY(w.seal().ok());
            const std::string lines = makeLines(i, 25);
            all += lines;
            QVERIFY(w.append(lines, 25).ok());
        }
        QVERIFY(w.close().ok());
        QProcess p;
        p.start(zstd, {"-dc", QString::fromStdString(segmentPath(dir, 1).string()),
                       QString::fromStdString(segmentPath(dir, 2).string())});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        const QByteArray out = p.readAllStandardOutput();
        QCOMPARE(out.size(), qsizetype(all.size()));
        QVERIFY(out.toStdString() == all);
        // zstd's own integrity test accepts the file (header skipped, checksums verified).
        QProcess t;
        t.start(zstd, {"-t", QString::fromStdString(segmentPath(dir, 1).string())});
        QVERIFY(t.waitForFinished(30000));
        QCOMPARE(t.exitCode(), 0);
    }

    void reopenContinuesTheOpenSegment() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        uint64_t sizeBefore = 0;
        {
            ArchiveWriter w(dir);
            QVERIFY(w.open().ok());
            QVERIFY(w.append(makeLines(0, 5), 5).ok());
            QVERIFY(w.seal().ok());
            QVERIFY(w.append(makeLines(1, 5), 5).ok());
            sizeBefore = w.openSegmentBytes();
            QVERIFY(w.close().ok());
        }
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());
        QCOMPARE(w.openSegment(), 2u);
        QCOMPARE(w.openSegmentBytes(), sizeBefore);
        auto a = w.append(makeLines(2, 5), 5);
        QVERIFY(a.ok());
        QCOMPARE(a->ref.segment, 2u);
        QCOMPARE(a->ref.offset, sizeBefore);
        QVERIFY(w.close().ok());
        const Scan s = scanSegment(dir, 2);
        QCOMPARE(s.stop, ScanStop::End);
        QCOMPARE(s.frames.size(), size_t(2));
        QCOMPARE(s.frames[1].text, makeLines(2, 5));
        QCOMPARE(listSegments(dir), (std::vector<uint32_t>{1, 2}));
    }

    void openRefusesADamagedHeader() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        std::ofstream(segmentPath(dir, 1), std::ios::binary) << "this is not a segment header at all......";
        ArchiveWriter w(dir);
        auto r = w.open();
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, std::string("corrupt"));
    }

    void badInputIsRefusedAndNothingWritten_data() {
        QTest::addColumn<QByteArray>("jsonl");
        QTest::addColumn<uint>("events");
        QTest::newRow("empty") << QByteArray() << 0u;
        QTest::newRow("no final newline") << QByteArray("{\"a\":1}\n{\"b\":2}") << 2u;
        QTest::newRow("too few events") << QByteArray("{\"a\":1}\n{\"b\":2}\n") << 1u;
        QTest::newRow("too many events") << QByteArray("{\"a\":1}\n") << 2u;
    }
    void badInputIsRefusedAndNothingWritten() {
        QFETCH(QByteArray, jsonl);
        QFETCH(uint, events);
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());
        auto a = w.append(std::string_view(jsonl.constData(), size_t(jsonl.size())), events);
        QVERIFY(!a.ok());
        QCOMPARE(a.error().code, std::string("usage"));
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 1))), kHeaderBytes);
    }

    void appendBeforeOpenIsAnError() {
        QTemporaryDir tmp;
        ArchiveWriter w(tmp.path().toStdString());
        auto a = w.append("{}\n", 1);
        QVERIFY(!a.ok());
        QCOMPARE(a.error().code, std::string("usage"));
    }

    void shouldSealBySizeAndAge() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveOptions opts;
        opts.seal_bytes = 2000;
        ArchiveWriter w(dir, opts);
        QVERIFY(w.open().ok());
        QVERIFY(!w.shouldSeal());
        QVERIFY(w.append(makeLines(0, 3), 3).ok());
        QVERIFY(!w.shouldSeal());
        int guard = 0;
        while (!w.shouldSeal() && guard++ < 100) QVERIFY(w.append(makeLines(guard, 10, 200), 10).ok());
        QVERIFY(w.shouldSeal());
        QVERIFY(w.openSegmentBytes() >= 2000);
        QCOMPARE(w.seal().value(), 1u);
        QVERIFY(!w.shouldSeal());

        QTemporaryDir tmp2;
        ArchiveOptions aged;
        aged.seal_age_s = 0;
        ArchiveWriter old(tmp2.path().toStdString(), aged);
        QVERIFY(old.open().ok());
        QVERIFY(!old.shouldSeal());  // never seal an empty segment
        QVERIFY(old.append(makeLines(0, 1), 1).ok());
        QVERIFY(old.shouldSeal());
    }

    void diskFullMidWriteLeavesNoPartialFrame() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        FaultInjectingFileSystem faults;
        ArchiveWriter w(dir, {}, &faults);
        QVERIFY(w.open().ok());
        const std::string first = makeLines(0, 30);
        QVERIFY(w.append(first, 30).ok());
        const uint64_t good = fs::file_size(segmentPath(dir, 1));
        QCOMPARE(w.openSegmentBytes(), good);

        faults.failAppendAfterBytes(10);
        const std::string second = makeLines(1, 30);
        auto a = w.append(second, 30);
        QVERIFY(!a.ok());
        QCOMPARE(a.error().code, std::string("disk_full"));
        QVERIFY2(a.error().message.find("No space left on device") != std::string::npos, a.error().message.c_str());
        QVERIFY(a.error().message.find("segment-000001.jsonl.zst") != std::string::npos);
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 1))), good);  // the 10 short-written bytes are gone
        QCOMPARE(faults.counters().injected_append_failures, uint64_t(1));

        // Disk still full: fails again, still nothing left behind.
        QVERIFY(!w.append(second, 30).ok());
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 1))), good);

        faults.clearFaults();
        auto b = w.append(second, 30);
        QVERIFY(b.ok());
        QCOMPARE(b->ref.offset, good);
        const Scan s = scanSegment(dir, 1);
        QCOMPARE(s.stop, ScanStop::End);
        QCOMPARE(s.frames.size(), size_t(2));
        QCOMPARE(s.frames[0].text, first);
        QCOMPARE(s.frames[1].text, second);
    }

    void appendFramesCutsAGroupAtLineBoundaries() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveOptions opts;
        opts.frame_bytes = 1000;
        FaultInjectingFileSystem faults;
        ArchiveWriter w(dir, opts, &faults);
        QVERIFY(w.open().ok());
        // 40 lines of ≈ 90 bytes, one line of 3,000 (longer than a frame: a frame of its own), 9 more.
        std::string group = makeLines(0, 40);
        group += "{\"content\":\"" + std::string(3000, 'x') + "\"}\n";
        group += makeLines(1, 9);
        auto frames = w.appendFrames(group, 50);
        QVERIFY2(frames.ok(), frames.ok() ? "" : frames.error().message.c_str());
        QVERIFY(frames->size() >= 6);
        uint32_t events = 0;
        std::string joined;
        uint64_t offset = kHeaderBytes;
        bool sawLong = false;
        for (const AppendedFrame& f : *frames) {
            QCOMPARE(f.ref.segment, 1u);
            QCOMPARE(f.ref.offset, offset);  // back to back, in order
            offset += f.ref.length;
            auto text = readFrame(dir, f.ref);
            QVERIFY(text.ok());
            QCOMPARE(uint64_t(text->size()), f.raw_bytes);
            QCOMPARE(f.checksum, frameChecksum(*text));
            QCOMPARE(uint32_t(std::count(text->begin(), text->end(), '\n')), f.events);
            QVERIFY(text->back() == '\n');
            if (text->size() > 1000) {
                QCOMPARE(f.events, 1u);  // only the long line exceeds the target
                sawLong = true;
            }
            events += f.events;
            joined += *text;
        }
        QVERIFY(sawLong);
        QCOMPARE(events, 50u);
        QCOMPARE(joined, group);
        QCOMPARE(w.openSegmentBytes(), offset);
        const Scan s = scanSegment(dir, 1);
        QCOMPARE(s.stop, ScanStop::End);
        QCOMPARE(s.frames.size(), frames->size());

        // A failed write leaves none of the group's frames behind, and a retry appends them all.
        const uint64_t good = fs::file_size(segmentPath(dir, 1));
        faults.failAppendAfterBytes(100);
        QVERIFY(!w.appendFrames(group, 50).ok());
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 1))), good);
        faults.clearFaults();
        auto again = w.appendFrames(group, 50);
        QVERIFY(again.ok());
        QCOMPARE(again->front().ref.offset, good);
        QCOMPARE(scanSegment(dir, 1).frames.size(), 2 * frames->size());
        // Wrong line count: refused, nothing written.
        QVERIFY(!w.appendFrames(group, 49).ok());
        QCOMPARE(scanSegment(dir, 1).frames.size(), 2 * frames->size());
    }

    void failedTruncateIsRepairedBeforeTheNextAppend() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        FaultInjectingFileSystem faults;
        ArchiveWriter w(dir, {}, &faults);
        QVERIFY(w.open().ok());
        QVERIFY(w.append(makeLines(0, 30), 30).ok());
        const uint64_t good = fs::file_size(segmentPath(dir, 1));
        faults.failAppendAfterBytes(10);
        faults.failTruncate(true);
        auto a = w.append(makeLines(1, 30), 30);
        QVERIFY(!a.ok());
        QVERIFY(a.error().message.find("could not be cut off") != std::string::npos);
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 1))), good + 10);  // garbage is on disk for now
        faults.clearFaults();
        auto b = w.append(makeLines(2, 30), 30);
        QVERIFY(b.ok());
        QCOMPARE(b->ref.offset, good);
        const Scan s = scanSegment(dir, 1);
        QCOMPARE(s.stop, ScanStop::End);
        QCOMPARE(s.frames.size(), size_t(2));
        QCOMPARE(s.frames[1].text, makeLines(2, 30));
    }

    void syncFailureIsReportedAndUndone() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        FaultInjectingFileSystem faults;
        ArchiveWriter w(dir, {}, &faults);
        QVERIFY(w.open().ok());
        QVERIFY(w.append(makeLines(0, 5), 5).ok());
        const uint64_t good = fs::file_size(segmentPath(dir, 1));
        faults.failSync(true);
        auto a = w.append(makeLines(1, 5), 5);
        QVERIFY(!a.ok());
        QCOMPARE(a.error().code, std::string("io"));
        QVERIFY(a.error().message.find("Input/output error") != std::string::npos);
        QCOMPARE(uint64_t(fs::file_size(segmentPath(dir, 1))), good);
        QCOMPARE(faults.counters().injected_sync_failures, uint64_t(1));
        QVERIFY(!w.seal().ok());  // sealing needs a sync too
        QCOMPARE(w.openSegment(), 1u);
        faults.clearFaults();
        QVERIFY(w.append(makeLines(1, 5), 5).ok());
        QCOMPARE(scanSegment(dir, 1).frames.size(), size_t(2));
    }

    void withoutSyncNoFdatasyncIsIssued() {
        QTemporaryDir tmp;
        FaultInjectingFileSystem faults;
        ArchiveOptions opts;
        opts.sync = false;
        ArchiveWriter w(tmp.path().toStdString(), opts, &faults);
        QVERIFY(w.open().ok());
        const uint64_t syncsAfterOpen = faults.counters().syncs;
        faults.failSync(true);
        QVERIFY(w.append(makeLines(0, 5), 5).ok());
        QCOMPARE(faults.counters().syncs, syncsAfterOpen);
    }

    void failedSealKeepsWritingTheCurrentSegment() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        FaultInjectingFileSystem faults;
        ArchiveWriter w(dir, {}, &faults);
        QVERIFY(w.open().ok());
        QVERIFY(w.append(makeLines(0, 5), 5).ok());
        faults.failSyncDir(true);
        auto s = w.seal();
        QVERIFY(!s.ok());
        QCOMPARE(s.error().code, std::string("io"));
        QCOMPARE(w.openSegment(), 1u);
        auto a = w.append(makeLines(1, 5), 5);
        QVERIFY(a.ok());
        QCOMPARE(a->ref.segment, 1u);
        faults.clearFaults();
        auto s2 = w.seal();
        QVERIFY(s2.ok());
        QCOMPARE(s2.value(), 1u);
        QCOMPARE(w.openSegment(), 2u);
        QVERIFY(w.append(makeLines(2, 5), 5).ok());
        QVERIFY(w.close().ok());
        QCOMPARE(scanSegment(dir, 1).frames.size(), size_t(2));
        QCOMPARE(scanSegment(dir, 2).frames.size(), size_t(1));
        QCOMPARE(scanSegment(dir, 2).stop, ScanStop::End);
    }

    void frameChecksumIsSha256Prefix() {
        // SHA-256("abc") = ba7816bf8f01cfea 414140de5dae2223 ...
        QCOMPARE(frameChecksum("abc"), uint64_t(0xba7816bf8f01cfeaull));
        // SHA-256("") = e3b0c44298fc1c14 ...
        QCOMPARE(frameChecksum(""), uint64_t(0xe3b0c44298fc1c14ull));
    }
};

QTEST_GUILESS_MAIN(TestSegmentWriter)
#include "tst_segment_writer.moc"
