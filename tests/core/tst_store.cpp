// End-to-end tests of the ingest spine in one process: verify pool → commit writer → archive +
// index, with fault injection on the archive's file system.
#include <sqlite3.h>

#include <QtTest>
#include <chrono>
#include <cstdio>

#include "core/archive/fault_injecting_file_system.h"
#include "core/engine/maintenance.h"
#include "core/engine/store.h"
#include "core/index/index_reader.h"
#include "core/index/tag_key.h"
#include "core/observe/metrics.h"
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
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
