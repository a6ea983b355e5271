// FakeRelay (tests/support/fake_relay.h) is a fixture other tests trust: each behaviour is
// checked here from the client side, with a real QWebSocket (or a raw TCP socket where the
// point is a client that does not read).
#include <QCryptographicHash>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QWebSocket>
#include <QtTest>

#include <memory>
#include <string>
#include <vector>

#include "core/protocol/event_codec.h"
#include "core/protocol/event_validator.h"
#include "core/protocol/hex.h"
#include "core/protocol/relay_message.h"
#include "fake_relay.h"
#include "signed_events.h"

using namespace archivist;
using namespace archivist::protocol;
using archivist::testing::EventSigner;
using archivist::testing::FakeRelay;
using archivist::testing::FakeRelayOptions;

namespace {

// A WebSocket client that records every text message it receives.
class Client {
public:
    explicit Client(const QString& url) {
        QObject::connect(&ws, &QWebSocket::textMessageReceived, [this](const QString& m) {
            messages.push_back(m.toStdString());
        });
        ws.open(QUrl(url));
    }
    bool waitConnected() {
        if (ws.state() != QAbstractSocket::ConnectedState) {
            QSignalSpy spy(&ws, &QWebSocket::connected);
            spy.wait(5000);
        }
        return ws.state() == QAbstractSocket::ConnectedState;
    }
    void send(const std::string& text) { ws.sendTextMessage(QString::fromStdString(text)); }
    size_t count(RelayMsgType type, const std::string& sub = {}) const {
        size_t n = 0;
        for (const auto& m : messages) {
            const RelayMessage r = parseRelayMessage(m);
            if (r.type == type && (sub.empty() || r.subscription_id == sub)) ++n;
        }
        return n;
    }
    std::vector<RelayMessage> all(RelayMsgType type) const {
        std::vector<RelayMessage> out;
        for (const auto& m : messages) {
            RelayMessage r = parseRelayMessage(m);
            if (r.type == type) out.push_back(std::move(r));
        }
        return out;  // event_json views point into `messages`, which outlives the call site
    }
    std::vector<Event> events(const std::string& sub) const {
        std::vector<Event> out;
        for (const auto& m : messages) {
            const RelayMessage r = parseRelayMessage(m);
            if (r.type != RelayMsgType::Event || r.subscription_id != sub) continue;
            Event e;
            if (parseEvent(r.event_json, e) == Reject::None) out.push_back(e);
        }
        return out;
    }
    QWebSocket ws;
    std::vector<std::string> messages;
};

Filter kindFilter(uint16_t kind, std::optional<uint32_t> limit = std::nullopt) {
    Filter f;
    f.kinds = {kind};
    f.limit = limit;
    return f;
}

// Plants n kind-1 events with created_at base, base+1, …
std::vector<Event> plant(FakeRelay& relay, EventSigner& signer, int n, int64_t base = 1710000000) {
    std::vector<Event> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(signer.make(base + i, 1, "planted #" + std::to_string(i)));
        relay.addEvent(out.back());
    }
    return out;
}

// One WebSocket frame from a client (masked, FIN, text).
QByteArray maskedTextFrame(const QByteArray& payload) {
    QByteArray f;
    f.append(char(0x81));
    if (payload.size() < 126) {
        f.append(char(0x80 | payload.size()));
    } else {
        f.append(char(0x80 | 126));
        f.append(char((payload.size() >> 8) & 0xff));
        f.append(char(payload.size() & 0xff));
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(mask, 4);
    for (qsizetype i = 0; i < payload.size(); ++i) f.append(char(payload[i] ^ mask[i % 4]));
    return f;
}

}  // namespace

class TstFakeRelay : public QObject {
    Q_OBJECT
private slots:
    void nip11_data();
    void nip11();
    void reqNewestFirstWithinLimits_data();
    void reqNewestFirstWithinLimits();
    void publishedEventsAreStoredAndPushedLive();
    void closeStopsLivePushes();
    void flood();
    void floodWaitsForASlowReader();
    void hugeFrame();
    void neverEose();
    void invalidSignatures();
    void slowloris();
    void closeOnConnect();
    void noticeSpam();
    void negOpen_data();
    void negOpen();
    void authRequired();
    void refusals_data();
    void refusals();
};

void TstFakeRelay::nip11_data() {
    QTest::addColumn<bool>("auth");
    QTest::addColumn<bool>("nip77");
    QTest::addColumn<QByteArray>("custom");
    QTest::newRow("default") << false << false << QByteArray();
    QTest::newRow("auth_required") << true << false << QByteArray();
    QTest::newRow("nip77") << false << true << QByteArray();
    QTest::newRow("custom document") << false << false << QByteArray(R"({"name":"custom","supported_nips":[1,77]})");
}

