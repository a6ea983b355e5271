// RelayProber against FakeRelay on 127.0.0.1 (allowed by an explicit address rule): results of
// healthy, silent, refused and document-less relays; queue bound and dedupe; concurrency and
// rate bounds; stop() with probes in flight.
#include <QElapsedTimer>
#include <QtTest>
#include <memory>
#include <vector>

#include "core/net/address_policy.h"
#include "core/net/relay_prober.h"
#include "core/observe/metrics.h"
#include "tests/support/fake_relay.h"
#include "tests/support/signed_events.h"

using namespace archivist;
using archivist::net::ProbeResult;
using archivist::net::RelayProber;
using archivist::testing::FakeRelay;
using archivist::testing::FakeRelayOptions;

namespace {

std::shared_ptr<net::AddressPolicy> loopbackAllowed() {
    auto p = std::make_shared<net::AddressPolicy>();
    if (!p->allowText("127.0.0.0/8")) return nullptr;
    return p;
}

net::ProberOptions fastOptions(std::shared_ptr<const net::AddressPolicy> policy = loopbackAllowed()) {
    net::ProberOptions o;
    o.policy = std::move(policy);
    o.timeout_ms = 3000;
    o.probes_per_second = 0;  // unlimited unless a test is about the rate
    return o;
}

// Collects every result and start (with its time) of one prober.
struct Recorder {
    std::vector<ProbeResult> results;
    std::vector<std::string> started;
    std::vector<qint64> started_at_ms;
    size_t max_in_flight = 0;
    QElapsedTimer clock;

    explicit Recorder(RelayProber& prober) {
        clock.start();
        QObject::connect(&prober, &RelayProber::probeFinished, &prober,
                         [this](const ProbeResult& r) { results.push_back(r); });
        QObject::connect(&prober, &RelayProber::probeStarted, &prober, [this, &prober](const std::string& url) {
            started.push_back(url);
            started_at_ms.push_back(clock.elapsed());
            max_in_flight = std::max(max_in_flight, prober.inFlight());
        });
    }
};

double metric(const observe::MetricsRegistry& m, const std::string& name, const std::string& label,
              const std::string& value) {
    for (const auto& s : m.samples()) {
        if (s.name != name) continue;
        for (const auto& [k, v] : s.labels)
            if (k == label && v == value) return s.value;
    }
    return -1;
}

}  // namespace

