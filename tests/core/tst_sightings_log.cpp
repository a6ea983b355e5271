// The durable sightings log (core/archive/sightings_log.h): its frame codec, a torn tail cut at
// open (and nothing else), damage left in place and reported, a failed append leaving no bytes,
// the size per sighting on a realistic mix, and — through a Store — `reindex` restoring every
// sighting, first-seen time and rollup row from it.
#include <QtTest>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "core/archive/fault_injecting_file_system.h"
#include "core/archive/sightings_log.h"
#include "core/engine/index_rebuild.h"
#include "core/engine/store.h"
#include "core/index/bulk_build.h"
#include "core/index/index_reader.h"
#include "core/index/rollups.h"
#include "core/observe/metrics.h"
#include "core/protocol/hex.h"
#include "signed_events.h"

using namespace archivist;
using namespace std::chrono_literals;

namespace {

std::vector<archive::SightingRecord> sampleRecords(uint32_t segment, uint64_t offset, int n, uint32_t source) {
    std::vector<archive::SightingRecord> out;
    for (int i = 0; i < n; ++i)
        out.push_back(archive::SightingRecord{archive::EventPos{segment, offset, uint32_t(i)}, source,
                                              1700000000000 + i * 7, i % 3 == 0});
    return out;
}

// Every frame of the log in `dir`, with source names resolved.
struct Read {
    std::vector<archive::SightingsLogReader::Frame> frames;
    std::vector<archive::LogDamage> damage;
    std::vector<std::string> names;
};
Read readAll(const std::filesystem::path& dir) {
    Read out;
    archive::SightingsLogReader reader(dir);
    auto r = reader.scan([&](const archive::SightingsLogReader::Frame& f) {
        out.frames.push_back(f);
        return true;
    });
    if (!r) qFatal("scan: %s", r.error().message.c_str());
    out.damage = reader.damage();
    out.names = reader.names();
    return out;
}

uint64_t fileSize(const std::filesystem::path& p) { return uint64_t(std::filesystem::file_size(p)); }

engine::StoreOptions fastOptions() {
    engine::StoreOptions o;
    o.verify_threads = 2;
    o.writer.group_ms = 20;
    o.writer.group_events = 300;
    o.archive.seal_bytes = 32 << 10;  // several segments
    o.archive.frame_bytes = 4096;     // every commit group cut into several frames (decision 0020)
    return o;
}

bool submitAll(engine::Store& store, ingest::SourceId source, const std::vector<std::string>& lines, int64_t received_ms) {
    for (size_t i = 0; i < lines.size(); i += 100) {
        ingest::RawBatch b;
        b.source = source;
        for (size_t j = i; j < std::min(lines.size(), i + 100); ++j)
            b.items.push_back(ingest::RawItem{lines[j], received_ms + int64_t(j)});
        if (!store.submit(std::move(b))) return false;
    }
    return true;
}

// Per event: first seen and every (source, seen_at), as text; and the relay/replication rollups.
struct Dump {
    std::map<std::string, std::string> events;
    std::string rollups;
    bool operator==(const Dump&) const = default;
};

Dump dumpOf(const std::filesystem::path& dir) {
    Dump d;
    observe::MetricsRegistry m;
    auto store = engine::Store::open(dir, fastOptions(), m);
    if (!store) qFatal("open: %s", store.error().message.c_str());
    auto reader = index::IndexReader::open((*store)->index());
    if (!reader) qFatal("reader");
    std::vector<index::EventRow> rows;
    (void)(*reader)->forEachEvent([&](const index::EventRow& r) {
        rows.push_back(r);
        return true;
    });
    for (const auto& r : rows) {
        std::string s = std::to_string(r.first_seen_at_ms);
        auto seen = (*reader)->sightings(r.rowid);
        if (!seen) qFatal("sightings");
        std::vector<std::string> parts;
        for (const auto& x : *seen) parts.push_back(x.source + "@" + std::to_string(x.seen_at_ms));
        std::sort(parts.begin(), parts.end());
        for (const auto& p : parts) s += " " + p;
        d.events[protocol::toHex(r.id)] = s;
    }
    std::vector<std::string> rollupLines;  // sorted: source ids differ between index generations
    for (int basis = 0; basis < 2; ++basis) {
        auto r = index::readRollups((*store)->index(), index::RollupQuery{index::DayBasis(basis), std::nullopt, std::nullopt});
        if (!r) qFatal("rollups: %s", r.error().message.c_str());
        for (const auto& x : r->relays)
            rollupLines.push_back("relay " + std::to_string(basis) + " " + std::to_string(x.day) + " " + x.source + " " +
                                  std::to_string(x.events) + " " + std::to_string(x.novel) + "\n");
        for (const auto& [k, v] : r->repl)
            rollupLines.push_back("repl " + std::to_string(basis) + " " + std::to_string(k.first) + " " +
                                  std::to_string(k.second) + " " + std::to_string(v) + "\n");
    }
    std::sort(rollupLines.begin(), rollupLines.end());
    for (const auto& l : rollupLines) d.rollups += l;
    reader->reset();
    return d;
}

}  // namespace

