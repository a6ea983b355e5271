// End-to-end tests of the ingest spine in one process: verify pool → commit writer → archive +
// index, with fault injection on the archive's file system.
#include <sqlite3.h>

#include <QtTest>
#include <chrono>
#include <cstdio>

#include <fstream>
#include <thread>

#include "core/archive/fault_injecting_file_system.h"
#include "core/engine/db_health.h"
#include "core/engine/import_job.h"
#include "core/engine/maintenance.h"
#include "core/relays/relay_state_store.h"
#include "core/engine/store.h"
#include "core/index/index_reader.h"
#include "core/index/tag_key.h"
#include "core/observe/metrics.h"
#include "core/protocol/event_codec.h"
#include "signed_events.h"

using namespace archivist;
using namespace std::chrono_literals;

namespace {

engine::StoreOptions fastOptions(archive::FileSystem* fs = nullptr) {
    engine::StoreOptions o;
    o.verify_threads = 2;
    o.writer.group_ms = 20;
    o.writer.retry_initial_ms = 10;
    o.writer.retry_max_ms = 50;
    o.file_system = fs;
    return o;
}

// Events in the lanes' rollup facts caches (the index's gauge).
int64_t rollupFacts(engine::Store& store) {
    for (const auto& c : store.index()->gauges().caches)
        if (c.name == "index rollup facts cache") return c.depth;
    return -1;
}

ingest::RawBatch batchOf(ingest::SourceId source, const std::vector<std::string>& lines) {
    ingest::RawBatch b;
    b.source = source;
    for (const auto& l : lines) b.items.push_back(ingest::RawItem{l, 1700000000000});
    return b;
}

std::vector<std::string> signedLines(const testing::EventSigner& s, int n, int64_t t0 = 1700000000) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(s.json(s.make(t0 + i, 1, "event number " + std::to_string(i))));
    return out;
}

// Writes `lines` as a JSONL file.
std::string writeJsonl(const std::filesystem::path& file, const std::vector<std::string>& lines) {
    std::ofstream out(file, std::ios::binary);
    for (const auto& l : lines) out << l << '\n';
    return file.string();
}

engine::StoreStats statsOf(const std::filesystem::path& dir) {
    observe::MetricsRegistry m;
    auto store = engine::Store::open(dir, fastOptions(), m);
    if (!store) qFatal("reopen failed: %s", store.error().message.c_str());
    auto s = engine::storeStats(**store);
    auto v = engine::verifyStore(**store, {});
    if (!v || !v->ok()) qFatal("verify failed after reopen");
    return *s;
}

}  // namespace

