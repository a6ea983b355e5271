// Relay state that cannot be rebuilt from the archive: the directory, cursors, checkpoints, gaps;
// plus the backfill slot scheduler and the config file.
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "core/engine/config.h"
#include "core/net/backfill_slots.h"
#include "core/relays/relay_state_store.h"

using namespace archivist;

class TestRelayState : public QObject {
    Q_OBJECT
private slots:
    void directoryPersistsAcrossReopen() {
        QTemporaryDir dir;
        const auto file = std::filesystem::path(dir.path().toStdString()) / "relays.sqlite";
        {
            auto s = relays::RelayStateStore::open(file);
            QVERIFY2(s, s ? "" : s.error().message.c_str());
            auto r = (*s)->upsert("wss://a.example", "user", 1000);
            QVERIFY(r);
            QCOMPARE(r->source, std::string("user"));
            QCOMPARE(r->first_seen_ms, int64_t(1000));
            // A later sighting keeps the first source and first_seen.
            r = (*s)->upsert("wss://a.example", "seed", 2000);
            QCOMPARE(r->source, std::string("user"));
            QCOMPARE(r->first_seen_ms, int64_t(1000));
            QCOMPARE(r->last_seen_ms, int64_t(2000));
            QVERIFY((*s)->saveLiveCursor("wss://a.example", 1700000000));
            QVERIFY((*s)->saveBackfill("wss://a.example", "cp-1", false));
            QVERIFY((*s)->saveStatus("wss://a.example", "backing_off", 3, "connect_failed: refused", std::nullopt));
            relays::GapRecord g{"wss://a.example", 5, 5, "1", "overfull_second", 3000};
            QVERIFY((*s)->addGap(g));
        }
        auto s = relays::RelayStateStore::open(file);
        QVERIFY(s);
        auto rec = (*s)->find("wss://a.example");
        QVERIFY(rec && *rec);
        QCOMPARE((*rec)->live_cursor.value_or(-1), int64_t(1700000000));
        QCOMPARE((*rec)->backfill_checkpoint, std::string("cp-1"));
        QCOMPARE((*rec)->consecutive_failures, 3);
        QCOMPARE((*rec)->status, std::string("backing_off"));
        auto gaps = (*s)->gaps("", 10);
        QVERIFY(gaps);
        QCOMPARE(gaps->size(), size_t(1));
        QCOMPARE(gaps->front().reason, std::string("overfull_second"));
        QCOMPARE(gaps->front().kinds, std::string("1"));
    }

    void cursorNeverMovesBackwards() {
        QTemporaryDir dir;
        auto s = relays::RelayStateStore::open(std::filesystem::path(dir.path().toStdString()) / "r.sqlite");
        QVERIFY(s);
        QVERIFY((*s)->upsert("wss://b.example", "cli", 1));
        QVERIFY((*s)->saveLiveCursor("wss://b.example", 200));
        QVERIFY((*s)->saveLiveCursor("wss://b.example", 100));
        QCOMPARE((*(*s)->find("wss://b.example"))->live_cursor.value_or(-1), int64_t(200));
        // 64-bit created_at survives.
        QVERIFY((*s)->saveLiveCursor("wss://b.example", int64_t(1) << 40));
        QCOMPARE((*(*s)->find("wss://b.example"))->live_cursor.value_or(-1), int64_t(1) << 40);
    }

    void relayInfoDocumentReadsBack() {
        QTemporaryDir dir;
        auto s = relays::RelayStateStore::open(std::filesystem::path(dir.path().toStdString()) / "r.sqlite");
        QVERIFY(s.ok());
        QCOMPARE(*(*s)->relayInfo("wss://unknown.example"), std::string());
        QVERIFY((*s)->upsert("wss://a.example", "user", 1000).ok());
        QCOMPARE(*(*s)->relayInfo("wss://a.example"), std::string());
        QVERIFY((*s)->saveRelayInfo("wss://a.example", R"({"name":"A"})", 2000).ok());
        QCOMPARE(*(*s)->relayInfo("wss://a.example"), std::string(R"({"name":"A"})"));
    }