class TstSightingsLog : public QObject {
    Q_OBJECT
    testing::EventSigner m_signer{5};

    std::vector<std::string> lines(int from, int to) {
        std::vector<std::string> out;
        // Spread over days (rollups are per day).
        for (int i = from; i < to; ++i)
            out.push_back(m_signer.json(m_signer.make(1700000000 + int64_t(i) * 1800, 1, "sighted " + std::to_string(i))));
        return out;
    }

private slots:
    void codecRoundTrips() {
        std::vector<archive::SightingRecord> recs = {
            {{3, 1000, 0}, 0, 1700000000000, true},  {{3, 1000, 1}, 1, 1700000000005, true},
            {{2, 77777, 12}, 2, 1699999999999, false}, {{3, 1000, 0}, 1, 1700000000100, false},
            {{4000000000u, 1ull << 40, 70000}, 7, -5, false}};
        const std::string content = archive::encodeSightingsFrame({{0, "wss://a"}, {7, "import:x"}}, recs);
        std::vector<std::pair<uint32_t, std::string>> names;
        std::vector<archive::SightingRecord> back;
        QVERIFY(archive::decodeSightingsFrame(content, names, back).ok());
        QCOMPARE(names.size(), size_t(2));
        QCOMPARE(names[1].second, std::string("import:x"));
        QCOMPARE(back.size(), recs.size());
        for (size_t i = 0; i < recs.size(); ++i) {
            QCOMPARE(back[i].pos, recs[i].pos);
            QCOMPARE(back[i].source, recs[i].source);
            QCOMPARE(back[i].seen_at_ms, recs[i].seen_at_ms);
            QCOMPARE(back[i].origin, recs[i].origin);
        }
        // Cut short or with trailing bytes: refused.
        names.clear();
        back.clear();
        QVERIFY(!archive::decodeSightingsFrame(content.substr(0, content.size() - 3) + "\n", names, back));
    }

