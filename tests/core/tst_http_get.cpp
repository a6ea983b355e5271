#include <QPointer>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QtTest>

#include "core/net/http_get.h"

using namespace archivist::net;

namespace {

// Reads one request header, then answers with `response` (whole, or dripped 3 bytes at a time),
// optionally closing afterwards. An empty response means: never answer.
class ScriptedHttpServer : public QObject {
public:
    QTcpServer server;
    QPointer<QTcpSocket> conn;
    QByteArray request;
    QByteArray response;
    bool drip = false;
    bool closeAfter = false;
    bool closeWithoutAnswer = false;  // after the whole request (header and body) arrived

    // The request is complete when its header is and, with Content-Length, its body too.
    bool requestComplete() const {
        const qsizetype end = request.indexOf("\r\n\r\n");
        if (end < 0) return false;
        const QByteArray length = header("Content-Length");
        return length.isEmpty() || request.size() - (end + 4) >= length.toLongLong();
    }
    QByteArray body() const { return request.mid(request.indexOf("\r\n\r\n") + 4); }

    ScriptedHttpServer() {
        QVERIFY(server.listen(QHostAddress::LocalHost, 0));
        connect(&server, &QTcpServer::newConnection, this, [this] {
            conn = server.nextPendingConnection();
            connect(conn, &QTcpSocket::readyRead, this, [this] {
                const bool was_complete = requestComplete();
                request += conn->readAll();
                if (was_complete || !requestComplete()) return;
                if (closeWithoutAnswer) conn->disconnectFromHost();
                else if (!response.isEmpty()) answer();
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

private:
    void answer() {
        if (!drip) {
            conn->write(response);
            if (closeAfter) conn->disconnectFromHost();
            return;
        }
        auto* timer = new QTimer(conn);
        auto pos = std::make_shared<qsizetype>(0);
        connect(timer, &QTimer::timeout, conn, [this, timer, pos] {
            conn->write(response.mid(*pos, 3));
            conn->flush();
            *pos += 3;
            if (*pos >= response.size()) {
                timer->stop();
                if (closeAfter) conn->disconnectFromHost();
            }
        });
        timer->start(1);
    }
};

// A loopback port nothing listens on (it was free a moment ago); 0 if none could be found.
quint16 unusedPort() {
    QTcpServer probe;
    return probe.listen(QHostAddress::LocalHost, 0) ? probe.serverPort() : 0;
}

QByteArray chunked(const QList<QByteArray>& chunks) {
    QByteArray out = "HTTP/1.1 200 OK\r\nContent-Type: application/nostr+json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (const QByteArray& c : chunks) out += QByteArray::number(c.size(), 16) + ";ext=1\r\n" + c + "\r\n";
    out += "0\r\nX-Trailer: yes\r\n\r\n";
    return out;
}

}  // namespace

class TestHttpGet : public QObject {
    Q_OBJECT
private slots:
    void responses_data() {
        QTest::addColumn<QByteArray>("response");
        QTest::addColumn<bool>("drip");
        QTest::addColumn<bool>("closeAfter");
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("errorPrefix");  // "" = success

        const QByteArray doc = R"({"name":"relay","supported_nips":[1,11,77]})";
        const QByteArray with_length = "HTTP/1.1 200 OK\r\nContent-Length: " + QByteArray::number(doc.size()) +
                                       "\r\nContent-Type: application/nostr+json\r\n\r\n" + doc;
        // The server keeps the connection open: Content-Length alone must end the exchange.
        QTest::newRow("content-length") << with_length << false << false << 200 << doc << "";
        QTest::newRow("content-length dripped") << with_length << true << false << 200 << doc << "";
        QTest::newRow("chunked") << chunked({"{\"name\":", "\"relay\"}"}) << false << false << 200
                                 << QByteArray("{\"name\":\"relay\"}") << "";
        QTest::newRow("chunked dripped") << chunked({"{\"name\":", "\"relay\"}", QByteArray(40, ' ')}) << true << false
                                         << 200 << QByteArray("{\"name\":\"relay\"}") + QByteArray(40, ' ') << "";
        QTest::newRow("read until close") << QByteArray("HTTP/1.0 200 OK\r\n\r\n") + doc << false << true << 200 << doc
                                          << "";
        QTest::newRow("interim 100 then 200")
            << QByteArray("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") << false
            << false << 200 << QByteArray("ok") << "";
        QTest::newRow("404 with body") << QByteArray("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
                                       << false << false << 404 << QByteArray("not found") << "";
        QTest::newRow("301 not followed")
            << QByteArray("HTTP/1.1 301 Moved\r\nLocation: http://elsewhere/\r\nContent-Length: 0\r\n\r\n") << false
            << false << 301 << QByteArray() << "";

        // max_body_bytes is 1024 in this test.
        QTest::newRow("content-length too large")
            << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n") + QByteArray(100, 'x') << false << false
            << 200 << QByteArray() << "body_too_large";
        QTest::newRow("chunked too large") << chunked({QByteArray(600, 'a'), QByteArray(600, 'b')}) << false << false
                                           << 200 << QByteArray() << "body_too_large";
        QTest::newRow("until close too large") << QByteArray("HTTP/1.1 200 OK\r\n\r\n") + QByteArray(2000, 'c')
                                               << false << true << 200 << QByteArray() << "body_too_large";
        QTest::newRow("closed before the body is complete")
            << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") << false << true << 200 << QByteArray()
            << "closed_early";
        QTest::newRow("bad chunk size") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                                        << false << false << 200 << QByteArray() << "bad_response";
        QTest::newRow("not http") << QByteArray("SSH-2.0-OpenSSH\r\n\r\n") << false << true << 0 << QByteArray()
                                  << "bad_response";
    }
    void responses() {
        QFETCH(QByteArray, response);
        QFETCH(bool, drip);
        QFETCH(bool, closeAfter);
        QFETCH(int, status);
        QFETCH(QByteArray, body);
        QFETCH(QString, errorPrefix);

        ScriptedHttpServer srv;
        srv.response = response;
        srv.drip = drip;
        srv.closeAfter = closeAfter;
        HttpGetOptions o;
        o.timeout_ms = 5000;
        o.max_body_bytes = 1024;
        HttpGet get(o);
        QSignalSpy done(&get, &HttpGet::finished);
        get.start(QUrl(QStringLiteral("http://relay.example:%1/info?x=1").arg(srv.port())), QHostAddress::LocalHost,
                  {{"Accept", "application/nostr+json"}});
        QCOMPARE(done.size(), 0);
        QTRY_COMPARE(done.size(), 1);
        QCOMPARE(done[0][0].toInt(), status);
        QCOMPARE(done[0][1].toByteArray(), body);
        const QString error = done[0][2].toString();
        if (errorPrefix.isEmpty()) QVERIFY2(error.isEmpty(), qPrintable(error));
        else QVERIFY2(error.startsWith(errorPrefix), qPrintable(error));
        QVERIFY(get.isFinished());

        QVERIFY2(srv.request.startsWith("GET /info?x=1 HTTP/1.1\r\n"), srv.request.constData());
        QCOMPARE(srv.header("Host"), QByteArray("relay.example:") + QByteArray::number(srv.port()));
        QCOMPARE(srv.header("Accept"), QByteArray("application/nostr+json"));
        QCOMPARE(srv.header("Connection"), QByteArray("close"));
        get.abort();  // after finished: no second signal
        QTest::qWait(20);
        QCOMPARE(done.size(), 1);
    }

    void timeoutWhenTheServerNeverAnswers() {
        ScriptedHttpServer srv;  // empty response: reads the request, says nothing
        HttpGetOptions o;
        o.timeout_ms = 300;
        HttpGet get(o);
        QSignalSpy done(&get, &HttpGet::finished);
        QElapsedTimer t;
        t.start();
        get.start(QUrl(QStringLiteral("http://relay.example:%1/").arg(srv.port())), QHostAddress::LocalHost);
        QTRY_COMPARE(done.size(), 1);
        QVERIFY(t.elapsed() >= 250);
        QCOMPARE(done[0][0].toInt(), 0);
        QVERIFY2(done[0][2].toString().startsWith("timeout"), qPrintable(done[0][2].toString()));
        QVERIFY(srv.request.contains("\r\n\r\n"));
    }

    void connectFailedWhenNothingListens() {
        const quint16 port = unusedPort();
        QVERIFY(port);
        HttpGet get;
        QSignalSpy done(&get, &HttpGet::finished);
        get.start(QUrl(QStringLiteral("http://relay.example:%1/").arg(port)), QHostAddress::LocalHost);
        QTRY_COMPARE(done.size(), 1);
        QVERIFY2(done[0][2].toString().startsWith("connect_failed"), qPrintable(done[0][2].toString()));
    }

    void httpsToAPlainServerFailsCleanly() {
        QTcpServer plain;  // answers garbage as soon as the ClientHello arrives
        QVERIFY(plain.listen(QHostAddress::LocalHost, 0));
        connect(&plain, &QTcpServer::newConnection, this, [&plain] {
            QTcpSocket* s = plain.nextPendingConnection();
            connect(s, &QTcpSocket::readyRead, s, [s] {
                s->readAll();
                s->write("HTTP/1.1 400 Bad Request\r\n\r\nnot TLS at all");
            });
        });
        HttpGet get;
        QSignalSpy done(&get, &HttpGet::finished);
        get.start(QUrl(QStringLiteral("https://localhost:%1/").arg(plain.serverPort())), QHostAddress::LocalHost);
        QTRY_COMPARE(done.size(), 1);
        QVERIFY2(done[0][2].toString().startsWith("tls_failed"), qPrintable(done[0][2].toString()));
        QCOMPARE(done[0][1].toByteArray(), QByteArray());
    }

    void postSendsTheBodyWithItsLength() {
        ScriptedHttpServer srv;
        srv.response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        QByteArray body(1 << 20, '\0');
        for (qsizetype i = 0; i < body.size(); ++i) body[i] = char((uint64_t(i) * 7919) >> 3);  // binary, with CR, LF and NUL
        HttpGetOptions o;
        o.timeout_ms = 10000;
        HttpGet post(o);
        QSignalSpy done(&post, &HttpGet::finished);
        // Framing headers from the caller are ignored: the client frames the body itself.
        post.post(QUrl(QStringLiteral("http://db.example:%1/?query=INSERT%20INTO%20t%20FORMAT%20JSONEachRow").arg(srv.port())),
                  QHostAddress::LocalHost, body,
                  {{"Content-Encoding", "gzip"}, {"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}});
        QVERIFY(!post.requestWritten());
        QTRY_COMPARE(done.size(), 1);
        QVERIFY2(done[0][2].toString().isEmpty(), qPrintable(done[0][2].toString()));
        QCOMPARE(done[0][0].toInt(), 200);
        QVERIFY(post.requestWritten());
        QVERIFY2(srv.request.startsWith("POST /?query=INSERT%20INTO%20t%20FORMAT%20JSONEachRow HTTP/1.1\r\n"),
                 srv.request.left(200).constData());
        QCOMPARE(srv.header("Content-Length"), QByteArray::number(body.size()));
        QCOMPARE(srv.header("Content-Encoding"), QByteArray("gzip"));
        QCOMPARE(srv.header("Transfer-Encoding"), QByteArray());
        QCOMPARE(srv.request.count("Content-Length"), 1);
        QCOMPARE(srv.body(), body);
    }

    void postServerErrorIsAResponse() {
        ScriptedHttpServer srv;
        const QByteArray msg = "Code: 60, e.displayText() = DB::Exception: Table t doesn't exist.";
        srv.response = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       QByteArray::number(msg.size(), 16) + "\r\n" + msg + "\r\n0\r\n\r\n";
        HttpGet post;
        QSignalSpy done(&post, &HttpGet::finished);
        post.post(QUrl(QStringLiteral("http://db.example:%1/").arg(srv.port())), QHostAddress::LocalHost, "SELECT 1");
        QTRY_COMPARE(done.size(), 1);
        QCOMPARE(done[0][0].toInt(), 404);
        QCOMPARE(done[0][1].toByteArray(), msg);
        QVERIFY(done[0][2].toString().isEmpty());
        QCOMPARE(srv.body(), QByteArray("SELECT 1"));
    }

    // The server took the whole request and vanished: the caller cannot know whether it acted on
    // it (requestWritten), unlike a connection that never opened.
    void postAmbiguousAndUnambiguousFailures() {
        ScriptedHttpServer srv;
        srv.closeWithoutAnswer = true;
        HttpGet post;
        QSignalSpy done(&post, &HttpGet::finished);
        post.post(QUrl(QStringLiteral("http://db.example:%1/").arg(srv.port())), QHostAddress::LocalHost,
                  QByteArray(100000, 'x'));
        QTRY_COMPARE(done.size(), 1);
        QVERIFY2(done[0][2].toString().startsWith("closed_early"), qPrintable(done[0][2].toString()));
        QVERIFY(post.requestWritten());
        QCOMPARE(srv.body().size(), 100000);

        const quint16 port = unusedPort();
        QVERIFY(port);
        HttpGet refused;
        QSignalSpy failed(&refused, &HttpGet::finished);
        refused.post(QUrl(QStringLiteral("http://db.example:%1/").arg(port)), QHostAddress::LocalHost, "x");
        QTRY_COMPARE(failed.size(), 1);
        QVERIFY2(failed[0][2].toString().startsWith("connect_failed"), qPrintable(failed[0][2].toString()));
        QVERIFY(!refused.requestWritten());
    }

    void abortReportsOnce() {
        ScriptedHttpServer srv;
        HttpGet get;
        QSignalSpy done(&get, &HttpGet::finished);
        get.start(QUrl(QStringLiteral("http://relay.example:%1/").arg(srv.port())), QHostAddress::LocalHost);
        QTRY_VERIFY(srv.request.contains("\r\n\r\n"));
        get.abort();
        QCOMPARE(done.size(), 1);
        QVERIFY(done[0][2].toString().startsWith("aborted"));
        QTRY_COMPARE(srv.conn->state(), QAbstractSocket::UnconnectedState);
        QCOMPARE(done.size(), 1);
    }
};

QTEST_GUILESS_MAIN(TestHttpGet)
#include "tst_http_get.moc"
