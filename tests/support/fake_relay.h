#pragma once
// FakeRelay — a scriptable Nostr relay for tests, on 127.0.0.1:<any free port>.
//
// One QTcpServer port serves both plain HTTP GETs (answered with a NIP-11 document and closed) and
// WebSocket upgrades (handed to a QWebSocketServer through handleConnection()). With default
// options it is a correct NIP-01 relay over an in-memory, bounded set of events: REQ → matching
// events newest first (per filter at most min(limit or default_limit, max_limit)) → EOSE, then
// live pushes of events added later; EVENT → id/signature checked, stored, OK; CLOSE; COUNT.
// Each misbehaviour below is switched on in FakeRelayOptions; options are read when a connection
// or message arrives, so a test may change them between steps via options().
//
// Only what the real relay (tests/relay/relay.mjs) cannot do belongs here (STYLE.md).
//
// Thread: the thread that created it (its event loop runs everything); not thread-safe.
// Errors: start() returns them; protocol errors from clients are answered (NOTICE/OK false) and
// counted, never thrown. Every container here has a bound (constants below).
#include <QByteArray>
#include <QElapsedTimer>
#include <QObject>
#include <QString>

#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/protocol/event.h"
#include "core/protocol/filter.h"
#include "core/util/expected.h"

class QTcpServer;
class QTcpSocket;
class QWebSocket;
class QWebSocketServer;

namespace archivist::protocol {
class EventValidator;
}

namespace archivist::testing {

class EventSigner;

inline constexpr size_t kFakeRelayMaxEvents = 200000;         // addEvent()/EVENT beyond → refused
inline constexpr size_t kFakeRelayMaxConnections = 512;       // open WebSocket sessions
inline constexpr size_t kFakeRelayMaxSubscriptions = 64;      // per connection; beyond → CLOSED
inline constexpr size_t kFakeRelayMaxRecorded = 10000;        // REQ filters, timestamps, samples kept
inline constexpr size_t kFakeRelayMaxHttpHeaderBytes = 16384; // larger request head → connection dropped

struct FakeRelayOptions {
    // --- a correct relay ---
    uint32_t default_limit = 100;  // REQ filter without "limit"
    uint32_t max_limit = 500;      // cap on any filter's limit; advertised in NIP-11
    QByteArray nip11_json;         // whole NIP-11 document; empty = generated from these options
    int nip11_status = 200;        // != 200: NIP-11 GETs are answered with this status and a short text body

    // --- misbehaviours ---
    // flood: after the stored matches of a REQ, push this many freshly signed, valid kind-1 events
    // created in the current second (so they match a live subscription) as fast as the socket
    // drains, keeping at most flood_high_water_bytes queued on this side; then EOSE. Pending bytes
    // are sampled (pendingSamples()).
    uint64_t flood_events = 0;
    qint64 flood_high_water_bytes = 1 << 20;
    // huge_frame: on REQ first send one valid signed EVENT message of about huge_frame_bytes.
    bool huge_frame = false;
    size_t huge_frame_bytes = 10 * 1024 * 1024;
    bool never_eose = false;             // REQ answered with events but never EOSE
    int trickle_ms = 0;                  // > 0: a REQ's stored events go out one every trickle_ms, then EOSE
    uint32_t invalid_signature_every = 0;  // k > 0: every k-th EVENT sent carries a broken sig
    // slowloris: a WebSocket upgrade is answered with a correct 101 response trickled one byte
    // every slowloris_interval_ms (raw TCP; the WebSocket is never served).
    bool slowloris = false;
    int slowloris_interval_ms = 1000;
    bool close_on_connect = false;       // accept the TCP connection, then close it at once
    int notice_spam_interval_ms = 0;     // > 0: a NOTICE to every connection at this interval
    bool advertise_nip77_ignore_neg_open = false;  // NIP-11 lists 77; NEG-OPEN gets no answer
    // auth_required (NIP-42): AUTH challenge on connect; REQ → CLOSED "auth-required: …" and
    // EVENT → OK false "auth-required: …" until a valid kind-22242 event for this connection's
    // challenge and url() arrives (created_at within 10 minutes).
    bool auth_required = false;
    bool rate_limited = false;           // REQ → CLOSED "rate-limited: …", EVENT → OK false
    bool restricted = false;             // REQ → CLOSED "restricted: …", EVENT → OK false
    // Subscription discipline broken: a REQ is answered with every stored event, whatever its
    // filter (kinds, since/until, …), and every event added later goes to every subscription.
    bool ignore_filters = false;
    // After answering a REQ, send this many freshly signed kind-0 events on a subscription id
    // the client never opened ("not-yours").
    uint32_t foreign_subscription_events = 0;
};

struct PendingSample {
    qint64 t_ms = 0;           // since start()
    qint64 bytes_pending = 0;  // bytes queued on the relay side of that connection (QWebSocket)
};

class FakeRelay : public QObject {
    Q_OBJECT
public:
    explicit FakeRelay(FakeRelayOptions options = {}, QObject* parent = nullptr);
    ~FakeRelay() override;
    FakeRelay(const FakeRelay&) = delete;
    FakeRelay& operator=(const FakeRelay&) = delete;

    // Listens on 127.0.0.1, port 0 (any free port) unless given (a restart after stop() on the
    // port it had). Error code "listen".
    Expected<void> start(quint16 port = 0);
    // Closes every connection and stops listening. Counters and events are kept.
    void stop();

    quint16 port() const;
    QString url() const;      // ws://127.0.0.1:<port>
    QString httpUrl() const;  // http://127.0.0.1:<port>/
    FakeRelayOptions& options() { return m_options; }
    QByteArray nip11Document() const;