void TstFakeRelay::nip11() {
    QFETCH(bool, auth);
    QFETCH(bool, nip77);
    QFETCH(QByteArray, custom);
    FakeRelayOptions o;
    o.auth_required = auth;
    o.advertise_nip77_ignore_neg_open = nip77;
    o.max_limit = 321;
    o.nip11_json = custom;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());

    QNetworkAccessManager nam;
    QNetworkRequest req{QUrl(relay.httpUrl())};
    req.setRawHeader("Accept", "application/nostr+json");
    std::unique_ptr<QNetworkReply> reply(nam.get(req));
    QSignalSpy done(reply.get(), &QNetworkReply::finished);
    QVERIFY(done.wait(5000));
    QCOMPARE(reply->error(), QNetworkReply::NoError);
    QCOMPARE(reply->header(QNetworkRequest::ContentTypeHeader).toString(), QStringLiteral("application/nostr+json"));
    const QJsonObject doc = QJsonDocument::fromJson(reply->readAll()).object();
    QCOMPARE(relay.httpRequests(), 1u);
    if (!custom.isEmpty()) {
        QCOMPARE(doc.value("name").toString(), QStringLiteral("custom"));
        return;
    }
    QVariantList nips = doc.value("supported_nips").toArray().toVariantList();
    QVERIFY(nips.contains(1));
    QCOMPARE(nips.contains(42), auth);
    QCOMPARE(nips.contains(77), nip77);
    QCOMPARE(doc.value("limitation").toObject().value("max_limit").toInt(), 321);
    QCOMPARE(doc.value("limitation").toObject().value("auth_required").toBool(), auth);
}

void TstFakeRelay::reqNewestFirstWithinLimits_data() {
    QTest::addColumn<int>("planted");
    QTest::addColumn<int>("limit");  // -1: no limit in the filter
    QTest::addColumn<int>("expected");
    // default_limit 7, max_limit 12
    QTest::newRow("limit below stored") << 20 << 5 << 5;
    QTest::newRow("no limit → default_limit") << 20 << -1 << 7;
    QTest::newRow("limit above max_limit → capped") << 20 << 50 << 12;
    QTest::newRow("fewer stored than limit") << 3 << 10 << 3;
}

void TstFakeRelay::reqNewestFirstWithinLimits() {
    QFETCH(int, planted);
    QFETCH(int, limit);
    QFETCH(int, expected);
    FakeRelayOptions o;
    o.default_limit = 7;
    o.max_limit = 12;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    EventSigner signer(1);
    const auto stored = plant(relay, signer, planted);
    relay.addEvent(signer.make(1710000000, 7, "+"));  // another kind: never matches

    Client c(relay.url());
    QVERIFY(c.waitConnected());
    c.send(makeReq("s", {kindFilter(1, limit < 0 ? std::nullopt : std::optional<uint32_t>(uint32_t(limit)))}));
    QTRY_COMPARE(c.count(RelayMsgType::Eose, "s"), 1u);
    const auto got = c.events("s");
    QCOMPARE(int(got.size()), expected);
    for (int i = 0; i < expected; ++i) QCOMPARE(got[size_t(i)], stored[size_t(planted - 1 - i)]);  // newest first
    QCOMPARE(c.messages.back().substr(0, 7), std::string("[\"EOSE\""));
    QCOMPARE(relay.reqsReceived(), 1u);
    QCOMPARE(relay.reqFilters().size(), size_t(1));
    QVERIFY(relay.reqFilters()[0].startsWith("[{\"kinds\":[1]"));
}

void TstFakeRelay::publishedEventsAreStoredAndPushedLive() {
    FakeRelay relay;
    QVERIFY(relay.start().ok());
    EventSigner signer(2);
    Client reader(relay.url()), writer(relay.url());
    QVERIFY(reader.waitConnected());
    QVERIFY(writer.waitConnected());
    reader.send(makeReq("live", {kindFilter(1)}));
    QTRY_COMPARE(reader.count(RelayMsgType::Eose, "live"), 1u);

    const Event good = signer.make(1710000100, 1, "hello");
    writer.send(makeEventMsg(good));
    QTRY_COMPARE(writer.count(RelayMsgType::Ok), 1u);
    QVERIFY(writer.all(RelayMsgType::Ok)[0].accepted);
    QTRY_COMPARE(reader.events("live").size(), size_t(1));
    QCOMPARE(reader.events("live")[0], good);
    QCOMPARE(relay.eventCount(), size_t(1));

    Event bad = signer.make(1710000101, 1, "tampered");
    bad.content = "changed after signing";
    writer.send(makeEventMsg(bad));
    QTRY_COMPARE(writer.count(RelayMsgType::Ok), 2u);
    const RelayMessage ok2 = writer.all(RelayMsgType::Ok)[1];
    QVERIFY(!ok2.accepted);
    QCOMPARE(ok2.prefix, std::string("invalid"));
    QCOMPARE(relay.eventCount(), size_t(1));

    relay.addEvent(signer.make(1710000102, 1, "added by the test"));  // live push from addEvent()
    QTRY_COMPARE(reader.events("live").size(), size_t(2));
    QCOMPARE(relay.eventsReceived(), 2u);
}

