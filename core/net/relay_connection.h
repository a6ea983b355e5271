#pragma once
// RelayConnection: one relay — one websocket and its state machine; the queries run by its
// SessionDriver (sync::RelaySync).
//
//   Candidate → Resolving (DNS + address policy) → FetchingInfo (NIP-11) → Connecting → Connected
//   Any failure → BackingOff (exponential, jittered, capped) → Resolving …; many failures in a
//   row → Failing (still retried at the cap). Refused/Restricted/Blocked/Stopped are terminal
//   until the operator acts. (States: core/observe/relay_state.h, the one vocabulary.)
//
// What it does itself: the socket, ping/pong liveness, NIP-42 AUTH, the relay's answers that
// concern the connection (restricted:/blocked: → Restricted, auth-required: → AUTH,
// rate-limited: counted), the sliding-window rate limit, batching events into the EventSink, and
// reporting its state and NIP-11 document to the owner of relay state (ConnectionReports).
// What it leaves to the driver: which subscriptions exist, whether an EVENT belongs to one
// (subscription discipline: refused events are counted here by reason and never handed on),
// and everything about cursors and history.
//
// Guarantees
// - Nothing accepted is dropped: events go to the EventSink in batches; when the sink is full or
//   the relay exceeds its rate limit, reading the socket pauses (TCP pushes back on the relay).
// - No database, no waiting: reports are values offered to ConnectionReports; one the owner
//   cannot take now is kept (the newest status) and offered again on the next publish tick.
// - Memory is bounded (see docs/relay-network.md): websocket buffers, one pending batch.
// Thread: lives on one network thread; all methods are called there. status() is thread-safe.
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "core/ingest/ingest_types.h"
#include "core/net/connection_reports.h"
#include "core/net/rate_limiter.h"
#include "core/net/relay_info.h"
#include "core/net/relay_status.h"
#include "core/net/relay_url.h"
#include "core/net/session_driver.h"
#include "core/net/websocket_client.h"

namespace archivist::protocol {
class EventSigner;
struct RelayMessage;
}

namespace archivist::net {

class EventSink;
class CheckedResolver;
class HttpGet;

struct ConnectionOptions {
    WebSocketOptions ws;
    int64_t info_timeout_ms = 8000;
    int64_t backoff_base_ms = 1000;
    int64_t backoff_cap_ms = 300000;        // about 5 minutes
    int failing_after = 5;                  // consecutive failures → Failing
    int64_t stable_after_ms = 30000;        // a connection open this long resets the failure count
    int64_t ping_interval_ms = 30000;
    int64_t pong_timeout_ms = 20000;        // no pong → stalled → reconnect
    uint32_t max_subscriptions = 10;        // our own cap per relay; the relay's NIP-11 may lower it
    size_t batch_items = 256;               // hand-off to the pipeline
    size_t batch_bytes = 1 << 20;
    int64_t batch_flush_ms = 50;
    int64_t submit_retry_ms = 20;           // pipeline full: retry interval (reading stays paused)
    SlidingWindowRateLimiter::Options rate;
};

class RelayConnection : public QObject, private RelayLink {
    Q_OBJECT
public:
    struct Deps {
        EventSink* sink = nullptr;
        ConnectionReports* reports = nullptr;      // the owner of relay state (required)
        CheckedResolver* resolver = nullptr;       // the network thread's
        protocol::EventSigner* signer = nullptr;   // the network thread's (NIP-42), may be null
    };
    struct Start {
        std::string source;                 // where the relay came from ("user", "seed", …)
        int consecutive_failures = 0;       // from the directory: the backoff continues where it was
    };
    // `driver` may be null: the connection then opens no subscription (and refuses every EVENT).
    RelayConnection(RelayUrl url, Start start, ConnectionOptions options, Deps deps,
                    std::unique_ptr<SessionDriver> driver, QObject* parent = nullptr);
    ~RelayConnection() override;

