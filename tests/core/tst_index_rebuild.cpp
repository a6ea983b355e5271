// The live index rebuild (core/engine/index_rebuild.h) on a running Store: events that arrive
// while it runs are stored exactly once, duplicates of older events stay duplicates after the
// swap, what the archive does not hold (first seen, sightings) is carried over, a reader opened
// before the swap sees the new index, and cancel / shutdown / a crash leave the old index.
#include <QtTest>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <sqlite3.h>
#include <thread>

#include "core/engine/index_rebuild.h"
#include "core/engine/maintenance.h"
#include "core/engine/store.h"
#include "core/index/index_reader.h"
#include "core/observe/metrics.h"
#include "core/protocol/hex.h"
#include "signed_events.h"

using namespace archivist;
using namespace std::chrono_literals;

namespace {

engine::StoreOptions fastOptions() {
    engine::StoreOptions o;
    o.verify_threads = 2;
    o.writer.group_ms = 20;
    o.writer.group_events = 500;  // many small frames: the rebuild takes several slices
    return o;
}

ingest::RawBatch batchOf(ingest::SourceId source, const std::vector<std::string>& lines, int64_t received_ms) {
    ingest::RawBatch b;
    b.source = source;
    for (const auto& l : lines) b.items.push_back(ingest::RawItem{l, received_ms});
    return b;
}

std::vector<std::string> signedLines(const testing::EventSigner& s, int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back(s.json(s.make(1700000000 + i, 1, "event number " + std::to_string(i))));
    return out;
}

bool submitAll(engine::Store& store, ingest::SourceId source, const std::vector<std::string>& lines, int64_t received_ms) {
    for (size_t i = 0; i < lines.size(); i += 200) {
        const std::vector<std::string> part(lines.begin() + long(i), lines.begin() + long(std::min(lines.size(), i + 200)));
        if (!store.submit(batchOf(source, part, received_ms))) return false;
    }
    return true;
}

// The generation directories of the index (index/g<N>).
std::vector<std::string> generations(const engine::DataDirPaths& paths) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(paths.index, ec))
        if (e.is_directory()) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

// Runs `sql` on every hot file and part of the current generation; returns the rows changed.
int changeEveryIndexFile(const engine::DataDirPaths& paths, const std::string& sql) {
    int changed = 0;
    const auto gens = generations(paths);
    if (gens.size() != 1) return -1;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(paths.index / gens[0], ec)) {
        const std::string name = e.path().filename().string();
        if ((name.rfind("hot-", 0) && name.rfind("part-", 0)) || name.size() < 7 ||
            name.substr(name.size() - 7) != ".sqlite")
            continue;
        sqlite3* db = nullptr;
        sqlite3_open(e.path().c_str(), &db);
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) changed += sqlite3_total_changes(db);
        sqlite3_close(db);
    }
    return changed;
}

uint64_t countOf(const engine::DataDirPaths& paths, const std::vector<protocol::Filter>& filters, const char* seen_by = nullptr) {
    auto reader = index::IndexReader::open(paths.index);
    if (!reader) qFatal("open reader: %s", reader.error().message.c_str());
    auto n = seen_by ? (*reader)->countSeenBy(filters, seen_by) : (*reader)->count(filters);
    if (!n) qFatal("count: %s", n.error().message.c_str());
    return *n;
}

// What a test sees of a HeldRebuild: shared, because the writer deletes the task when it ends.
struct Probe {
    std::atomic<bool> held{false};
    std::atomic<bool> release{false};
    std::atomic<bool> finished{false};
    engine::RebuildReport report;  // read after `finished`
    std::string error;             // read after `finished`
};

// Runs an IndexRebuild but holds it after `hold_after` slices until released, so a test can act
// while the rebuild is half done (each slice gets a 1 ms budget: about one frame).
class HeldRebuild final : public ingest::WriterTask {
public:
    HeldRebuild(const engine::DataDirPaths& paths, int hold_after, std::shared_ptr<Probe> probe)
        : m_probe(std::move(probe)),
          m_inner(paths, {}, [p = m_probe](const Expected<engine::RebuildReport>& r) {
              if (r) p->report = *r;
              else p->error = r.error().code;
          }),
          m_holdAfter(hold_after) {}
    Expected<Step> step(index::IndexWriter& index, std::chrono::milliseconds, const std::atomic<bool>& cancel) override {
        if (m_slices == m_holdAfter && !m_probe->release.load()) {
            m_probe->held.store(true);
            std::this_thread::sleep_for(1ms);  // the writer commits intake between these calls
            return Step::More;
        }
        ++m_slices;
        return m_inner.step(index, 1ms, cancel);
    }
    void finish(const Expected<void>& outcome) override {
        m_inner.finish(outcome);
        m_probe->finished.store(true);
    }

private:
    std::shared_ptr<Probe> m_probe;
    engine::IndexRebuild m_inner;
    int m_holdAfter;
    int m_slices = 0;
};

