// One relay connection (net::RelayConnection with its sync::RelaySync driver) against FakeRelay
// (tests/support/fake_relay.h) with the real ingest pipeline behind it and a test double of the
// owner of relay state (no database on the network thread): backfill completeness, live tail,
// cursors, subscription discipline, and every misbehaviour the real relay cannot produce (flood,
// 10 MB frames, never-EOSE, invalid signatures, slowloris, reconnect storms, NOTICE spam, NIP-77
// advertised but ignored, AUTH, rate-limited, restricted, events nobody asked for).
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "core/engine/store.h"
#include "core/engine/store_sink.h"
#include "core/index/index_reader.h"
#include "core/net/address_policy.h"
#include "core/net/checked_resolver.h"
#include "core/net/relay_connection.h"
#include "core/net/relay_url.h"
#include "core/observe/metrics.h"
#include "core/protocol/event_signer.h"
#include "core/protocol/filter.h"
#include "core/engine/local_sets.h"
#include "core/sync/backfill_slots.h"
#include "core/sync/relay_sync.h"
#include "tests/support/fake_relay.h"
#include "tests/support/store_rig.h"
#include "tests/support/signed_events.h"

using namespace archivist;
using archivist::testing::FakeRelay;
using archivist::testing::FakeRelayOptions;

namespace {

using observe::BackfillState;
using observe::EventRefusal;
using observe::RelayState;

// What a connection and its sync are configured with.
struct Options {
    net::ConnectionOptions conn;
    sync::SyncOptions sync;
    bool negentropy = false;  // reconcile through the store's index (engine::IndexLocalSets)
};

// The engine's side: a data directory with a running pipeline and a test double of the owner of
// relay state, plus what a connection needs beside them.
struct Rig : testing::StoreRig {
    std::unique_ptr<net::CheckedResolver> resolver;
    sync::BackfillSlots backfill_slots{4};
    sync::BackfillSlots reconcile_slots{4};
    std::unique_ptr<engine::IndexLocalSets> local_sets;
    std::unique_ptr<protocol::EventSigner> signer;

