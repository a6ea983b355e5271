// Damage in a real store (decision 0013): byte flips at several offsets of sealed and open segments
// are quarantined and cost nothing else; salvage recovers exactly the intact events (each one a
// byte-identical original) and says what is lost; verify fails until salvage ran; export skips
// damage with a count; a damaged sealed segment no longer keeps the directory closed.
#include <QtTest>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/archive/quarantine.h"
#include "core/archive/segment_writer.h"
#include "core/engine/maintenance.h"
#include "core/engine/salvage.h"
#include "core/engine/store.h"
#include "core/index/index_reader.h"
#include "core/observe/metrics.h"
#include "core/protocol/hex.h"
#include "signed_events.h"

using namespace archivist;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

engine::StoreOptions options() {
    engine::StoreOptions o;
    o.verify_threads = 2;
    o.writer.group_ms = 5;
    o.writer.group_events = 60;  // many small frames
    o.archive.sync = false;
    o.archive.seal_bytes = 24 << 10;  // several segments
    return o;
}

// `count` signed events (numbered from `first`), stored; returns their JSON by id.
std::map<std::string, std::string> fill(const fs::path& dir, int count, int first = 0) {
    std::map<std::string, std::string> byId;
    testing::EventSigner signer(3);
    observe::MetricsRegistry m;
    auto store = engine::Store::open(dir, options(), m);
    if (!store) qFatal("open: %s", store.error().message.c_str());
    (*store)->start();
    const auto src = *(*store)->addSource("test");
    ingest::RawBatch batch;
    batch.source = src;
    for (int i = first; i < first + count; ++i) {
        const auto e = signer.make(1700000000 + i, 1, "salvage test event " + std::to_string(i) + " " +
                                                          std::string(size_t(10 + i % 40), char('a' + i % 26)));
        const std::string json = signer.json(e);
        byId[protocol::toHex(e.id)] = json;
        batch.items.push_back(ingest::RawItem{json, 1700000000000});
        if (batch.items.size() == 50) {
            if (!(*store)->submit(std::move(batch))) qFatal("submit");
            batch = ingest::RawBatch{};
            batch.source = src;
        }
    }
    if (!batch.items.empty() && !(*store)->submit(std::move(batch))) qFatal("submit");
    if (!(*store)->waitSettled(src, uint64_t(count), 60s)) qFatal("not settled");
    if (!(*store)->shutdown()) qFatal("shutdown");
    return byId;
}

struct Layout {
    std::vector<archive::FrameRef> frames;                 // archive order
    std::map<std::pair<uint32_t, uint64_t>, std::vector<std::string>> idsByFrame;
};

Layout layoutOf(const fs::path& dir) {
    Layout l;
    auto reader = index::IndexReader::open(engine::DataDirPaths(dir).index);
    if (!reader) qFatal("index reader");
    (void)(*reader)->forEachFrame([&](const index::FrameRow& f) {
        l.frames.push_back(f.frame.ref);
        return true;
    });
    (void)(*reader)->forEachEvent([&](const index::EventRow& e) {
        l.idsByFrame[{e.frame.segment, e.frame.offset}].push_back(protocol::toHex(e.id));
        return true;
    });
    return l;
}

std::set<std::string> storedIds(const fs::path& dir) {
    std::set<std::string> ids;
    auto reader = index::IndexReader::open(engine::DataDirPaths(dir).index);
    if (!reader) return ids;
    (void)(*reader)->forEachEvent([&](const index::EventRow& e) {
        ids.insert(protocol::toHex(e.id));
        return true;
    });
    return ids;
}

void invertBytes(const fs::path& file, uint64_t at, size_t n) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    std::string b(n, '\0');
    f.seekg(std::streamoff(at));
    f.read(b.data(), std::streamsize(n));
    for (char& c : b) c = char(~uint8_t(c));
    f.seekp(std::streamoff(at));
    f.write(b.data(), std::streamsize(n));
}

// Salvage as the command line runs it.
Expected<engine::SalvageReport> runSalvage(engine::Store& store, bool accept_loss = false) {
    engine::SalvageHooks hooks;
    hooks.rebuild_index = [&](const engine::ProgressFn& p) -> Expected<void> {
        auto r = engine::reindexStore(store, p);
        if (!r) return r.error();
        return {};
    };
    bool started = false;
    hooks.store_lines = [&](const std::string& source, std::vector<std::string>&& lines) -> Expected<engine::StoredCounts> {
        if (!started) {
            store.start();
            started = true;
        }
        return engine::storeLines(store, source, std::move(lines), nullptr, true);
    };
    engine::SalvageOptions o;
    o.accept_loss = accept_loss;
    return engine::salvageStore(store, o, hooks, {});
}

}  // namespace

