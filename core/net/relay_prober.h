#pragma once
// RelayProber: short health probes of relays the engine is not (necessarily) connected to.
//
// One probe = resolve through the CheckedResolver (the address policy decides, exactly as for a
// connection) → NIP-11 GET from the checked address (`Accept: application/nostr+json`) →
// WebSocket open to the same address → ["REQ","probe",{"limit":1}] → the first EVENT, EOSE or
// CLOSED → ["CLOSE","probe"] → closing handshake. The result is reported once the socket is
// closed, so a reported probe holds no socket.
//
// Contracts
// - Thread: a QObject living on one thread (the engine puts it on a network thread); every call
//   and signal happens there.
// - enqueue() never starts network work itself: probes start later from the event loop.
//   probeStarted()/probeFinished() are never emitted from inside enqueue() or stop().
// - probeFinished() is emitted exactly once per probe that started, unless stop() came first.
//   After stop() (terminal) nothing is emitted and enqueue() returns false. A slot may call
//   enqueue() or stop(); it must not delete the prober (deleteLater() is fine).
// - Bounded: at most max_concurrent probes in flight; at most probes_per_second probe starts
//   (token bucket holding one token: starts are spaced by at least 1/probes_per_second, ≤ 0 =
//   unlimited); at most max_queued URLs waiting. A URL already queued or in flight is refused
//   (dedupe set = queued + in flight, so bounded by max_queued + max_concurrent).
// - Time: each phase is bounded by timeout_ms (DNS lookup, NIP-11 exchange, open, read), the
//   closing handshake by min(timeout_ms, 5 s); a probe therefore ends within about 5 × timeout_ms.
// - ok means: the WebSocket opened and the relay answered the REQ (EVENT, EOSE or CLOSED).
//   A NIP-11 failure never fails a probe (many relays have no document).
// - Errors are "reason: detail" with a stable reason (also the metrics label):
//     refused    the address policy refused every address ("refused: relay host …: loopback …")
//     dns        lookup failed or timed out; busy: the resolver had no room
//     timeout    "timeout: open" (TCP+TLS+upgrade), "timeout: read" (no answer to the REQ)
//     websocket  the open failed: "websocket: connect_failed: …", tls_failed, handshake_failed
//     closed     the socket closed after open and before an answer: "closed: remote_closed: …"
// - Metrics (observe/metrics.h): archivist_probes_total{result=ok|refused|dns|busy|timeout|
//   websocket|closed|aborted|other}, archivist_probe_enqueue_rejected_total{reason=invalid_url|
//   duplicate|queue_full|stopped}, archivist_probe_nip11_failures_total, gauges
//   archivist_probe_queue_depth, archivist_probe_queue_capacity, archivist_probes_in_flight,
//   archivist_probes_in_flight_capacity, histograms archivist_probe_open_rtt_ms and
//   archivist_probe_read_rtt_ms. The gauges assume one prober per registry.
#include <QList>
#include <QObject>
#include <QSslCertificate>
#include <QTimer>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/net/address_policy.h"
#include "core/net/checked_resolver.h"
#include "core/net/connection_reports.h"
#include "core/net/relay_url.h"
#include "core/net/websocket_client.h"

namespace archivist::observe {
class Counter;
class Gauge;
class Histogram;
class MetricsRegistry;
}  // namespace archivist::observe

namespace archivist::net {

class HttpGet;

struct ProberOptions {
    int max_concurrent = 8;
    double probes_per_second = 2;
    size_t max_queued = 1000;
    int timeout_ms = 10000;
    std::shared_ptr<const AddressPolicy> policy;   // required; null = refuse every non-public address
    QList<QSslCertificate> extra_ca_certificates;  // trusted besides the system store (LAN relays)
    CheckedResolverOptions resolver;               // lookup_timeout_ms is set to timeout_ms
};

class RelayProber : public QObject {
    Q_OBJECT
public:
    struct Stats {
        uint64_t enqueued = 0;
        uint64_t rejected = 0;  // enqueue() returned false (any reason)
        uint64_t started = 0;
        uint64_t finished = 0;  // probeFinished emitted
        uint64_t ok = 0;
        uint64_t aborted = 0;   // in flight when stop() came
        size_t queued = 0;      // gauges
        size_t in_flight = 0;
    };