void TstFakeRelay::closeStopsLivePushes() {
    FakeRelay relay;
    QVERIFY(relay.start().ok());
    EventSigner signer(3);
    Client c(relay.url());
    QVERIFY(c.waitConnected());
    c.send(makeReq("a", {kindFilter(1)}));
    c.send(makeReq("b", {kindFilter(1)}));
    QTRY_COMPARE(c.count(RelayMsgType::Eose), 2u);
    c.send(makeClose("a"));
    QTRY_COMPARE(relay.closesReceived(), 1u);
    relay.addEvent(signer.make(1710000000, 1, "after close"));
    QTRY_COMPARE(c.events("b").size(), size_t(1));
    QCOMPARE(c.events("a").size(), size_t(0));  // pushed to b in the same call, so a would have it by now
}

void TstFakeRelay::flood() {
    FakeRelayOptions o;
    o.flood_events = 3000;
    o.flood_high_water_bytes = 64 * 1024;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    Client c(relay.url());
    QVERIFY(c.waitConnected());
    c.send(makeReq("f", {kindFilter(1)}));
    QTRY_COMPARE_WITH_TIMEOUT(c.count(RelayMsgType::Eose, "f"), 1u, 30000);
    const auto got = c.events("f");
    QCOMPARE(got.size(), size_t(3000));
    EventValidator v;
    for (size_t i = 0; i < got.size(); i += 250) {
        std::string json;
        appendEventJson(json, got[i]);
        Event e;
        uint32_t flags = 0;
        QCOMPARE(v.validate(json, 1710000000, e, flags), Reject::None);
    }
    QCOMPARE(relay.floodEventsSent(), 3000u);
    QVERIFY(!relay.pendingSamples().empty());
    // The relay never queued much more than its high-water mark (one event message of slack).
    QVERIFY2(relay.maxBytesPending() <= 64 * 1024 + 4096, QByteArray::number(relay.maxBytesPending()));
}

void TstFakeRelay::floodWaitsForASlowReader() {
    // A raw client that completes the handshake, sends REQ, and then does not read: the kernel
    // buffers fill, the relay's queue reaches its high-water mark and it stops producing.
    FakeRelayOptions o;
    o.flood_events = 200000;
    o.flood_high_water_bytes = 256 * 1024;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    QTcpSocket raw;
    raw.setReadBufferSize(4096);  // Qt stops pulling from the kernel once 4 KiB are buffered
    raw.connectToHost(QHostAddress::LocalHost, relay.port());
    QVERIFY(raw.waitForConnected(5000));
    raw.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    QTRY_VERIFY(raw.bytesAvailable() > 0 || raw.peek(12).startsWith("HTTP/1.1 101"));
    QVERIFY(raw.peek(12).startsWith("HTTP/1.1 101"));
    raw.write(maskedTextFrame(QByteArray::fromStdString(makeReq("f", {kindFilter(1)}))));
    QTRY_VERIFY_WITH_TIMEOUT(relay.bytesPendingNow() >= 256 * 1024, 30000);
    // The kernel's loopback buffers may still absorb a few MB; wait until production stops for
    // a whole 300 ms window (measuring the absence of progress needs a wall-clock window).
    uint64_t before = 0;
    uint64_t after = relay.floodEventsSent();
    for (int i = 0; i < 100 && before != after; ++i) {
        before = after;
        QTest::qWait(300);
        after = relay.floodEventsSent();
    }
    QCOMPARE(after, before);
    QVERIFY2(after < 200000u, QByteArray::number(qulonglong(after)));
    QVERIFY(relay.bytesPendingNow() >= 256 * 1024);  // stalled at the mark, not finished
    QVERIFY(relay.maxBytesPending() <= 256 * 1024 + 4096);
    QVERIFY(relay.pendingSamples().back().bytes_pending >= 256 * 1024);

    // Now read (and drop) everything: the relay resumes and finishes the flood.
    raw.setReadBufferSize(0);
    QObject::connect(&raw, &QTcpSocket::readyRead, [&raw] { raw.readAll(); });
    raw.readAll();
    QTRY_COMPARE_WITH_TIMEOUT(relay.floodEventsSent(), 200000u, 120000);
}

