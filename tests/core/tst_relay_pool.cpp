// RelayPool: connections sharded over a fixed set of network threads, commands from another
// thread, bounded size, and a stop() that hands everything received to the pipeline. No database
// on the network threads: the owner of relay state is a test double (RecordingReports).
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "core/engine/store.h"
#include "core/engine/store_sink.h"
#include "core/net/address_policy.h"
#include "core/net/relay_pool.h"
#include "core/observe/metrics.h"
#include "core/sync/backfill_slots.h"
#include "core/sync/relay_sync.h"
#include "tests/support/fake_relay.h"
#include "tests/support/store_rig.h"
#include "tests/support/signed_events.h"

using namespace archivist;
using archivist::testing::FakeRelay;

class TestRelayPool : public QObject {
    Q_OBJECT
private slots:
    void manyRelaysOnTwoThreads() {
        testing::StoreRig rig;
        QVERIFY2(rig.open(), rig.error.c_str());

        // Six relays, 40 distinct events each plus 10 shared by all (duplicates across relays).
        std::vector<std::unique_ptr<FakeRelay>> relays;
        testing::EventSigner shared(100);
        std::vector<protocol::Event> common;
        for (int i = 0; i < 10; ++i) common.push_back(shared.make(1700000000 + i, 1, "shared " + std::to_string(i)));
        for (int r = 0; r < 6; ++r) {
            relays.push_back(std::make_unique<FakeRelay>());
            QVERIFY(relays.back()->start());
            testing::EventSigner s(r + 1);
            for (int i = 0; i < 40; ++i) relays.back()->addEvent(s.make(1700000000 + i * 3, 1, "r" + std::to_string(r)));
            for (const auto& e : common) relays.back()->addEvent(e);
        }

        net::PoolOptions po;
        po.threads = 2;
        po.max_relays = 6;
        po.connection.backoff_base_ms = 50;
        sync::BackfillSlots backfillSlots(8);
        // Every relay's queries are driven by a RelaySync reporting to the double.
        net::RelayPool pool(po, *rig.sink, rig.reports, rig.policy);
        pool.start();
        QCOMPARE(pool.threadCount(), size_t(2));
        const auto add = [&](const std::string& text) -> Expected<void, net::PoolError> {
            auto url = net::normalizeRelayUrl(text);
            if (!url) qFatal("bad test url %s", text.c_str());
            net::RelayAdd a;
            a.url = *url;
            a.start.source = "user";
            a.driver = [&rig, &backfillSlots, u = url->text] {
                return std::make_unique<sync::RelaySync>(u, sync::SyncOptions{}, sync::SyncResume{}, rig.reports, backfillSlots);
            };
            return pool.addRelay(std::move(a));
        };
        for (auto& r : relays) {
            auto added = add(r->url().toStdString());
            QVERIFY2(added, added ? "" : added.error().message.c_str());
        }
        // Bounded, de-duplicated (the URL is normalised by the caller, once).
        auto again = add(relays[0]->url().toStdString() + "/");
        QVERIFY(!again);
        QCOMPARE(again.error().code, net::PoolErrorCode::Exists);
        auto full = add("ws://127.0.0.1:1/other");
        QVERIFY(!full);
        QCOMPARE(full.error().code, net::PoolErrorCode::Capacity);

        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                auto st = pool.statuses();
                return st.size() == 6 && std::all_of(st.begin(), st.end(), [](const net::RelayStatusView& v) {
                           return v.state == observe::RelayState::Connected &&
                                  v.sync.backfill == observe::BackfillState::Done;
                       });
            }(),
            30000);
        // 6 × 40 distinct + 10 shared, stored once each.
        QTRY_COMPARE_WITH_TIMEOUT(rig.metrics.total("archivist_events_stored_total"), double(250), 10000);

        // Commands from this (non-network) thread reach the connection.
        const std::string first = pool.statuses().front().url;
        QVERIFY(pool.disconnectRelay(first));
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (const auto& v : pool.statuses())
                    if (v.url == first) return v.state == observe::RelayState::Stopped;
                return false;
            }(),
            5000);
        QVERIFY(pool.connectRelay(first));
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (const auto& v : pool.statuses())
                    if (v.url == first) return v.state == observe::RelayState::Connected;
                return false;
            }(),
            10000);
        QVERIFY(pool.removeRelay(first));
        QCOMPARE(pool.size(), size_t(5));
        QVERIFY(!pool.removeRelay(first));

        QElapsedTimer t;
        t.start();
        pool.stop();
        QVERIFY2(t.elapsed() < 3000, qPrintable(QString::number(t.elapsed())));
        QCOMPARE(pool.size(), size_t(0));
        auto stopped = add(relays[1]->url().toStdString());
        QVERIFY(!stopped);
        QCOMPARE(stopped.error().code, net::PoolErrorCode::Stopped);
        // What the connections reported reached the owner double: backfill done, last state stopped.
        for (const auto& r : relays) {
            const auto rec = rig.reports.relay(r->url().toStdString());
            QVERIFY(rec.backfill_done);
            QVERIFY(rec.status && rec.status->state == observe::RelayState::Stopped);
        }
        QVERIFY(rig.store->shutdown());
    }
};

QTEST_GUILESS_MAIN(TestRelayPool)
#include "tst_relay_pool.moc"
