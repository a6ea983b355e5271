#include <QCryptographicHash>
#include <QPointer>
#include <QSignalSpy>
#include <QTcpServer>
#include <zlib.h>
#include <QTcpSocket>
#include <QWebSocket>
#include <QWebSocketServer>
#include <QtTest>
#include <QSslConfiguration>
#include <QSslKey>
#include <functional>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/net/websocket_client.h"

using namespace archivist::net;

namespace {

// A server frame (never masked unless asked): b0 = FIN/RSV/opcode byte.
QByteArray frame(int b0, const QByteArray& payload, bool masked = false, int force_len_bytes = 0) {
    QByteArray f;
    f.append(char(b0));
    const qint64 n = payload.size();
    const char mask_bit = masked ? char(0x80) : char(0);
    if ((n < 126 && force_len_bytes == 0) || force_len_bytes == 1) {
        f.append(char(mask_bit | n));
    } else if ((n <= 0xFFFF && force_len_bytes == 0) || force_len_bytes == 2) {
        f.append(char(mask_bit | 126));
        f.append(char(n >> 8));
        f.append(char(n & 0xFF));
    } else {
        f.append(char(mask_bit | 127));
        for (int s = 56; s >= 0; s -= 8) f.append(char((quint64(n) >> s) & 0xFF));
    }
    if (masked) {
        const char key[4] = {1, 2, 3, 4};
        f.append(key, 4);
        for (qint64 i = 0; i < n; ++i) f.append(char(payload[i] ^ key[i & 3]));
    } else {
        f.append(payload);
    }
    return f;
}

// A frame header only: announces `length` bytes of payload.
QByteArray header64(int b0, quint64 length) {
    QByteArray f;
    f.append(char(b0));
    f.append(char(127));
    for (int s = 56; s >= 0; s -= 8) f.append(char((length >> s) & 0xFF));
    return f;
}

struct ClientFrame {
    int opcode = 0;
    bool fin = false;
    bool masked = false;
    QByteArray payload;
};

// Decodes complete client→server frames (unmasking them).
QList<ClientFrame> decodeClientFrames(const QByteArray& bytes) {
    QList<ClientFrame> out;
    qint64 pos = 0;
    while (bytes.size() - pos >= 2) {
        const auto* p = reinterpret_cast<const unsigned char*>(bytes.constData() + pos);
        ClientFrame f;
        f.fin = p[0] & 0x80;
        f.opcode = p[0] & 0x0F;
        f.masked = p[1] & 0x80;
        quint64 len = p[1] & 0x7F;
        qint64 h = 2;
        if (len == 126) {
            len = (quint64(p[2]) << 8) | p[3];
            h = 4;
        } else if (len == 127) {
            len = 0;
            for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
            h = 10;
        }
        const qint64 key_at = pos + h;
        if (f.masked) h += 4;
        if (bytes.size() - pos < h + qint64(len)) break;
        f.payload = bytes.mid(pos + h, qint64(len));
        if (f.masked)
            for (qint64 i = 0; i < f.payload.size(); ++i) f.payload[i] = char(f.payload[i] ^ bytes[key_at + (i & 3)]);
        out.append(f);
        pos += h + qint64(len);
    }
    return out;
}

// A raw TCP server that reads one upgrade request and then follows a script.
class RawServer : public QObject {
public:
    std::function<void(RawServer&)> onRequest;  // called once the request header is complete
    QTcpServer server;
    QPointer<QTcpSocket> conn;
    QByteArray request;
    QByteArray received;  // bytes after the request header
    bool requestDone = false;

    RawServer() {
        QVERIFY(server.listen(QHostAddress::LocalHost, 0));
        connect(&server, &QTcpServer::newConnection, this, [this] {
            QTcpSocket* s = server.nextPendingConnection();
            if (conn) {
                s->abort();
                return;
            }
            conn = s;
            connect(s, &QTcpSocket::readyRead, this, [this, s] {
                const QByteArray data = s->readAll();
                if (requestDone) {
                    received += data;
                    return;
                }
                request += data;
                const qsizetype end = request.indexOf("\r\n\r\n");
                if (end < 0) return;
                received = request.mid(end + 4);
                request.truncate(end + 4);
                requestDone = true;
                if (onRequest) onRequest(*this);
            });
        });
    }
    quint16 port() const { return server.serverPort(); }
    QByteArray header(const QByteArray& name) const {
        for (const QByteArray& line : request.split('\n')) {
            const qsizetype colon = line.indexOf(':');
            if (colon > 0 && line.left(colon).trimmed().toLower() == name.toLower()) return line.mid(colon + 1).trimmed();
        }
        return {};
    }
    QByteArray accept() const {
        return QCryptographicHash::hash(header("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
                                        QCryptographicHash::Sha1)
            .toBase64();
    }
    void sendUpgrade(const QByteArray& accept_value = {}, const QByteArray& extra = {}) {
        conn->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: " +
                    (accept_value.isEmpty() ? accept() : accept_value) + "\r\n" + extra + "\r\n");
    }
};

// A raw-deflate compressor for permessage-deflate messages (context kept across messages).
struct Deflater {
    z_stream z{};
    Deflater() { deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY); }
    ~Deflater() { deflateEnd(&z); }
    QByteArray message(const QByteArray& in) {
        QByteArray out(int(deflateBound(&z, uLong(in.size())) + 64), '\0');
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.constData()));
        z.avail_in = uInt(in.size());
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = uInt(out.size());
        deflate(&z, Z_SYNC_FLUSH);
        out.truncate(out.size() - int(z.avail_out));
        out.chop(4);  // RFC 7692 §7.2.1: the 00 00 ff ff tail is not sent
        return out;
    }
};

