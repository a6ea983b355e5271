#include <QtTest>
#include <atomic>
#include <thread>

#include "core/ingest/bounded_queue.h"

using archivist::ingest::BoundedQueue;

class TestBoundedQueue : public QObject {
    Q_OBJECT
private slots:
    void pushBlocksWhenFullAndNothingIsDropped() {
        BoundedQueue<int> q(4);
        std::atomic<int> pushed{0};
        std::thread producer([&] {
            for (int i = 0; i < 100; ++i) {
                QVERIFY(q.push(i));
                pushed.fetch_add(1);
            }
        });
        // The producer must stall at the capacity.
        QTRY_COMPARE_WITH_TIMEOUT(pushed.load(), 4, 2000);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        QCOMPARE(pushed.load(), 4);
        QCOMPARE(q.depth(), size_t(4));
        QVERIFY(q.blockedPushes() >= 1);
        // Everything arrives, in order.
        for (int i = 0; i < 100; ++i) {
            int v = -1;
            QVERIFY(q.pop(v));
            QCOMPARE(v, i);
            QVERIFY(q.depth() <= q.capacity());
        }
        producer.join();
        QCOMPARE(q.depth(), size_t(0));
    }

    void tryPushNeverBlocks() {
        BoundedQueue<int> q(2);
        int a = 1, b = 2, c = 3;
        QVERIFY(q.tryPush(a));
        QVERIFY(q.tryPush(b));
        QVERIFY(!q.tryPush(c));
        QCOMPARE(c, 3);  // left with the caller
    }

    void closeDrainsThenStops() {
        BoundedQueue<int> q(8);
        QVERIFY(q.push(1));
        QVERIFY(q.push(2));
        q.close();
        QVERIFY(!q.push(3));
        int v = 0;
        QVERIFY(q.pop(v));
        QCOMPARE(v, 1);
        QVERIFY(q.pop(v));
        QCOMPARE(v, 2);
        QVERIFY(!q.pop(v));
        QVERIFY(q.closedAndEmpty());
    }

    void closeWakesBlockedProducerAndConsumer() {
        BoundedQueue<int> full(1);
        QVERIFY(full.push(0));
        std::atomic<int> result{-1};
        std::thread producer([&] { result = full.push(1) ? 1 : 0; });
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        full.close();
        producer.join();
        QCOMPARE(result.load(), 0);

        BoundedQueue<int> empty(1);
        std::thread consumer([&] {
            int v;
            result = empty.pop(v) ? 1 : 0;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        empty.close();
        consumer.join();
        QCOMPARE(result.load(), 0);
    }

    void popAllTakesUpToMaxAndTimesOut() {
        BoundedQueue<int> q(16);
        for (int i = 0; i < 10; ++i) QVERIFY(q.push(i));
        std::vector<int> out;
        QCOMPARE(q.popAll(out, 4, std::chrono::milliseconds(10)), size_t(4));
        QCOMPARE(q.popAll(out, 100, std::chrono::milliseconds(10)), size_t(6));
        QCOMPARE(out.size(), size_t(10));
        QCOMPARE(out.back(), 9);
        const auto t0 = std::chrono::steady_clock::now();
        QCOMPARE(q.popAll(out, 100, std::chrono::milliseconds(30)), size_t(0));
        QVERIFY(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(25));
    }

    // Items taken with popAllHeld() keep their places until released: a producer waits while
    // queued + held items fill the capacity, and depth() counts both.
    void heldItemsCountAgainstTheCapacityUntilReleased() {
        BoundedQueue<int> q(3);
        QVERIFY(q.push(1));
        QVERIFY(q.push(2));
        std::vector<int> got;
        QCOMPARE(q.popAllHeld(got, 8, std::chrono::milliseconds(0)), size_t(2));
        QCOMPARE(got, (std::vector<int>{1, 2}));
        QCOMPARE(q.depth(), size_t(2));
        int three = 3;
        QVERIFY(q.tryPush(three));
        int four = 4;
        QVERIFY(!q.tryPush(four));  // 1 queued + 2 held = 3
        std::atomic<bool> pushed{false};
        std::thread producer([&] {
            pushed = q.push(4);
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        QVERIFY(!pushed.load());
        q.release(1);
        producer.join();
        QVERIFY(pushed.load());
        QCOMPARE(q.depth(), size_t(3));  // 3 and 4 queued, one held
        q.release(5);  // more than held: clamps
        QCOMPARE(q.depth(), size_t(2));
        got.clear();
        QCOMPARE(q.popAll(got, 8, std::chrono::milliseconds(0)), size_t(2));
        QCOMPARE(got, (std::vector<int>{3, 4}));
    }
};

QTEST_GUILESS_MAIN(TestBoundedQueue)
#include "tst_bounded_queue.moc"
