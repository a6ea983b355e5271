// Hourly relay statistics: accumulate per relay per hour, flush with add semantics, keep data
// when the store fails, stay within the relay bound.
#include <QTemporaryDir>
#include <QtTest>
#include <sqlite3.h>

#include <atomic>
#include <thread>

#include "core/relays/hourly_stats.h"
#include "core/relays/relay_state_store.h"

using namespace archivist;

namespace {

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kT0 = int64_t(480'000) * kHour;  // a whole hour

struct Fixture {
    QTemporaryDir dir;
    std::filesystem::path file;
    std::unique_ptr<relays::RelayStateStore> store;
    std::atomic<int64_t> now{kT0 + 60'000};

    bool open(std::initializer_list<const char*> urls) {
        file = std::filesystem::path(dir.path().toStdString()) / "relays.sqlite";
        auto s = relays::RelayStateStore::open(file);
        if (!s) return false;
        store = std::move(*s);
        for (const char* u : urls) {
            if (!store->directory().upsert(u, "seed", 1)) return false;
        }
        return true;
    }
    std::function<int64_t()> clock() {
        return [this] { return now.load(); };
    }
    // Runs SQL on a second connection (fault injection from outside the store).
    bool sql(const char* text) {
        sqlite3* db = nullptr;
        bool ok = sqlite3_open(file.c_str(), &db) == SQLITE_OK;
        sqlite3_busy_timeout(db, 5000);
        ok = ok && sqlite3_exec(db, text, nullptr, nullptr, nullptr) == SQLITE_OK;
        sqlite3_close(db);
        return ok;
    }
    relays::RelayAggregate aggregate(const std::string& url, int window_hours) {
        auto a = store->observations().aggregates({url}, now.load(), window_hours);
        if (!a || a->empty()) return {};
        return a->front();
    }
};

}  // namespace

class TestHourlyStats : public QObject {
    Q_OBJECT
private slots:
    // Events refused by subscription discipline count as rejected, under their own reason names,
    // and the directory's page (what `archivist relays --json` prints) shows them per relay.
    void refusedEventsAreRejectionsByReason() {
        Fixture f;
        QVERIFY(f.open({"wss://a.example"}));
        relays::HourlyStats stats(10, f.clock());
        relays::RefusalCounts refused{};
        refused[size_t(observe::EventRefusal::UnknownSubscription) - 1] = 5;
        refused[size_t(observe::EventRefusal::OutsideFilter) - 1] = 4;
        stats.addRefused("wss://a.example", refused);
        stats.addRejected("wss://a.example", protocol::Reject::BadSignature, 1);
        QVERIFY(stats.flush(*f.store, f.now));
        stats.addRefused("wss://a.example", refused);  // later in the hour: added up
        QVERIFY(stats.flush(*f.store, f.now));
        QCOMPARE(f.aggregate("wss://a.example", 1).rejected, uint64_t(19));
        relays::DirectoryQuery q;
        q.now_ms = f.now;
        auto page = f.store->directory().page(q);
        QVERIFY(page && page->rows.size() == 1);
        const std::map<std::string, uint64_t> want{{"bad_signature", 1}, {"outside_filter", 8}, {"unknown_subscription", 10}};
        QVERIFY(page->rows[0].rejected == want);
    }

    void accumulatesAndFlushesWithAddSemantics() {
        Fixture f;
        QVERIFY(f.open({"wss://a.example", "wss://b.example"}));
        relays::HourlyStats stats(10, f.clock());
        stats.addReceived("wss://a.example", 10, 5000);
        stats.addOutcome("wss://a.example", 6, 3);
        stats.addRejected("wss://a.example", protocol::Reject::BadSignature, 1);
        stats.addConnectedSeconds("wss://a.example", 60);
        stats.addFailure("wss://b.example");
        stats.addReceived("wss://not-in-directory.example", 1, 1);
        QCOMPARE(stats.entries(), size_t(3));
        auto n = stats.flush(*f.store, f.now);
        QVERIFY2(n, n ? "" : n.error().message.c_str());
        QCOMPARE(*n, size_t(2));
        QCOMPARE(stats.unknownRelayRows(), uint64_t(1));
        QCOMPARE(stats.entries(), size_t(0));

        // Same hour again (an optimizer cycle a few minutes later): the store adds up.
        f.now += 5 * 60'000;
        stats.addReceived("wss://a.example", 4, 1000);
        stats.addOutcome("wss://a.example", 2, 2);
        relays::RejectCounts rej{};
        rej[size_t(protocol::Reject::BadSignature)] = 2;
        rej[size_t(protocol::Reject::IdMismatch)] = 1;
        stats.addOutcome("wss://a.example", 0, 0, rej);
        QVERIFY(stats.flush(*f.store, f.now));

        const auto a = f.aggregate("wss://a.example", 1);
        QCOMPARE(a.received, uint64_t(14));
        QCOMPARE(a.bytes, uint64_t(6000));
        QCOMPARE(a.novel, uint64_t(8));
        QCOMPARE(a.duplicates, uint64_t(5));
        QCOMPARE(a.rejected, uint64_t(4));
        QCOMPARE(a.connected_s, int64_t(60));
        QCOMPARE(a.hours_with_data, int64_t(1));
        QCOMPARE(f.aggregate("wss://b.example", 1).failures, uint64_t(1));

        // Rejections by reason are merged, not overwritten.
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(f.file.c_str(), &db), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        QCOMPARE(sqlite3_prepare_v2(db, "SELECT rejected_json FROM relay_hourly h JOIN relays r ON r.id = h.relay "
                                        "WHERE r.url = 'wss://a.example'", -1, &st, nullptr), SQLITE_OK);
        QCOMPARE(sqlite3_step(st), SQLITE_ROW);
        QCOMPARE(QString(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))),
                 QString(R"({"bad_signature":3,"id_mismatch":1})"));
        sqlite3_finalize(st);
        sqlite3_close(db);
    }

