// RelayStateOwner, the one owner of relays.sqlite, under a slow and a failing disk (a SQLite VFS
// that sleeps before every write, or fails them): network threads keep reading and storing while
// its writes crawl, reports are coalesced, a full inbox refuses (and the producer offers again),
// a failed write is counted and retried — and none of it is lost.
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "core/net/relay_pool.h"
#include "core/net/relay_url.h"
#include "core/observe/metrics.h"
#include "core/relays/relay_state_owner.h"
#include "core/relays/relay_state_store.h"
#include "core/sync/backfill_slots.h"
#include "core/sync/relay_sync.h"
#include "tests/support/fake_relay.h"
#include "tests/support/signed_events.h"
#include "tests/support/slow_sqlite_vfs.h"
#include "tests/support/store_rig.h"

using namespace archivist;
using observe::RelayState;

namespace {

std::unique_ptr<relays::RelayStateStore> openStore(const std::filesystem::path& file, bool slow) {
    relays::StoreOpenOptions o;
    if (slow) o.vfs = testing::slowDiskVfs();
    auto s = relays::RelayStateStore::open(file, o);
    if (!s) qFatal("relays.sqlite: %s", s.error().message.c_str());
    return std::move(*s);
}

// Every report a producer makes is eventually taken: refused ones are offered again, as the
// connection and the sync do.
template <typename Offer>
void offerUntilTaken(Offer offer, std::atomic<uint64_t>& refusals) {
    while (!offer()) {
        ++refusals;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

struct SlowDiskReset {
    ~SlowDiskReset() {
        testing::setSlowDiskWriteDelayMs(0);
        testing::setSlowDiskSyncDelayMs(0);
        testing::setSlowDiskFailWrites(false);
    }
};

}  // namespace

class TestRelayStateOwner : public QObject {
    Q_OBJECT
private slots:
    // Relays connected through the pool while every page the owner writes takes 40 ms: their
    // events are received and stored at network speed (reading never waits for the owner), the
    // owner writes their reports in far fewer transactions than it took reports, and the cursor
    // and backfill state they reported are all in the database at the end.
    void aSlowDiskNeverSlowsReading() {
        SlowDiskReset reset;
        testing::StoreRig rig;
        QVERIFY2(rig.open(), rig.error.c_str());
        const auto file = rig.store->paths().relays;
        std::vector<std::unique_ptr<testing::FakeRelay>> fakes;
        size_t events = 0;
        for (int r = 0; r < 3; ++r) {
            fakes.push_back(std::make_unique<testing::FakeRelay>());
            QVERIFY(fakes.back()->start());
            testing::EventSigner s(40 + r);
            for (int i = 0; i < 300; ++i, ++events)
                fakes.back()->addEvent(s.make(1700000000 + i * 11, 1, "r" + std::to_string(r) + " " + std::to_string(i)));
        }
        auto store = openStore(file, true);
        for (const auto& f : fakes) QVERIFY(store->directory().upsert(f->url().toStdString(), "user", 1));
        relays::RelayStateOwner owner(std::move(store), &rig.metrics);
        owner.start();
        testing::setSlowDiskWriteDelayMs(40);

        sync::BackfillSlots backfillSlots(4);
        net::PoolOptions po;
        po.threads = 2;
        po.connection.backoff_base_ms = 50;
        net::RelayPool pool(po, *rig.sink, owner, rig.policy);
        pool.start();
        sync::SyncOptions so;
        so.backfill_limit = 50;  // many queries, many checkpoints
        for (const auto& f : fakes) {
            net::RelayAdd add;
            add.url = *net::normalizeRelayUrl(f->url().toStdString());
            add.start.source = "user";
            add.driver = [&owner, &backfillSlots, so, u = add.url.text] {
                return std::make_unique<sync::RelaySync>(u, so, sync::SyncResume{}, owner, backfillSlots);
            };
            QVERIFY(pool.addRelay(std::move(add)));
        }
        int64_t maxBuffered = 0;
        QElapsedTimer t;
        t.start();
        while (rig.metrics.total("archivist_events_stored_total") < double(events) && t.elapsed() < 60000) {
            QTest::qWait(20);
            for (const auto& st : pool.statuses()) maxBuffered = std::max(maxBuffered, st.buffered_bytes);
        }
        QCOMPARE(rig.metrics.total("archivist_events_stored_total"), double(events));
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                auto st = pool.statuses();
                return std::all_of(st.begin(), st.end(),
                                   [](const auto& v) { return v.sync.backfill == observe::BackfillState::Done; });
            }(),
            30000);
        QVERIFY2(maxBuffered < 4 * 1024 * 1024, qPrintable(QString::number(maxBuffered)));
        QVERIFY(testing::slowDiskWrites() > 0);
        // Let the live cursors move once more, then stop: everything reported is written.
        QTest::qWait(1500);
        pool.stop();
        testing::setSlowDiskWriteDelayMs(0);
        owner.stop(std::chrono::milliseconds(10000));
        const auto stats = owner.stats();
        QCOMPARE(stats.pending_relays, size_t(0));
        QCOMPARE(stats.write_errors, uint64_t(0));
        QCOMPARE(stats.reports_written, stats.reports_taken);
        QVERIFY2(stats.batches_written * 2 < stats.reports_taken,
                 qPrintable(QString("%1 batches for %2 reports").arg(stats.batches_written).arg(stats.reports_taken)));
        auto check = openStore(file, false);
        for (const auto& f : fakes) {
            auto rec = check->directory().find(f->url().toStdString());
            QVERIFY(rec && *rec);
            QCOMPARE((*rec)->status, RelayState::Stopped);
            QVERIFY((*rec)->backfill_done);
            QVERIFY((*rec)->live_cursor.has_value());
        }
        QVERIFY(rig.store->shutdown());
    }