    // metrics: may be null (a private registry is used). It must outlive the prober.
    explicit RelayProber(ProberOptions options, observe::MetricsRegistry* metrics = nullptr,
                         QObject* parent = nullptr);
    ~RelayProber() override;  // same as stop()

    // false: the URL is not a valid relay URL, is already queued or in flight, the queue is full,
    // or the prober is stopped. Every refusal is counted.
    bool enqueue(const std::string& url);
    // Aborts every probe in flight (sockets aborted at once), drops the queue; terminal.
    void stop();

    Stats stats() const;
    size_t queued() const { return m_queue.size(); }
    size_t inFlight() const { return m_probes.size(); }
    const ProberOptions& options() const { return m_options; }

signals:
    void probeStarted(const std::string& url);
    void probeFinished(const archivist::net::ProbeResult& result);

private:
    enum class Phase { Resolving, FetchingInfo, Opening, Reading, Closing };
    struct Probe {
        uint64_t id = 0;
        RelayUrl url;
        Phase phase = Phase::Resolving;
        int64_t started_ms = 0;   // steady clock
        int64_t resolve_ms = 0;   // resolve duration (part of open_rtt)
        int64_t phase_ms = 0;     // steady clock when the current phase began
        QHostAddress address;
        HttpGet* http = nullptr;          // child of the prober while the GET runs
        WebSocketClient* ws = nullptr;    // child of the prober from open to close
        QTimer* timer = nullptr;          // phase timeout; child of the prober
        ProbeResult result;
        bool answered = false;
    };

    void schedulePump(int delay_ms = 0);
    void pump();
    bool takeToken();
    int64_t msUntilToken() const;
    void startProbe(RelayUrl url);
    void onResolved(uint64_t id, Resolved address);
    void onInfo(uint64_t id, int status, const QByteArray& body, const QString& error);
    void openSocket(Probe& p);
    void onOpened(uint64_t id);
    void onText(uint64_t id, QByteArrayView text);
    void onWsClosed(uint64_t id, WsError error, const QString& detail);
    void onTimeout(uint64_t id);
    void answer(Probe& p, const std::string& closed_message);
    void armTimer(Probe& p, int64_t ms);
    Probe* find(uint64_t id);
    void fail(uint64_t id, const std::string& reason, const std::string& detail);
    void finish(uint64_t id);
    void release(Probe& p);  // aborts and schedules deletion of the probe's objects; no signals
    void countResult(const std::string& result);
    void updateGauges();

    ProberOptions m_options;
    std::unique_ptr<observe::MetricsRegistry> m_ownMetrics;
    observe::MetricsRegistry* m_metrics = nullptr;
    std::unique_ptr<CheckedResolver> m_resolver;
    std::deque<RelayUrl> m_queue;                  // ≤ max_queued
    std::unordered_set<std::string> m_known;       // queued + in flight
    std::unordered_map<uint64_t, std::unique_ptr<Probe>> m_probes;  // ≤ max_concurrent
    uint64_t m_nextId = 1;
    QTimer m_pumpTimer;
    double m_tokens = 1.0;
    int64_t m_refill_ms = 0;
    bool m_stopped = false;
    Stats m_stats;

    std::unordered_map<std::string, observe::Counter*> m_results;
    std::unordered_map<std::string, observe::Counter*> m_rejections;
    observe::Counter* m_nip11Failures = nullptr;
    observe::Gauge* m_queueDepth = nullptr;
    observe::Gauge* m_inFlight = nullptr;
    observe::Histogram* m_openRtt = nullptr;
    observe::Histogram* m_readRtt = nullptr;
};

}  // namespace archivist::net

