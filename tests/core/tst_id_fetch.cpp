// sync::IdFetch: a batch is done only when every open session has asked for all of it and what
// it sent has settled; a session that opens mid-batch takes part, one that closes leaves; chunks
// respect the size asked for; the tallies count per relay; no session for a while → NoRelay;
// cancel ends the wait.
#include <QtTest>
#include <atomic>
#include <thread>

#include "core/sync/id_fetch.h"

using namespace archivist;

namespace {

std::vector<protocol::Bytes32> ids(int n) {
    std::vector<protocol::Bytes32> out(size_t(n), protocol::Bytes32{});
    for (int i = 0; i < n; ++i) out[size_t(i)][0] = uint8_t(i);
    return out;
}

// Asks for every chunk of the current batch as session `who` would, then reports its part done.
void askAll(sync::IdFetch& f, const void* who, size_t chunk, int returnedPerChunk = 0) {
    uint64_t gen = 0;
    for (;;) {
        auto c = f.nextChunk(who, chunk, &gen);
        if (c.empty()) break;
        QVERIFY(c.size() <= chunk);
        for (int i = 0; i < returnedPerChunk; ++i) f.returned(who);
        f.ended(who, gen, c.size(), true, {});
    }
    QVERIFY(!f.hasWork(who));
    f.partDone(who, gen);
}

}  // namespace

class TestIdFetch : public QObject {
    Q_OBJECT
private slots:
    void batchDoneWhenEverySessionHasDoneIt() {
        sync::IdFetch f;
        f.start();
        int a = 0, b = 0, c = 0;
        f.join(&a, "wss://a");
        f.join(&b, "wss://b");
        f.publish(ids(25));
        std::atomic<bool> cancel{false};
        askAll(f, &a, 10, 1);
        // b has not asked yet; c opens mid-batch and must take part too.
        f.join(&c, "wss://c");
        std::atomic<int> result{-1};
        std::thread waiter([&] { result = int(f.wait(&cancel, 60000)); });
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        QCOMPARE(result.load(), -1);
        askAll(f, &b, 7);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        QCOMPARE(result.load(), -1);  // c still asks
        f.leave(&c);                  // c's connection closed: it leaves the batch
        waiter.join();
        QCOMPARE(result.load(), int(sync::IdFetch::Wait::Done));
        const auto t = f.tallies();
        QCOMPARE(int(t.size()), 2);
        QCOMPARE(t[0].url, std::string("wss://a"));
        QCOMPARE(t[0].asked, uint64_t(25));
        QCOMPARE(t[0].returned, uint64_t(3));  // one per chunk of 10: 3 chunks
        QCOMPARE(t[1].asked, uint64_t(25));
        QCOMPARE(t[1].batches, uint64_t(1));

        // The next batch: every session starts it from its first id.
        f.publish(ids(3));
        QVERIFY(f.hasWork(&a));
        askAll(f, &a, 500);
        askAll(f, &b, 500);
        QCOMPARE(int(f.wait(&cancel, 60000)), int(sync::IdFetch::Wait::Done));
        QCOMPARE(f.tallies()[0].asked, uint64_t(28));
        f.stop();
        QVERIFY(!f.hasWork(&a));
        QVERIFY(f.nextChunk(&a, 10, nullptr).empty());
    }

    void failuresAreCountedWithTheReason() {
        sync::IdFetch f;
        f.start();
        int a = 0;
        f.join(&a, "wss://a");
        f.publish(ids(4));
        uint64_t gen = 0;
        auto c = f.nextChunk(&a, 10, &gen);
        QCOMPARE(int(c.size()), 4);
        f.ended(&a, gen, c.size(), false, "closed: blocked: no");
        f.ended(&a, gen + 7, 1, true, {});  // another batch's late answer: ignored
        const auto t = f.tallies();
        QCOMPARE(t[0].failed, uint64_t(1));
        QCOMPARE(t[0].asked, uint64_t(4));
        QCOMPARE(t[0].last_error, std::string("closed: blocked: no"));
    }

    void noSessionOrCancel() {
        sync::IdFetch f;
        f.start();
        f.publish(ids(2));
        std::atomic<bool> cancel{false};
        QCOMPARE(int(f.wait(&cancel, 100)), int(sync::IdFetch::Wait::NoRelay));
        int a = 0;
        f.join(&a, "wss://a");
        cancel = true;
        QCOMPARE(int(f.wait(&cancel, 100)), int(sync::IdFetch::Wait::Cancelled));
    }
};

QTEST_GUILESS_MAIN(TestIdFetch)
#include "tst_id_fetch.moc"