class TestRelayProber : public QObject {
    Q_OBJECT
private slots:
    void aHealthyRelayIsOkWithBothRoundTripsAndItsDocument_data() {
        QTest::addColumn<int>("events");
        QTest::newRow("answers with an EVENT") << 3;
        QTest::newRow("answers with EOSE only") << 0;
    }
    void aHealthyRelayIsOkWithBothRoundTripsAndItsDocument() {
        QFETCH(int, events);
        FakeRelay relay;
        QVERIFY(relay.start());
        testing::EventSigner signer(5);
        for (int i = 0; i < events; ++i) QVERIFY(relay.addEvent(signer.make(1700000000 + i, 1, "e" + std::to_string(i))));
        observe::MetricsRegistry metrics;
        RelayProber prober(fastOptions(), &metrics);
        Recorder rec(prober);
        QVERIFY(prober.enqueue(relay.url().toStdString()));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(1), 10000);
        const ProbeResult& r = rec.results[0];
        QVERIFY2(r.ok, r.error.c_str());
        QCOMPARE(r.url, relay.url().toStdString());
        QVERIFY(r.error.empty());
        QVERIFY(r.open_rtt_ms >= 0);
        QVERIFY(r.read_rtt_ms >= 0);
        QVERIFY(r.at_ms > 0);
        QCOMPARE(r.nip11_status, 200);
        QCOMPARE(QByteArray::fromStdString(r.nip11_json), relay.nip11Document());
        QVERIFY(r.nip11_error.empty());
        QVERIFY(r.req_closed.empty());
        // One REQ asking for one event, closed again; the socket is gone when the result arrives.
        QCOMPARE(relay.reqsReceived(), uint64_t(1));
        QVERIFY2(relay.reqFilters().front().contains("\"limit\":1"), relay.reqFilters().front().constData());
        QCOMPARE(relay.eventsSent(), uint64_t(events ? 1 : 0));
        QTRY_COMPARE(relay.closesReceived(), uint64_t(1));
        QTRY_COMPARE(relay.openWebSockets(), size_t(0));
        QCOMPARE(relay.httpRequests(), uint64_t(1));
        QCOMPARE(metric(metrics, "archivist_probes_total", "result", "ok"), 1.0);
        QCOMPARE(prober.inFlight(), size_t(0));
        QCOMPARE(prober.stats().ok, uint64_t(1));
        // The same relay may be probed again once the first probe is over.
        QVERIFY(prober.enqueue(relay.url().toStdString()));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(2), 10000);
        QVERIFY(rec.results[1].ok);
    }

    void aRelayThatNeverAnswersTheReqTimesOut() {
        FakeRelayOptions fo;
        fo.never_eose = true;  // no events stored: the REQ gets nothing at all
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        observe::MetricsRegistry metrics;
        auto o = fastOptions();
        o.timeout_ms = 400;
        RelayProber prober(o, &metrics);
        Recorder rec(prober);
        QVERIFY(prober.enqueue(relay.url().toStdString()));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(1), 10000);
        const ProbeResult& r = rec.results[0];
        QVERIFY(!r.ok);
        QCOMPARE(r.error, std::string("timeout: read"));
        QVERIFY(r.open_rtt_ms >= 0);  // it did open
        QCOMPARE(r.read_rtt_ms, int64_t(-1));
        QCOMPARE(relay.reqsReceived(), uint64_t(1));
        QTRY_COMPARE(relay.openWebSockets(), size_t(0));  // the socket was not left behind
        QCOMPARE(metric(metrics, "archivist_probes_total", "result", "timeout"), 1.0);
        QCOMPARE(metric(metrics, "archivist_probes_total", "result", "ok"), 0.0);
    }

    void loopbackWithoutAnAllowRuleIsRefusedWithoutASocket() {
        FakeRelay relay;
        QVERIFY(relay.start());
        observe::MetricsRegistry metrics;
        auto policy = std::make_shared<net::AddressPolicy>();  // the default: loopback refused
        RelayProber prober(fastOptions(policy), &metrics);
        Recorder rec(prober);
        QVERIFY(prober.enqueue(relay.url().toStdString()));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(1), 10000);
        const ProbeResult& r = rec.results[0];
        QVERIFY(!r.ok);
        QVERIFY2(r.error.rfind("refused: ", 0) == 0, r.error.c_str());
        QVERIFY2(r.error.find("loopback") != std::string::npos, r.error.c_str());
        QCOMPARE(r.open_rtt_ms, int64_t(-1));
        QCOMPARE(r.nip11_status, 0);
        QCOMPARE(relay.connectionsAccepted(), uint64_t(0));
        QCOMPARE(policy->refusals(net::AddressClass::Loopback), uint64_t(1));
        QCOMPARE(metric(metrics, "archivist_probes_total", "result", "refused"), 1.0);
    }

    void aRelayWithoutAUsableDocumentIsStillOk_data() {
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("document");
        QTest::addColumn<QString>("nip11Error");
        QTest::newRow("404") << 404 << QByteArray() << "http: 404";
        QTest::newRow("500") << 500 << QByteArray() << "http: 500";
        QTest::newRow("not JSON") << 200 << QByteArray("<html>hello</html>") << "json: ";
    }
    void aRelayWithoutAUsableDocumentIsStillOk() {
        QFETCH(int, status);
        QFETCH(QByteArray, document);
        QFETCH(QString, nip11Error);
        FakeRelayOptions fo;
        fo.nip11_status = status;
        fo.nip11_json = document;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        observe::MetricsRegistry metrics;
        RelayProber prober(fastOptions(), &metrics);
        Recorder rec(prober);
        QVERIFY(prober.enqueue(relay.url().toStdString()));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(1), 10000);
        const ProbeResult& r = rec.results[0];
        QVERIFY2(r.ok, r.error.c_str());
        QCOMPARE(r.nip11_status, status);
        QVERIFY(r.nip11_json.empty());
        QVERIFY2(QString::fromStdString(r.nip11_error).startsWith(nip11Error), r.nip11_error.c_str());
        QVERIFY(r.open_rtt_ms >= 0 && r.read_rtt_ms >= 0);
        QCOMPARE(relay.httpRequests(), uint64_t(1));
        QCOMPARE(metrics.total("archivist_probe_nip11_failures_total"), 1.0);
    }

    void aRelayThatRefusesTheReqAnsweredAndIsOk() {
        FakeRelayOptions fo;
        fo.restricted = true;  // REQ → CLOSED "restricted: …"
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        RelayProber prober(fastOptions());
        Recorder rec(prober);
        QVERIFY(prober.enqueue(relay.url().toStdString()));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(1), 10000);
        const ProbeResult& r = rec.results[0];
        QVERIFY2(r.ok, r.error.c_str());
        QVERIFY2(r.req_closed.rfind("restricted:", 0) == 0, r.req_closed.c_str());
        QVERIFY(r.read_rtt_ms >= 0);
    }

    void aRelayThatIsDownFailsTheProbe() {
        quint16 port = 0;
        {
            FakeRelay gone;
            QVERIFY(gone.start());
            port = gone.port();
        }  // nothing listens there any more
        RelayProber prober(fastOptions());
        Recorder rec(prober);
        QVERIFY(prober.enqueue("ws://127.0.0.1:" + std::to_string(port)));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(1), 10000);
        const ProbeResult& r = rec.results[0];
        QVERIFY(!r.ok);
        QVERIFY2(r.error.rfind("websocket: connect_failed", 0) == 0, r.error.c_str());
        QCOMPARE(r.open_rtt_ms, int64_t(-1));
        QVERIFY(!r.nip11_error.empty());
    }

    void theQueueIsBoundedAndDeduplicated() {
        FakeRelay relay;
        QVERIFY(relay.start());
        observe::MetricsRegistry metrics;
        auto o = fastOptions();
        o.max_queued = 3;
        o.max_concurrent = 1;
        RelayProber prober(o, &metrics);
        Recorder rec(prober);
        const std::string base = relay.url().toStdString();
        QVERIFY(prober.enqueue(base + "/a"));
        QVERIFY(!prober.enqueue(base + "/a"));                           // same URL
        QVERIFY(!prober.enqueue("WS://127.0.0.1:" + std::to_string(relay.port()) + "/a"));  // same after normalising
        QVERIFY(prober.enqueue(base + "/b"));
        QVERIFY(prober.enqueue(base + "/c"));
        QVERIFY(!prober.enqueue(base + "/d"));                           // queue full
        QVERIFY(!prober.enqueue("https://not-a-relay.example"));         // not a relay URL
        QCOMPARE(prober.queued(), size_t(3));
        QCOMPARE(metrics.total("archivist_probe_queue_depth"), 3.0);
        QCOMPARE(metrics.total("archivist_probe_queue_capacity"), 3.0);
        QCOMPARE(metric(metrics, "archivist_probe_enqueue_rejected_total", "reason", "duplicate"), 2.0);
        QCOMPARE(metric(metrics, "archivist_probe_enqueue_rejected_total", "reason", "queue_full"), 1.0);
        QCOMPARE(metric(metrics, "archivist_probe_enqueue_rejected_total", "reason", "invalid_url"), 1.0);
        QCOMPARE(prober.stats().rejected, uint64_t(4));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(3), 15000);
        for (const auto& r : rec.results) QVERIFY2(r.ok, r.error.c_str());
        QCOMPARE(rec.results[0].url, base + "/a");  // first in, first probed
        QCOMPARE(rec.results[2].url, base + "/c");
        QCOMPARE(metrics.total("archivist_probe_queue_depth"), 0.0);
        // Room again, and "/a" is no longer a duplicate.
        QVERIFY(prober.enqueue(base + "/a"));
        QVERIFY(prober.enqueue(base + "/d"));
    }

    void concurrencyNeverExceedsTheLimit() {
        FakeRelayOptions fo;
        fo.never_eose = true;  // every probe holds its socket until the read timeout
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        observe::MetricsRegistry metrics;
        auto o = fastOptions();
        o.max_concurrent = 2;
        o.timeout_ms = 300;
        RelayProber prober(o, &metrics);
        Recorder rec(prober);
        double maxGauge = 0;
        connect(&prober, &RelayProber::probeStarted, this,
                [&] { maxGauge = std::max(maxGauge, metrics.total("archivist_probes_in_flight")); });
        const std::string base = relay.url().toStdString();
        for (int i = 0; i < 6; ++i) QVERIFY(prober.enqueue(base + "/" + std::to_string(i)));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(6), 20000);
        for (const auto& r : rec.results) QCOMPARE(r.error, std::string("timeout: read"));
        QCOMPARE(rec.max_in_flight, size_t(2));
        QCOMPARE(maxGauge, 2.0);
        // The relay's own view: never more than two probe sockets at once, and two did overlap.
        QCOMPARE(relay.maxOpenWebSockets(), size_t(2));
        QCOMPARE(relay.webSocketsOpened(), uint64_t(6));
        QCOMPARE(metrics.total("archivist_probes_in_flight_capacity"), 2.0);
        QCOMPARE(metrics.total("archivist_probes_in_flight"), 0.0);
    }

    void theRateLimitSpacesProbeStarts_data() {
        QTest::addColumn<double>("perSecond");
        QTest::newRow("5/s") << 5.0;
        QTest::newRow("12/s") << 12.0;
    }
    void theRateLimitSpacesProbeStarts() {
        QFETCH(double, perSecond);
        FakeRelay relay;
        QVERIFY(relay.start());
        auto o = fastOptions();
        o.probes_per_second = perSecond;
        o.max_concurrent = 8;
        RelayProber prober(o);
        Recorder rec(prober);
        const std::string base = relay.url().toStdString();
        const int n = 5;
        for (int i = 0; i < n; ++i) QVERIFY(prober.enqueue(base + "/" + std::to_string(i)));
        QTRY_COMPARE_WITH_TIMEOUT(rec.results.size(), size_t(n), 15000);
        for (const auto& r : rec.results) QVERIFY2(r.ok, r.error.c_str());
        QCOMPARE(rec.started_at_ms.size(), size_t(n));
        const qint64 spacing = qint64(1000.0 / perSecond);
        for (int i = 1; i < n; ++i) {
            const qint64 gap = rec.started_at_ms[i] - rec.started_at_ms[i - 1];
            QVERIFY2(gap >= spacing - 2, qPrintable(QStringLiteral("gap %1 ms < %2 ms").arg(gap).arg(spacing)));
        }
        // Not slower than needed either: n starts take about (n-1) spacings, not much more.
        QVERIFY(rec.started_at_ms.back() - rec.started_at_ms.front() < (n - 1) * spacing + 1000);
        // The relay saw the probes' connections spread out the same way.
        const auto conns = relay.connectionTimesMs();
        QCOMPARE(conns.size(), size_t(2 * n));  // one NIP-11 GET + one websocket per probe
        QVERIFY(conns.back() - conns.front() >= (n - 1) * spacing - 2 * n);
    }

    void stopAbortsProbesInFlightWithoutCallbacks_data() {
        QTest::addColumn<bool>("whileReading");
        QTest::newRow("stopped right after the start (resolving)") << false;
        QTest::newRow("stopped while sockets wait for an answer") << true;
    }
    void stopAbortsProbesInFlightWithoutCallbacks() {
        QFETCH(bool, whileReading);
        FakeRelayOptions fo;
        fo.never_eose = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        observe::MetricsRegistry metrics;
        auto o = fastOptions();
        o.max_concurrent = 3;
        o.timeout_ms = 10000;
        RelayProber prober(o, &metrics);
        Recorder rec(prober);
        if (!whileReading) {
            connect(&prober, &RelayProber::probeStarted, this, [&] { prober.stop(); });
        }
        const std::string base = relay.url().toStdString();
        for (int i = 0; i < 5; ++i) QVERIFY(prober.enqueue(base + "/" + std::to_string(i)));
        if (whileReading) {
            QTRY_COMPARE_WITH_TIMEOUT(relay.openWebSockets(), size_t(3), 10000);
            QCOMPARE(prober.inFlight(), size_t(3));
            QCOMPARE(prober.queued(), size_t(2));
            prober.stop();
        } else {
            QTRY_COMPARE_WITH_TIMEOUT(rec.started.size(), size_t(1), 10000);
        }
        QCOMPARE(prober.inFlight(), size_t(0));
        QCOMPARE(prober.queued(), size_t(0));
        QVERIFY(!prober.enqueue(base + "/later"));
        const uint64_t aborted = whileReading ? 3 : 1;
        QCOMPARE(prober.stats().aborted, aborted);
        QCOMPARE(metric(metrics, "archivist_probes_total", "result", "aborted"), double(aborted));
        QCOMPARE(metric(metrics, "archivist_probe_enqueue_rejected_total", "reason", "stopped"), 1.0);
        QTRY_COMPARE(relay.openWebSockets(), size_t(0));  // the relay saw the sockets go
        // Absence check, not synchronisation: nothing may arrive after stop(), not even when
        // the resolver and the aborted sockets would have answered.
        QTest::qWait(300);
        QCOMPARE(rec.results.size(), size_t(0));
        QCOMPARE(rec.started.size(), size_t(whileReading ? 3 : 1));
        QCOMPARE(metrics.total("archivist_probes_in_flight"), 0.0);
        QCOMPARE(metrics.total("archivist_probe_queue_depth"), 0.0);
    }

    void destroyingAProberWithProbesInFlightIsClean() {
        FakeRelayOptions fo;
        fo.never_eose = true;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        auto prober = std::make_unique<RelayProber>(fastOptions());
        Recorder rec(*prober);
        const std::string base = relay.url().toStdString();
        for (int i = 0; i < 4; ++i) QVERIFY(prober->enqueue(base + "/" + std::to_string(i)));
        QTRY_COMPARE_WITH_TIMEOUT(relay.openWebSockets(), size_t(4), 10000);
        QVERIFY(prober->enqueue(base + "/resolving"));  // one more still in its first phases
        QTRY_COMPARE(rec.started.size(), size_t(5));
        prober.reset();
        QTRY_COMPARE(relay.openWebSockets(), size_t(0));
        QCOMPARE(rec.results.size(), size_t(0));
    }
};

QTEST_GUILESS_MAIN(TestRelayProber)
#include "tst_relay_prober.moc"
