// One relay connection against FakeRelay (tests/support/fake_relay.h) with the real ingest
// pipeline behind it: backfill completeness, live tail, cursors, and every misbehaviour the
// real relay cannot produce (flood, 10 MB frames, never-EOSE, invalid signatures, slowloris,
// reconnect storms, NOTICE spam, NIP-77 advertised but ignored, AUTH, rate-limited, restricted).
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "core/engine/store.h"
#include "core/engine/store_sink.h"
#include "core/index/index_reader.h"
#include "core/net/address_policy.h"
#include "core/net/backfill_slots.h"
#include "core/net/checked_resolver.h"
#include "core/net/relay_connection.h"
#include "core/net/relay_url.h"
#include "core/observe/metrics.h"
#include "core/protocol/event_signer.h"
#include "core/relays/relay_state_store.h"
#include "tests/support/fake_relay.h"
#include "tests/support/store_rig.h"
#include "tests/support/signed_events.h"

using namespace archivist;
using archivist::testing::FakeRelay;
using archivist::testing::FakeRelayOptions;

namespace {

// The engine's side: a data directory with a running pipeline and the relay state database,
// plus what a connection needs beside them.
struct Rig : testing::StoreRig {
    std::unique_ptr<net::CheckedResolver> resolver;
    net::BackfillSlots backfill_slots{4};
    std::unique_ptr<protocol::EventSigner> signer;

    bool open(bool allow_loopback = true) {
        if (!StoreRig::open(allow_loopback)) return false;
        resolver = std::make_unique<net::CheckedResolver>(policy, net::CheckedResolver::Options{});
        auto sg = protocol::EventSigner::generate();
        if (!sg) return false;
        signer = std::move(*sg);
        return true;
    }
    std::unique_ptr<net::RelayConnection> connect(const QString& url, net::ConnectionOptions opts = fastOptions()) {
        auto u = net::normalizeRelayUrl(url.toStdString());
        if (!u) return nullptr;
        if (!state->upsert(u->text, "test", 1)) return nullptr;
        net::RelayConnection::Deps deps;
        deps.sink = sink.get();
        deps.state = state.get();
        deps.backfill_slots = &backfill_slots;
        deps.resolver = resolver.get();
        deps.signer = signer.get();
        auto c = std::make_unique<net::RelayConnection>(*u, "test", opts, deps);
        c->start();
        return c;
    }
    static net::ConnectionOptions fastOptions() {
        net::ConnectionOptions o;
        o.backoff_base_ms = 50;
        o.backoff_cap_ms = 2000;
        o.info_timeout_ms = 2000;
        o.ws.connect_timeout_ms = 3000;
        o.query_timeout_ms = 3000;
        return o;
    }
    uint64_t indexed() {
        auto r = index::IndexReader::open(store->paths().index);
        if (!r) return 0;
        auto n = (*r)->count({});
        return n ? *n : 0;
    }
    ingest::SourceSnapshot source(const std::string& url) {
        auto id = store->sources().find(url);
        return id ? store->sources().snapshot(*id) : ingest::SourceSnapshot{};
    }
    ~Rig() {
        if (store) (void)store->shutdown();
    }
};

// Signed events: `n` spread over distinct seconds, plus `same_second` at one second over `kinds` kinds.
std::vector<protocol::Event> makeEvents(int n, int same_second, int kinds, int seed = 1) {
    std::vector<protocol::Event> out;
    testing::EventSigner a(seed), b(seed + 1);
    for (int i = 0; i < n; ++i) out.push_back((i % 2 ? a : b).make(1700000000 + i * 7, 1, "event " + std::to_string(i)));
    for (int i = 0; i < same_second; ++i)
        out.push_back((i % 2 ? a : b).make(1700001000, uint16_t(1 + i % kinds), "same second " + std::to_string(i)));
    return out;
}

}  // namespace

