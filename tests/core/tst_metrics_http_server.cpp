#include <QtTest>
#include <arpa/inet.h>
#include <atomic>
#include <mutex>
#include <thread>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/observe/metrics.h"
#include "core/observe/metrics_http_server.h"

using namespace archivist::observe;

namespace {
int connectTo(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

QString get(uint16_t port, const QString& request) {
    const int fd = connectTo(port);
    if (fd < 0) return "connect failed";
    const QByteArray req = request.toUtf8();
    (void)!::send(fd, req.data(), size_t(req.size()), MSG_NOSIGNAL);
    QByteArray out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, int(n));
    ::close(fd);
    return QString::fromUtf8(out);
}
}  // namespace

class TestMetricsHttpServer : public QObject {
    Q_OBJECT
private slots:
    void servesMetricsHealthAndReadiness() {
        MetricsRegistry r;
        r.counter("archivist_events_stored_total", "stored").inc(7);
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        const QString metrics = get(*port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(metrics.startsWith("HTTP/1.0 200"));
        QVERIFY(metrics.contains("text/plain; version=0.0.4"));
        QVERIFY(metrics.contains("archivist_events_stored_total 7"));
        QVERIFY(get(*port, "GET /healthz HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 200"));
        QVERIFY(get(*port, "GET /readyz HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 503"));
        s.setReady(true);
        QVERIFY(get(*port, "GET /readyz HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 200"));
        // Intake paused on a full disk: not ready, with the reason; ready again afterwards.
        s.setNotReady("intake paused: archive: write segment-000001.jsonl.zst: No space left on device");
        const QString paused = get(*port, "GET /readyz HTTP/1.0\r\n\r\n");
        QVERIFY(paused.startsWith("HTTP/1.0 503"));
        QVERIFY(paused.contains("not ready: intake paused: archive: write segment-000001.jsonl.zst: No space left on device"));
        s.setReady(true);
        QVERIFY(get(*port, "GET /readyz HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 200"));
        s.setHealthy(false);
        QVERIFY(get(*port, "GET /healthz HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 503"));
        QVERIFY(get(*port, "GET /nope HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 404"));
        QVERIFY(get(*port, "POST /metrics HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 405"));
    }

    void routes_data() {
        QTest::addColumn<QString>("request");
        QTest::addColumn<QString>("status");
        QTest::addColumn<QString>("bodyContains");
        QTest::newRow("metrics with query") << "GET /metrics?x=1 HTTP/1.0\r\n\r\n" << "200" << "archivist_up 1";
        QTest::newRow("bare LF request") << "GET /healthz HTTP/1.0\n\n" << "200" << "ok";
        QTest::newRow("unknown path") << "GET /metricsx HTTP/1.0\r\n\r\n" << "404" << "not found";
        QTest::newRow("PUT") << "PUT /metrics HTTP/1.0\r\n\r\n" << "405" << "GET only";
        QTest::newRow("DELETE healthz") << "DELETE /healthz HTTP/1.0\r\n\r\n" << "405" << "GET only";
        QTest::newRow("garbage") << "NONSENSE\r\n\r\n" << "400" << "bad request";
    }
    void routes() {
        QFETCH(QString, request);
        QFETCH(QString, status);
        QFETCH(QString, bodyContains);
        MetricsRegistry r;
        r.gauge("archivist_up", "1 while running").set(1);
        MetricsHttpServer s(r);
        auto port = s.start("localhost", 0);
        QVERIFY(port.ok());
        const QString reply = get(*port, request);
        QVERIFY2(reply.startsWith("HTTP/1.0 " + status + " "), qPrintable(reply.left(80)));
        QVERIFY(reply.contains("Connection: close\r\n"));
        const int split = reply.indexOf("\r\n\r\n");
        QVERIFY(split > 0);
        const QString body = reply.mid(split + 4);
        QVERIFY2(body.contains(bodyContains), qPrintable(body));
        QVERIFY(reply.contains(QString("Content-Length: %1\r\n").arg(body.toUtf8().size())));
    }

    void headHasHeadersOnly() {
        MetricsRegistry r;
        r.gauge("archivist_up", "1 while running").set(1);
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        const QString reply = get(*port, "HEAD /metrics HTTP/1.0\r\n\r\n");
        QVERIFY(reply.startsWith("HTTP/1.0 200"));
        QVERIFY(reply.endsWith("\r\n\r\n"));
        QVERIFY(!reply.contains("archivist_up 1"));
    }

    void oversizedRequestIsRefused() {
        MetricsRegistry r;
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        const QString huge = "GET /metrics HTTP/1.0\r\nX-Pad: " + QString(20000, 'a');  // never ends its headers
        QVERIFY(get(*port, huge).startsWith("HTTP/1.0 431"));
        QVERIFY(get(*port, "GET /healthz HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 200"));
    }

    void idleConnectionsDoNotLockScrapesOut() {
        MetricsRegistry r;
        r.gauge("archivist_up", "1 while running").set(1);
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        std::vector<int> idle;
        for (int i = 0; i < 32; ++i) idle.push_back(connectTo(*port));
        // Half of them trickle an incomplete request, like a slow-loris client.
        for (size_t i = 0; i < idle.size(); i += 2) (void)!::send(idle[i], "GET /met", 8, MSG_NOSIGNAL);
        QTest::qWait(100);
        QElapsedTimer t;
        t.start();
        const QString reply = get(*port, "GET /metrics HTTP/1.0\r\n\r\n");
        QVERIFY2(reply.startsWith("HTTP/1.0 200"), qPrintable(reply.left(80)));
        QVERIFY(reply.contains("archivist_up 1"));
        QVERIFY2(t.elapsed() < 1000, "the scrape must not wait for idle connections to time out");
        QVERIFY(s.connectionsDropped() >= 16);  // the bound held: older idle sockets were closed
        for (int fd : idle) if (fd >= 0) ::close(fd);
    }

    void concurrentScrapesAllAnswer() {
        MetricsRegistry r;
        for (int i = 0; i < 2000; ++i) r.counter("archivist_relay_events_total", "h", {{"relay", "wss://r" + std::to_string(i)}}).inc(uint64_t(i));
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        std::atomic<int> ok{0};
        std::vector<std::thread> ts;
        for (int t = 0; t < 8; ++t)
            ts.emplace_back([&] {
                for (int i = 0; i < 5; ++i) {
                    const QString reply = get(*port, "GET /metrics HTTP/1.0\r\n\r\n");
                    if (reply.startsWith("HTTP/1.0 200") && reply.contains("relay=\"wss://r1999\"} 1999\n")) ++ok;
                }
            });
        for (auto& t : ts) t.join();
        QCOMPARE(ok.load(), 40);
        QCOMPARE(s.requestsServed(), uint64_t(40));
    }

    void scrapeIsNotBlockedByAnEngineLock() {
        MetricsRegistry r;
        Counter& stored = r.counter("archivist_events_stored_total", "stored");
        std::mutex engineLock;
        std::atomic<bool> locked{false};
        std::atomic<bool> release{false};
        // An "engine" thread takes its lock and keeps working (updating metrics) while holding it.
        std::thread engine([&] {
            std::lock_guard held(engineLock);
            locked = true;
            while (!release.load()) stored.inc();
        });
        while (!locked.load()) std::this_thread::yield();
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        QElapsedTimer t;
        t.start();
        const QString reply = get(*port, "GET /metrics HTTP/1.0\r\n\r\n");
        const qint64 elapsed = t.elapsed();
        release = true;
        engine.join();
        QVERIFY(reply.startsWith("HTTP/1.0 200"));
        QVERIFY(reply.contains("archivist_events_stored_total "));
        QVERIFY2(elapsed < 2000, qPrintable(QString::number(elapsed)));
    }

    void stopJoinsPromptlyAndBadAddressesFail() {
        MetricsRegistry r;
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        QVERIFY(!s.start("127.0.0.1", 0).ok());  // already running
        const int open = connectTo(*port);       // a client still connected does not delay stop()
        QVERIFY(open >= 0);
        QElapsedTimer t;
        t.start();
        s.stop();
        QVERIFY2(t.elapsed() < 300, qPrintable(QString::number(t.elapsed())));
        QCOMPARE(connectTo(*port), -1);
        ::close(open);
        s.stop();  // idempotent
        // Restartable on the same port.
        auto again = s.start("127.0.0.1", *port);
        QVERIFY(again.ok());
        QCOMPARE(*again, *port);
        QVERIFY(get(*port, "GET /healthz HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 200"));
        MetricsHttpServer bad(r);
        QVERIFY(!bad.start("not-an-address", 0).ok());
        MetricsHttpServer clash(r);
        QVERIFY(!clash.start("127.0.0.1", *port).ok());  // port in use: an error, not a crash
        QElapsedTimer d;
        d.start();
        {
            MetricsHttpServer scoped(r);
            QVERIFY(scoped.start("127.0.0.1", 0).ok());
        }  // destructor stops and joins
        QVERIFY(d.elapsed() < 300);
    }
};

QTEST_GUILESS_MAIN(TestMetricsHttpServer)
#include "tst_metrics_http_server.moc"