    void updatesLandInTheHourTheyHappened() {
        Fixture f;
        QVERIFY(f.open({"wss://a.example"}));
        relays::HourlyStats stats(10, f.clock());
        stats.addReceived("wss://a.example", 7, 0);
        f.now += kHour;  // next hour, no flush in between
        stats.addReceived("wss://a.example", 3, 0);
        QCOMPARE(stats.entries(), size_t(2));
        auto n = stats.flush(*f.store, f.now);
        QVERIFY(n);
        QCOMPARE(*n, size_t(2));
        QCOMPARE(f.aggregate("wss://a.example", 1).received, uint64_t(3));
        QCOMPARE(f.aggregate("wss://a.example", 2).received, uint64_t(10));
        QCOMPARE(f.aggregate("wss://a.example", 2).hours_with_data, int64_t(2));
    }

    void relaysBeyondTheBoundAreCounted() {
        Fixture f;
        QVERIFY(f.open({}));
        relays::HourlyStats stats(3, f.clock());
        for (int i = 0; i < 5; ++i) stats.addReceived("wss://r" + std::to_string(i) + ".example", 10, 100);
        stats.addReceived("wss://r0.example", 1, 1);  // a relay already held still counts
        QCOMPARE(stats.entries(), size_t(3));
        QCOMPARE(stats.capacity(), size_t(3) * relays::HourlyStats::kMaxHours);
        QCOMPARE(stats.overflowUpdates(), uint64_t(2));
        QCOMPARE(stats.overflowEvents(), uint64_t(20));
        // The bound is per hour: a new hour has room again.
        f.now += kHour;
        stats.addReceived("wss://r4.example", 1, 1);
        QCOMPARE(stats.entries(), size_t(4));
        QCOMPARE(stats.overflowUpdates(), uint64_t(2));
    }

    void failedFlushKeepsTheData() {
        Fixture f;
        QVERIFY(f.open({"wss://a.example"}));
        relays::HourlyStats stats(10, f.clock());
        stats.addReceived("wss://a.example", 5, 50);
        // The store's table disappears (as good as a read-only or broken file for this write).
        QVERIFY(f.sql("ALTER TABLE relay_hourly RENAME TO relay_hourly_away"));
        auto failed = stats.flush(*f.store, f.now);
        QVERIFY(!failed);
        QCOMPARE(stats.flushFailures(), uint64_t(1));
        QCOMPARE(stats.entries(), size_t(1));
        QCOMPARE(stats.lastFlushMs(), int64_t(0));
        // More traffic while the store is broken joins the kept row.
        stats.addReceived("wss://a.example", 2, 20);
        QCOMPARE(stats.entries(), size_t(1));
        QVERIFY(f.sql("ALTER TABLE relay_hourly_away RENAME TO relay_hourly"));
        auto ok = stats.flush(*f.store, f.now);
        QVERIFY2(ok, ok ? "" : ok.error().message.c_str());
        QCOMPARE(*ok, size_t(1));
        QCOMPARE(stats.entries(), size_t(0));
        QCOMPARE(f.aggregate("wss://a.example", 1).received, uint64_t(7));
        QCOMPARE(f.aggregate("wss://a.example", 1).bytes, uint64_t(70));
        QCOMPARE(stats.lastFlushMs(), f.now.load());
    }

    void concurrentFeedersLoseNothing() {
        Fixture f;
        QVERIFY(f.open({"wss://a.example", "wss://b.example"}));
        relays::HourlyStats stats(10, f.clock());
        constexpr int kPerThread = 20000;
        std::thread t1([&] { for (int i = 0; i < kPerThread; ++i) stats.addReceived("wss://a.example", 1, 2); });
        std::thread t2([&] { for (int i = 0; i < kPerThread; ++i) stats.addOutcome("wss://b.example", 1, 0); });
        // Flushes race with the feeders; everything ends up in the store exactly once.
        for (int i = 0; i < 20; ++i) QVERIFY(stats.flush(*f.store, f.now));
        t1.join();
        t2.join();
        QVERIFY(stats.flush(*f.store, f.now));
        QCOMPARE(f.aggregate("wss://a.example", 1).received, uint64_t(kPerThread));
        QCOMPARE(f.aggregate("wss://a.example", 1).bytes, uint64_t(2 * kPerThread));
        QCOMPARE(f.aggregate("wss://b.example", 1).novel, uint64_t(kPerThread));
    }
};

QTEST_GUILESS_MAIN(TestHourlyStats)
#include "tst_hourly_stats.moc"
