#include <QtTest>

#include <deque>
#include <map>
#include <random>

#include "core/ingest/copy_cache.h"
#include "core/ingest/recent_id_cache.h"

using archivist::ingest::CopyCache;
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

    // The open-addressed table against a plain model: 200,000 insertions (a fifth of them
    // repeats) into a cache of 50 entries (128 slots, long probe runs that wrap around the end),
    // and after each one every id of a window around it is found exactly when the model has it,
    // with its own entry. Backward-shift deletion that broke a run would lose a later entry.
    void matchesAModelUnderChurn() {
        constexpr size_t kCap = 50;
        RecentIdCache cache(kCap);
        std::deque<uint32_t> fifo;          // the model: the last kCap distinct ids
        std::map<uint32_t, int64_t> present;
        std::mt19937 rng(7);
        for (int step = 0; step < 200000; ++step) {
            const uint32_t n = (rng() % 5 == 0 && !fifo.empty()) ? fifo[rng() % fifo.size()] : uint32_t(rng() % 400);
            const int64_t rk = int64_t(n) * 3 + 1;
            cache.insert(idOf(n), rk, int64_t(n), archivist::archive::EventPos{n, uint64_t(n) * 2, n % 7});
            if (!present.count(n)) {
                if (fifo.size() == kCap) {
                    present.erase(fifo.front());
                    fifo.pop_front();
                }
                fifo.push_back(n);
                present[n] = rk;
            }
            QCOMPARE(cache.size(), present.size());
            for (uint32_t m = n >= 20 ? n - 20 : 0; m < n + 20; ++m) {
                const auto e = cache.findEntry(idOf(m));
                const auto it = present.find(m);
                QCOMPARE(bool(e), it != present.end());
                if (e) {
                    QCOMPARE(e->rk, it->second);
                    QCOMPARE(e->sighash, int64_t(m));
                    QCOMPARE(e->pos.offset, uint64_t(m) * 2);
                }
            }
        }
        for (uint32_t m = 0; m < 400; ++m) QCOMPARE(bool(cache.find(idOf(m))), present.count(m) == 1);
    }

    // insertMany is insert, one lock; probe answers the commit writer's three questions.
    void insertManyAndProbe() {
        RecentIdCache cache(4);
        const uint64_t epoch = cache.epoch(), generation = cache.generation();
        std::vector<std::pair<Bytes32, RecentIdCache::Entry>> group;
        for (uint32_t i = 1; i <= 3; ++i) group.emplace_back(idOf(i), RecentIdCache::Entry{int64_t(i), 0, {}});
        cache.insertMany(group);
        auto p = cache.probe(idOf(2), epoch, generation);
        QVERIFY(p.entry);
        QCOMPARE(p.entry->rk, int64_t(2));
        QVERIFY(p.same_generation);
        QVERIFY(p.absent_still_valid);  // 3 insertions since, capacity 4: all of them are in the cache
        group.clear();
        for (uint32_t i = 4; i <= 5; ++i) group.emplace_back(idOf(i), RecentIdCache::Entry{int64_t(i), 0, {}});
        cache.insertMany(group);
        p = cache.probe(idOf(9), epoch, generation);
        QVERIFY(!p.entry);
        QVERIFY(!p.absent_still_valid);  // 5 insertions since: one of them may have been evicted
        QVERIFY(!cache.find(idOf(1)));
        cache.clear();
        p = cache.probe(idOf(5), cache.epoch(), generation);
        QVERIFY(!p.entry);
        QVERIFY(!p.same_generation);
        QVERIFY(!p.absent_still_valid);
    }

    // The verify threads' cache of JSON handled lately. Its shards evict on their own, so the
    // model is what must hold whatever the keyed hash does: never more than the capacity; an
    // entry found is the one inserted under its key; every one of the last (capacity / shards)
    // keys added is found (no shard took more of them than it holds). Tiny shards (5 entries,
    // 16 slots) make long probe runs that wrap around, so a deletion that broke a run would lose
    // one of them.
    void copyCacheUnderChurn() {
        constexpr size_t kPerShard = 5;
        CopyCache cache(kPerShard * CopyCache::kShards);
        QCOMPARE(cache.capacity(), kPerShard * CopyCache::kShards);
        auto entryOf = [](uint32_t n) {
            CopyCache::Entry e;
            e.id = idOf(n * 7 + 1);
            e.created_at = int64_t(n) * 3;
            e.sighash = -int64_t(n);
            e.flags = n % 4;
            e.signature_checked = n % 2;
            return e;
        };
        std::mt19937 rng(11);
        std::deque<uint32_t> last;  // the last kPerShard keys inserted when absent
        for (int step = 0; step < 100000; ++step) {
            const uint32_t n = (rng() % 4 == 0 && !last.empty()) ? last[rng() % last.size()] : uint32_t(rng() % 3000);
            const bool present = bool(cache.find(idOf(n)));
            cache.insert(idOf(n), entryOf(n));
            if (!present) {  // a key present keeps its place in the FIFO order
                last.push_back(n);
                if (last.size() > kPerShard) last.pop_front();
            }
            QVERIFY(cache.size() <= cache.capacity());
            for (uint32_t m : last) QVERIFY(cache.find(idOf(m)));
            for (uint32_t m = n >= 10 ? n - 10 : 0; m < n + 10; ++m)
                if (const auto e = cache.find(idOf(m))) {
                    const auto want = entryOf(m);
                    QCOMPARE(e->id, want.id);
                    QCOMPARE(e->created_at, want.created_at);
                    QCOMPARE(e->sighash, want.sighash);
                    QCOMPARE(e->flags, want.flags);
                    QCOMPARE(e->signature_checked, want.signature_checked);
                }
        }
        QCOMPARE(cache.size(), cache.capacity());  // 3,000 keys fill every shard
        cache.clear();
        QCOMPARE(cache.size(), size_t(0));
        for (uint32_t m = 0; m < 3000; ++m) QVERIFY(!cache.find(idOf(m)));
        cache.insert(idOf(1), entryOf(1));
        QCOMPARE(cache.find(idOf(1))->created_at, int64_t(3));
    }

    // Keys are the SHA-256 of the exact bytes: one byte apart is another key.
    void copyCacheKeysAreTheBytes() {
        const std::string a = R"({"id":"00","content":"x"})";
        std::string b = a;
        QCOMPARE(CopyCache::keyOf(a), CopyCache::keyOf(b));
        for (size_t i = 0; i < b.size(); ++i) {
            b[i] ^= 1;
            QVERIFY(CopyCache::keyOf(a) != CopyCache::keyOf(b));
            b[i] ^= 1;
        }
        QVERIFY(CopyCache::keyOf(a) != CopyCache::keyOf(a + " "));
    }
};

QTEST_GUILESS_MAIN(TestRecentIdCache)
#include "tst_recent_id_cache.moc"