    // The inbox is bounded: 6,000 relays reporting from four threads at once while the disk
    // crawls fill it; the excess is refused, offered again by its producers, and every relay's
    // newest status, highest cursor and every gap end up in the database.
    void aFullInboxRefusesAndNothingIsLost() {
        SlowDiskReset reset;
        QTemporaryDir dir;
        const auto file = std::filesystem::path(dir.path().toStdString()) / "relays.sqlite";
        constexpr int kRelays = 6000;
        constexpr int kThreads = 4;
        constexpr int kRounds = 3;
        auto store = openStore(file, true);
        std::vector<relays::DiscoveredUrl> urls;
        for (int i = 0; i < kRelays; ++i) urls.push_back({"wss://r" + std::to_string(i) + ".example", "nip65"});
        QCOMPARE(*store->directory().upsertDiscovered(urls, 1), uint64_t(kRelays));
        observe::MetricsRegistry metrics;
        relays::RelayStateOwner owner(std::move(store), &metrics);
        owner.start();
        testing::setSlowDiskWriteDelayMs(5);

        std::atomic<uint64_t> refusals{0};
        std::vector<std::thread> producers;
        for (int t = 0; t < kThreads; ++t) {
            producers.emplace_back([&, t] {
                for (int round = 1; round <= kRounds; ++round) {
                    for (int i = t; i < kRelays; i += kThreads) {
                        const std::string url = urls[size_t(i)].url;
                        net::StatusReport st;
                        st.url = url;
                        st.state = round == kRounds ? RelayState::BackingOff : RelayState::Connected;
                        st.consecutive_failures = round;
                        st.at_ms = round;
                        offerUntilTaken([&] { return owner.reportStatus(st); }, refusals);
                        sync::SyncProgress p;
                        p.url = url;
                        p.live_cursor = 1000 * round + i;
                        p.gaps.push_back(sync::BackfillGap{round, round, {uint16_t(i % 7)}, "test"});
                        p.at_ms = round;
                        offerUntilTaken([&] { return owner.reportProgress(p); }, refusals);
                    }
                }
            });
        }
        for (auto& p : producers) p.join();
        const auto during = owner.stats();
        QVERIFY2(refusals.load() > 0, "the inbox never filled: the test proves nothing");
        QCOMPARE(during.reports_refused, refusals.load());
        QVERIFY(during.pending_relays <= relays::RelayStateOwner::kMaxPendingRelays);
        QVERIFY(metrics.renderPrometheus().find("archivist_relay_state_reports_refused_total") != std::string::npos);
        testing::setSlowDiskWriteDelayMs(0);
        owner.stop(std::chrono::milliseconds(30000));
        const auto stats = owner.stats();
        QCOMPARE(stats.reports_taken, uint64_t(kRelays) * kRounds * 2);
        QCOMPARE(stats.reports_written, stats.reports_taken);
        QVERIFY(stats.batches_written < stats.reports_taken);

        auto check = openStore(file, false);
        for (int i = 0; i < kRelays; i += 97) {
            auto rec = check->directory().find(urls[size_t(i)].url);
            QVERIFY(rec && *rec);
            QCOMPARE((*rec)->status, RelayState::BackingOff);
            QCOMPARE((*rec)->consecutive_failures, kRounds);
            QCOMPARE((*rec)->live_cursor.value_or(-1), int64_t(1000 * kRounds + i));
        }
        auto gaps = check->sync().gaps("", size_t(kRelays) * kRounds * 2);
        QVERIFY(gaps);
        QCOMPARE(gaps->size(), size_t(kRelays) * kRounds);
    }