    void blockedRelaysAreNotListed() {
        QTemporaryDir dir;
        auto s = relays::RelayStateStore::open(std::filesystem::path(dir.path().toStdString()) / "r.sqlite");
        QVERIFY(s);
        for (int i = 0; i < 5; ++i) QVERIFY((*s)->upsert("wss://r" + std::to_string(i) + ".example", "seed", i));
        QVERIFY((*s)->setBlocked("wss://r2.example", true));
        QVERIFY((*s)->setPinned("wss://r4.example", true));
        auto list = (*s)->list(10);
        QVERIFY(list);
        QCOMPARE(list->size(), size_t(4));
        QCOMPARE(list->front().url, std::string("wss://r4.example"));  // pinned first
        for (const auto& r : *list) QVERIFY(r.url != "wss://r2.example");
        QCOMPARE((*s)->list(10, true)->size(), size_t(5));
        QCOMPARE(*(*s)->count(), uint64_t(5));
    }

    void slotsGoToTheMostBehindFirst() {
        net::BackfillSlots s3(1);
        // Both wait; the free slot goes to the more-behind one.
        QVERIFY(s3.tryAcquire("holder", 5));  // nobody else waiting: granted
        QCOMPARE(s3.inUse(), size_t(1));
        QVERIFY(!s3.tryAcquire("a", 100));
        QVERIFY(!s3.tryAcquire("b", 50));
        s3.release("holder");
        QVERIFY(!s3.tryAcquire("b", 50));  // a is further behind
        QVERIFY(s3.tryAcquire("a", 100));
        QCOMPARE(s3.inUse(), size_t(1));
        s3.release("a");
        QVERIFY(s3.tryAcquire("b", 50));
        QCOMPARE(s3.waiting(), size_t(0));
        // A forgotten relay releases its slot and its place in the queue.
        s3.forget("b");
        QCOMPARE(s3.inUse(), size_t(0));
    }

    void configParsesAndRejectsTypos() {
        QTemporaryDir dir;
        const auto file = std::filesystem::path(dir.path().toStdString()) / "config.json";
        // Missing file: defaults.
        auto def = engine::loadConfig(file);
        QVERIFY(def);
        QVERIFY(def->seed_relays);
        QCOMPARE(def->max_relays, uint32_t(150));
        {
            std::ofstream(file) << R"({"relays":["wss://x.example"],"seed_relays":false,"max_relays":20,)"
                                   R"("allow_addresses":["10.0.0.0/8"],"filter":{"kinds":[1,7]},"backfill_depth_days":3})";
        }
        auto cfg = engine::loadConfig(file);
        QVERIFY2(cfg, cfg ? "" : cfg.error().message.c_str());
        QCOMPARE(cfg->relays.size(), size_t(1));
        QVERIFY(!cfg->seed_relays);
        QCOMPARE(cfg->max_relays, uint32_t(20));
        QCOMPARE(cfg->backfill_depth_days, int64_t(3));
        QCOMPARE(cfg->filter_json, std::string(R"({"kinds":[1,7]})"));
        { std::ofstream(file) << R"({"max_relay": 5})"; }
        auto typo = engine::loadConfig(file);
        QVERIFY(!typo);
        QVERIFY(typo.error().message.find("max_relay") != std::string::npos);
        { std::ofstream(file) << R"({"filter": {"kinds": ["1"]}})"; }
        QVERIFY(!engine::loadConfig(file));
        { std::ofstream(file) << R"({"max_relays": 0})"; }
        QVERIFY(!engine::loadConfig(file));
        { std::ofstream(file) << "not json"; }
        QVERIFY(!engine::loadConfig(file));
    }
};

QTEST_GUILESS_MAIN(TestRelayState)
#include "tst_relay_state.moc"
