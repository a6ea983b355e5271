#include <QtTest>

#include "core/ingest/recent_id_cache.h"

using archivist::ingest::RecentIdCache;
using archivist::protocol::Bytes32;

namespace {
Bytes32 idOf(uint32_t n) {
    Bytes32 id{};
    for (int i = 0; i < 4; ++i) id[size_t(i)] = uint8_t(n >> (8 * i));
    id[31] = 0xab;
    return id;
}
}  // namespace

class TestRecentIdCache : public QObject {
    Q_OBJECT
private slots:
    void boundedWithFifoEviction() {
        RecentIdCache cache(100);
        for (uint32_t i = 0; i < 1000; ++i) {
            cache.insert(idOf(i), i);
            QVERIFY(cache.size() <= 100);
        }
        QCOMPARE(cache.size(), size_t(100));
        QVERIFY(!cache.find(idOf(0)));
        QVERIFY(!cache.find(idOf(899)));
        QCOMPARE(*cache.find(idOf(900)), int64_t(900));
        QCOMPARE(*cache.find(idOf(999)), int64_t(999));
    }

    void reinsertIsIdempotent() {
        RecentIdCache cache(3);
        cache.insert(idOf(1), 1);
        cache.insert(idOf(1), 1);
        cache.insert(idOf(2), 2);
        cache.insert(idOf(3), 3);
        QCOMPARE(cache.size(), size_t(3));
        QVERIFY(cache.find(idOf(1)));
        cache.clear();
        QCOMPARE(cache.size(), size_t(0));
        QVERIFY(!cache.find(idOf(2)));
    }
};

QTEST_GUILESS_MAIN(TestRecentIdCache)
#include "tst_recent_id_cache.moc"