    // Stores an event (no signature check: tests may plant anything) and pushes it to every open
    // subscription it matches. False when the id is already stored or the store is full.
    bool addEvent(const protocol::Event& e);
    // Pushes an event to every open subscription it matches without storing it (a relay that
    // sends again what it has already sent: duplicates, for soak tests).
    void pushEvent(const protocol::Event& e);
    size_t eventCount() const { return m_events.size(); }

    // Closes every open WebSocket (server-side close); the relay keeps listening.
    void dropConnections();

    // --- counters (cumulative since construction) ---
    uint64_t connectionsAccepted() const { return m_connections_accepted; }
    std::vector<qint64> connectionTimesMs() const;  // since start(), first kFakeRelayMaxRecorded
    uint64_t httpRequests() const { return m_http_requests; }
    uint64_t webSocketsOpened() const { return m_websockets_opened; }
    size_t openWebSockets() const { return m_sessions.size(); }
    size_t maxOpenWebSockets() const { return m_max_open_websockets; }  // peak of openWebSockets()
    uint64_t reqsReceived() const { return m_reqs_received; }
    std::vector<QByteArray> reqFilters() const;  // one JSON array of filters per REQ (bounded)
    uint64_t closesReceived() const { return m_closes_received; }
    uint64_t eventsReceived() const { return m_events_received; }
    uint64_t countsReceived() const { return m_counts_received; }
    uint64_t negOpensReceived() const { return m_neg_opens_received; }
    uint64_t authAccepted() const { return m_auth_accepted; }
    uint64_t authRejected() const { return m_auth_rejected; }
    uint64_t invalidMessagesReceived() const { return m_invalid_received; }
    uint64_t messagesSent() const { return m_messages_sent; }
    uint64_t bytesSent() const { return m_bytes_sent; }
    uint64_t eventsSent() const { return m_events_sent; }
    uint64_t eosesSent() const { return m_eoses_sent; }
    uint64_t closedSent() const { return m_closed_sent; }
    uint64_t noticesSent() const { return m_notices_sent; }
    uint64_t floodEventsSent() const { return m_flood_events_sent; }
    uint64_t brokenSignaturesSent() const { return m_broken_sigs_sent; }
    uint64_t foreignEventsSent() const { return m_foreign_events_sent; }
    uint64_t slowlorisBytesSent() const { return m_slowloris_bytes_sent; }
    qint64 bytesPendingNow() const;  // sum over open WebSockets
    qint64 maxBytesPending() const { return m_max_bytes_pending; }
    std::vector<PendingSample> pendingSamples() const;

signals:
    void connectionAccepted();
    void reqReceived(const QString& sub_id);

private:
    struct Session;
    struct Stored {
        protocol::Event event;
        std::string json;
    };

    void onNewTcpConnection();
    void onTcpReadyRead(QTcpSocket* socket);
    void serveHttp(QTcpSocket* socket, const QByteArray& head);
    void startSlowloris(QTcpSocket* socket, const QByteArray& head);
    void onNewWebSocket();
    void onTextMessage(Session& s, const QString& text);
    void handleReq(Session& s, const std::string& sub_id, const std::vector<protocol::Filter>& filters);
    void handleEvent(Session& s, std::string_view json);
    void handleAuth(Session& s, std::string_view json);
    void pumpFlood(Session& s);
    void send(Session& s, const std::string& text);
    void sendEvent(Session& s, const std::string& sub_id, std::string event_json);
    void samplePending(const Session& s, bool force);
    std::vector<const Stored*> query(const std::vector<protocol::Filter>& filters) const;
    bool store(const protocol::Event& e, std::string json);
    qint64 elapsedMs() const;

    FakeRelayOptions m_options;
    std::unique_ptr<QTcpServer> m_tcp;
    std::unique_ptr<QWebSocketServer> m_ws_server;
    std::unordered_map<QWebSocket*, std::unique_ptr<Session>> m_sessions;
    std::unique_ptr<protocol::EventValidator> m_validator;
    std::unique_ptr<EventSigner> m_flood_signer;
    QElapsedTimer m_clock;

    std::vector<Stored> m_events;
    std::set<protocol::Bytes32> m_ids;
    uint64_t m_flood_serial = 0;

    uint64_t m_connections_accepted = 0;
    std::vector<qint64> m_connection_times_ms;
    uint64_t m_http_requests = 0;
    uint64_t m_websockets_opened = 0;
    size_t m_max_open_websockets = 0;
    uint64_t m_reqs_received = 0;
    std::deque<QByteArray> m_req_filters;
    uint64_t m_closes_received = 0;
    uint64_t m_events_received = 0;
    uint64_t m_counts_received = 0;
    uint64_t m_neg_opens_received = 0;
    uint64_t m_auth_accepted = 0;
    uint64_t m_auth_rejected = 0;
    uint64_t m_invalid_received = 0;
    uint64_t m_messages_sent = 0;
    uint64_t m_bytes_sent = 0;
    uint64_t m_events_sent = 0;
    uint64_t m_eoses_sent = 0;
    uint64_t m_closed_sent = 0;
    uint64_t m_notices_sent = 0;
    uint64_t m_flood_events_sent = 0;
    uint64_t m_broken_sigs_sent = 0;
    uint64_t m_foreign_events_sent = 0;
    uint64_t m_slowloris_bytes_sent = 0;
    qint64 m_max_bytes_pending = 0;
    std::deque<PendingSample> m_pending_samples;
    qint64 m_last_sample_ms = -1;
};

}  // namespace archivist::testing