class TestRelayConnection : public QObject {
    Q_OBJECT
private slots:
    void backfillArchivesExactlyTheRelaysSetIncludingAnOverfullSecond() {
        FakeRelayOptions fo;
        fo.default_limit = 20;
        fo.max_limit = 20;  // advertised in NIP-11: the planner must use it
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        const auto events = makeEvents(120, 75, 5);  // 75 events in one second, 15 per kind
        for (const auto& e : events) QVERIFY(relay.addEvent(e));
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QVERIFY(conn);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().backfill == net::BackfillState::Done, 30000);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(events.size()), 10000);
        QCOMPARE(rig.indexed(), uint64_t(events.size()));
        QCOMPARE(conn->status().backfill_gaps, uint64_t(0));
        QCOMPARE(conn->status().max_limit, uint32_t(20));
        // Every query respected the relay's limit.
        for (const auto& f : relay.reqFilters()) QVERIFY2(!f.contains("\"limit\":500"), f.constData());
        // The checkpoint says done once the events settled.
        QTRY_VERIFY_WITH_TIMEOUT((*rig.state->find(conn->url()))->backfill_done, 5000);
        QVERIFY(rig.source(conn->url()).settled() == rig.source(conn->url()).received);
    }

    void anOverfullSecondOfOneKindIsRecordedAsAGapNotALoop() {
        FakeRelayOptions fo;
        fo.default_limit = 20;
        fo.max_limit = 20;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        const auto events = makeEvents(30, 50, 1);  // 50 events of one kind in one second
        for (const auto& e : events) QVERIFY(relay.addEvent(e));
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().backfill == net::BackfillState::Done, 30000);
        QVERIFY(conn->status().backfill_gaps >= 1);
        QVERIFY(relay.reqsReceived() < 200);  // bounded, no loop
        auto gaps = rig.state->gaps(conn->url(), 10);
        QVERIFY(gaps && !gaps->empty());
        QCOMPARE(gaps->front().since, int64_t(1700001000));
        QCOMPARE(gaps->front().until, int64_t(1700001000));
        // Every event outside that second is archived.
        QTRY_VERIFY_WITH_TIMEOUT(rig.source(conn->url()).stored >= 30 + 20, 10000);
    }

    void liveEventsArriveAndTheCursorAdvancesAfterCommit() {
        FakeRelay relay;
        QVERIFY(relay.start());
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().state == net::RelayState::Open, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().backfill == net::BackfillState::Done, 10000);
        testing::EventSigner s(9);
        const int64_t now = QDateTime::currentSecsSinceEpoch();
        for (int i = 0; i < 10; ++i) relay.addEvent(s.make(now, 1, "live " + std::to_string(i)));
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(10), 10000);
        QTRY_VERIFY_WITH_TIMEOUT((*rig.state->find(conn->url()))->live_cursor.value_or(0) >= now - 1, 10000);
    }

    void aFloodIsSlowedNotDropped() {
        FakeRelayOptions fo;
        fo.flood_events = 8000;  // ≈ 3 MB: far more than the socket buffers hold
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.rate.max_events_per_s = 2000;  // well below what the relay pushes
        opts.backfill = false;
        // Pings keep running while reading is held back; a pong queued behind unread events must
        // not be taken for a stall.
        opts.ping_interval_ms = 100;
        opts.pong_timeout_ms = 300;
        auto conn = rig.connect(relay.url(), opts);
        int64_t maxBuffered = 0;
        QElapsedTimer t;
        t.start();
        while (rig.source(conn->url()).settled() < 8000 && t.elapsed() < 180000) {
            QTest::qWait(20);
            maxBuffered = std::max(maxBuffered, conn->status().buffered_bytes);
        }
        QCOMPARE(rig.source(conn->url()).received, uint64_t(8000));
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(8000), 10000);
        QVERIFY(conn->status().read_pauses > 0);
        QVERIFY(conn->status().rate_limited > 0);
        QCOMPARE(conn->status().connects, uint64_t(1));  // never dropped as stalled
        // The relay had to hold bytes back: TCP pushed back on it.
        QVERIFY2(relay.maxBytesPending() > 256 * 1024, qPrintable(QString::number(relay.maxBytesPending())));
        // Our side stayed within its documented bound (batch + websocket buffers).
        QVERIFY2(maxBuffered < 4 * 1024 * 1024, qPrintable(QString::number(maxBuffered)));
    }

    void aTenMegabyteFrameIsRefusedWithoutBufferingIt() {
        FakeRelayOptions fo;
        fo.huge_frame = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().last_error.find("message_too_big") != std::string::npos, 10000);
        QVERIFY(conn->status().consecutive_failures >= 1);
        QVERIFY(conn->status().buffered_bytes < 2 * 1024 * 1024);
        QCOMPARE(rig.source(conn->url()).stored, uint64_t(0));
    }

    void aRelayThatNeverSendsEoseCannotStallBackfill() {
        FakeRelayOptions fo;
        fo.never_eose = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(10, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.query_timeout_ms = 700;
        auto conn = rig.connect(relay.url(), opts);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().backfill == net::BackfillState::Done, 20000);
        QVERIFY(conn->status().backfill_gaps >= 1);
        auto gaps = rig.state->gaps(conn->url(), 10);
        QVERIFY(gaps && !gaps->empty());
        QVERIFY(gaps->front().reason.find("timeout") != std::string::npos);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(10), 10000);  // what it did send is kept
    }

    void invalidSignaturesAreCountedAgainstTheRelay() {
        FakeRelayOptions fo;
        fo.invalid_signature_every = 3;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(30, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().backfill == net::BackfillState::Done, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).settled(), relay.eventsSent(), 10000);
        const auto src = rig.source(conn->url());
        // Every broken signature the relay sent is counted against it, by reason.
        QCOMPARE(src.invalid, relay.brokenSignaturesSent());
        QVERIFY(src.invalid >= 9);
        QCOMPARE(src.invalid_by_reason[size_t(protocol::Reject::BadSignature)], src.invalid);
    }

    void slowlorisHitsTheConnectTimeout() {
        FakeRelayOptions fo;
        fo.slowloris = true;
        fo.slowloris_interval_ms = 500;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.ws.connect_timeout_ms = 800;
        auto conn = rig.connect(relay.url(), opts);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().consecutive_failures >= 1, 10000);
        QVERIFY2(conn->status().last_error.find("timeout") != std::string::npos, conn->status().last_error.c_str());
    }

    void aReconnectStormMeetsAGrowingBackoff() {
        FakeRelayOptions fo;
        fo.close_on_connect = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.backoff_base_ms = 100;
        opts.backoff_cap_ms = 10000;
        opts.info_timeout_ms = 300;
        auto conn = rig.connect(relay.url(), opts);
        // Count only websocket attempts (the NIP-11 GET is a connection too): compare attempt gaps.
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().consecutive_failures >= 5, 20000);
        const auto s = conn->status();
        QVERIFY(s.state == net::RelayState::Failing);
        const int64_t wait = s.next_attempt_ms - QDateTime::currentMSecsSinceEpoch();
        // After 5 failures the delay is 100·2⁴ ms × jitter(0.5…1) = 800…1600 ms.
        QVERIFY2(wait > 300, qPrintable(QString::number(wait)));
        const uint64_t before = relay.connectionsAccepted();
        QTest::qWait(200);
        QVERIFY(relay.connectionsAccepted() - before <= 2);  // not hammering
    }

    void noticeSpamIsCountedAndHarmless() {
        FakeRelayOptions fo;
        fo.notice_spam_interval_ms = 2;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(20, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(20), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().notices > 50, 5000);
        QVERIFY(!conn->status().last_notice.empty());
        QCOMPARE(conn->status().state, net::RelayState::Open);
    }

    void nip77AdvertisedButIgnoredDoesNotHangBackfill() {
        FakeRelayOptions fo;
        fo.default_limit = 10;
        fo.max_limit = 10;
        fo.advertise_nip77_ignore_neg_open = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(10, 30, 1)) relay.addEvent(e);  // an overfull one-kind second
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.query_timeout_ms = 700;
        auto conn = rig.connect(relay.url(), opts);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().backfill == net::BackfillState::Done, 30000);
        QVERIFY(conn->status().supports_negentropy);
        QVERIFY(relay.negOpensReceived() >= 1);
        QVERIFY(conn->status().backfill_gaps >= 1);
    }

    void authRequiredIsAnsweredWithNip42() {
        FakeRelayOptions fo;
        fo.auth_required = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(15, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(15), 20000);
        QVERIFY(relay.authAccepted() >= 1);
        QCOMPARE(relay.authRejected(), uint64_t(0));
        QVERIFY(conn->status().auth_attempts >= 1);
    }

    void rateLimitedAnswersBackOffThenRecover() {
        FakeRelayOptions fo;
        fo.rate_limited = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(12, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().rate_limited >= 1, 10000);
        const uint64_t reqs = relay.reqsReceived();
        QTest::qWait(300);
        QVERIFY(relay.reqsReceived() - reqs <= 2);  // backing off, not hammering
        relay.options().rate_limited = false;
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(12), 20000);
    }

    void restrictedStopsAsking() {
        FakeRelayOptions fo;
        fo.restricted = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QTRY_COMPARE_WITH_TIMEOUT(conn->status().state, net::RelayState::Restricted, 10000);
        const uint64_t conns = relay.connectionsAccepted();
        QTest::qWait(500);
        QCOMPARE(relay.connectionsAccepted(), conns);
        QVERIFY(conn->status().last_error.find("restricted") != std::string::npos);
    }

    void loopbackWithoutAnAllowRuleIsRefused() {
        FakeRelay relay;
        QVERIFY(relay.start());
        Rig rig;
        QVERIFY(rig.open(/*allow_loopback=*/false));
        auto conn = rig.connect(relay.url());
        QTRY_COMPARE_WITH_TIMEOUT(conn->status().state, net::RelayState::Refused, 5000);
        QVERIFY(conn->status().last_error.find("address_refused") != std::string::npos);
        QCOMPARE(relay.connectionsAccepted(), uint64_t(0));
        QVERIFY(rig.policy->refusalsTotal() >= 1);
    }

    void aRestartCatchesUpFromTheCursorOnly() {
        FakeRelay relay;
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(40, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        {
            auto conn = rig.connect(relay.url());
            QTRY_VERIFY_WITH_TIMEOUT(conn->status().backfill == net::BackfillState::Done, 20000);
            QTRY_VERIFY_WITH_TIMEOUT((*rig.state->find(conn->url()))->live_cursor.has_value(), 10000);
            conn->stop(false);
        }
        relay.dropConnections();
        testing::EventSigner s(5);
        relay.addEvent(s.make(QDateTime::currentSecsSinceEpoch(), 1, "while away"));
        const uint64_t sentBefore = relay.eventsSent();
        auto conn2 = rig.connect(relay.url());
        QTRY_VERIFY_WITH_TIMEOUT(conn2->status().state == net::RelayState::Open && !conn2->status().catching_up, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn2->url()).stored, uint64_t(41), 10000);
        QVERIFY2(relay.eventsSent() - sentBefore < 10, qPrintable(QString::number(relay.eventsSent() - sentBefore)));
    }
};

QTEST_GUILESS_MAIN(TestRelayConnection)
#include "tst_relay_connection.moc"