// Starts a HeldRebuild on the store; nullptr when the store does not take it.
std::shared_ptr<Probe> startHeld(engine::Store& store, int hold_after) {
    auto probe = std::make_shared<Probe>();
    if (!store.startWriterTask(std::make_unique<HeldRebuild>(store.paths(), hold_after, probe))) return nullptr;
    return probe;
}

bool waitFor(const std::atomic<bool>& flag, std::chrono::milliseconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!flag.load()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);  // polling a flag set by the writer thread
    }
    return true;
}

}  // namespace

class TstIndexRebuild : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    testing::EventSigner m_signer{3};

    // A data directory holding events 0…2999 from relay A (first seen at 1000 ms), 0…499 seen
    // again by relay B, with the index row of event 7 deleted behind the store's back.
    std::filesystem::path makeStore(const QString& name) {
        const std::filesystem::path path = m_dir.filePath(name).toStdString();
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(path, fastOptions(), metrics);
        if (!store) qFatal("open: %s", store.error().message.c_str());
        (*store)->start();
        const auto a = *(*store)->addSource("wss://a.example");
        const auto b = *(*store)->addSource("wss://b.example");
        if (!submitAll(**store, a, signedLines(m_signer, 0, 3000), 1000) ||
            !submitAll(**store, b, signedLines(m_signer, 0, 500), 2000) || !(*store)->waitSettled(a, 3000, 60s) ||
            !(*store)->waitSettled(b, 500, 60s))
            qFatal("could not store the events");
        if (!(*store)->shutdown()) qFatal("shutdown");
        store->reset();
        const std::string id7 = protocol::toHex(m_signer.make(1700000007, 1, "event number 7").id);
        const std::string sql = "DELETE FROM sightings WHERE rk = (SELECT rk FROM events WHERE id = x'" + id7 +
                                "'); DELETE FROM events WHERE id = x'" + id7 + "';";
        // Its row and its two sightings (relays A and B).
        if (changeEveryIndexFile(engine::DataDirPaths(path), sql) != 3) qFatal("could not damage the index");
        return path;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void rebuildWhileIngestingStoresEachEventOnceAndKeepsSightings() {
        const auto path = makeStore("live");
        const engine::DataDirPaths paths(path);
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(path, fastOptions(), metrics);
        QVERIFY(store.ok());
        (*store)->start();
        auto reader = index::IndexReader::open(paths.index);  // like the archive browser's: open across the swap
        QVERIFY(reader.ok());
        QCOMPARE(*(*reader)->count({}), uint64_t(2999));
        const auto c = *(*store)->addSource("wss://c.example");

        auto rebuild = startHeld(**store, 2);
        QVERIFY(rebuild);
        QVERIFY(!startHeld(**store, 0));  // one at a time
        QVERIFY(waitFor(rebuild->held));
        QCOMPARE(generations(paths).size(), size_t(2));  // the new generation is being built beside
        // Half way: new events, and old ones again (including event 7, archived but unindexed).
        QVERIFY(submitAll(**store, c, signedLines(m_signer, 2900, 3400), 3000));
        QVERIFY((*store)->waitSettled(c, 500, 60s));
        auto sc = (*store)->sources().snapshot(c);
        QCOMPARE(sc.stored, uint64_t(400));
        QCOMPARE(sc.duplicate, uint64_t(100));
        rebuild->release.store(true);
        QVERIFY(waitFor(rebuild->finished));
        QVERIFY2(rebuild->error.empty(), rebuild->error.c_str());
        QVERIFY(!(*store)->writerTaskRunning());
        QCOMPARE(rebuild->report.events, uint64_t(3400));
        QCOMPARE(rebuild->report.events_before, uint64_t(3399));
        // Event 7 was missing from the old index (its sightings come from the durable log).
        QCOMPARE(rebuild->report.not_in_old_index, uint64_t(1));
        // Relay C's 100 sightings of old events arrive while the build reads the log: they come
        // over through the log or through the journal (or both: the earliest is kept).
        QVERIFY(rebuild->report.sightings_carried >= uint64_t(3000 + 500 + 400 + 100));
        QCOMPARE(*(*reader)->count({}), uint64_t(3400));

        // After the swap: every earlier event is a duplicate (event 7 too), new ones are stored.
        QVERIFY(submitAll(**store, c, signedLines(m_signer, 0, 3600), 4000));
        QVERIFY((*store)->waitSettled(c, 4100, 60s));
        sc = (*store)->sources().snapshot(c);
        QCOMPARE(sc.stored, uint64_t(400 + 200));
        QCOMPARE(sc.duplicate, uint64_t(100 + 3400));
        QVERIFY((*store)->shutdown().ok());
        store->reset();

        auto reopened = engine::Store::open(path, fastOptions(), metrics);
        QVERIFY(reopened.ok());
        auto v = engine::verifyStore(**reopened, {});
        QVERIFY(v.ok());
        QVERIFY2(v->ok(), v->details.empty() ? "" : v->details.front().c_str());
        QCOMPARE(v->indexed_events, uint64_t(3600));
        // Carried over: first seen and the relays that carried each event — event 7 too, which the
        // old index had lost: the sightings log is the record, not the index.
        auto reader2 = index::IndexReader::open((*reopened)->index());
        QVERIFY(reader2);
        const auto id = [&](int i) { return m_signer.make(1700000000 + i, 1, "event number " + std::to_string(i)).id; };
        auto sourcesOf = [&](int i) {
            std::vector<std::string> out;
            auto row = (*reader2)->findById(id(i));
            if (!row || !*row) return out;
            auto seen = (*reader2)->sightings((*row)->rowid);
            if (seen)
                for (const auto& s : *seen) out.push_back(s.source);
            return out;
        };
        auto row3 = (*reader2)->findById(id(3));
        QVERIFY(row3 && *row3);
        QCOMPARE((*row3)->first_seen_at_ms, int64_t(1000));
        QCOMPARE(sourcesOf(3), (std::vector<std::string>{"wss://a.example", "wss://b.example", "wss://c.example"}));
        QCOMPARE(sourcesOf(7), (std::vector<std::string>{"wss://a.example", "wss://b.example", "wss://c.example"}));
        auto row7 = (*reader2)->findById(id(7));
        QVERIFY(row7 && *row7);
        QCOMPARE((*row7)->first_seen_at_ms, int64_t(1000));
        QCOMPARE(sourcesOf(2950), (std::vector<std::string>{"wss://a.example", "wss://c.example"}));
        QCOMPARE(*(*reader2)->countSeenBy({}, "wss://b.example"), uint64_t(500));
        QCOMPARE(*(*reader2)->countSeenBy({}, "wss://c.example"), uint64_t(3600));
        QCOMPARE(*(*reader2)->countSeenBy({}, "reindex"), uint64_t(0));
        reader2->reset();
        reopened->reset();
    }

    void cancelLeavesTheIndexAsItWas() {
        const auto path = makeStore("cancel");
        const engine::DataDirPaths paths(path);
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(path, fastOptions(), metrics);
        QVERIFY(store.ok());
        (*store)->start();
        auto rebuild = startHeld(**store, 2);
        QVERIFY(rebuild);
        QVERIFY(waitFor(rebuild->held));
        (*store)->cancelWriterTask();
        QVERIFY(waitFor(rebuild->finished));
        QCOMPARE(rebuild->error, std::string("cancelled"));
        QCOMPARE(generations(paths).size(), size_t(1));
        // A new task can start after a cancelled one.
        auto second = startHeld(**store, 1);
        QVERIFY(second);
        QVERIFY(waitFor(second->held));
        // Shutting down while it runs: cancelled, work file gone, index unchanged.
        QVERIFY((*store)->shutdown().ok());
        QVERIFY(second->finished.load());
        QVERIFY2(second->error == "cancelled", second->error.c_str());
        QCOMPARE(generations(paths).size(), size_t(1));
        store->reset();
        QCOMPARE(countOf(paths, {}), uint64_t(2999));
    }

    void aGenerationLeftByACrashIsRemovedAtOpen() {
        const std::filesystem::path path = m_dir.filePath("crash").toStdString();
        const engine::DataDirPaths paths(path);
        {
            observe::MetricsRegistry metrics;
            auto store = engine::Store::open(path, fastOptions(), metrics);
            QVERIFY(store.ok());
        }
        // Half a rebuild: a generation that never became current.
        std::filesystem::create_directories(paths.index / "g7");
        for (const char* name : {"catalog.sqlite", "part-2023-11-3.sqlite", "fts-0.sqlite-wal"}) {
            std::FILE* out = std::fopen((paths.index / "g7" / name).c_str(), "wb");
            QVERIFY(out);
            std::fputs("half a rebuild", out);
            std::fclose(out);
        }
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(path, fastOptions(), metrics);
        QVERIFY(store.ok());
        QCOMPARE(generations(paths), std::vector<std::string>{"g1"});
    }

    void anEmptyArchiveRebuildsToAnEmptyIndex() {
        const std::filesystem::path path = m_dir.filePath("empty").toStdString();
        const engine::DataDirPaths paths(path);
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(path, fastOptions(), metrics);
        QVERIFY(store.ok());
        (*store)->start();
        auto rebuild = startHeld(**store, -1);
        QVERIFY(rebuild);
        QVERIFY(waitFor(rebuild->finished));
        QVERIFY2(rebuild->error.empty(), rebuild->error.c_str());
        QCOMPARE(rebuild->report.events, uint64_t(0));
        const auto s = *(*store)->addSource("wss://a.example");
        QVERIFY(submitAll(**store, s, signedLines(m_signer, 0, 10), 1000));
        QVERIFY((*store)->waitSettled(s, 10, 30s));
        QCOMPARE((*store)->sources().snapshot(s).stored, uint64_t(10));
    }
};

QTEST_GUILESS_MAIN(TstIndexRebuild)
#include "tst_index_rebuild.moc"