class TestSalvage : public QObject {
    Q_OBJECT
private slots:
    void byteFlipsAreQuarantinedAndSalvageRecoversExactlyTheIntactEvents_data() {
        QTest::addColumn<bool>("sealed");
        QTest::addColumn<double>("where");    // position inside the victim frame, 0…1
        QTest::addColumn<bool>("loseIndex");  // the index is lost too (recovery finds the damage)
        for (bool sealed : {true, false})
            for (double where : {0.0, 0.3, 0.97})
                for (bool lose : {false, true})
                    QTest::addRow("%s segment, at %.2f, %s", sealed ? "sealed" : "open", where,
                                  lose ? "index lost" : "index kept")
                        << sealed << where << lose;
    }
    void byteFlipsAreQuarantinedAndSalvageRecoversExactlyTheIntactEvents() {
        QFETCH(bool, sealed);
        QFETCH(double, where);
        QFETCH(bool, loseIndex);
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        auto original = fill(dir, 900);
        // The open segment should hold a few frames too (how groups fall depends on timing).
        for (int round = 1; round < 6; ++round) {
            const Layout l = layoutOf(dir);
            const uint32_t open = archive::listSegments(dir / "archive").back();
            if (std::count_if(l.frames.begin(), l.frames.end(), [&](const auto& f) { return f.segment == open; }) >= 3)
                break;
            original.merge(fill(dir, 60, 900 * round));
        }
        const Layout layout = layoutOf(dir);
        const auto segments = archive::listSegments(dir / "archive");
        QVERIFY(segments.size() >= 3);
        // A frame in the middle of a sealed segment, or of the open one.
        const uint32_t seg = sealed ? segments[1] : segments.back();
        std::vector<archive::FrameRef> inSeg;
        for (const auto& f : layout.frames)
            if (f.segment == seg) inSeg.push_back(f);
        QVERIFY(inSeg.size() >= 2);
        const archive::FrameRef victim = inSeg[inSeg.size() / 2];
        const auto victimIds = layout.idsByFrame.at({victim.segment, victim.offset});
        const fs::path file = archive::segmentPath(dir / "archive", seg);
        const uint64_t sizeBefore = fs::file_size(file);
        const uint64_t at = std::min<uint64_t>(victim.offset + uint64_t(where * victim.length), victim.offset + victim.length - 4);
        invertBytes(file, at, 4);
        if (loseIndex)
            fs::remove_all(engine::DataDirPaths(dir).index);

        observe::MetricsRegistry m;
        engine::OpenReport opened;
        auto store = engine::Store::open(dir, options(), m, &opened);
        QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());
        if (loseIndex) {
            // Recovery walked the whole archive: the damaged frame is quarantined, nothing else lost.
            QCOMPARE(opened.recovery.quarantined.size(), size_t(1));
            QCOMPARE(opened.recovery.bytes_truncated, uint64_t(0));
            QCOMPARE(opened.quarantine_pending, size_t(1));
            QCOMPARE(storedIds(dir).size(), original.size() - victimIds.size());
        }
        QCOMPARE(uint64_t(fs::file_size(file)), sizeBefore);  // never shortened

        // verify fails (damage, or a pending quarantine entry) …
        auto before = engine::verifyStore(**store, {});
        QVERIFY(before.ok());
        QVERIFY(!before->ok());
        // … export around it says how many it left out.
        uint64_t skipped = 0;
        std::FILE* sink = std::fopen("/dev/null", "w");
        auto exported = engine::exportEvents(**store, {}, sink, {}, nullptr, {}, &skipped);
        std::fclose(sink);
        QVERIFY(exported.ok());
        QCOMPARE(*exported + skipped, uint64_t(loseIndex ? original.size() - victimIds.size() : original.size()));
        QCOMPARE(skipped, uint64_t(loseIndex ? 0 : victimIds.size()));

        auto report = runSalvage(**store);
        QVERIFY2(report.ok(), report.ok() ? "" : report.error().message.c_str());
        QCOMPARE(report->processed.size(), size_t(1));
        QCOMPARE(report->still_pending, uint64_t(0));
        QVERIFY((*store)->shutdown().ok());
        store->reset();  // releases the data-directory lock

