#include <QTemporaryDir>
#include <QtTest>
#include <sqlite3.h>

#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <string>
#include <thread>

#include "core/observe/memory_stats.h"
#include "core/observe/metrics.h"
#include "core/observe/sqlite_heap.h"

using namespace archivist::observe;

namespace {
constexpr uint64_t kMiB = 1024 * 1024;

// Writes ~`mib` MiB of rows into a new file database whose own page cache could hold all of it
// (cache_size 256 MiB) and returns SQLite's heap in use with the connection still open.
uint64_t sqliteHeapAfterWriting(const QString& file, int mib) {
    sqlite3* db = nullptr;
    if (sqlite3_open(file.toUtf8().constData(), &db) != SQLITE_OK) return 0;
    sqlite3_exec(db,
                 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;"
                 "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB); BEGIN;",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES(randomblob(1000))", -1, &st, nullptr);
    for (int i = 0; i < mib * 1024; ++i) {
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    const uint64_t used = readSqliteHeap().used_bytes;
    sqlite3_close(db);
    return used;
}
}  // namespace

class TestMemoryStats : public QObject {
    Q_OBJECT
private slots:
    // As main() does, before anything starts SQLite.
    void initTestCase() { QVERIFY(installSqliteMemory()); }

    void readsPlausibleValues() {
        const MemoryStats m = readMemoryStats();
        QVERIFY(m.rss_bytes > 1 * kMiB);            // a Qt process is never this small
        QVERIFY(m.rss_bytes < 64ull * 1024 * kMiB);  // nor this big: units are bytes, not KiB×1024²
        QVERIFY(m.peak_rss_bytes >= m.rss_bytes);
        QVERIFY(m.heap_in_use_bytes > 0);
        QVERIFY(m.heap_arena_bytes > 0);
    }

    void touchingMemoryRaisesRssAndHeap_data() {
        QTest::addColumn<bool>("oneBlock");
        QTest::newRow("one 64 MiB block (mmap)") << true;
        QTest::newRow("64 × 1 MiB blocks") << false;
    }
    void touchingMemoryRaisesRssAndHeap() {
        QFETCH(bool, oneBlock);
        const MemoryStats before = readMemoryStats();
        std::vector<char*> blocks;
        const size_t n = oneBlock ? 1 : 64;
        const size_t each = 64 * kMiB / n;
        for (size_t i = 0; i < n; ++i) {
            char* p = static_cast<char*>(std::malloc(each));
            QVERIFY(p);
            std::memset(p, int(i + 1), each);  // touch every page
            blocks.push_back(p);
        }
        const MemoryStats during = readMemoryStats();
        for (char* p : blocks) std::free(p);
        ::malloc_trim(0);
        const MemoryStats after = readMemoryStats();

        QVERIFY2(during.rss_bytes >= before.rss_bytes + 56 * kMiB,
                 qPrintable(QString("rss %1 → %2").arg(before.rss_bytes).arg(during.rss_bytes)));
        QVERIFY2(during.heap_in_use_bytes >= before.heap_in_use_bytes + 64 * kMiB,
                 qPrintable(QString("heap %1 → %2").arg(before.heap_in_use_bytes).arg(during.heap_in_use_bytes)));
        QVERIFY(during.heap_arena_bytes >= during.heap_in_use_bytes);
        QVERIFY(during.peak_rss_bytes >= during.rss_bytes);
        // Freed memory leaves the heap figure; the peak remembers it (the kernel's RSS counters are
        // per-CPU approximations, so allow a little slack).
        QVERIFY(after.heap_in_use_bytes + 32 * kMiB < during.heap_in_use_bytes);
        QVERIFY(after.peak_rss_bytes + 4 * kMiB >= during.rss_bytes);
#if defined(__SANITIZE_ADDRESS__)
        return;  // ASan quarantines freed memory: RSS does not fall after free under the sanitizer
#endif
        QVERIFY2(after.peak_rss_bytes > after.rss_bytes + 32 * kMiB,
                 qPrintable(QString("peak %1 after, rss %2 during (peak then %3)")
                                .arg(after.peak_rss_bytes).arg(during.rss_bytes).arg(during.peak_rss_bytes)));
    }

    void gaugesAreRegisteredAndLive() {
        MetricsRegistry r;
        registerMemoryGauges(r);
        const std::string text = r.renderPrometheus();
        for (const char* name : {"archivist_process_resident_memory_bytes", "archivist_process_peak_resident_memory_bytes",
                                 "archivist_heap_in_use_bytes", "archivist_heap_arena_bytes"}) {
            QVERIFY2(QString::fromStdString(text).contains(QString("# TYPE %1 gauge\n").arg(name)), name);
            QVERIFY2(r.total(name) > 0, name);
        }
        const double heapBefore = r.total("archivist_heap_in_use_bytes");
        std::vector<char> big(32 * kMiB, 'x');
        QTest::qWait(250);  // the gauges share one reading per 200 ms
        QVERIFY(r.total("archivist_heap_in_use_bytes") >= heapBefore + double(32 * kMiB));
        QVERIFY(big.back() == 'x');
        // Registering twice replaces rather than duplicates.
        const size_t series = r.seriesCount();
        registerMemoryGauges(r);
        QCOMPARE(r.seriesCount(), series);
    }

    // A process that opens SQLite without saying a limit gets the default one; a limit set
    // explicitly (the app's config.json value) is what applies and is never overridden by the
    // default; the gauges report it with the heap in use and its peak. SQLite's own memory
    // statistics and soft limit stay off (decision 0022): the project counts and caps instead.
    void sqliteHeapLimitIsAppliedAndGauged() {
        QVERIFY(sqliteMemoryInstalled());  // initTestCase installed it before SQLite started
        ensureSqliteHeapLimit();
        QCOMPARE(readSqliteHeap().limit_bytes, kDefaultSqliteHeapLimitBytes);
        setSqliteHeapLimit(40 * kMiB);
        ensureSqliteHeapLimit();
        QCOMPARE(readSqliteHeap().limit_bytes, 40 * kMiB);
        QCOMPARE(sqlite3_soft_heap_limit64(-1), sqlite3_int64(0));
        QCOMPARE(sqlite3_memory_used(), sqlite3_int64(0));  // SQLite's statistics are off
        const uint64_t before = readSqliteHeap().used_bytes;
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(":memory:", &db), SQLITE_OK);  // a connection holds some heap
        QCOMPARE(sqlite3_exec(db, "CREATE TABLE t(v); INSERT INTO t VALUES(randomblob(100000));", nullptr, nullptr, nullptr),
                 SQLITE_OK);
        const SqliteHeap h = readSqliteHeap();
        QCOMPARE(h.limit_bytes, 40 * kMiB);
        QVERIFY2(h.used_bytes >= before + 100000, qPrintable(QString("%1 -> %2").arg(before).arg(h.used_bytes)));
        QVERIFY(h.peak_bytes >= h.used_bytes);

        MetricsRegistry r;
        registerMemoryGauges(r);
        const QString text = QString::fromStdString(r.renderPrometheus());
        for (const char* name : {"archivist_sqlite_memory_bytes", "archivist_sqlite_memory_peak_bytes",
                                 "archivist_sqlite_memory_limit_bytes"})
            QVERIFY2(text.contains(QString("# TYPE %1 gauge\n").arg(name)), name);
        QCOMPARE(r.total("archivist_sqlite_memory_limit_bytes"), double(40 * kMiB));
        QVERIFY(r.total("archivist_sqlite_memory_bytes") > 0);
        QVERIFY(r.total("archivist_sqlite_memory_peak_bytes") >= r.total("archivist_sqlite_memory_bytes"));
        sqlite3_close(db);
        QVERIFY(readSqliteHeap().used_bytes < h.used_bytes);  // closing gives it back
    }

    // A connection that reads a few pages holds a few pages: page caches allocate 4 pages at their
    // first read and then pages as they need them, not SQLite's default bulk of 20 pages (≈ 88 KB
    // with 4 KiB pages). Index readers keep hundreds of connections to parts open; with the
    // default bulk each cost ≈ 108 KB, now ≈ 38 KB (decision 0038).
    void aReadOnlyConnectionHoldsOnlyThePagesItReads() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QByteArray file = dir.filePath("small.sqlite").toUtf8();
        sqlite3* w = nullptr;
        QCOMPARE(sqlite3_open(file.constData(), &w), SQLITE_OK);
        QCOMPARE(sqlite3_exec(w, "CREATE TABLE t(k INTEGER PRIMARY KEY, v); INSERT INTO t VALUES(1, 'one');", nullptr,
                              nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(w);
        constexpr int kConnections = 64;
        std::vector<sqlite3*> dbs;
        const uint64_t before = readSqliteHeap().used_bytes;
        for (int i = 0; i < kConnections; ++i) {
            sqlite3* db = nullptr;
            QCOMPARE(sqlite3_open_v2(file.constData(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
            dbs.push_back(db);
            QCOMPARE(sqlite3_exec(db, "PRAGMA cache_size=-1024; SELECT v FROM t WHERE k = 1;", nullptr, nullptr, nullptr),
                     SQLITE_OK);
        }
        const uint64_t after = readSqliteHeap().used_bytes;
        for (sqlite3* db : dbs) sqlite3_close(db);
        const uint64_t each = after > before ? (after - before) / kConnections : 0;
        qInfo("one read-only connection that read one row: %llu bytes of SQLite heap", (unsigned long long)each);
        QVERIFY2(each > 0 && each < 48 * 1024, qPrintable(QString("%1 bytes per connection").arg(each)));
    }

    // Allocations and frees on other threads count too (each thread publishes its share in
    // steps of 64 KiB, and what is left when it ends).
    void sqliteHeapCountsEveryThread() {
        const uint64_t before = readSqliteHeap().used_bytes;
        void* p = nullptr;
        std::thread([&] { p = sqlite3_malloc(1 << 20); }).join();
        QVERIFY(p);
        QVERIFY(readSqliteHeap().used_bytes >= before + (1 << 20));
        std::thread([&] { sqlite3_free(p); }).join();
        const uint64_t after = readSqliteHeap().used_bytes;
        QVERIFY2(after <= before + (64 << 10) && after + (64 << 10) >= before,
                 qPrintable(QString("%1 -> %2").arg(before).arg(after)));
        // Less than a step, published when its thread ends.
        void* small = nullptr;
        std::thread([&] { small = sqlite3_malloc(20000); }).join();
        QVERIFY(small);
        QVERIFY2(readSqliteHeap().used_bytes >= after + 20000,
                 qPrintable(QString("%1 -> %2").arg(after).arg(readSqliteHeap().used_bytes)));
        sqlite3_free(small);
    }

    // The limit bounds the page cache itself (the capping page cache keeps a connection's cache
    // at its size while SQLite's heap is at or above the limit): 32 MiB written through a
    // connection whose cache_size allows 256 MiB stay under a 12 MiB limit, and fill the cache
    // without one.
    void sqliteHeapLimitBoundsThePageCache() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        setSqliteHeapLimit(12 * kMiB);
        const uint64_t bounded = sqliteHeapAfterWriting(dir.filePath("bounded.sqlite"), 32);
        setSqliteHeapLimit(uint64_t(1) << 40);
        const uint64_t unbounded = sqliteHeapAfterWriting(dir.filePath("unbounded.sqlite"), 32);
        setSqliteHeapLimit(kDefaultSqliteHeapLimitBytes);
        qInfo("32 MiB written: SQLite heap %.1f MiB under a 12 MiB limit, %.1f MiB without", double(bounded) / kMiB,
              double(unbounded) / kMiB);
        QVERIFY2(bounded > 0 && bounded <= 14 * kMiB, qPrintable(QString("bounded: %1 bytes").arg(bounded)));
        QVERIFY2(unbounded >= 30 * kMiB, qPrintable(QString("unbounded: %1 bytes").arg(unbounded)));
        QVERIFY(readSqliteHeap().peak_bytes >= unbounded);
    }
};

QTEST_GUILESS_MAIN(TestMemoryStats)
#include "tst_memory_stats.moc"