// The status code of the close frame the client sent last; -1 while it has sent none.
int closeCodeSent(const RawServer& srv) {
    const auto frames = decodeClientFrames(srv.received);
    if (frames.isEmpty() || frames.last().opcode != 0x8 || frames.last().payload.size() < 2) return -1;
    const QByteArray& p = frames.last().payload;
    return (uint8_t(p[0]) << 8) | uint8_t(p[1]);
}

QUrl wsUrl(quint16 port, const QString& path = "/") {
    return QUrl(QStringLiteral("ws://relay.example:%1%2").arg(port).arg(path));
}

WebSocketOptions fastOptions() {
    WebSocketOptions o;
    o.connect_timeout_ms = 5000;
    o.close_timeout_ms = 2000;
    return o;
}

// Collects what a client reports.
struct Recorder {
    QList<QByteArray> messages;
    QList<WsError> errors;
    QStringList details;
    int opened = 0;
    explicit Recorder(WebSocketClient& c) {
        QObject::connect(&c, &WebSocketClient::textMessage, [this](QByteArrayView m) { messages.append(m.toByteArray()); });
        QObject::connect(&c, &WebSocketClient::opened, [this] { ++opened; });
        QObject::connect(&c, &WebSocketClient::closed, [this](WsError e, const QString& d) {
            errors.append(e);
            details.append(d);
        });
    }
};

// A throw-away self-signed certificate (P-256) for `dns_name`, made in memory for the test.
struct TestCert {
    QSslCertificate certificate;
    QSslKey key;
};
TestCert makeSelfSigned(const QByteArray& dns_name) {
    TestCert out;
    EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* x = X509_new();
    if (!pkey || !x) return out;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(dns_name.constData()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    const QByteArray san = "DNS:" + dns_name;
    if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.constData())) {
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, pkey, EVP_sha256());
    auto pem = [](auto write) {
        BIO* bio = BIO_new(BIO_s_mem());
        write(bio);
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        QByteArray out(data, int(n));
        BIO_free(bio);
        return out;
    };
    out.certificate = QSslCertificate(pem([x](BIO* b) { PEM_write_bio_X509(b, x); }), QSsl::Pem);
    out.key = QSslKey(pem([pkey](BIO* b) { PEM_write_bio_PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr); }),
                      QSsl::Ec, QSsl::Pem);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return out;
}

}  // namespace

class TestWebSocketClient : public QObject {
    Q_OBJECT
private slots:
    void errorNamesAreStable() {
        QCOMPARE(QByteArray(wsErrorName(WsError::None)), QByteArray("none"));
        QCOMPARE(QByteArray(wsErrorName(WsError::ConnectTimeout)), QByteArray("connect_timeout"));
        QCOMPARE(QByteArray(wsErrorName(WsError::HandshakeFailed)), QByteArray("handshake_failed"));
        QCOMPARE(QByteArray(wsErrorName(WsError::ProtocolError)), QByteArray("protocol_error"));
        QCOMPARE(QByteArray(wsErrorName(WsError::MessageTooBig)), QByteArray("message_too_big"));
        QCOMPARE(QByteArray(wsErrorName(WsError::RemoteClosed)), QByteArray("remote_closed"));
        QCOMPARE(QByteArray(wsErrorName(WsError::TlsFailed)), QByteArray("tls_failed"));
    }