        // Exactly the intact events: everything outside the victim, plus what the victim still
        // held; every stored event is an original, byte for byte.
        const std::set<std::string> now = storedIds(dir);
        for (const auto& [id, json] : original) {
            const bool inVictim = std::find(victimIds.begin(), victimIds.end(), id) != victimIds.end();
            if (!inVictim) QVERIFY2(now.count(id), ("intact event lost: " + id).c_str());
        }
        for (const auto& id : now) QVERIFY2(original.count(id), "an event that was never stored appeared");
        const uint64_t lost = original.size() - now.size();
        const auto& entry = report->processed.front().entry;
        QCOMPARE(entry.state, archive::QuarantineState::Salvaged);
        QCOMPARE(entry.recovered_events, uint64_t(victimIds.size()) - lost);
        QCOMPARE(entry.restored_events, entry.recovered_events);
        if (!loseIndex) {
            QVERIFY(!entry.lost_is_estimate);  // the index knew how many were there
            QCOMPARE(entry.lost_events, lost);
        }
        observe::MetricsRegistry m2;
        auto again = engine::Store::open(dir, options(), m2);
        QVERIFY(again.ok());
        auto after = engine::verifyStore(**again, {});
        QVERIFY(after.ok());
        QVERIFY2(after->ok(), after->details.empty() ? "" : after->details.front().c_str());
        QCOMPARE(after->quarantine_done, uint64_t(1));
        QCOMPARE(after->archived_events, uint64_t(now.size()));
        // Exported events are the originals.
        const fs::path out = dir / "export.jsonl";
        std::FILE* f = std::fopen(out.c_str(), "w");
        QVERIFY(engine::exportEvents(**again, {}, f, {}).ok());
        std::fclose(f);
        std::ifstream in(out);
        std::string line;
        size_t lines = 0;
        while (std::getline(in, line)) {
            ++lines;
            const auto id = line.substr(line.find("\"id\":\"") + 6, 64);
            QVERIFY(original.count(id) && original.at(id) == line);
        }
        QCOMPARE(lines, now.size());
    }

    // D2: a damaged frame in a sealed segment found by reindex: the directory opens, the rest is
    // served, and the damage is reported (not a refusal to open).
    void damagedSealedSegmentNoLongerKeepsTheDirectoryClosed() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        const auto original = fill(dir, 600);
        const Layout layout = layoutOf(dir);
        const archive::FrameRef victim = layout.frames[2];
        QCOMPARE(victim.segment, 1u);
        invertBytes(archive::segmentPath(dir / "archive", 1), victim.offset + victim.length / 2, 8);
        {
            observe::MetricsRegistry m;
            auto store = engine::Store::open(dir, options(), m);
            QVERIFY(store.ok());
            auto r = engine::reindexStore(**store, {});
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            QCOMPARE(r->recovery.quarantined.size(), size_t(1));
            QCOMPARE(r->events, uint64_t(original.size() - layout.idsByFrame.at({1, victim.offset}).size()));
        }
        observe::MetricsRegistry m;
        engine::OpenReport opened;
        auto store = engine::Store::open(dir, options(), m, &opened);
        QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());
        QCOMPARE(opened.quarantine_pending, size_t(1));
        auto stats = engine::storeStats(**store);
        QVERIFY(stats.ok());
        QCOMPARE(stats->events, uint64_t(original.size() - layout.idsByFrame.at({1, victim.offset}).size()));
    }

    void unreadableQuarantineNeedsAcceptLoss() {
        QTemporaryDir tmp;
        const fs::path dir = tmp.path().toStdString();
        fill(dir, 300);
        const Layout layout = layoutOf(dir);
        invertBytes(archive::segmentPath(dir / "archive", layout.frames[1].segment), layout.frames[1].offset + 5, 6);
        observe::MetricsRegistry m;
        auto store = engine::Store::open(dir, options(), m);
        QVERIFY(store.ok());
        auto scan = runSalvage(**store);  // quarantines and salvages at once
        QVERIFY(scan.ok());
        QCOMPARE(scan->still_pending, uint64_t(0));
        // A second, unreadable entry: its copy is gone.
        const Layout now = layoutOf(dir);
        invertBytes(archive::segmentPath(dir / "archive", now.frames[3].segment), now.frames[3].offset + 5, 6);
        archive::DamagedRegion region;
        region.segment = now.frames[3].segment;
        region.offset = now.frames[3].offset;
        region.length = now.frames[3].length;
        region.why = "test";
        auto entry = (*store)->quarantine(region, -1);
        QVERIFY(entry.ok());
        fs::remove(archive::quarantineDir(dir / "archive") / (entry->name + ".bin"));
        auto stuck = runSalvage(**store);
        QVERIFY(stuck.ok());
        QCOMPARE(stuck->still_pending, uint64_t(1));
        auto v = engine::verifyStore(**store, {});
        QVERIFY(v.ok());
        QCOMPARE(v->quarantine_pending, uint64_t(1));
        auto accepted = runSalvage(**store, true);
        QVERIFY(accepted.ok());
        QCOMPARE(accepted->still_pending, uint64_t(0));
        QCOMPARE(accepted->accepted, uint64_t(1));
        auto list = archive::listQuarantine(dir / "archive");
        QVERIFY(list.ok());
        QCOMPARE(list->size(), size_t(2));
        QVERIFY(std::any_of(list->begin(), list->end(),
                            [](const auto& e) { return e.state == archive::QuarantineState::Accepted; }));
    }
};

QTEST_GUILESS_MAIN(TestSalvage)
#include "tst_salvage.moc"
