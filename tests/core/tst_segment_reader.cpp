#include <QtTest>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/archive/segment_format.h"
#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"

using namespace archivist::archive;
namespace fs = std::filesystem;

namespace {

std::string makeLines(int frame, int count) {
    std::string out;
    for (int i = 0; i < count; ++i)
        out += "{\"id\":\"" + std::to_string(frame * 1000 + i) + "\",\"content\":\"frame " + std::to_string(frame) +
               " line " + std::to_string(i) + "\"}\n";
    return out;
}

// Lines of random hex: compresses poorly, so frames span several of the reader's 1 MiB reads.
std::string randomLines(size_t bytes, unsigned seed) {
    std::mt19937 rng(seed);
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    while (out.size() < bytes) {
        out += "{\"id\":\"";
        for (int i = 0; i < 200; ++i) out += kHex[rng() & 15];
        out += "\"}\n";
    }
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

std::string compress(std::string_view text, bool checksum, bool content_size) {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum ? 1 : 0);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
    std::string out(ZSTD_compressBound(text.size()), '\0');
    out.resize(ZSTD_compress2(c, out.data(), out.size(), text.data(), text.size()));
    ZSTD_freeCCtx(c);
    return out;
}

struct Scan {
    std::vector<Frame> frames;
    ScanStop stop = ScanStop::End;
    uint64_t stop_offset = 0;
    std::string message;
};

Scan scan(const fs::path& file, uint32_t segment, uint64_t from = 0) {
    Scan s;
    SegmentReader r;
    auto o = r.open(file, segment);
    if (!o) {
        s.stop = ScanStop::Corrupt;
        s.message = "open: " + o.error().message;
        return s;
    }
    r.seek(from);
    Frame f;
    while (r.next(f)) s.frames.push_back(f);
    s.stop = r.stop();
    s.stop_offset = r.stopOffset();
    s.message = r.stopMessage();
    return s;
}

}  // namespace

Q_DECLARE_METATYPE(ScanStop)

