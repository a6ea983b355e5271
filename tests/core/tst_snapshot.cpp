// `archivist snapshot` (engine/snapshot.h): sealed segments handed over as hard links of the very
// files, the open segment's committed frames rewritten as a complete segment, a filtered snapshot
// holding exactly the events of its days and kinds, manifests whose counts and checksums match the
// files and the index's statistics, and a refusal to write into a non-empty directory.
#include <QtTest>
#include <sys/stat.h>

#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"
#include "core/engine/research_stats.h"
#include "core/engine/snapshot.h"
#include "core/engine/store.h"
#include "core/observe/metrics.h"
#include "signed_events.h"

using namespace archivist;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kDay = 19800;  // 2024-03-18

engine::StoreOptions smallSegments() {
    engine::StoreOptions o;
    o.verify_threads = 2;
    o.writer.group_ms = 5;
    o.archive.seal_bytes = 6000;  // a few frames per segment
    return o;
}

// Lines of every segment file in `dir`, and the kinds/days of their events.
struct Contents {
    uint64_t events = 0;
    std::map<uint16_t, uint64_t> kinds;
};
Contents read(const std::filesystem::path& dir) {
    Contents c;
    for (uint32_t seg : archive::listSegments(dir)) {
        archive::SegmentReader r;
        if (!r.open(archive::segmentPath(dir, seg), seg)) qFatal("cannot open a snapshot segment");
        archive::Frame f;
        while (r.next(f)) {
            size_t pos = 0;
            while (pos < f.text.size()) {
                const size_t end = f.text.find('\n', pos);
                protocol::Event e;
                if (protocol::parseEvent(std::string_view(f.text).substr(pos, end - pos), e) != protocol::Reject::None)
                    qFatal("bad line in a snapshot");
                ++c.events;
                ++c.kinds[e.kind];
                pos = end + 1;
            }
        }
        if (r.stop() != archive::ScanStop::End) qFatal("a snapshot segment does not end cleanly");
    }
    return c;
}

}  // namespace

class TestSnapshot : public QObject {
    Q_OBJECT
private slots:
    void snapshotsMatchTheIndexAndLinkSealedSegments() {
        QTemporaryDir dir;
        const std::filesystem::path root = dir.path().toStdString();
        const auto data = root / "data";
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(data, smallSegments(), metrics);
        QVERIFY2(store, store ? "" : store.error().message.c_str());
        (*store)->start();
        const auto src = *(*store)->addSource("wss://a.example");
        testing::EventSigner signer(3);
        // 120 events over six days, kinds 1 and 7, in groups (one frame each).
        uint64_t want1 = 0, wantRange = 0;
        for (int g = 0; g < 12; ++g) {
            ingest::RawBatch b;
            b.source = src;
            for (int i = 0; i < 10; ++i) {
                const int n = g * 10 + i;
                const uint16_t kind = n % 3 ? 1 : 7;
                const int64_t t = (kDay + n % 6) * 86400 + n * 37;
                b.items.push_back(ingest::RawItem{signer.json(signer.make(t, kind, "event " + std::to_string(n))), 1});
                if (kind == 1 && (n % 6 == 1 || n % 6 == 2)) ++wantRange;
                want1 += kind == 1;
            }
            QVERIFY((*store)->submit(std::move(b)));
            QVERIFY((*store)->waitSettled(src, uint64_t(g * 10 + 10), 10s));
        }
        QVERIFY((*store)->shutdown().ok());
        store = makeError("closed", "");  // releases the data directory's lock
        store = engine::Store::open(data, smallSegments(), metrics);
        QVERIFY2(store, store ? "" : store.error().message.c_str());
        const auto segments = archive::listSegments(data / "archive");
        QVERIFY2(segments.size() >= 3, "the test needs sealed segments");

        // Unfiltered: every sealed segment linked, the open one rewritten.
        auto full = engine::snapshotStore(**store, engine::SnapshotOptions{root / "full", {}, {}, {}});
        QVERIFY2(full, full ? "" : full.error().message.c_str());
        QCOMPARE(full->events, uint64_t(120));
        QCOMPARE(full->index_events, uint64_t(120));
        size_t linked = 0;
        for (const auto& f : full->files) {
            const auto p = root / "full" / f.name;
            struct stat a {}, b {};
            QCOMPARE(::stat(p.c_str(), &a), 0);
            const bool sameInode = ::stat((data / "archive" / f.name).c_str(), &b) == 0 && a.st_ino == b.st_ino;
            QCOMPARE(f.linked, sameInode);
            linked += f.linked;
            QCOMPARE(f.bytes, uint64_t(a.st_size));
        }
        QCOMPARE(linked, segments.size() - 1);
        const Contents c = read(root / "full");
        QCOMPARE(c.events, uint64_t(120));
        QCOMPARE(c.kinds.at(1), want1);
        QVERIFY(full->manifest.find("\"events\": 120") != std::string::npos);

        // Filtered: days 1–2, kind 1 — exactly what stats says for the same request.
        engine::SnapshotOptions fo{root / "part", (kDay + 1) * 86400 + 5000, (kDay + 2) * 86400 + 10, {1}};
        auto part = engine::snapshotStore(**store, fo);
        QVERIFY2(part, part ? "" : part.error().message.c_str());
        QCOMPARE(part->events, wantRange);
        engine::StatsRequest q;
        q.by = engine::StatsBy::Kind;
        q.since = fo.since;
        q.until = fo.until;
        q.kinds = {1};
        auto st = engine::researchStats((*store)->index(), q);
        QVERIFY(st);
        QCOMPARE(st->events, wantRange);
        QCOMPARE(part->index_events, wantRange);
        const Contents pc = read(root / "part");
        QCOMPARE(pc.events, wantRange);
        QCOMPARE(pc.kinds.size(), size_t(1));
        for (const auto& f : part->files) QVERIFY(!f.linked);

        // Not into a directory that holds something.
        auto again = engine::snapshotStore(**store, engine::SnapshotOptions{root / "full", {}, {}, {}});
        QVERIFY(!again);
        QCOMPARE(again.error().code, std::string("usage"));
        QVERIFY((*store)->shutdown().ok());
    }
};

QTEST_GUILESS_MAIN(TestSnapshot)
#include "tst_snapshot.moc"
