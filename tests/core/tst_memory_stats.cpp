#include <QtTest>
#include <cstdlib>
#include <cstring>
#include <malloc.h>

#include "core/observe/memory_stats.h"
#include "core/observe/metrics.h"

using namespace archivist::observe;

namespace {
constexpr uint64_t kMiB = 1024 * 1024;
}

class TestMemoryStats : public QObject {
    Q_OBJECT
private slots:
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
};

QTEST_GUILESS_MAIN(TestMemoryStats)
#include "tst_memory_stats.moc"