    // A write that fails (EIO) is counted — the engine turns the counter into an incident — and
    // the batch goes back into the inbox; once the disk recovers it is written, nothing lost.
    void aFailedWriteIsCountedAndRetried() {
        SlowDiskReset reset;
        QTemporaryDir dir;
        const auto file = std::filesystem::path(dir.path().toStdString()) / "relays.sqlite";
        auto store = openStore(file, true);
        QVERIFY(store->directory().upsert("wss://a.example", "user", 1));
        observe::MetricsRegistry metrics;
        relays::OwnerOptions oo;
        oo.retry_base_ms = 50;
        oo.retry_cap_ms = 200;
        relays::RelayStateOwner owner(std::move(store), &metrics, oo);
        owner.start();
        testing::setSlowDiskFailWrites(true);
        net::StatusReport st{"wss://a.example", RelayState::Connected, 0, "", 10, 10};
        QVERIFY(owner.reportStatus(st));
        sync::SyncProgress p;
        p.url = "wss://a.example";
        p.live_cursor = 1700000000;
        p.backfill_checkpoint = "bf1 cp";
        QVERIFY(owner.reportProgress(p));
        QTRY_VERIFY_WITH_TIMEOUT(owner.stats().write_errors >= 2, 10000);  // retried, failing again
        QVERIFY(metrics.total("archivist_relay_state_write_errors_total") >= 2);
        QVERIFY(!owner.stats().last_error.empty());
        QCOMPARE(owner.stats().pending_relays, size_t(1));  // kept, not dropped
        // Newer reports arrive meanwhile and are written over the old ones.
        p.live_cursor = 1700000100;
        p.backfill_checkpoint.reset();
        QVERIFY(owner.reportProgress(p));
        testing::setSlowDiskFailWrites(false);
        QTRY_COMPARE_WITH_TIMEOUT(owner.stats().pending_relays, size_t(0), 10000);
        owner.stop();
        auto check = openStore(file, false);
        auto rec = *check->directory().find("wss://a.example");
        QCOMPARE(rec->status, RelayState::Connected);
        QCOMPARE(rec->last_connected_ms.value_or(0), int64_t(10));
        QCOMPARE(rec->live_cursor.value_or(0), int64_t(1700000100));
        QCOMPARE(rec->backfill_checkpoint, std::string("bf1 cp"));
    }

    // Jobs (questions and commands) run on the owner thread in the order posted, and a reply
    // comes back by whatever route the asker chose.
    void jobsRunInOrderOnTheOwnerThread() {
        QTemporaryDir dir;
        auto store = openStore(std::filesystem::path(dir.path().toStdString()) / "relays.sqlite", false);
        relays::RelayStateOwner owner(std::move(store), nullptr);
        owner.start();
        std::mutex m;
        std::vector<int> order;
        std::set<std::thread::id> threads;
        std::atomic<int> written{0};
        for (int i = 0; i < 50; ++i)
            QVERIFY(owner.post([&, i](relays::RelayStateStore& s) {
                if (s.directory().upsert("wss://j" + std::to_string(i) + ".example", "user", i)) ++written;
                std::lock_guard lock(m);
                order.push_back(i);
                threads.insert(std::this_thread::get_id());
            }));
        owner.stop();
        QCOMPARE(written.load(), 50);
        QCOMPARE(order.size(), size_t(50));
        QVERIFY(std::is_sorted(order.begin(), order.end()));
        QCOMPARE(threads.size(), size_t(1));
        QVERIFY(!threads.count(std::this_thread::get_id()));
        QVERIFY(!owner.post([](relays::RelayStateStore&) {}));  // stopped: refused
    }
};

QTEST_GUILESS_MAIN(TestRelayStateOwner)
#include "tst_relay_state_owner.moc"