    // Happy path against Qt's own server: echo (UTF-8, 16- and 64-bit lengths, server-side
    // fragmentation), ping/pong, and our closing handshake.
    void echoPingAndCloseAgainstQWebSocketServer() {
        QWebSocketServer ws("test", QWebSocketServer::NonSecureMode);
        QVERIFY(ws.listen(QHostAddress::LocalHost, 0));
        QList<QPointer<QWebSocket>> peers;
        int server_close_code = -1;
        connect(&ws, &QWebSocketServer::newConnection, this, [&] {
            QWebSocket* s = ws.nextPendingConnection();
            s->setOutgoingFrameSize(4096);  // long messages come back fragmented
            peers.append(s);
            connect(s, &QWebSocket::textMessageReceived, s, [s](const QString& m) { s->sendTextMessage(m); });
            connect(s, &QWebSocket::disconnected, s, [s, &server_close_code] { server_close_code = s->closeCode(); });
        });
        WebSocketClient c(fastOptions());
        Recorder r(c);
        QSignalSpy pongs(&c, &WebSocketClient::pong);
        qint64 wire_bytes = 0;
        connect(&c, &WebSocketClient::bytesReceived, this, [&](qint64 n) { wire_bytes += n; });
        c.open(QUrl(QStringLiteral("ws://localhost:%1/").arg(ws.serverPort())), QHostAddress::LocalHost);
        QCOMPARE(c.state(), WsState::Connecting);
        QTRY_COMPARE(r.opened, 1);
        QCOMPARE(c.state(), WsState::Open);
        QCOMPARE(c.peerAddress(), QHostAddress(QHostAddress::LocalHost));

        const QByteArray small = "[\"EVENT\",\"sub\",{\"content\":\"héllo ✓\"}]";
        const QByteArray medium(300, 'm');         // 16-bit length
        QByteArray large(200 * 1024, 'x');         // fragmented by the server, 64-bit length from us
        for (int i = 0; i < large.size(); i += 997) large[i] = char('a' + (i % 26));
        QVERIFY(c.sendText(small));
        QVERIFY(c.sendText(medium));
        QVERIFY(c.sendText(large));
        QTRY_COMPARE(r.messages.size(), 3);
        QCOMPARE(r.messages[0], small);
        QCOMPARE(r.messages[1], medium);
        QCOMPARE(r.messages[2], large);
        QVERIFY(wire_bytes > large.size());

        QVERIFY(c.ping("rtt-1"));
        QTRY_COMPARE(pongs.size(), 1);
        QVERIFY(pongs[0][0].toLongLong() >= 0);
        QCOMPARE(pongs[0][1].toByteArray(), QByteArray("rtt-1"));
        QVERIFY(!c.ping(QByteArray(126, 'p')));  // control payload limit

        c.close(1000, "bye");
        QCOMPARE(c.state(), WsState::Closing);
        QVERIFY(!c.sendText("late"));
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::None);
        QCOMPARE(c.state(), WsState::Closed);
        QTRY_COMPARE(server_close_code, 1000);
        c.abort();  // no second closed()
        QCoreApplication::processEvents();
        QCOMPARE(r.errors.size(), 1);
    }

    void serverInitiatedCloseIsEchoedAndReported() {
        QWebSocketServer ws("test", QWebSocketServer::NonSecureMode);
        QVERIFY(ws.listen(QHostAddress::LocalHost, 0));
        QPointer<QWebSocket> peer;
        bool peer_disconnected = false;
        connect(&ws, &QWebSocketServer::newConnection, this, [&] {
            peer = ws.nextPendingConnection();
            connect(peer, &QWebSocket::disconnected, this, [&] { peer_disconnected = true; });
        });
        WebSocketClient c(fastOptions());
        Recorder r(c);
        c.open(QUrl(QStringLiteral("ws://localhost:%1/").arg(ws.serverPort())), QHostAddress::LocalHost);
        QTRY_VERIFY(peer);
        QTRY_COMPARE(r.opened, 1);
        peer->close(QWebSocketProtocol::CloseCodeGoingAway, "maintenance");
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::RemoteClosed);
        QVERIFY2(r.details[0].contains("1001") && r.details[0].contains("maintenance"), qPrintable(r.details[0]));
        // The server's closing handshake completes because we echoed its close frame.
        QTRY_VERIFY(peer_disconnected);
        QCOMPARE(c.state(), WsState::Closed);
    }

    // The request goes to the checked address, but names the URL's host; client frames are masked.
    void requestUsesUrlHostAndMasksFrames() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) { s.sendUpgrade(); };
        WebSocketClient c(fastOptions());
        Recorder r(c);
        c.open(wsUrl(srv.port(), "/nostr?x=1&y=%C3%A9"), QHostAddress::LocalHost);
        QTRY_COMPARE(r.opened, 1);
        QVERIFY2(srv.request.startsWith("GET /nostr?x=1&y=%C3%A9 HTTP/1.1\r\n"), srv.request.constData());
        QCOMPARE(srv.header("Host"), QByteArray("relay.example:") + QByteArray::number(srv.port()));
        QCOMPARE(srv.header("Upgrade").toLower(), QByteArray("websocket"));
        QCOMPARE(srv.header("Sec-WebSocket-Version"), QByteArray("13"));
        QCOMPARE(QByteArray::fromBase64(srv.header("Sec-WebSocket-Key")).size(), 16);
        // permessage-deflate offered (we only inflate: our own messages go uncompressed).
        QCOMPARE(srv.header("Sec-WebSocket-Extensions"), QByteArray("permessage-deflate; client_no_context_takeover"));
        QCOMPARE(srv.header("User-Agent"), QByteArray("archivist"));

        QVERIFY(c.sendText("hello"));
        QVERIFY(c.sendText("hello"));
        QTRY_COMPARE(decodeClientFrames(srv.received).size(), 2);
        const auto frames = decodeClientFrames(srv.received);
        QVERIFY(frames[0].masked && frames[0].fin);
        QCOMPARE(frames[0].opcode, 1);
        QCOMPARE(frames[0].payload, QByteArray("hello"));
        // Two frames with the same text look different on the wire: the keys are random.
        const qsizetype first_len = 2 + 4 + 5;
        QVERIFY(srv.received.left(first_len) != srv.received.mid(first_len, first_len));
        QVERIFY(!c.sendText("\xC3\x28"));  // we never send invalid UTF-8
        c.abort();
        QCOMPARE(r.errors.value(0), WsError::Aborted);
    }

    void sendRefusesBeyondTheWriteBound() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) { s.sendUpgrade(); };
        WebSocketOptions o = fastOptions();
        o.max_pending_write_bytes = 64 * 1024;
        WebSocketClient c(o);
        Recorder r(c);
        QVERIFY(!c.sendText("not open yet"));
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.opened, 1);
        QVERIFY(!c.sendText(QByteArray(70 * 1024, 'a')));
        QVERIFY(c.sendText(QByteArray(1000, 'a')));
        QVERIFY(c.bytesToWrite() <= o.max_pending_write_bytes);
    }

    // Hand-written server frames: valid sequences and every protocol violation we reject.
    void scriptedFrames_data() {
        QTest::addColumn<QByteArray>("frames");
        QTest::addColumn<QList<QByteArray>>("messages");
        QTest::addColumn<int>("error");  // WsError; None: the connection must stay open
        QTest::addColumn<int>("closeCode");  // close code we must send, 0: none

        const int none = int(WsError::None), proto = int(WsError::ProtocolError);
        QTest::newRow("two messages in one segment")
            << frame(0x81, "one") + frame(0x81, "two") << QList<QByteArray>{"one", "two"} << none << 0;
        QTest::newRow("fragmented with ping and pong in between")
            << frame(0x01, "Hel") + frame(0x89, "are you there") + frame(0x00, "lo") + frame(0x8A, "stray") +
                   frame(0x80, "!")
            << QList<QByteArray>{"Hello!"} << none << 0;
        QTest::newRow("16-bit length") << frame(0x81, QByteArray(300, 'a')) << QList<QByteArray>{QByteArray(300, 'a')}
                                       << none << 0;
        QTest::newRow("64-bit length") << frame(0x81, QByteArray(70000, 'b'))
                                       << QList<QByteArray>{QByteArray(70000, 'b')} << none << 0;
        QTest::newRow("non-minimal 64-bit length for a small frame")
            << frame(0x81, "tiny", false, 8) << QList<QByteArray>{"tiny"} << none << 0;
        QTest::newRow("utf-8 split across fragments")
            << frame(0x01, "\xE2\x9C") + frame(0x80, "\x93") << QList<QByteArray>{"\xE2\x9C\x93"} << none << 0;
        QTest::newRow("binary ignored, text after it delivered")
            << frame(0x82, "\x00\x01\x02") + frame(0x02, "ab") + frame(0x80, "cd") + frame(0x81, "text")
            << QList<QByteArray>{"text"} << none << 0;
        QTest::newRow("empty text message") << frame(0x81, "") << QList<QByteArray>{""} << none << 0;

        QTest::newRow("masked server frame") << frame(0x81, "hidden", true) << QList<QByteArray>{} << proto << 1002;
        QTest::newRow("reserved bit") << frame(0xC1, "rsv1") << QList<QByteArray>{} << proto << 1002;
        QTest::newRow("reserved data opcode") << frame(0x83, "x") << QList<QByteArray>{} << proto << 1002;
        QTest::newRow("reserved control opcode") << frame(0x8B, "x") << QList<QByteArray>{} << proto << 1002;
        QTest::newRow("fragmented ping") << frame(0x09, "x") << QList<QByteArray>{} << proto << 1002;
        QTest::newRow("ping over 125 bytes") << frame(0x89, QByteArray(126, 'p')) << QList<QByteArray>{} << proto
                                             << 1002;
        QTest::newRow("continuation without a start") << frame(0x80, "x") << QList<QByteArray>{} << proto << 1002;
        QTest::newRow("new message inside a fragmented one")
            << frame(0x01, "a") + frame(0x81, "b") << QList<QByteArray>{} << proto << 1002;
        QTest::newRow("invalid utf-8") << frame(0x81, "ok") + frame(0x81, "\xC3\x28")
                                       << QList<QByteArray>{"ok"} << proto << 1007;
        QTest::newRow("invalid utf-8 across fragments")
            << frame(0x01, "\xE2\x9C") + frame(0x80, "x") << QList<QByteArray>{} << proto << 1007;
        QTest::newRow("one-byte close payload") << frame(0x88, "x") << QList<QByteArray>{} << proto << 1002;
    }
    void scriptedFrames() {
        QFETCH(QByteArray, frames);
        QFETCH(QList<QByteArray>, messages);
        QFETCH(int, error);
        QFETCH(int, closeCode);
        RawServer srv;
        srv.onRequest = [&frames](RawServer& s) {
            s.sendUpgrade();
            s.conn->write(frames);
        };
        WebSocketClient c(fastOptions());
        Recorder r(c);
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.opened, 1);
        if (error == int(WsError::None)) {
            QTRY_COMPARE(r.messages.size(), messages.size());
            QCOMPARE(r.messages, messages);
            QVERIFY(r.errors.isEmpty());
            QCOMPARE(c.state(), WsState::Open);
            if (QTest::currentDataTag() == QByteArray("binary ignored, text after it delivered"))
                QCOMPARE(c.binaryMessagesIgnored(), uint64_t(2));
            if (frames.contains("are you there")) {  // the ping was answered with the same payload
                QTRY_VERIFY(!decodeClientFrames(srv.received).isEmpty());
                const ClientFrame pong = decodeClientFrames(srv.received).first();
                QCOMPARE(pong.opcode, 0xA);
                QCOMPARE(pong.payload, QByteArray("are you there"));
            }
            return;
        }
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(int(r.errors[0]), error);
        QCOMPARE(r.messages, messages);
        QCOMPARE(c.state(), WsState::Closed);
        QCOMPARE(c.bufferedBytes(), 0);
        QTRY_VERIFY(!decodeClientFrames(srv.received).isEmpty());
        const ClientFrame close = decodeClientFrames(srv.received).last();
        QCOMPARE(close.opcode, 0x8);
        QVERIFY(close.masked);
        QCOMPARE((uint8_t(close.payload[0]) << 8) | uint8_t(close.payload[1]), closeCode);
    }

    void handshakeFailures_data() {
        QTest::addColumn<QByteArray>("response");  // "%ACCEPT%" is replaced by the right key
        QTest::addColumn<QString>("detailContains");
        QTest::newRow("403") << QByteArray("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n") << "403";
        QTest::newRow("200 instead of 101") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi") << "200";
        QTest::newRow("wrong accept key")
            << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            << "Accept";
        QTest::newRow("no upgrade header")
            << QByteArray("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %ACCEPT%\r\n\r\n")
            << "Upgrade";
        QTest::newRow("extension we did not offer")
            << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %ACCEPT%\r\nSec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n")
            << "extension";
        QTest::newRow("deflate parameter we did not offer")
            << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %ACCEPT%\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n")
            << "parameter";
        QTest::newRow("not http") << QByteArray("SSH-2.0-OpenSSH_9.2\r\n\r\n") << "not an HTTP";
        QTest::newRow("closed before answering") << QByteArray() << "closed before";
    }
    void handshakeFailures() {
        QFETCH(QByteArray, response);
        QFETCH(QString, detailContains);
        RawServer srv;
        srv.onRequest = [&response](RawServer& s) {
            QByteArray out = response;
            out.replace("%ACCEPT%", s.accept());
            s.conn->write(out);
            s.conn->disconnectFromHost();
        };
        WebSocketClient c(fastOptions());
        Recorder r(c);
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::HandshakeFailed);
        QVERIFY2(r.details[0].contains(detailContains), qPrintable(r.details[0]));
        QCOMPARE(r.opened, 0);
        QCOMPARE(c.state(), WsState::Closed);
    }

    void connectTimeoutWhenTheUpgradeIsNeverAnswered() {
        RawServer srv;  // accepts, reads the request, says nothing
        WebSocketOptions o = fastOptions();
        o.connect_timeout_ms = 300;
        WebSocketClient c(o);
        Recorder r(c);
        QElapsedTimer t;
        t.start();
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_VERIFY(srv.requestDone);
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::ConnectTimeout);
        QVERIFY(t.elapsed() >= 250);
        QCOMPARE(r.opened, 0);
    }

    void connectFailedWhenNothingListens() {
        quint16 port = 0;
        {
            QTcpServer probe;
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            port = probe.serverPort();
        }
        WebSocketClient c(fastOptions());
        Recorder r(c);
        c.open(wsUrl(port), QHostAddress::LocalHost);
        QCOMPARE(r.errors.size(), 0);  // never from inside open()
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::ConnectFailed);
        // The object can be opened again after closed().
        c.open(QUrl("http://relay.example/"), QHostAddress::LocalHost);
        QTRY_COMPARE(r.errors.size(), 2);
        QCOMPARE(r.errors[1], WsError::ConnectFailed);
    }

    void tlsToAPlainServerFailsCleanly() {
        QTcpServer srv;
        QVERIFY(srv.listen(QHostAddress::LocalHost, 0));
        connect(&srv, &QTcpServer::newConnection, this, [&srv] {
            QTcpSocket* s = srv.nextPendingConnection();
            connect(s, &QTcpSocket::readyRead, s, [s] {
                s->readAll();
                s->write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n garbage, not a ServerHello");
            });
        });
        WebSocketClient c(fastOptions());
        Recorder r(c);
        c.open(QUrl(QStringLiteral("wss://localhost:%1/").arg(srv.serverPort())), QHostAddress::LocalHost);
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::TlsFailed);
        QCOMPARE(r.opened, 0);
    }

    // wss to 127.0.0.1: SNI and certificate verification use the URL's host, not the address.
    void tlsVerifiesTheUrlHostWhileConnectingToTheAddress_data() {
        QTest::addColumn<QString>("host");
        QTest::addColumn<bool>("trustTestCa");
        QTest::addColumn<bool>("opens");
        QTest::newRow("trusted, matching name") << "relay.test" << true << true;
        QTest::newRow("trusted, other name") << "other.test" << true << false;
        QTest::newRow("self-signed, not trusted") << "relay.test" << false << false;
    }
    void tlsVerifiesTheUrlHostWhileConnectingToTheAddress() {
        QFETCH(QString, host);
        QFETCH(bool, trustTestCa);
        QFETCH(bool, opens);
        const TestCert cert = makeSelfSigned("relay.test");
        QVERIFY(!cert.certificate.isNull() && !cert.key.isNull());
        QWebSocketServer ws("tls", QWebSocketServer::SecureMode);
        QSslConfiguration conf = QSslConfiguration::defaultConfiguration();
        conf.setLocalCertificate(cert.certificate);
        conf.setPrivateKey(cert.key);
        conf.setPeerVerifyMode(QSslSocket::VerifyNone);
        ws.setSslConfiguration(conf);
        QVERIFY(ws.listen(QHostAddress::LocalHost, 0));
        connect(&ws, &QWebSocketServer::newConnection, this, [&ws] {
            QWebSocket* s = ws.nextPendingConnection();
            connect(s, &QWebSocket::textMessageReceived, s, [s](const QString& m) { s->sendTextMessage(m); });
        });
        WebSocketOptions o = fastOptions();
        if (trustTestCa) o.extra_ca_certificates = {cert.certificate};
        WebSocketClient c(o);
        Recorder r(c);
        c.open(QUrl(QStringLiteral("wss://%1:%2/").arg(host).arg(ws.serverPort())), QHostAddress::LocalHost);
        if (!opens) {
            QTRY_COMPARE(r.errors.size(), 1);
            QCOMPARE(r.errors[0], WsError::TlsFailed);
            QCOMPARE(r.opened, 0);
            return;
        }
        QTRY_COMPARE(r.opened, 1);
        QVERIFY(c.sendText("over tls"));
        QTRY_COMPARE(r.messages, QList<QByteArray>{"over tls"});
        c.close();
        QTRY_COMPARE(r.errors, QList<WsError>{WsError::None});
    }

    // A header announcing 10 MB fails at once: the payload is never awaited or buffered.
    void oversizeFrameFailsFromItsHeader() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) {
            s.sendUpgrade();
            s.conn->write(header64(0x81, 10u << 20) + QByteArray(100, 'z'));  // the rest never comes
        };
        WebSocketOptions o = fastOptions();
        o.max_message_bytes = 1 << 20;
        WebSocketClient c(o);
        Recorder r(c);
        qint64 max_buffered = 0;
        connect(&c, &WebSocketClient::bytesReceived, this, [&] { max_buffered = std::max(max_buffered, c.bufferedBytes()); });
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::MessageTooBig);
        QVERIFY(max_buffered < 1024);
        QTRY_COMPARE(closeCodeSent(srv), 1009);
    }

    // permessage-deflate: offered, used when accepted (context takeover across messages), and
    // the inflated size bounded like an uncompressed message: a bomb closes with 1009.
    void deflateIsOfferedAndInflated() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) {
            s.sendUpgrade({}, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
            Deflater d;
            const QByteArray first = d.message(QByteArray("[\"NOTICE\",\"hello hello hello hello\"]"));
            const QByteArray second = d.message(QByteArray("[\"NOTICE\",\"hello hello again\"]"));  // uses the first as context
            s.conn->write(frame(0xC1, first) + frame(0x01 | 0x40, second.left(3)) + frame(0x80, second.mid(3)));
        };
        WebSocketClient c(fastOptions());
        Recorder r(c);
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.messages.size(), 2);
        QCOMPARE(r.messages[0], QByteArray("[\"NOTICE\",\"hello hello hello hello\"]"));
        QCOMPARE(r.messages[1], QByteArray("[\"NOTICE\",\"hello hello again\"]"));
        QVERIFY(c.deflateActive());
        QVERIFY(srv.header("Sec-WebSocket-Extensions").startsWith("permessage-deflate"));
        QVERIFY(r.errors.isEmpty());
    }

    void deflateBombClosesWith1009() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) {
            s.sendUpgrade({}, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n");
            Deflater d;
            s.conn->write(frame(0xC1, d.message(QByteArray(16 << 20, 'a'))));  // 16 MiB inflate from ≈ 16 KiB
        };
        WebSocketOptions o = fastOptions();
        o.max_message_bytes = 1 << 20;
        WebSocketClient c(o);
        Recorder r(c);
        qint64 max_buffered = 0;
        connect(&c, &WebSocketClient::bytesReceived, this, [&] { max_buffered = std::max(max_buffered, c.bufferedBytes()); });
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::MessageTooBig);
        QVERIFY(r.messages.isEmpty());
        QVERIFY(c.inflatedBytes() <= uint64_t(o.max_message_bytes));
        QVERIFY(max_buffered <= o.max_message_bytes + o.read_chunk_bytes);
        QTRY_COMPARE(closeCodeSent(srv), 1009);
    }

    void compressedFrameWithoutNegotiationIsAProtocolError() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) {
            s.sendUpgrade();
            Deflater d;
            s.conn->write(frame(0xC1, d.message(QByteArray("[\"NOTICE\",\"x\"]"))));
        };
        WebSocketClient c(fastOptions());
        Recorder r(c);
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::ProtocolError);
    }

    void oversizeFragmentedMessageFailsAtTheFragmentThatCrossesTheBound() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) {
            s.sendUpgrade();
            s.conn->write(frame(0x01, QByteArray(600, 'a')) + frame(0x00, QByteArray(300, 'b')) +
                          header64(0x80, 200));
        };
        WebSocketOptions o = fastOptions();
        o.max_message_bytes = 1000;
        WebSocketClient c(o);
        Recorder r(c);
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::MessageTooBig);
        QVERIFY(r.messages.isEmpty());
    }

    void serverClosingMidFrameIsReportedWithoutAPartialMessage() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) {
            s.sendUpgrade();
            s.conn->write(frame(0x81, "complete") + frame(0x81, QByteArray(256, 'q')).left(50));
            s.conn->disconnectFromHost();
        };
        WebSocketClient c(fastOptions());
        Recorder r(c);
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.errors.size(), 1);
        QCOMPARE(r.errors[0], WsError::RemoteClosed);
        QVERIFY2(r.details[0].contains("mid-frame"), qPrintable(r.details[0]));
        QCOMPARE(r.messages, QList<QByteArray>{"complete"});
        QCOMPARE(c.state(), WsState::Closed);
    }

    // A message is a view into the client's read buffer. A receiver that aborts the client inside
    // textMessage() (and then deletes it later, as the engine does) still reads the whole message
    // it was given (the sanitizer build would report a read of freed memory), and nothing more is
    // delivered.
    void closingInsideTheHandlerKeepsTheMessage_data() {
        QTest::addColumn<bool>("deleteLater");
        QTest::newRow("abort") << false;
        QTest::newRow("abort, deleteLater") << true;
    }
    void closingInsideTheHandlerKeepsTheMessage() {
        QFETCH(bool, deleteLater);
        RawServer srv;
        const QByteArray big(20000, 'm');
        srv.onRequest = [&big](RawServer& s) {
            s.sendUpgrade();
            s.conn->write(frame(0x81, big) + frame(0x81, "after"));
        };
        QPointer<WebSocketClient> c = new WebSocketClient(fastOptions());
        QList<QByteArray> got;
        connect(c, &WebSocketClient::textMessage, this, [&](QByteArrayView m) {
            c->abort();
            if (deleteLater) c->deleteLater();
            got.append(m.toByteArray());  // after the client let go of its buffer
        });
        c->open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(got.size(), 1);
        QTest::qWait(100);
        QCOMPARE(got.size(), 1);
        QCOMPARE(got[0], big);
        QCOMPARE(c.isNull(), deleteLater);
        delete c.data();
    }

    // Pausing inside textMessage() stops delivery at once, even of frames already read.
    void pauseInsideTheHandlerHoldsBufferedFrames() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) {
            s.sendUpgrade();
            QByteArray all;
            for (int i = 0; i < 10; ++i) all += frame(0x81, QByteArray::number(i));
            s.conn->write(all);
        };
        WebSocketClient c(fastOptions());
        Recorder r(c);
        connect(&c, &WebSocketClient::textMessage, this, [&c](QByteArrayView m) {
            if (m == "0" || m == "5") c.setReadingPaused(true);
        });
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.messages.size(), 1);
        QVERIFY(c.readingPaused());
        QTRY_VERIFY(c.bufferedBytes() > 0 || srv.conn->bytesToWrite() == 0);
        QTest::qWait(100);  // nothing may arrive while paused
        QCOMPARE(r.messages.size(), 1);
        c.setReadingPaused(false);
        QTRY_COMPARE(r.messages.size(), 6);
        QTest::qWait(100);
        QCOMPARE(r.messages.size(), 6);
        c.setReadingPaused(false);
        QTRY_COMPARE(r.messages.size(), 10);
        for (int i = 0; i < 10; ++i) QCOMPARE(r.messages[i], QByteArray::number(i));
    }

    // Paused before open(): the upgrade still completes; frames, and the news that the peer
    // left, wait for resume and then come in order.
    void pausedBeforeOpenHoldsFramesAndTheDisconnect() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) {
            s.sendUpgrade();
            s.conn->write(frame(0x81, "a") + frame(0x81, "b") + frame(0x81, "c"));
            s.conn->disconnectFromHost();
        };
        WebSocketClient c(fastOptions());
        QStringList log;
        connect(&c, &WebSocketClient::opened, this, [&log] { log << "opened"; });
        connect(&c, &WebSocketClient::textMessage, this, [&log](QByteArrayView m) { log << QString::fromUtf8(m); });
        connect(&c, &WebSocketClient::closed, this,
                [&log](WsError e, const QString&) { log << QString::fromLatin1(wsErrorName(e)); });
        c.setReadingPaused(true);
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(log, QStringList{"opened"});
        QTRY_VERIFY(!srv.conn || srv.conn->state() == QAbstractSocket::UnconnectedState);
        QTest::qWait(100);  // nothing may be delivered while paused
        QCOMPARE(log, QStringList{"opened"});
        QCOMPARE(c.state(), WsState::Open);
        c.setReadingPaused(false);
        QTRY_COMPARE(log, (QStringList{"opened", "a", "b", "c", "remote_closed"}));
    }

    // The flow-control promise: a paused client holds a bounded amount, the kernel window
    // closes and the server's own send buffer grows; after resuming everything arrives in order.
    void pausedReadingPushesBackOnTheServer() {
        constexpr int kMessages = 20000;
        constexpr int kMessageBytes = 1000;  // ≈ 20 MB on the wire
        RawServer srv;
        srv.onRequest = [](RawServer& s) {
            s.sendUpgrade();
            QByteArray all;
            all.reserve(qsizetype(kMessages) * (kMessageBytes + 4));
            for (int i = 0; i < kMessages; ++i) {
                QByteArray m = QByteArray::number(i).rightJustified(8, '0');
                m += QByteArray(kMessageBytes - m.size(), 'e');
                all += frame(0x81, m);
            }
            s.conn->write(all);
        };
        WebSocketOptions o = fastOptions();
        o.max_message_bytes = 64 * 1024;
        o.read_chunk_bytes = 16 * 1024;
        o.socket_read_buffer_bytes = 64 * 1024;
        const qint64 bound = o.max_message_bytes + o.read_chunk_bytes;
        WebSocketClient c(o);
        Recorder r(c);
        connect(&c, &WebSocketClient::opened, this, [&c] { c.setReadingPaused(true); });
        qint64 max_buffered = 0, max_held = 0;
        connect(&c, &WebSocketClient::textMessage, this, [&] {
            max_buffered = std::max(max_buffered, c.bufferedBytes());
            max_held = std::max(max_held, c.heldBytes());
        });
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.opened, 1);
        QTRY_VERIFY(srv.conn && srv.conn->bytesToWrite() > 0);
        // Let the kernel buffers fill; then the server must be stuck with most of the 20 MB.
        qint64 last = -1;
        for (int i = 0; i < 50 && srv.conn->bytesToWrite() != last; ++i) {
            last = srv.conn->bytesToWrite();
            QTest::qWait(100);
        }
        const qint64 stuck = srv.conn->bytesToWrite();
        qInfo() << "server bytesToWrite while paused:" << stuck << "client buffered:" << c.bufferedBytes();
        QVERIFY2(stuck > 8 * 1024 * 1024, qPrintable(QString::number(stuck)));
        QVERIFY(r.messages.isEmpty());
        QVERIFY(c.bufferedBytes() <= bound);

        c.setReadingPaused(false);
        QTRY_COMPARE_WITH_TIMEOUT(r.messages.size(), kMessages, 120000);
        for (int i = 0; i < kMessages; ++i)
            QCOMPARE(r.messages[i].left(8), QByteArray::number(i).rightJustified(8, '0'));
        QVERIFY2(max_buffered <= bound, qPrintable(QString::number(max_buffered)));
        // The read buffer's allocation, kept between passes, is bounded too.
        QVERIFY2(max_held <= bound, qPrintable(QString::number(max_held)));
        QVERIFY2(c.heldBytes() <= o.read_chunk_bytes + 16 * 1024, qPrintable(QString::number(c.heldBytes())));
        QVERIFY(r.errors.isEmpty());
    }

    // A large message needs a large read buffer for a moment; once it is delivered and the
    // buffer emptied, the client does not keep that allocation.
    void aLargeMessageLeavesNoLargeBuffer() {
        RawServer srv;
        const QByteArray big(300 * 1024, 'b');
        srv.onRequest = [&big](RawServer& s) {
            s.sendUpgrade();
            s.conn->write(frame(0x81, big) + frame(0x81, "[\"EOSE\",\"s\"]"));
        };
        WebSocketOptions o = fastOptions();
        o.max_message_bytes = 512 * 1024;
        o.read_chunk_bytes = 16 * 1024;
        WebSocketClient c(o);
        Recorder r(c);
        qint64 held_at_big = 0;
        connect(&c, &WebSocketClient::textMessage, this, [&](QByteArrayView m) {
            if (m.size() == big.size()) held_at_big = c.heldBytes();
        });
        c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
        QTRY_COMPARE(r.messages.size(), 2);
        QCOMPARE(r.messages[0], big);
        QVERIFY2(held_at_big >= big.size(), qPrintable(QString::number(held_at_big)));
        QTRY_VERIFY2(c.heldBytes() <= o.read_chunk_bytes + 16 * 1024, qPrintable(QString::number(c.heldBytes())));
        QVERIFY(r.errors.isEmpty());
    }

    void destructionWhileOpenEmitsNothing() {
        RawServer srv;
        srv.onRequest = [](RawServer& s) { s.sendUpgrade(); };
        int closed = 0;
        {
            WebSocketClient c(fastOptions());
            Recorder r(c);
            connect(&c, &WebSocketClient::closed, this, [&closed] { ++closed; });
            c.open(wsUrl(srv.port()), QHostAddress::LocalHost);
            QTRY_COMPARE(r.opened, 1);
        }
        QTRY_COMPARE(srv.conn ? srv.conn->state() : QAbstractSocket::UnconnectedState,
                     QAbstractSocket::UnconnectedState);
        QCOMPARE(closed, 0);
    }
};

QTEST_GUILESS_MAIN(TestWebSocketClient)
#include "tst_websocket_client.moc"