class TestSegmentReader : public QObject {
    Q_OBJECT
private slots:
    void openRejectsBadHeaders_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<uint>("segment");
        const std::string good = encodeSegmentHeader(3, 1700000000);
        auto qb = [](const std::string& s) { return QByteArray(s.data(), qsizetype(s.size())); };
        QTest::newRow("empty file") << QByteArray() << 3u;
        QTest::newRow("half a header") << qb(good.substr(0, 20)) << 3u;
        QTest::newRow("plain zstd frame") << qb(compress("{}\n", true, true)) << 3u;
        std::string badAscii = good;
        badAscii[9] = 'X';
        QTest::newRow("bad signature") << qb(badAscii) << 3u;
        std::string badVersion = good;
        badVersion[17] = 2;
        QTest::newRow("future version") << qb(badVersion) << 3u;
        std::string badPayload = good;
        badPayload[4] = 4;
        QTest::newRow("payload too small") << qb(badPayload) << 3u;
        QTest::newRow("other segment number") << qb(good) << 4u;
        QTest::newRow("text file") << QByteArray("{\"id\":\"abc\"}\n{\"id\":\"def\"}\n{\"id\":\"0123456789\"}\n") << 3u;
    }
    void openRejectsBadHeaders() {
        QFETCH(QByteArray, bytes);
        QFETCH(uint, segment);
        QTemporaryDir tmp;
        const fs::path file = fs::path(tmp.path().toStdString()) / "s";
        writeFile(file, std::string_view(bytes.constData(), size_t(bytes.size())));
        SegmentReader r;
        auto o = r.open(file, segment);
        QVERIFY(!o.ok());
        QCOMPARE(o.error().code, std::string("corrupt"));
        Frame f;
        QVERIFY(!r.next(f));
    }

    void missingFileIsAnIoError() {
        QTemporaryDir tmp;
        SegmentReader r;
        auto o = r.open(fs::path(tmp.path().toStdString()) / "nope", 1);
        QVERIFY(!o.ok());
        QCOMPARE(o.error().code, std::string("io"));
    }

    void headerOnlySegmentEndsCleanly() {
        QTemporaryDir tmp;
        const fs::path file = fs::path(tmp.path().toStdString()) / "s";
        writeFile(file, encodeSegmentHeader(1, 1));
        const Scan s = scan(file, 1);
        QVERIFY(s.frames.empty());
        QCOMPARE(s.stop, ScanStop::End);
        QCOMPARE(s.stop_offset, kHeaderBytes);
    }

    void longerFutureHeaderIsSkipped() {
        // A later version may add payload bytes; readers find the first frame after them.
        QTemporaryDir tmp;
        const fs::path file = fs::path(tmp.path().toStdString()) / "s";
        std::string header = encodeSegmentHeader(1, 1);
        header[4] = char(kHeaderPayloadBytes + 16);
        header += std::string(16, '\0');
        const std::string text = makeLines(0, 4);
        writeFile(file, header + compress(text, true, true));
        SegmentReader r;
        QVERIFY(r.open(file, 1).ok());
        QCOMPARE(r.firstFrameOffset(), kHeaderBytes + 16);
        Frame f;
        QVERIFY(r.next(f));
        QCOMPARE(f.text, text);
        QCOMPARE(f.events, 4u);
        QVERIFY(!r.next(f));
        QCOMPARE(r.stop(), ScanStop::End);
    }

    void badFramesStopTheScan_data() {
        QTest::addColumn<QByteArray>("tail");
        QTest::addColumn<ScanStop>("stop");
        auto qb = [](const std::string& s) { return QByteArray(s.data(), qsizetype(s.size())); };
        const std::string good = compress(makeLines(9, 10), true, true);
        QTest::newRow("no checksum") << qb(compress(makeLines(9, 10), false, true)) << ScanStop::Corrupt;
        QTest::newRow("no content size") << qb(compress(makeLines(9, 10), true, false)) << ScanStop::Corrupt;
        QTest::newRow("no final newline") << qb(compress("{\"a\":1}", true, true)) << ScanStop::Corrupt;
        QTest::newRow("skippable frame") << qb(encodeSegmentHeader(1, 1)) << ScanStop::Corrupt;
        QTest::newRow("garbage") << QByteArray("garbage garbage garbage garbage") << ScanStop::Corrupt;
        QTest::newRow("zeros") << QByteArray(64, '\0') << ScanStop::Corrupt;
        QTest::newRow("three bytes of magic") << QByteArray("\x28\xb5\x2f", 3) << ScanStop::Torn;
        QTest::newRow("frame header only") << qb(good.substr(0, 8)) << ScanStop::Torn;
        QTest::newRow("missing checksum bytes") << qb(good.substr(0, good.size() - 2)) << ScanStop::Torn;
        std::string flipped = good;
        flipped[good.size() - 1] = char(~uint8_t(flipped[good.size() - 1]));
        QTest::newRow("checksum mismatch") << qb(flipped) << ScanStop::Corrupt;
        QTest::newRow("good frame then garbage") << qb(good + "xyz") << ScanStop::Corrupt;
    }
    void badFramesStopTheScan() {
        QFETCH(QByteArray, tail);
        QFETCH(ScanStop, stop);
        QTemporaryDir tmp;
        const fs::path file = fs::path(tmp.path().toStdString()) / "s";
        const std::string first = makeLines(0, 5);
        const std::string firstFrame = compress(first, true, true);
        writeFile(file, encodeSegmentHeader(1, 1) + firstFrame + std::string(tail.constData(), size_t(tail.size())));
        const Scan s = scan(file, 1);
        const bool goodThenGarbage = QByteArray(QTest::currentDataTag()) == "good frame then garbage";
        QCOMPARE(s.frames.size(), goodThenGarbage ? size_t(2) : size_t(1));
        QCOMPARE(s.frames[0].text, first);
        QCOMPARE(s.stop, stop);
        QVERIFY(!s.message.empty());
        const uint64_t expectedAt =
            kHeaderBytes + firstFrame.size() + (goodThenGarbage ? s.frames[1].ref.length : 0);
        QCOMPARE(s.stop_offset, expectedAt);
    }

    void tooLargeDeclaredFrameIsCorrupt() {
        // A frame header that claims more than kMaxFrameBytes is refused before any allocation.
        QTemporaryDir tmp;
        const fs::path file = fs::path(tmp.path().toStdString()) / "s";
        std::string frame = compress(makeLines(0, 3), true, true);
        // FHD 0xA4: FCS 4 bytes, single segment, checksum. Then a 4-byte size of 0x7fffffff.
        std::string forged = frame.substr(0, 4) + std::string("\xA4\xff\xff\xff\x7f", 5) + frame.substr(6);
        writeFile(file, encodeSegmentHeader(1, 1) + forged);
        const Scan s = scan(file, 1);
        QCOMPARE(s.stop, ScanStop::Corrupt);
        QVERIFY2(s.message.find("outside") != std::string::npos, s.message.c_str());
    }

    void framesLargerThanOneReadAndSeek() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveOptions opts;
        opts.sync = false;
        opts.zstd_level = 1;
        ArchiveWriter w(dir, opts);
        QVERIFY(w.open().ok());
        std::vector<std::string> texts;
        std::vector<FrameRef> refs;
        for (unsigned i = 0; i < 4; ++i) {
            texts.push_back(i % 2 ? makeLines(int(i), 50) : randomLines(3u << 20, i));
            const uint32_t lines = uint32_t(std::count(texts.back().begin(), texts.back().end(), '\n'));
            auto a = w.append(texts.back(), lines);
            QVERIFY(a.ok());
            refs.push_back(a->ref);
        }
        QVERIFY(w.close().ok());
        QVERIFY(refs[0].length > (1u << 20));  // really spans several reads
        const fs::path file = segmentPath(dir, 1);
        Scan s = scan(file, 1);
        QCOMPARE(s.stop, ScanStop::End);
        QCOMPARE(s.frames.size(), size_t(4));
        for (size_t i = 0; i < 4; ++i) {
            QVERIFY(s.frames[i].text == texts[i]);
            QCOMPARE(s.frames[i].ref, refs[i]);
        }
        s = scan(file, 1, refs[2].offset);
        QCOMPARE(s.frames.size(), size_t(2));
        QVERIFY(s.frames[0].text == texts[2]);
        QCOMPARE(s.stop, ScanStop::End);
        // Seeking into the middle of a frame is detected, not misread.
        s = scan(file, 1, refs[1].offset + 1);
        QVERIFY(s.frames.empty());
        QCOMPARE(s.stop, ScanStop::Corrupt);
    }

    void readFrameChecksTheReference() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());
        auto a = w.append(makeLines(0, 7), 7);
        auto b = w.append(makeLines(1, 7), 7);
        QVERIFY(a.ok() && b.ok());
        QVERIFY(w.close().ok());
        auto ok = readFrame(dir, b->ref);
        QVERIFY(ok.ok());
        QCOMPARE(ok.value(), makeLines(1, 7));

        FrameRef shortRef = a->ref;
        shortRef.length -= 1;
        QCOMPARE(readFrame(dir, shortRef).error().code, std::string("corrupt"));
        FrameRef longRef = a->ref;
        longRef.length += 1;
        QCOMPARE(readFrame(dir, longRef).error().code, std::string("corrupt"));
        FrameRef pastEnd = b->ref;
        pastEnd.offset += 10;
        QCOMPARE(readFrame(dir, pastEnd).error().code, std::string("corrupt"));
        FrameRef zero = a->ref;
        zero.length = 0;
        QCOMPARE(readFrame(dir, zero).error().code, std::string("corrupt"));
        FrameRef otherSegment = a->ref;
        otherSegment.segment = 7;
        QCOMPARE(readFrame(dir, otherSegment).error().code, std::string("io"));
    }

    void frameCacheServesLinesWithinItsBound() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());
        std::vector<FrameRef> refs;
        for (int i = 0; i < 20; ++i) {
            auto a = w.append(makeLines(i, 40), 40);
            QVERIFY(a.ok());
            refs.push_back(a->ref);
        }
        QVERIFY(w.close().ok());
        const size_t capacity = 3 * makeLines(0, 40).size() + 2000;
        FrameCache cache(dir, capacity);
        QCOMPARE(cache.capacityBytes(), capacity);
        for (int round = 0; round < 2; ++round) {
            for (int i = 0; i < 20; ++i) {
                for (uint32_t line : {0u, 17u, 39u}) {
                    auto l = cache.line(refs[size_t(i)], line);
                    QVERIFY(l.ok());
                    const std::string want = "{\"id\":\"" + std::to_string(i * 1000 + int(line)) +
                                             "\",\"content\":\"frame " + std::to_string(i) + " line " +
                                             std::to_string(line) + "\"}";
                    QCOMPARE(std::string(l.value()), want);
                    QVERIFY(cache.bytes() <= cache.capacityBytes());
                }
            }
        }
        QCOMPARE(cache.misses(), uint64_t(40));  // the bound forces re-reads in the second round
        QCOMPARE(cache.hits(), uint64_t(80));
        auto past = cache.line(refs[0], 40);
        QVERIFY(!past.ok());
        QCOMPARE(past.error().code, std::string("not_found"));
        FrameRef bad = refs[0];
        bad.length += 3;
        QVERIFY(!cache.line(bad, 0).ok());
    }

    void oversizedFrameIsKeptAlone() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        ArchiveWriter w(dir);
        QVERIFY(w.open().ok());
        auto small = w.append(makeLines(0, 2), 2);
        auto big = w.append(makeLines(1, 500), 500);
        QVERIFY(small.ok() && big.ok());
        QVERIFY(w.close().ok());
        FrameCache cache(dir, 1000);
        QVERIFY(cache.line(small->ref, 1).ok());
        auto l = cache.line(big->ref, 499);
        QVERIFY(l.ok());
        QCOMPARE(std::string(l.value()), std::string("{\"id\":\"1499\",\"content\":\"frame 1 line 499\"}"));
        QVERIFY(cache.bytes() > cache.capacityBytes());  // only the one big frame
        QVERIFY(cache.line(small->ref, 0).ok());
        QVERIFY(cache.bytes() <= cache.capacityBytes());
    }
};

QTEST_GUILESS_MAIN(TestSegmentReader)
#include "tst_segment_reader.moc"
