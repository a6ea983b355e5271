// The live index rebuild (core/engine/index_rebuild.h) on a running Store: events that arrive
// while it runs are stored exactly once, duplicates of older events stay duplicates after the
// swap, what the archive does not hold (first seen, sightings) is carried over, a reader opened
// before the swap sees the new index, and cancel / shutdown / a crash leave the old index.
#include <QtTest>
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

int64_t scalar(const std::filesystem::path& db_file, const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
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
        sqlite3* db = nullptr;
        sqlite3_open((path / "index.sqlite").c_str(), &db);
        const std::string id7 = protocol::toHex(m_signer.make(1700000007, 1, "event number 7").id);
        const std::string sql = "DELETE FROM sightings WHERE event = (SELECT rowid FROM events WHERE id = x'" + id7 +
                                "'); DELETE FROM events WHERE id = x'" + id7 + "';";
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK || sqlite3_changes(db) != 1)
            qFatal("could not damage the index");
        sqlite3_close(db);
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
        QVERIFY(std::filesystem::exists(paths.index_rebuild));
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
        QVERIFY(!std::filesystem::exists(paths.index_rebuild));
        QCOMPARE(rebuild->report.events, uint64_t(3400));
        QCOMPARE(rebuild->report.events_before, uint64_t(3399));
        QCOMPARE(rebuild->report.not_in_old_index, uint64_t(1));
        QCOMPARE(rebuild->report.sightings_carried, uint64_t(2999 + 500 - 1 + 400 + 100));
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
        reopened->reset();
        // Carried over: first seen and the relays that carried each event. Event 7 was unknown
        // to the old index: first seen = the rebuild, source "reindex".
        const auto idHex = [&](int i) {
            return protocol::toHex(m_signer.make(1700000000 + i, 1, "event number " + std::to_string(i)).id);
        };
        const auto idx = path / "index.sqlite";
        QCOMPARE(scalar(idx, "SELECT first_seen_at FROM events WHERE id = x'" + idHex(3) + "'"), int64_t(1000));
        QCOMPARE(scalar(idx, "SELECT count(*) FROM sightings s JOIN sources n ON n.id = s.source JOIN events e ON "
                             "e.rowid = s.event WHERE n.name = 'wss://b.example' AND e.id = x'" + idHex(3) + "'"),
                 int64_t(1));
        QCOMPARE(scalar(idx, "SELECT count(*) FROM sightings s JOIN sources n ON n.id = s.source WHERE n.name = "
                             "'wss://b.example'"),
                 int64_t(499));
        QCOMPARE(scalar(idx, "SELECT count(*) FROM sightings s JOIN sources n ON n.id = s.source WHERE n.name = "
                             "'wss://c.example'"),
                 int64_t(3600));
        QCOMPARE(scalar(idx, "SELECT count(*) FROM sightings s JOIN sources n ON n.id = s.source JOIN events e ON "
                             "e.rowid = s.event WHERE n.name = 'reindex' AND e.id = x'" + idHex(7) + "'"),
                 int64_t(1));
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
        QVERIFY(!std::filesystem::exists(paths.index_rebuild));
        // A new task can start after a cancelled one.
        auto second = startHeld(**store, 1);
        QVERIFY(second);
        QVERIFY(waitFor(second->held));
        // Shutting down while it runs: cancelled, work file gone, index unchanged.
        QVERIFY((*store)->shutdown().ok());
        QVERIFY(second->finished.load());
        QVERIFY2(second->error == "cancelled", second->error.c_str());
        QVERIFY(!std::filesystem::exists(paths.index_rebuild));
        store->reset();
        QCOMPARE(scalar(paths.index, "SELECT count(*) FROM events"), int64_t(2999));
    }

    void aWorkFileLeftByACrashIsRemovedAtOpen() {
        const std::filesystem::path path = m_dir.filePath("crash").toStdString();
        const engine::DataDirPaths paths(path);
        std::filesystem::create_directories(path);
        for (const char* suffix : {"", "-wal"}) {
            auto f = paths.index_rebuild;
            f += suffix;
            std::FILE* out = std::fopen(f.c_str(), "wb");
            QVERIFY(out);
            std::fputs("half a rebuild", out);
            std::fclose(out);
        }
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(path, fastOptions(), metrics);
        QVERIFY(store.ok());
        QVERIFY(!std::filesystem::exists(paths.index_rebuild));
        auto wal = paths.index_rebuild;
        wal += "-wal";
        QVERIFY(!std::filesystem::exists(wal));
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