void TstFakeRelay::hugeFrame() {
    FakeRelayOptions o;
    o.huge_frame = true;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    Client c(relay.url());
    QVERIFY(c.waitConnected());
    c.send(makeReq("h", {kindFilter(1)}));
    QTRY_COMPARE_WITH_TIMEOUT(c.count(RelayMsgType::Eose, "h"), 1u, 30000);
    QVERIFY(c.messages.front().size() >= 10u * 1024 * 1024);
    const auto got = c.events("h");
    QCOMPARE(got.size(), size_t(1));
    QCOMPARE(got[0].content.size(), size_t(10 * 1024 * 1024));
}

void TstFakeRelay::neverEose() {
    FakeRelayOptions o;
    o.never_eose = true;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    EventSigner signer(4);
    plant(relay, signer, 5);
    Client c(relay.url());
    QVERIFY(c.waitConnected());
    c.send(makeReq("n", {kindFilter(1)}));
    Filter all;
    c.send(makeCount("c", {all}));  // answered after the REQ: when it arrives, an EOSE would have too
    QTRY_COMPARE(c.count(RelayMsgType::Count, "c"), 1u);
    QCOMPARE(c.events("n").size(), size_t(5));
    QCOMPARE(c.count(RelayMsgType::Eose), 0u);
    QCOMPARE(relay.eosesSent(), 0u);
}

void TstFakeRelay::invalidSignatures() {
    FakeRelayOptions o;
    o.invalid_signature_every = 3;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    EventSigner signer(5);
    plant(relay, signer, 9);
    Client c(relay.url());
    QVERIFY(c.waitConnected());
    c.send(makeReq("i", {kindFilter(1)}));
    QTRY_COMPARE(c.count(RelayMsgType::Eose, "i"), 1u);
    EventValidator v;
    int bad = 0, good = 0;
    for (const auto& m : c.all(RelayMsgType::Event)) {
        Event e;
        uint32_t flags = 0;
        const Reject r = v.validate(m.event_json, 1710000000, e, flags);
        if (r == Reject::BadSignature) ++bad;
        else if (r == Reject::None) ++good;
    }
    QCOMPARE(bad, 3);
    QCOMPARE(good, 6);
    QCOMPARE(relay.brokenSignaturesSent(), 3u);
}

void TstFakeRelay::slowloris() {
    FakeRelayOptions o;
    o.slowloris = true;
    o.slowloris_interval_ms = 100;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    Client c(relay.url());
    QTRY_VERIFY(relay.slowlorisBytesSent() >= 5u);
    QCOMPARE(c.ws.state() == QAbstractSocket::ConnectedState, false);  // ~130 bytes take ~13 s
    QCOMPARE(relay.webSocketsOpened(), 0u);

    // The trickled bytes are a correct 101 response: at full speed the handshake completes.
    relay.options().slowloris_interval_ms = 1;
    Client fast(relay.url());
    QVERIFY(fast.waitConnected());
}

void TstFakeRelay::closeOnConnect() {
    FakeRelayOptions o;
    o.close_on_connect = true;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    for (int i = 0; i < 5; ++i) {
        QWebSocket ws;
        QSignalSpy gone(&ws, &QWebSocket::disconnected);
        ws.open(QUrl(relay.url()));
        QVERIFY(gone.wait(5000));
        QVERIFY(ws.state() != QAbstractSocket::ConnectedState);
    }
    QCOMPARE(relay.connectionsAccepted(), 5u);
    const auto times = relay.connectionTimesMs();
    QCOMPARE(times.size(), size_t(5));
    QVERIFY(std::is_sorted(times.begin(), times.end()));
    QCOMPARE(relay.webSocketsOpened(), 0u);
}

void TstFakeRelay::noticeSpam() {
    FakeRelayOptions o;
    o.notice_spam_interval_ms = 1;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    Client c(relay.url());
    QVERIFY(c.waitConnected());
    QTRY_VERIFY(c.count(RelayMsgType::Notice) >= 100u);
    QVERIFY(relay.noticesSent() >= 100u);
}

void TstFakeRelay::negOpen_data() {
    QTest::addColumn<bool>("ignore");
    QTest::newRow("default relay answers NEG-ERR") << false;
    QTest::newRow("advertises 77, ignores NEG-OPEN") << true;
}