    void tornTailIsCutAndNothingElse() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        {
            archive::SightingsLog log(path);
            QVERIFY(log.open().ok());
            const uint32_t a = log.code("wss://a.example");
            for (int f = 0; f < 3; ++f) QVERIFY(log.append(sampleRecords(1, 40 + f * 100, 50, a)).ok());
        }
        const auto file = archive::sightingsFilePath(path, 1);
        const uint64_t whole = fileSize(file);
        {
            archive::SightingsLog log(path);
            QVERIFY(log.open().ok());
            QVERIFY(log.append(sampleRecords(1, 900, 50, log.code("wss://b.example"))).ok());
        }
        // A crash in the middle of the fourth frame: its last bytes never reached the disk.
        std::filesystem::resize_file(file, fileSize(file) - 9);
        archive::SightingsLog log(path);
        auto rep = log.open();
        QVERIFY(rep.ok());
        QVERIFY(rep->torn_bytes_cut > 0);
        QVERIFY(rep->damage.empty());
        QCOMPARE(fileSize(file), whole);
        QVERIFY(std::filesystem::exists(path / "quarantine"));  // a copy of what was cut
        // The dictionary of the cut frame is gone with it; the next frame names its sources again.
        QVERIFY(log.append(sampleRecords(2, 40, 10, log.code("wss://b.example"))).ok());
        auto read = readAll(path);
        QCOMPARE(read.frames.size(), size_t(4));
        QVERIFY(read.damage.empty());
        QCOMPARE(read.names.size(), size_t(2));
        QCOMPARE(read.frames.back().records.front().pos.segment, uint32_t(2));
        QCOMPARE(read.names[read.frames.back().records.front().source], std::string("wss://b.example"));
    }

    void damageIsReportedAndSkippedNeverCut() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        std::vector<uint64_t> ends;
        {
            archive::SightingsLog log(path);
            QVERIFY(log.open().ok());
            const uint32_t a = log.code("wss://a.example");
            for (int f = 0; f < 3; ++f) {
                QVERIFY(log.append(sampleRecords(1, 40 + f * 100, 60, a)).ok());
                ends.push_back(log.end().offset);
            }
        }
        const auto file = archive::sightingsFilePath(path, 1);
        const uint64_t size = fileSize(file);
        {
            std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(std::streamoff(ends[0] + (ends[1] - ends[0]) / 2));
            f.put('\x5a');
            f.put('\xa5');
        }
        archive::SightingsLog log(path);
        auto rep = log.open();
        QVERIFY(rep.ok());
        QCOMPARE(rep->torn_bytes_cut, uint64_t(0));
        QCOMPARE(rep->damage.size(), size_t(1));
        QCOMPARE(rep->damage[0].offset, ends[0]);
        QCOMPARE(fileSize(file), size);  // nothing cut
        QCOMPARE(log.end().file, uint32_t(2));  // appends go on in a new file
        QVERIFY(log.append(sampleRecords(1, 500, 5, log.code("wss://c.example"))).ok());
        auto read = readAll(path);
        QCOMPARE(read.frames.size(), size_t(3));  // frames 1 and 3, and the new one
        QCOMPARE(read.damage.size(), size_t(1));
        QCOMPARE(read.names.size(), size_t(2));
    }

    // Past file_bytes a new file starts; its first frame restates the dictionary, so a reader and
    // the next open need only the last file; a roll that cannot create the file leaves the log
    // writable in the old one.
    void filesRollAndRestateTheDictionary() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        archive::FaultInjectingFileSystem faults;
        archive::SightingsLogOptions o;
        o.file_bytes = 600;
        {
            archive::SightingsLog log(path, o, &faults);
            QVERIFY(log.open().ok());
            const uint32_t a = log.code("wss://a.example");
            for (int f = 0; f < 6; ++f) QVERIFY(log.append(sampleRecords(1, 40 + f * 100, 40, a)).ok());
            QVERIFY(log.end().file > 1);
            const uint32_t file = log.end().file;
            faults.failSyncDir(true);  // the next file's header cannot be made durable
            std::vector<archive::SightingRecord> more = sampleRecords(2, 40, 40, log.code("wss://b.example"));
            while (log.end().offset < o.file_bytes) QVERIFY(log.append(more).ok());
            QVERIFY(!log.append(more));
            QCOMPARE(log.end().file, file);
            faults.clearFaults();
            QVERIFY(log.append(more).ok());
            QCOMPARE(log.end().file, file + 1);
        }
        const auto files = archive::listSightingsFiles(path);
        QVERIFY(files.size() >= 3);
        // Only the last file: its first frame names both sources.
        archive::SightingsLogReader reader(path);
        std::vector<archive::SightingsLogReader::Frame> frames;
        QVERIFY(reader.scan([&](const archive::SightingsLogReader::Frame& f) {
                          frames.push_back(f);
                          return true;
                      },
                      archive::LogCursor{files.back(), 0})
                    .ok());
        QCOMPARE(frames.size(), size_t(1));
        QCOMPARE(reader.names(), (std::vector<std::string>{"wss://a.example", "wss://b.example"}));
        auto all = readAll(path);
        QVERIFY(all.damage.empty());
        archive::SightingsLog reopened(path, o);
        auto rep = reopened.open();
        QVERIFY(rep.ok());
        QCOMPARE(reopened.end().file, files.back());
        QCOMPARE(reopened.code("wss://b.example"), uint32_t(1));  // known from the last file alone
    }

    void aFailedAppendLeavesNoBytesAndKeepsItsNames() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        archive::FaultInjectingFileSystem faults;
        archive::SightingsLog log(path, {}, &faults);
        QVERIFY(log.open().ok());
        QVERIFY(log.append(sampleRecords(1, 40, 5, log.code("wss://a.example"))).ok());
        const uint64_t before = log.end().offset;
        faults.failSync(true);
        const uint32_t b = log.code("wss://b.example");
        QVERIFY(!log.append(sampleRecords(1, 140, 5, b)));
        QCOMPARE(fileSize(archive::sightingsFilePath(path, 1)), before);
        faults.failAppendAfterBytes(3);  // a short write: the partial frame is cut off
        faults.failSync(false);
        QVERIFY(!log.append(sampleRecords(1, 140, 5, b)));
        QCOMPARE(fileSize(archive::sightingsFilePath(path, 1)), before);
        faults.clearFaults();
        QVERIFY(log.append(sampleRecords(1, 140, 5, b)).ok());
        auto read = readAll(path);
        QCOMPARE(read.frames.size(), size_t(2));
        QCOMPARE(read.names, (std::vector<std::string>{"wss://a.example", "wss://b.example"}));
    }

    // The measurement behind docs/benchmarks.md: bytes per sighting on a realistic mix — commit
    // groups of a busy node (hundreds of relays, most traffic copies of recent events).
    void bytesPerSightingOnARealisticMix() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        archive::SightingsLogOptions o;
        o.sync = false;
        archive::SightingsLog log(path, o);
        QVERIFY(log.open().ok());
        std::mt19937_64 rng(7);
        std::vector<uint32_t> codes;
        for (int r = 0; r < 300; ++r) codes.push_back(log.code("wss://relay-" + std::to_string(r) + ".example.com"));
        // Relays by popularity: a few carry most events (Zipf-like).
        std::vector<double> weights;
        for (int r = 0; r < 300; ++r) weights.push_back(1.0 / (r + 1));
        std::discrete_distribution<int> relay(weights.begin(), weights.end());
        std::vector<archive::EventPos> recent;  // the last events stored
        uint64_t offset = 40;
        int64_t now = 1760000000000;
        uint64_t records = 0;
        const int groups = 400;
        for (int g = 0; g < groups; ++g) {
            std::vector<archive::SightingRecord> recs;
            // ≈ 200 new events per group (one frame), each seen first by one relay…
            const int fresh = 150 + int(rng() % 100);
            for (int i = 0; i < fresh; ++i) {
                const archive::EventPos pos{1, offset, uint32_t(i)};
                recs.push_back(archive::SightingRecord{pos, codes[size_t(relay(rng))], now + int64_t(rng() % 250), true});
                recent.push_back(pos);
            }
            // …and ≈ 4 copies of each from other relays, mostly of events stored in the last minute.
            const int copies = fresh * 4;
            for (int i = 0; i < copies; ++i) {
                const size_t back = std::min(recent.size(), size_t(1) + size_t(std::abs(std::normal_distribution<>(0, 600)(rng))));
                recs.push_back(archive::SightingRecord{recent[recent.size() - back], codes[size_t(relay(rng))],
                                                       now + int64_t(rng() % 250), false});
            }
            records += recs.size();
            QVERIFY(log.append(recs).ok());
            offset += 60000 + rng() % 20000;
            now += 250;
            if (recent.size() > 20000) recent.erase(recent.begin(), recent.begin() + 10000);
        }
        const double perSighting = double(log.bytesWritten()) / double(records);
        qInfo("sightings log: %llu sightings in %llu bytes = %.2f bytes per sighting (%d groups)",
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(log.bytesWritten()), perSighting,
              groups);
        QVERIFY2(perSighting <= 8.0, qPrintable(QString::number(perSighting)));
    }

    void logProvenanceReadsInWindowsOfSegments() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        {
            archive::SightingsLog log(path);
            QVERIFY(log.open().ok());
            const uint32_t a = log.code("A"), b = log.code("B");
            for (uint32_t seg = 1; seg <= 5; ++seg) QVERIFY(log.append(sampleRecords(seg, 40, 20, a)).ok());
            // Later copies of older events from B; then a copy from A again (not a new sighting).
            std::vector<archive::SightingRecord> later;
            for (uint32_t seg = 1; seg <= 5; ++seg) {
                later.push_back({{seg, 40, 0}, b, 1800000000000 + seg, false});
                later.push_back({{seg, 40, 0}, a, 1900000000000, false});
            }
            QVERIFY(log.append(later).ok());
        }
        // A budget of 25 records: about one segment per window.
        auto factory = index::logProvenance(path, nullptr, 25);
        auto src = factory();
        QVERIFY(src.ok());
        for (uint32_t seg : {1u, 3u, 2u, 5u, 4u, 1u}) {
            auto p = (*src)->lookup({}, 0, archive::EventPos{seg, 40, 0});
            QVERIFY(p.ok() && p->has_value());
            QVERIFY((*p)->first_is_origin);
            QCOMPARE((*p)->first_seen_at_ms, int64_t(1700000000000));
            QCOMPARE((*p)->sightings.size(), size_t(2));
            QCOMPARE((*p)->sightings[1], (std::pair<std::string, int64_t>{"B", 1800000000000 + seg}));
            auto q = (*src)->lookup({}, 0, archive::EventPos{seg, 40, 1});  // origin from A, no copies (i % 3 != 0)
            QVERIFY(q.ok() && q->has_value());
            QCOMPARE((*q)->sightings.size(), size_t(1));
            auto none = (*src)->lookup({}, 0, archive::EventPos{seg, 41, 0});
            QVERIFY(none.ok() && !none->has_value());
        }
    }

    // Events seen on three relays each (and some again by the same relay), in several archive
    // segments: `reindex` gives every event the same sightings, first-seen time and rollups.
    void reindexKeepsEverySightingAndFirstSeen() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(), metrics);
            QVERIFY(store.ok());
            (*store)->start();
            const auto a = *(*store)->addSource("wss://a.example");
            const auto b = *(*store)->addSource("wss://b.example");
            const auto c = *(*store)->addSource("wss://c.example");
            QVERIFY(submitAll(**store, a, lines(0, 600), 1000000));
            QVERIFY((*store)->waitSettled(a, 600, 60s));
            QVERIFY(submitAll(**store, c, lines(300, 900), 500000));  // earlier clock, later arrival
            QVERIFY((*store)->waitSettled(c, 600, 60s));
            QVERIFY(submitAll(**store, b, lines(0, 900), 2000000));
            QVERIFY(submitAll(**store, a, lines(0, 100), 3000000));  // a again: not a new sighting
            QVERIFY((*store)->waitSettled(b, 900, 60s));
            QVERIFY((*store)->waitSettled(a, 700, 60s));
            QVERIFY((*store)->shutdown().ok());
        }
        const Dump before = dumpOf(path);
        QCOMPARE(before.events.size(), size_t(900));
        QVERIFY(before.events.begin()->second.find("wss://b.example") != std::string::npos);
        QVERIFY(!before.rollups.empty());
        QVERIFY(archive::listSightingsFiles(path / "sightings").size() >= 1);

        // A crash left a torn frame at the end of the log: cut at the next open, nothing lost.
        const auto files = archive::listSightingsFiles(path / "sightings");
        {
            std::ofstream tail(archive::sightingsFilePath(path / "sightings", files.back()), std::ios::app | std::ios::binary);
            tail.write("\x28\xb5\x2f\xfd\x24\x10", 6);  // the start of a zstd frame
        }
        {
            observe::MetricsRegistry metrics;
            engine::OpenReport rep;
            auto opts = fastOptions();
            opts.fresh_index = true;
            auto store = engine::Store::open(path, opts, metrics, &rep);
            QVERIFY2(store.ok(), store ? "" : store.error().message.c_str());
            QCOMPARE(rep.index_action, std::string("rebuilt"));
            QCOMPARE(rep.sightings.torn_bytes_cut, uint64_t(6));
            QCOMPARE(rep.sightings_restored, uint64_t(900 + 900 + 300));  // origins, b, c's copies
        }
        const Dump after = dumpOf(path);
        QCOMPARE(after.events.size(), before.events.size());
        for (const auto& [id, s] : before.events) QCOMPARE(after.events.at(id), s);
        QCOMPARE(after.rollups, before.rollups);

        // The console's live rebuild reads them from the log too.
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(), metrics);
            QVERIFY(store.ok());
            (*store)->start();
            std::atomic<bool> done{false};
            std::string error;
            QVERIFY((*store)->startWriterTask(std::make_unique<engine::IndexRebuild>(
                (*store)->paths(), nullptr, [&](const Expected<engine::RebuildReport>& r) {
                    if (!r) error = r.error().message;
                    done.store(true);
                })));
            const auto deadline = std::chrono::steady_clock::now() + 60s;
            while (!done.load() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
            QVERIFY(done.load());
            QVERIFY2(error.empty(), error.c_str());
            QVERIFY((*store)->shutdown().ok());
        }
        const Dump rebuilt = dumpOf(path);
        QCOMPARE(rebuilt.events.size(), before.events.size());
        for (const auto& [id, s] : before.events) QCOMPARE(rebuilt.events.at(id), s);
        QCOMPARE(rebuilt.rollups, before.rollups);
    }
};

QTEST_GUILESS_MAIN(TstSightingsLog)
#include "tst_sightings_log.moc"
