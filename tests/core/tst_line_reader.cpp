#include <QtTest>
#include <zstd.h>

#include "core/engine/line_reader.h"

using archivist::engine::LineReader;

namespace {
QString writeFile(const QTemporaryDir& dir, const QString& name, const std::string& bytes) {
    const QString path = dir.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return {};
    f.write(bytes.data(), qint64(bytes.size()));
    return path;
}

std::string zstdFrame(const std::string& text) {
    std::string out(ZSTD_compressBound(text.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3));
    return out;
}

struct Line {
    std::string text;
    bool too_long;
};

std::vector<Line> readAll(const QString& path, size_t max) {
    LineReader r(max);
    std::vector<Line> out;
    if (!r.open(path.toStdString())) return out;
    std::string_view line;
    bool tooLong = false;
    while (r.next(line, tooLong)) out.push_back({std::string(line), tooLong});
    return out;
}
}  // namespace

class TestLineReader : public QObject {
    Q_OBJECT
private slots:
    void plainLinesCrlfAndMissingFinalNewline() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "a.jsonl", "one\r\ntwo\n\nthree");
        const auto lines = readAll(path, 100);
        QCOMPARE(lines.size(), size_t(4));
        QCOMPARE(lines[0].text, std::string("one"));
        QCOMPARE(lines[1].text, std::string("two"));
        QCOMPARE(lines[2].text, std::string(""));
        QCOMPARE(lines[3].text, std::string("three"));
    }

    void overlongLineIsReportedAndSkipped() {
        QTemporaryDir dir;
        const std::string huge(5 << 20, 'x');  // larger than the reader's chunk and the limit
        const auto path = writeFile(dir, "b.jsonl", "short\n" + huge + "\nafter\n" + huge);
        const auto lines = readAll(path, 1000);
        QCOMPARE(lines.size(), size_t(4));
        QCOMPARE(lines[0].text, std::string("short"));
        QVERIFY(lines[1].too_long);
        QVERIFY(lines[1].text.empty());
        QCOMPARE(lines[2].text, std::string("after"));
        QVERIFY(lines[3].too_long);
    }

    void zstdWithSeveralFramesAndASkippableFrame() {
        QTemporaryDir dir;
        std::string skippable = "\x50\x2a\x4d\x18";  // skippable frame magic, little endian
        skippable += std::string("\x04\x00\x00\x00", 4);
        skippable += "meta";
        const std::string data = skippable + zstdFrame("a\nb\n") + zstdFrame("c\n") + zstdFrame("d");
        const auto path = writeFile(dir, "c.jsonl.zst", data);
        const auto lines = readAll(path, 100);
        QCOMPARE(lines.size(), size_t(4));
        QCOMPARE(lines[0].text, std::string("a"));
        QCOMPARE(lines[2].text, std::string("c"));
        QCOMPARE(lines[3].text, std::string("d"));
    }

    void truncatedZstdIsAnError() {
        QTemporaryDir dir;
        std::string frame = zstdFrame(std::string(10000, 'q') + "\n");
        frame.resize(frame.size() / 2);
        const auto path = writeFile(dir, "d.jsonl.zst", frame);
        LineReader r(1 << 20);
        QVERIFY(r.open(path.toStdString()).ok());
        std::string_view line;
        bool tooLong;
        while (r.next(line, tooLong)) {}
        QVERIFY(!r.error().empty());
    }

    void missingFileIsAnError() {
        LineReader r(100);
        auto opened = r.open("/nonexistent/file.jsonl");
        QVERIFY(!opened.ok());
        QCOMPARE(QString::fromStdString(opened.error().code), QString("io"));
    }
};

QTEST_GUILESS_MAIN(TestLineReader)
#include "tst_line_reader.moc"