void TstFakeRelay::negOpen() {
    QFETCH(bool, ignore);
    FakeRelayOptions o;
    o.advertise_nip77_ignore_neg_open = ignore;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    Client c(relay.url());
    QVERIFY(c.waitConnected());
    c.send(makeNegOpen("neg", Filter{}, "6100000200"));
    c.send(makeCount("c", {Filter{}}));
    QTRY_COMPARE(c.count(RelayMsgType::Count, "c"), 1u);
    QCOMPARE(c.count(RelayMsgType::NegErr, "neg"), ignore ? 0u : 1u);
    QCOMPARE(c.count(RelayMsgType::NegMsg), 0u);
    QCOMPARE(relay.negOpensReceived(), 1u);
}

void TstFakeRelay::authRequired() {
    FakeRelayOptions o;
    o.auth_required = true;
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    EventSigner signer(6);
    plant(relay, signer, 4);
    Client c(relay.url());
    QVERIFY(c.waitConnected());
    QTRY_COMPARE(c.count(RelayMsgType::Auth), 1u);
    const std::string challenge = c.all(RelayMsgType::Auth)[0].message;
    QVERIFY(!challenge.empty());

    c.send(makeReq("r", {kindFilter(1)}));
    QTRY_COMPARE(c.count(RelayMsgType::Closed, "r"), 1u);
    QCOMPARE(c.all(RelayMsgType::Closed)[0].prefix, std::string("auth-required"));
    QCOMPARE(c.events("r").size(), size_t(0));

    const int64_t now = QDateTime::currentSecsSinceEpoch();
    const std::string url = relay.url().toStdString();
    const Event wrong_challenge = signer.make(now, 22242, "", {{"relay", url}, {"challenge", "nope"}});
    const Event wrong_url = signer.make(now, 22242, "", {{"relay", "ws://127.0.0.1:1"}, {"challenge", challenge}});
    const Event stale = signer.make(now - 3600, 22242, "", {{"relay", url}, {"challenge", challenge}});
    const Event good = signer.make(now, 22242, "", {{"relay", url + "/"}, {"challenge", challenge}});
    for (const Event* e : {&wrong_challenge, &wrong_url, &stale}) c.send(makeAuth(*e));
    QTRY_COMPARE(c.count(RelayMsgType::Ok), 3u);
    for (const auto& ok : c.all(RelayMsgType::Ok)) QVERIFY(!ok.accepted);
    QCOMPARE(relay.authRejected(), 3u);

    c.send(makeAuth(good));
    QTRY_COMPARE(c.count(RelayMsgType::Ok), 4u);
    QVERIFY(c.all(RelayMsgType::Ok)[3].accepted);
    QCOMPARE(relay.authAccepted(), 1u);
    c.send(makeReq("r2", {kindFilter(1)}));
    QTRY_COMPARE(c.count(RelayMsgType::Eose, "r2"), 1u);
    QCOMPARE(c.events("r2").size(), size_t(4));
}

void TstFakeRelay::refusals_data() {
    QTest::addColumn<QString>("mode");
    QTest::addColumn<QString>("prefix");
    QTest::newRow("rate_limited") << "rate_limited" << "rate-limited";
    QTest::newRow("restricted") << "restricted" << "restricted";
}

void TstFakeRelay::refusals() {
    QFETCH(QString, mode);
    QFETCH(QString, prefix);
    FakeRelayOptions o;
    o.rate_limited = mode == "rate_limited";
    o.restricted = mode == "restricted";
    FakeRelay relay(o);
    QVERIFY(relay.start().ok());
    EventSigner signer(7);
    plant(relay, signer, 3);
    Client c(relay.url());
    QVERIFY(c.waitConnected());
    c.send(makeReq("x", {kindFilter(1)}));
    c.send(makeEventMsg(signer.make(1710000500, 1, "refused")));
    QTRY_COMPARE(c.count(RelayMsgType::Closed, "x"), 1u);
    QTRY_COMPARE(c.count(RelayMsgType::Ok), 1u);
    QCOMPARE(QString::fromStdString(c.all(RelayMsgType::Closed)[0].prefix), prefix);
    QCOMPARE(c.all(RelayMsgType::Ok)[0].accepted, false);
    QCOMPARE(QString::fromStdString(c.all(RelayMsgType::Ok)[0].prefix), prefix);
    QCOMPARE(c.events("x").size(), size_t(0));
    QCOMPARE(relay.eventCount(), size_t(3));
}

QTEST_GUILESS_MAIN(TstFakeRelay)
#include "tst_fake_relay.moc"