    void start();                 // Candidate/Stopped/BackingOff → Resolving now
    void stop(bool by_operator);  // close gracefully; by_operator → Stopped until start()
    void block();                 // Blocked until unblock()
    void unblock();
    void backfillNow();           // the driver restarts history from now back to the floor
    // Graceful shutdown: flush the pending batch (waiting ≤ 2 s for the sink to take it) and let
    // the driver report what settled.
    void flushForShutdown();

    RelayStatusView status() const;  // Thread: any
    const std::string& url() const { return m_url.text; }

private:
    // RelayLink (for the driver).
    bool send(const std::string& text) override;
    void setMessageLimit(uint64_t bytes) override;
    uint64_t receivedMark() const override;
    uint64_t settledCount() const override;
    bool authenticating() const override { return m_authPending; }

    // State machine.
    void setState(observe::RelayState s, const std::string& error = {});
    void resolve();
    void fetchInfo(const QHostAddress& address);
    void connectSocket(const QHostAddress& address);
    void onOpened();
    void onClosed(WsError error, const QString& detail);
    void fail(const std::string& reason, const std::string& detail);
    void scheduleReconnect();
    void closeConnection();  // subscriptions closed, socket closed, no reconnect; state unchanged
    void endSession();       // tells the driver the session is over (once per socket)

    // Messages.
    void onText(QByteArrayView text);
    void handleEvent(const std::string& sub, std::string_view event_json,
                     const std::optional<protocol::EventKeys>& keys, size_t wire_bytes);
    void handleClosed(const std::string& sub, const std::string& prefix, const std::string& message);
    void handleAuthChallenge(const std::string& challenge);
    void handleOk(const protocol::Bytes32& id, bool accepted, const std::string& message);
    void sendAuth();

    // Pipeline hand-off.
    void appendEvent(std::string_view json);
    void flushBatch();
    void applyRateLimit();
    void setPaused(bool paused);
    void publish();        // refresh the shared status copy; offer unreported reports again
    void reportState();    // the current state to the owner (kept when refused)

    RelayUrl m_url;
    std::string m_source;
    ConnectionOptions m_opts;
    Deps m_deps;
    std::unique_ptr<SessionDriver> m_driver;
    ingest::SourceId m_sourceId = 0;
    bool m_haveSource = false;

    std::unique_ptr<WebSocketClient> m_ws;
    QPointer<HttpGet> m_infoFetch;
    std::optional<RelayInfo> m_info;
    int64_t m_infoFetchedAt_ms = 0;
    QHostAddress m_address;
    uint64_t m_generation = 0;  // bumps on every attempt: stale callbacks check it

    QTimer m_reconnectTimer, m_pingTimer, m_pongTimer, m_flushTimer, m_submitRetryTimer, m_resumeTimer, m_publishTimer;
    std::mt19937_64 m_rng;

    // Session.
    bool m_sessionActive = false;    // the driver was told opened() and not yet closed()
    int64_t m_openedAt_ms = 0;
    bool m_terminal = false;         // Refused/Restricted/Blocked/Stopped: no automatic reconnect
    std::optional<std::string> m_authChallenge;
    std::optional<protocol::Bytes32> m_authEventId;
    bool m_authPending = false;       // a subscription waits for AUTH to finish

    // Pipeline hand-off.
    ingest::RawBatch m_batch;
    size_t m_batchBytes = 0;
    SlidingWindowRateLimiter m_limiter;
    bool m_pausedForRate = false, m_pausedForSink = false;
    int64_t m_pausedAt_ms = 0;
    bool m_pausedSincePing = false;

    // Reports the owner has not taken yet (offered again on the publish tick).
    std::optional<StatusReport> m_unsentStatus;
    std::optional<Nip11Report> m_unsentNip11;

    mutable std::mutex m_statusMutex;
    RelayStatusView m_status;   // guarded by m_statusMutex (the copy others read)
    RelayStatusView m_work;     // network thread's working copy
};

}  // namespace archivist::net