    bool open(bool allow_loopback = true) {
        if (!StoreRig::open(allow_loopback)) return false;
        local_sets = std::make_unique<engine::IndexLocalSets>(store->paths().index);
        local_sets->start();
        resolver = std::make_unique<net::CheckedResolver>(policy, net::CheckedResolver::Options{});
        auto sg = protocol::EventSigner::generate();
        if (!sg) return false;
        signer = std::move(*sg);
        return true;
    }
    // A connection that resumes from what the owner double was told before (as the engine's
    // owner reads it from the directory).
    std::unique_ptr<net::RelayConnection> connect(const QString& url, Options opts = fastOptions()) {
        auto u = net::normalizeRelayUrl(url.toStdString());
        if (!u) return nullptr;
        const auto known = reports.relay(u->text);
        sync::SyncResume resume;
        resume.live_cursor = known.live_cursor;
        resume.backfill_checkpoint = known.backfill_checkpoint.value_or("");
        resume.backfill_done = known.backfill_done;
        net::RelayConnection::Deps deps;
        deps.sink = sink.get();
        deps.reports = &reports;
        deps.resolver = resolver.get();
        deps.signer = signer.get();
        auto driver = std::make_unique<sync::RelaySync>(u->text, opts.sync, resume, reports, backfill_slots,
                                                        opts.negentropy ? local_sets.get() : nullptr,
                                                        opts.negentropy ? &reconcile_slots : nullptr);
        auto c = std::make_unique<net::RelayConnection>(*u, net::RelayConnection::Start{"test", 0}, opts.conn, deps,
                                                        std::move(driver));
        c->start();
        return c;
    }
    static Options fastOptions() {
        Options o;
        o.conn.backoff_base_ms = 50;
        o.conn.backoff_cap_ms = 2000;
        o.conn.info_timeout_ms = 2000;
        o.conn.ws.connect_timeout_ms = 3000;
        o.sync.query_timeout_ms = 3000;
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
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 30000);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(events.size()), 10000);
        QCOMPARE(rig.indexed(), uint64_t(events.size()));
        QCOMPARE(conn->status().sync.backfill_gaps, uint64_t(0));
        QCOMPARE(conn->status().max_limit, uint32_t(20));
        // Every query respected the relay's limit.
        for (const auto& f : relay.reqFilters()) QVERIFY2(!f.contains("\"limit\":500"), f.constData());
        // The checkpoint says done once the events settled.
        QTRY_VERIFY_WITH_TIMEOUT(rig.reports.relay(conn->url()).backfill_done, 5000);
        QVERIFY(rig.source(conn->url()).settled() == rig.source(conn->url()).received);
    }

    void answersToOurOwnQueriesAreNotRateLimited() {
        FakeRelayOptions fo;
        fo.default_limit = 500;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        const auto events = makeEvents(3000, 1, 5);  // 3,000 seconds of history, one event each
        for (const auto& e : events) QVERIFY(relay.addEvent(e));
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.conn.rate.max_events_per_s = 100;  // a flood limit far below the backfill's pace
        auto conn = rig.connect(relay.url(), opts);
        QElapsedTimer t;
        t.start();
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 30000);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(events.size()), 10000);
        QCOMPARE(conn->status().flood_pauses, uint64_t(0));
        QCOMPARE(conn->status().rate_limited, uint64_t(0));
        QVERIFY2(t.elapsed() < 20000, qPrintable(QString::number(t.elapsed())));  // 30 s if paced at 100/s
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
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 30000);
        QVERIFY(conn->status().sync.backfill_gaps >= 1);
        QVERIFY(relay.reqsReceived() < 200);  // bounded, no loop
        const auto gaps = rig.reports.relay(conn->url()).gaps;
        QVERIFY(!gaps.empty());
        QCOMPARE(gaps.front().since, int64_t(1700001000));
        QCOMPARE(gaps.front().until, int64_t(1700001000));
        // Every event outside that second is archived.
        QTRY_VERIFY_WITH_TIMEOUT(rig.source(conn->url()).stored >= 30 + 20, 10000);
    }

    void liveEventsArriveAndTheCursorAdvancesAfterCommit() {
        FakeRelay relay;
        QVERIFY(relay.start());
        Rig rig;
        QVERIFY(rig.open());
        auto conn = rig.connect(relay.url());
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().state == RelayState::Connected, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 10000);
        testing::EventSigner s(9);
        const int64_t now = QDateTime::currentSecsSinceEpoch();
        for (int i = 0; i < 10; ++i) relay.addEvent(s.make(now, 1, "live " + std::to_string(i)));
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(10), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(rig.reports.relay(conn->url()).live_cursor.value_or(0) >= now - 1, 10000);
    }

    void aFloodIsSlowedNotDropped() {
        FakeRelayOptions fo;
        fo.flood_events = 8000;  // ≈ 3 MB: far more than the socket buffers hold
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.conn.rate.max_events_per_s = 2000;  // well below what the relay pushes
        opts.sync.backfill = false;
        // Pings keep running while reading is held back; a pong queued behind unread events must
        // not be taken for a stall.
        opts.conn.ping_interval_ms = 100;
        opts.conn.pong_timeout_ms = 300;
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
        QVERIFY(conn->status().flood_pauses > 0);  // the rate limiter, not only backpressure
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
        opts.sync.query_timeout_ms = 700;
        auto conn = rig.connect(relay.url(), opts);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 20000);
        QVERIFY(conn->status().sync.backfill_gaps >= 1);
        const auto gaps = rig.reports.relay(conn->url()).gaps;
        QVERIFY(!gaps.empty());
        QVERIFY(gaps.front().reason.find("timeout") != std::string::npos);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(10), 10000);  // what it did send is kept
    }

    // The query timeout is a stall detector: a relay that keeps sending, slowly, is not cut off
    // however long its answer takes — each event keeps the query alive for another timeout.
    void aSlowButSteadyRelayIsNotTimedOut() {
        FakeRelayOptions fo;
        fo.trickle_ms = 80;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(15, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.sync.query_timeout_ms = 400;  // 15 events at 80 ms: 1.2 s, three timeouts
        auto conn = rig.connect(relay.url(), opts);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 20000);
        QCOMPARE(conn->status().sync.backfill_gaps, uint64_t(0));
        QVERIFY(rig.reports.relay(conn->url()).gaps.empty());
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(15), 10000);
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
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 20000);
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
        opts.conn.ws.connect_timeout_ms = 800;
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
        opts.conn.backoff_base_ms = 100;
        opts.conn.backoff_cap_ms = 10000;
        opts.conn.info_timeout_ms = 300;
        auto conn = rig.connect(relay.url(), opts);
        // Count only websocket attempts (the NIP-11 GET is a connection too): compare attempt gaps.
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().consecutive_failures >= 5, 20000);
        const auto s = conn->status();
        QVERIFY(s.state == RelayState::Failing);
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
        QCOMPARE(conn->status().state, RelayState::Connected);
    }

    // Support judged by behaviour: a relay that lists NIP-77 and never answers NEG-OPEN is marked
    // unusable (reason, retry-after) and served by REQ; the overfull second REQ cannot split is a gap.
    void nip77AdvertisedButIgnoredDoesNotHangBackfill() {
        FakeRelayOptions fo;
        fo.default_limit = 10;
        fo.max_limit = 10;
        fo.advertise_nip77_ignore_neg_open = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(10, 30, 1)) relay.addEvent(e);  // an overfull one-kind second
        for (const auto& e : makeEvents(5, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.negentropy = true;
        opts.sync.negentropy_timeout_ms = 700;
        const int64_t before = QDateTime::currentMSecsSinceEpoch();
        auto conn = rig.connect(relay.url(), opts);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 30000);
        QVERIFY(conn->status().supports_negentropy);
        QVERIFY(relay.negOpensReceived() >= 1);
        const auto s = conn->status().sync;
        QCOMPARE(s.negentropy, observe::NegentropySupport::Unusable);
        QCOMPARE(s.method, observe::SyncMethod::Req);
        QVERIFY2(s.negentropy_reason.rfind("timeout", 0) == 0, s.negentropy_reason.c_str());
        QVERIFY(s.negentropy_retry_after_ms > before + opts.sync.negentropy_retry_s * 1000 - 60000);
        QVERIFY(s.backfill_gaps >= 1);
        QTRY_VERIFY_WITH_TIMEOUT(rig.source(conn->url()).stored >= 15, 10000);
    }

    // A relay that answers NEG-OPEN with NEG-ERR (not a size refusal) is unusable at once.
    void nip77NegErrIsJudgedUnusable() {
        FakeRelay relay;  // answers NEG-OPEN with NEG-ERR "error: NIP-77 is not supported by this relay"
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(12, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.negentropy = true;
        auto conn = rig.connect(relay.url(), opts);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(12), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 20000);
        const auto s = conn->status().sync;
        QCOMPARE(s.negentropy, observe::NegentropySupport::Unusable);
        QVERIFY2(s.negentropy_reason.find("neg-err: error: NIP-77 is not supported") == 0, s.negentropy_reason.c_str());
        QCOMPARE(relay.negOpensReceived(), uint64_t(1));
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
        QTRY_COMPARE_WITH_TIMEOUT(conn->status().state, RelayState::Restricted, 10000);
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
        QTRY_COMPARE_WITH_TIMEOUT(conn->status().state, RelayState::Refused, 5000);
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
            QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 20000);
            QTRY_VERIFY_WITH_TIMEOUT(rig.reports.relay(conn->url()).live_cursor.has_value(), 10000);
            conn->stop(false);
        }
        relay.dropConnections();
        testing::EventSigner s(5);
        relay.addEvent(s.make(QDateTime::currentSecsSinceEpoch(), 1, "while away"));
        const uint64_t sentBefore = relay.eventsSent();
        auto conn2 = rig.connect(relay.url());
        QTRY_VERIFY_WITH_TIMEOUT(conn2->status().state == RelayState::Connected && !conn2->status().sync.catching_up, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn2->url()).stored, uint64_t(41), 10000);
        QVERIFY2(relay.eventsSent() - sentBefore < 10, qPrintable(QString::number(relay.eventsSent() - sentBefore)));
    }

    // Subscription discipline (what a relay sends must match a subscription we opened and its
    // filter): with the archive's filter {"kinds":[1]}, a relay that sends kind-0 events on an id
    // we never opened and kind-4 events on the real subscription has them counted, not stored.
    void eventsOnAnUnknownSubscriptionOrOutsideTheFilterAreCountedNotStored() {
        FakeRelayOptions fo;
        fo.ignore_filters = true;
        fo.foreign_subscription_events = 5;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        testing::EventSigner s(21);
        const int64_t now = QDateTime::currentSecsSinceEpoch();
        for (int i = 0; i < 5; ++i) QVERIFY(relay.addEvent(s.make(now - 10 - i, 1, "wanted " + std::to_string(i))));
        for (int i = 0; i < 5; ++i) QVERIFY(relay.addEvent(s.make(now - 10 - i, 4, "not asked for " + std::to_string(i))));
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.sync.backfill = false;
        auto f = protocol::parseFilter(R"({"kinds":[1]})");
        QVERIFY(f);
        opts.sync.filter = *f;
        auto conn = rig.connect(relay.url(), opts);
        const auto refused = [&](EventRefusal r) { return conn->status().refused_by_reason[size_t(r) - 1]; };
        QTRY_COMPARE_WITH_TIMEOUT(refused(EventRefusal::UnknownSubscription), uint64_t(5), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(refused(EventRefusal::OutsideFilter), uint64_t(5), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(5), 10000);
        QCOMPARE(conn->status().events_received, uint64_t(15));
        // Refused events never reach the pipeline: only the five kind-1 events were handed on.
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).received, uint64_t(5), 5000);
        QCOMPARE(rig.indexed(), uint64_t(5));
        QCOMPARE(relay.foreignEventsSent(), uint64_t(5));
    }

    // Events older than the live REQ's since (session start − 5 min) are not what we asked for.
    void eventsOlderThanTheLiveSinceAreCountedNotStored() {
        FakeRelayOptions fo;
        fo.ignore_filters = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        testing::EventSigner s(22);
        const int64_t now = QDateTime::currentSecsSinceEpoch();
        for (int i = 0; i < 6; ++i) QVERIFY(relay.addEvent(s.make(1700000000 + i, 1, "old " + std::to_string(i))));
        for (int i = 0; i < 2; ++i) QVERIFY(relay.addEvent(s.make(now - 5, 1, "new " + std::to_string(i))));
        Rig rig;
        QVERIFY(rig.open());
        auto opts = Rig::fastOptions();
        opts.sync.backfill = false;  // only the live subscription is open
        auto conn = rig.connect(relay.url(), opts);
        QTRY_COMPARE_WITH_TIMEOUT(conn->status().refused_by_reason[size_t(EventRefusal::OutsideFilter) - 1], uint64_t(6),
                                  10000);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(2), 10000);
        QCOMPARE(rig.source(conn->url()).received, uint64_t(2));
        QCOMPARE(conn->status().refused_by_reason[size_t(EventRefusal::UnknownSubscription) - 1], uint64_t(0));
        // A later event outside the live window, pushed on the open subscription: refused too.
        QVERIFY(relay.addEvent(s.make(1700000100, 1, "old, pushed live")));
        QTRY_COMPARE_WITH_TIMEOUT(conn->status().refused_by_reason[size_t(EventRefusal::OutsideFilter) - 1], uint64_t(7),
                                  10000);
        QCOMPARE(rig.source(conn->url()).received, uint64_t(2));
    }

    // The owner of relay state may refuse reports for a while (its inbox is full): the connection
    // keeps the newest status and offers it again; the sync keeps its progress. Nothing is lost.
    void reportsTheOwnerRefusedAreOfferedAgain() {
        FakeRelay relay;
        QVERIFY(relay.start());
        for (const auto& e : makeEvents(20, 0, 1)) relay.addEvent(e);
        Rig rig;
        QVERIFY(rig.open());
        rig.reports.refuse(true);
        auto conn = rig.connect(relay.url());
        QTRY_VERIFY_WITH_TIMEOUT(conn->status().sync.backfill == BackfillState::Done, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(rig.source(conn->url()).stored, uint64_t(20), 10000);
        QVERIFY(rig.reports.refusedCount() > 0);
        QVERIFY(conn->status().unreported > 0);
        QVERIFY(!rig.reports.relay(conn->url()).status);
        rig.reports.refuse(false);
        QTRY_VERIFY_WITH_TIMEOUT(rig.reports.relay(conn->url()).backfill_done, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(rig.reports.relay(conn->url()).status.has_value(), 5000);
        QCOMPARE(rig.reports.relay(conn->url()).status->state, RelayState::Connected);
        QTRY_COMPARE_WITH_TIMEOUT(conn->status().unreported, uint64_t(0), 5000);
    }
};

QTEST_GUILESS_MAIN(TestRelayConnection)
#include "tst_relay_connection.moc"
