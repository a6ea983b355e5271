#include <QtTest>
#include <arpa/inet.h>
#include <mutex>
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
        s.setHealthy(false);
        QVERIFY(get(*port, "GET /healthz HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 503"));
        QVERIFY(get(*port, "GET /nope HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 404"));
        QVERIFY(get(*port, "POST /metrics HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 405"));
    }

    void idleConnectionsDoNotLockScrapesOut() {
        MetricsRegistry r;
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        std::vector<int> idle;
        for (int i = 0; i < 32; ++i) idle.push_back(connectTo(*port));
        QTest::qWait(100);
        QVERIFY(get(*port, "GET /healthz HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 200"));
        for (int fd : idle) if (fd >= 0) ::close(fd);
    }

    void scrapeIsNotBlockedByAnEngineLock() {
        MetricsRegistry r;
        std::mutex engineLock;
        r.gauge("g", "h").set(1);
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        std::lock_guard held(engineLock);  // an engine lock held for the whole scrape
        QVERIFY(get(*port, "GET /metrics HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 200"));
    }

    void stopJoinsPromptlyAndBadAddressesFail() {
        MetricsRegistry r;
        MetricsHttpServer s(r);
        auto port = s.start("127.0.0.1", 0);
        QVERIFY(port.ok());
        QElapsedTimer t;
        t.start();
        s.stop();
        QVERIFY(t.elapsed() < 1000);
        QCOMPARE(connectTo(*port), -1);
        MetricsHttpServer bad(r);
        QVERIFY(!bad.start("not-an-address", 0).ok());
    }
};

QTEST_GUILESS_MAIN(TestMetricsHttpServer)
#include "tst_metrics_http_server.moc"