class TestStore : public QObject {
    Q_OBJECT
private slots:
    void storesEachValidEventOnceAndAttributesEverything() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(1);
        const auto e1 = signer.json(signer.make(1700000001, 1, "one"));
        const auto e2 = signer.json(signer.make(1700000002, 1, "two"));
        const auto e3 = signer.json(signer.make(1700000003, 7, "+", {{"e", std::string(64, 'a')}}));
        auto badSig = signer.make(1700000004, 1, "tampered");
        badSig.sig[5] ^= 1;
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(), metrics);
            QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());
            (*store)->start();
            const auto a = *(*store)->addSource("wss://a.example");
            const auto b = *(*store)->addSource("wss://b.example");
            QVERIFY((*store)->submit(batchOf(a, {e1, e2, e1, signer.json(badSig), "not json"})));
            QVERIFY((*store)->submit(batchOf(b, {e2, e3})));
            QVERIFY((*store)->waitSettled(a, 5, 10s));
            QVERIFY((*store)->waitSettled(b, 2, 10s));
            const auto sa = (*store)->sources().snapshot(a);
            const auto sb = (*store)->sources().snapshot(b);
            QCOMPARE(sa.stored + sb.stored, uint64_t(3));
            QCOMPARE(sa.duplicate + sb.duplicate, uint64_t(2));
            QCOMPARE(sa.invalid, uint64_t(2));
            QCOMPARE(sa.invalid_by_reason[size_t(protocol::Reject::BadSignature)], uint64_t(1));
            QCOMPARE(sa.invalid_by_reason[size_t(protocol::Reject::NotJson)], uint64_t(1));
            QCOMPARE(sb.invalid, uint64_t(0));
            QVERIFY((*store)->shutdown().ok());
        }
        const auto stats = statsOf(path);
        QCOMPARE(stats.events, uint64_t(3));

        // Export: oldest first, exactly the canonical lines.
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(path, fastOptions(), metrics);
        QVERIFY(store.ok());
        char* buf = nullptr;
        size_t len = 0;
        std::FILE* mem = open_memstream(&buf, &len);
        auto n = engine::exportEvents(**store, {}, mem, {});
        std::fclose(mem);
        QVERIFY(n.ok());
        QCOMPARE(*n, uint64_t(3));
        QCOMPARE(std::string(buf, len), e1 + "\n" + e2 + "\n" + e3 + "\n");
        std::free(buf);

        // `#x` conditions: matched by key in the index, confirmed on each exported event. A tags
        // row whose key does not belong to its event (what a 64-bit key collision would look
        // like) is found by the index and left out of the export.
        auto exportTag = [&](std::vector<std::string> values) {
            protocol::Filter f;
            f.tags['e'] = std::move(values);
            char* out = nullptr;
            size_t outLen = 0;
            std::FILE* m = open_memstream(&out, &outLen);
            auto written = engine::exportEvents(**store, {f}, m, {});
            std::fclose(m);
            std::string text(out, outLen);
            std::free(out);
            return std::make_pair(written.ok() ? int64_t(*written) : -1, text);
        };
        QCOMPARE(exportTag({std::string(64, 'a')}), std::make_pair(int64_t(1), e3 + "\n"));
        const std::string ghost = "INSERT INTO tags(key, rk) SELECT " + std::to_string(index::tagKey('e', "ghost")) +
                                  ", rk FROM events WHERE kind = 1";
        for (const auto& f : (*store)->index()->snapshot()->hot) {  // the events are in the hot files
            sqlite3* raw = nullptr;
            QCOMPARE(sqlite3_open(f->path.c_str(), &raw), SQLITE_OK);
            QCOMPARE(sqlite3_exec(raw, ghost.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(raw);
        }
        protocol::Filter ghostFilter;
        ghostFilter.tags['e'] = {"ghost"};
        auto reader = index::IndexReader::open((*store)->paths().index);
        QVERIFY(reader.ok());
        QCOMPARE(*(*reader)->count({ghostFilter}), uint64_t(2));  // the index alone cannot tell
        QCOMPARE(exportTag({"ghost"}), std::make_pair(int64_t(0), std::string()));
        QCOMPARE(exportTag({"ghost", std::string(64, 'a')}), std::make_pair(int64_t(1), e3 + "\n"));
    }

    void aGroupHoldsUpToFourSightingsPerEvent() {
        // A relay flood brings several copies per new event: a commit group is cut by its new
        // events at group_events and by its sightings at group_sightings_per_event times that.
        QTemporaryDir dir;
        testing::EventSigner signer(9);
        const auto lines = signedLines(signer, 20);
        observe::MetricsRegistry metrics;
        auto options = fastOptions();
        options.writer.group_events = 10;
        options.writer.group_ms = 60'000;  // only the counts cut a group
        auto store = engine::Store::open(dir.path().toStdString(), options, metrics);
        QVERIFY(store.ok());
        (*store)->start();
        const auto a = *(*store)->addSource("wss://a.example");
        QVERIFY((*store)->submit(batchOf(a, lines)));
        QVERIFY((*store)->waitSettled(a, 20, 10s));
        const auto& commits = metrics.histogram("archivist_commit_seconds", "");
        QCOMPARE(commits.count(), uint64_t(2));  // 10 new events each
        // A relay's events are remembered for the copies that follow (decision 0034).
        QCOMPARE((*store)->copies()->size(), size_t(20));
        QCOMPARE(rollupFacts(**store), int64_t(20));
        std::vector<ingest::SourceId> copies;
        for (const char* url : {"wss://b.example", "wss://c.example", "wss://d.example", "wss://e.example"}) {
            copies.push_back(*(*store)->addSource(url));
            QVERIFY((*store)->submit(batchOf(copies.back(), lines)));
        }
        for (ingest::SourceId s : copies) QVERIFY((*store)->waitSettled(s, 20, 10s));
        QCOMPARE(commits.count(), uint64_t(2 + 2));  // 80 sightings: 40 each
        QVERIFY((*store)->shutdown().ok());
    }

    void copiesTheirSourceSawAlreadyGiveTheIndexNothing() {
        // A copy of a stored event whose source's sighting is stored already, no later than the
        // copy, is counted as a duplicate and logged, and gives the index nothing; a copy from
        // another source, or one seen earlier than the stored sighting, is recorded as before.
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(7);
        const auto lines = signedLines(signer, 20);
        auto at = [](ingest::SourceId s, const std::vector<std::string>& ls, int64_t ms) {
            ingest::RawBatch b;
            b.source = s;
            for (const auto& l : ls) b.items.push_back(ingest::RawItem{l, ms});
            return b;
        };
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(), metrics);
            QVERIFY(store.ok());
            (*store)->start();
            const auto a = *(*store)->addSource("wss://a.example");
            QVERIFY((*store)->submit(at(a, lines, 1700000100000)));
            QVERIFY((*store)->waitSettled(a, 20, 10s));
            QVERIFY((*store)->shutdown().ok());
        }
        // A new process: the recent-id cache is empty, so the verify threads ask the index.
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(path, fastOptions(), metrics);
        QVERIFY(store.ok());
        (*store)->start();
        const auto a = *(*store)->addSource("wss://a.example");
        const auto b = *(*store)->addSource("wss://b.example");
        const std::vector<std::string> first(lines.begin(), lines.begin() + 5);
        QVERIFY((*store)->submit(at(a, lines, 1700000200000)));         // later: logged, not indexed
        QVERIFY((*store)->submit(at(a, first, 1700000000000)));         // earlier: recorded
        QVERIFY((*store)->submit(at(b, first, 1700000300000)));         // another source: recorded
        QVERIFY((*store)->waitSettled(a, 25, 10s));
        QVERIFY((*store)->waitSettled(b, 5, 10s));
        QCOMPARE((*store)->sources().snapshot(a).duplicate, uint64_t(25));
        QCOMPARE((*store)->sources().snapshot(b).duplicate, uint64_t(5));
        QCOMPARE(metrics.counter("archivist_copies_already_sighted_total", "").value(), uint64_t(20));
        QCOMPARE(metrics.counter("archivist_events_duplicate_total", "").value(), uint64_t(25 + 5));
        // Every arrival is still logged (decision 0019), the 20 that wrote nothing to the index too.
        QCOMPARE(metrics.counter("archivist_sightings_logged_total", "").value(), uint64_t(30));
        QVERIFY((*store)->shutdown().ok());

        auto reader = index::IndexReader::open((*store)->paths().index);
        QVERIFY(reader.ok());
        for (size_t i = 0; i < lines.size(); ++i) {
            protocol::Event e;
            QVERIFY(protocol::parseEvent(lines[i], e) == protocol::Reject::None);
            auto row = (*reader)->findById(e.id);
            QVERIFY(row.ok() && row->has_value());
            auto seen = (*reader)->sightings((*row)->rowid);
            QVERIFY(seen.ok());
            std::vector<std::pair<std::string, int64_t>> got;
            for (const auto& s : *seen) got.emplace_back(s.source, s.seen_at_ms);
            std::vector<std::pair<std::string, int64_t>> want;
            if (i < 5) want = {{"wss://a.example", 1700000000000}, {"wss://b.example", 1700000300000}};
            else want = {{"wss://a.example", 1700000100000}};
            QCOMPARE(got, want);
        }
        reader->reset();
        store->reset();
        QCOMPARE(statsOf(path).events, uint64_t(20));  // and verify passes
    }

    void nothingIsAcknowledgedBeforeItIsDurable() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(2);
        archive::FaultInjectingFileSystem fs;
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(&fs), metrics);
            QVERIFY(store.ok());
            (*store)->start();
            const auto src = *(*store)->addSource("import:test");
            fs.failSync(true);  // fdatasync fails: the writer must pause, not acknowledge
            QVERIFY((*store)->submit(batchOf(src, signedLines(signer, 50))));
            QTest::qWait(300);
            QCOMPARE((*store)->sources().snapshot(src).stored, uint64_t(0));
            QVERIFY(!(*store)->lastError().empty());
            QVERIFY(fs.counters().injected_sync_failures >= 2);  // retried
            fs.failSync(false);
            QVERIFY((*store)->waitSettled(src, 50, 10s));
            QCOMPARE((*store)->sources().snapshot(src).stored, uint64_t(50));
            QVERIFY((*store)->shutdown().ok());
        }
        QCOMPARE(statsOf(path).events, uint64_t(50));
    }

    void diskFullPausesIntakeThenResumesWithoutLoss() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(3);
        archive::FaultInjectingFileSystem fs;
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(&fs), metrics);
            QVERIFY(store.ok());
            (*store)->start();
            const auto src = *(*store)->addSource("import:test");
            fs.failAppendAfterBytes(100);  // a short write, then ENOSPC
            const auto lines = signedLines(signer, 400);
            for (size_t i = 0; i < lines.size(); i += 50)
                QVERIFY((*store)->submit(batchOf(src, std::vector<std::string>(lines.begin() + long(i), lines.begin() + long(i + 50)))));
            QTest::qWait(200);
            QCOMPARE((*store)->sources().snapshot(src).stored, uint64_t(0));
            fs.clearFaults();
            QVERIFY((*store)->waitSettled(src, 400, 10s));
            QCOMPARE((*store)->sources().snapshot(src).stored, uint64_t(400));
            QVERIFY((*store)->shutdown().ok());
        }
        QCOMPARE(statsOf(path).events, uint64_t(400));
    }

    void shutdownDrainsEverythingAlreadySubmitted() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(4);
        const auto lines = signedLines(signer, 3000);
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(), metrics);
            QVERIFY(store.ok());
            (*store)->start();
            const auto src = *(*store)->addSource("import:test");
            for (size_t i = 0; i < lines.size(); i += 100)
                QVERIFY((*store)->submit(batchOf(src, std::vector<std::string>(lines.begin() + long(i), lines.begin() + long(i + 100)))));
            QVERIFY((*store)->shutdown().ok());  // no waiting: shutdown itself must drain
            QCOMPARE((*store)->sources().snapshot(src).stored, uint64_t(3000));
        }
        QCOMPARE(statsOf(path).events, uint64_t(3000));
    }

    void shutdownIsBoundedWhenTheDiskNeverRecovers() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(5);
        archive::FaultInjectingFileSystem fs;
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(&fs), metrics);
            QVERIFY(store.ok());
            (*store)->start();
            const auto src = *(*store)->addSource("import:test");
            fs.failSync(true);
            QVERIFY((*store)->submit(batchOf(src, signedLines(signer, 20))));
            QTest::qWait(100);
            const auto t0 = std::chrono::steady_clock::now();
            auto closed = (*store)->shutdown(300ms);
            QVERIFY(!closed.ok());  // the unacknowledged group is reported, not hidden
            QVERIFY(std::chrono::steady_clock::now() - t0 < 3s);
            QCOMPARE((*store)->sources().snapshot(src).stored, uint64_t(0));
        }
        QCOMPARE(statsOf(path).events, uint64_t(0));
    }

    // D5: a damaged index is set aside (kept) and rebuilt from the archive at open.
    void damagedIndexIsSetAsideAndRebuilt_data() {
        QTest::addColumn<QString>("damage");
        QTest::newRow("not a database") << "header";
        QTest::newRow("truncated") << "truncate";
        QTest::newRow("pages overwritten") << "pages";
    }
    void damagedIndexIsSetAsideAndRebuilt() {
        QFETCH(QString, damage);
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(6);
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(), metrics);
            QVERIFY(store.ok());
            (*store)->start();
            const auto src = *(*store)->addSource("import:test");
            const auto lines = signedLines(signer, 3000);
            for (size_t i = 0; i < lines.size(); i += 100)
                QVERIFY((*store)->submit(batchOf(src, std::vector<std::string>(lines.begin() + long(i), lines.begin() + long(i + 100)))));
            QVERIFY((*store)->waitSettled(src, 3000, 30s));
            QVERIFY((*store)->shutdown().ok());
        }
        // The catalog (quick_checked whole at every open; tst_index_store damages parts and hot files).
        std::filesystem::path index;
        for (const auto& e : std::filesystem::directory_iterator(engine::DataDirPaths(path).index))
            if (e.is_directory()) index = e.path() / "catalog.sqlite";
        QVERIFY(std::filesystem::exists(index));
        const auto size = std::filesystem::file_size(index);
        QVERIFY(size >= 4096);
        {
            std::fstream f(index, std::ios::in | std::ios::out | std::ios::binary);
            if (damage == "header") {
                f.write("this is not a SQLite file", 25);
            } else if (damage == "pages") {
                const std::string junk(16384, char(0xA5));
                f.seekp(std::streamoff(std::min<uintmax_t>(size / 2, 4096)));
                f.write(junk.data(), std::streamsize(junk.size()));
            }
        }
        if (damage == "truncate") std::filesystem::resize_file(index, size / 2);
        observe::MetricsRegistry metrics;
        engine::OpenReport report;
        uint64_t progressCalls = 0;
        auto options = fastOptions();
        options.open_progress = [&](uint64_t, uint64_t) { ++progressCalls; };
        auto store = engine::Store::open(path, options, metrics, &report);
        QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());
        QVERIFY2(!report.index_damage.empty(), "the damage is named");
        QVERIFY(report.index_rebuilt);
        QVERIFY(std::filesystem::exists(report.index_set_aside));  // kept for the operator
        QVERIFY(report.index_set_aside.find("index.corrupt-") != std::string::npos);
        QCOMPARE(report.index_events + report.recovered_events, uint64_t(3000));
        QVERIFY(progressCalls > 0);
        auto v = engine::verifyStore(**store, {});
        QVERIFY(v.ok() && v->ok());
        QCOMPARE(v->indexed_events, uint64_t(3000));
    }

    void damagedRelayDirectoryIsSetAsideAndAFreshOneStarted() {
        QTemporaryDir dir;
        const engine::DataDirPaths paths(dir.path().toStdString());
        std::filesystem::create_directories(paths.root);
        {
            std::ofstream f(paths.relays, std::ios::binary);
            for (int i = 0; i < 500; ++i) f << "not a database ";
        }
        std::string note;
        auto state = engine::openRelayDirectory(paths, &note);
        QVERIFY2(state.ok(), state.ok() ? "" : state.error().message.c_str());
        QVERIFY(note.find("damaged") != std::string::npos);
        QVERIFY(note.find("relays.sqlite.corrupt-") != std::string::npos);
        QVERIFY((*state)->directory().upsert("wss://relay.example.com", "user", 1).ok());
        bool kept = false;
        for (const auto& e : std::filesystem::directory_iterator(paths.root))
            kept |= e.path().filename().string().rfind("relays.sqlite.corrupt-", 0) == 0;
        QVERIFY(kept);
        // A healthy directory is opened as it is, without a note.
        state->reset();
        std::string none;
        QVERIFY(engine::openRelayDirectory(paths, &none).ok());
        QVERIFY(none.empty());
    }

    // D3: an import on a disk that is full answers a stop request (SIGINT/SIGTERM set this flag)
    // within 5 s, committing what it can, and its counts are what the archive holds.
    void importOnAFullDiskAnswersAStopWithinFiveSecondsWithHonestCounts() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(7);
        const auto file = writeJsonl(path / "events.jsonl", signedLines(signer, 6000));
        archive::FaultInjectingFileSystem fs;
        const auto data = path / "data";
        engine::ImportProgress result;
        {
            observe::MetricsRegistry metrics;
            auto options = fastOptions(&fs);
            options.writer.group_events = 500;
            auto store = engine::Store::open(data, options, metrics);
            QVERIFY(store.ok());
            (*store)->start();
            fs.failAppendAfterBytes(200 * 1024);  // a few groups fit, then the disk is full
            std::atomic<bool> stop{false};
            Expected<engine::ImportProgress> r = makeError("unset", "");
            // The console's way: wait while paused (a service survives a transient full disk).
            std::thread importer([&] { r = engine::runImport(**store, {file}, {}, &stop, 50, false); });
            const auto deadline = std::chrono::steady_clock::now() + 20s;
            while (!(*store)->pausedOnDisk() && std::chrono::steady_clock::now() < deadline) QTest::qWait(10);
            QVERIFY((*store)->pausedOnDisk());
            QCOMPARE((*store)->lastErrorCode(), std::string("disk_full"));
            QTest::qWait(300);
            const auto t0 = std::chrono::steady_clock::now();
            stop.store(true);  // SIGTERM
            importer.join();
            auto closed = (*store)->shutdown(3000ms, 1000ms);
            const auto took = std::chrono::steady_clock::now() - t0;
            QVERIFY2(took < 5s, "the stop was answered within 5 s");
            QVERIFY(!closed.ok());  // the group the full disk refused is reported, not hidden
            QVERIFY(r.ok());
            QCOMPARE(r->stopped, std::string("cancelled"));
            result = *r;
            engine::refreshImportCounts(result, (*store)->sources());
        }
        QVERIFY(result.stored > 0);
        QVERIFY(result.not_stored > 0);
        QCOMPARE(result.stored + result.duplicate + result.invalid + result.not_stored, result.read);
        QCOMPARE(statsOf(data).events, result.stored);  // "stored" = what the archive holds from this run
    }

    // A bulk load's full-text documents wait in the index's lanes (decision 0031; here for up to
    // ten minutes): an import that has finished has had them written — a search right after it
    // finds every event — and verify, which counts them, agrees.
    void anImportIsSearchableWhenItFinishes() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(10);
        const auto file = writeJsonl(path / "events.jsonl", signedLines(signer, 1200));
        observe::MetricsRegistry metrics;
        auto options = fastOptions();
        options.writer.group_events = 400;
        options.writer.group_ms = 60'000;
        QVERIFY(options.index.applyTuning("fts_bulk_docs=8,fts_delay_ms=600000"));
        auto store = engine::Store::open(path / "data", options, metrics);
        QVERIFY(store.ok());
        (*store)->start();
        auto r = engine::runImport(**store, {file}, {}, nullptr, 50, true);
        QVERIFY(r.ok());
        QVERIFY(r->stopped.empty());
        auto reader = index::IndexReader::open((*store)->index());
        QVERIFY(reader);
        protocol::Filter f;
        f.search = "number";
        auto n = (*reader)->count({f});
        QVERIFY(n);
        QCOMPARE(*n, uint64_t(1200));
        // A file's events are not expected to come again from other sources: they fill neither
        // the copies cache nor the lanes' rollup facts cache (decision 0034).
        QCOMPARE((*store)->copies()->size(), size_t(0));
        QCOMPARE(rollupFacts(**store), int64_t(0));
        auto v = engine::verifyStore(**store, {});
        QVERIFY(v);
        QVERIFY2(v->ok(), v->details.empty() ? "" : v->details.front().c_str());
        (void)(*store)->shutdown(1000ms, 500ms);
    }

    // The command line's way: the import stops by itself on a full disk, with the reason.
    void importStopsOnAFullDiskWithTheReason() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(8);
        const auto file = writeJsonl(path / "events.jsonl", signedLines(signer, 3000));
        archive::FaultInjectingFileSystem fs;
        observe::MetricsRegistry metrics;
        auto options = fastOptions(&fs);
        options.writer.group_events = 500;
        options.writer.group_ms = 60'000;  // groups close at 500 events, however slow the machine
        auto store = engine::Store::open(path / "data", options, metrics);
        QVERIFY(store.ok());
        (*store)->start();
        // Appends: the first group's archive frame, its sightings log frame, then the second
        // group's archive frame — the one that finds the disk full.
        fs.failAt(archive::FaultOp::Append, 3, archive::FaultKind::NoSpace, true);
        auto r = engine::runImport(**store, {file}, {}, nullptr, 50, true);
        QVERIFY(r.ok());
        QVERIFY2(r->stopped.find("No space left on device") != std::string::npos, r->stopped.c_str());
        (void)(*store)->shutdown(1000ms, 500ms);
        engine::refreshImportCounts(*r, (*store)->sources());
        QCOMPARE(r->stored, uint64_t(500));  // the first group only
        QCOMPARE(r->stored + r->not_stored, r->read);
    }

    void lowDiskThresholdPausesIntakeUntilSpaceReturns() {
        QTemporaryDir dir;
        const std::filesystem::path path = dir.path().toStdString();
        testing::EventSigner signer(9);
        archive::FaultInjectingFileSystem fs;
        observe::MetricsRegistry metrics;
        auto options = fastOptions(&fs);
        options.archive.min_free_bytes = 100u << 20;
        auto store = engine::Store::open(path, options, metrics);
        QVERIFY(store.ok());
        (*store)->start();
        const auto src = *(*store)->addSource("import:test");
        fs.setAvailableBytes(50u << 20);  // below the threshold
        QVERIFY((*store)->submit(batchOf(src, signedLines(signer, 100))));
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!(*store)->pausedOnDisk() && std::chrono::steady_clock::now() < deadline) QTest::qWait(10);
        QVERIFY((*store)->pausedOnDisk());
        QVERIFY((*store)->lastError().find("low-disk threshold") != std::string::npos);
        QCOMPARE((*store)->sources().snapshot(src).stored, uint64_t(0));
        fs.setAvailableBytes(-1);  // space is back: intake resumes by itself
        QVERIFY((*store)->waitSettled(src, 100, 10s));
        QCOMPARE((*store)->sources().snapshot(src).stored, uint64_t(100));
        QVERIFY(!(*store)->paused());
        QVERIFY((*store)->shutdown().ok());
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
