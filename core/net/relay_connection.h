#pragma once
// RelayConnection: one relay — one websocket and its state machine.
//
//   Idle → Resolving (DNS + address policy) → FetchingInfo (NIP-11) → Connecting → Open
//   Open: a live subscription (since the session start minus a margin), a catch-up window from
//   the persisted live cursor to the session start, and — when granted a backfill slot — the
//   historical backfill (sync::BackfillPlanner), one query in flight at a time.
//   Any failure → BackingOff (exponential, jittered, capped) → Resolving …; many failures in a
//   row → Failing (still retried at the cap). Refused/Restricted/Blocked/Stopped are terminal
//   until the operator acts.
//
// Guarantees
// - Nothing received is dropped: events go to the EventSink in batches; when the sink is full or
//   the relay exceeds its rate limit, reading the socket pauses (TCP pushes back on the relay).
// - Cursors and backfill checkpoints are persisted only after every event received before them
//   has settled in the pipeline (stored, duplicate or rejected).
// - Memory is bounded (see docs/relay-network.md): websocket buffers, one pending batch, a
//   bounded checkpoint queue.
// Thread: lives on one network thread; all methods are called there. status() is thread-safe.
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "core/ingest/ingest_types.h"
#include "core/net/relay_info.h"
#include "core/net/relay_status.h"
#include "core/net/relay_url.h"
#include "core/net/websocket_client.h"
#include "core/net/rate_limiter.h"
#include "core/protocol/filter.h"

namespace archivist::relays {
class RelayStateStore;
}
namespace archivist::protocol {
class EventSigner;
}
namespace archivist::sync {
class BackfillPlanner;
class Negentropy;
}
namespace archivist::protocol {
struct RelayMessage;
}

namespace archivist::net {

class EventSink;
class BackfillSlots;
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
    int64_t query_timeout_ms = 60000;       // a backfill query without EOSE (or any event) this long
    int64_t live_margin_s = 300;            // live since / catch-up start: cursor minus this
    uint32_t backfill_limit = 500;          // per REQ; capped by the relay's max_limit
    int64_t backfill_floor = 0;             // oldest created_at to backfill (0 = everything)
    bool backfill = true;
    uint32_t max_subscriptions = 10;        // our own cap per relay; the relay's NIP-11 may lower it
    size_t batch_items = 256;               // hand-off to the pipeline
    size_t batch_bytes = 1 << 20;
    int64_t batch_flush_ms = 50;
    int64_t submit_retry_ms = 20;           // pipeline full: retry interval (reading stays paused)
    SlidingWindowRateLimiter::Options rate;
    protocol::Filter filter;                // what to archive (default: empty = everything); since/until/limit are ours
};

class RelayConnection : public QObject {
    Q_OBJECT
public:
    struct Deps {
        EventSink* sink = nullptr;
        relays::RelayStateStore* state = nullptr;
        BackfillSlots* backfill_slots = nullptr;
        CheckedResolver* resolver = nullptr;       // the network thread's
        protocol::EventSigner* signer = nullptr;   // the network thread's (NIP-42), may be null
    };
    RelayConnection(RelayUrl url, std::string source, ConnectionOptions options, Deps deps, QObject* parent = nullptr);
    ~RelayConnection() override;

    void start();                 // Idle/Stopped/BackingOff → Resolving now
    void stop(bool by_operator);  // close gracefully; by_operator → Stopped until start()
    void block();                 // Blocked until unblock()
    void unblock();
    void backfillNow();           // restart historical backfill from now back to the floor
    // Graceful shutdown: flush the pending batch (blocking until the sink takes it or closes).
    void flushForShutdown();

    RelayStatusView status() const;  // Thread: any
    const std::string& url() const { return m_url.text; }

private:
    // State machine.
    void setState(RelayState s, const std::string& error = {});
    void resolve();
    void fetchInfo(const QHostAddress& address);
    void connectSocket(const QHostAddress& address);
    void onOpened();
    void onClosed(WsError error, const QString& detail);
    void fail(const std::string& reason, const std::string& detail);
    void scheduleReconnect();
    void closeConnection();  // subscriptions closed, socket closed, no reconnect; state unchanged
    void stopSubscriptions();

    // Messages.
    void onText(const QByteArray& text);
    void handleEvent(const std::string& sub, std::string_view event_json, size_t wire_bytes);
    void handleEose(const std::string& sub);
    void handleClosed(const std::string& sub, const std::string& prefix, const std::string& message);
    void handleAuthChallenge(const std::string& challenge);
    void handleNoticeDuringQuery();
    void handleOk(const protocol::Bytes32& id, bool accepted, const std::string& message);
    void sendAuth();
    bool send(const std::string& text);

    // Subscriptions.
    void openLive();
    void pumpSync();  // catch-up first, then historical backfill (slot permitting)
    void sendQuery();
    void onQueryTimeout();
    bool startNegentropy(const protocol::Filter& window);
    void handleNegentropy(const protocol::RelayMessage& msg);
    void sendNegentropyFetch();
    void finishQuery(bool completed, const std::string& reason);
    void finishCatchUp();
    void persistGaps();

    // Pipeline hand-off and cursors.
    void appendEvent(std::string_view json);
    void flushBatch();
    void checkSettled();
    void pushCheckpoint(bool live, int64_t cursor, std::string backfill, bool backfill_done);
    void applyRateLimit();
    void setPaused(bool paused, const char* why);
    void publish();  // refresh the shared status copy

    RelayUrl m_url;
    std::string m_source;
    ConnectionOptions m_opts;
    Deps m_deps;
    ingest::SourceId m_sourceId = 0;
    bool m_haveSource = false;

    std::unique_ptr<WebSocketClient> m_ws;
    QPointer<HttpGet> m_infoFetch;
    std::optional<RelayInfo> m_info;
    int64_t m_infoFetchedAt_ms = 0;
    QHostAddress m_address;
    uint64_t m_generation = 0;  // bumps on every attempt: stale callbacks check it

    QTimer m_reconnectTimer, m_pingTimer, m_pongTimer, m_flushTimer, m_submitRetryTimer, m_settleTimer,
        m_queryTimer, m_resumeTimer, m_syncTimer, m_publishTimer;
    std::mt19937_64 m_rng;

    // Session.
    int64_t m_sessionStart_s = 0;
    int64_t m_openedAt_ms = 0;
    bool m_liveOpen = false;
    bool m_liveEose = false;
    bool m_terminal = false;         // Refused/Restricted/Blocked/Stopped: no automatic reconnect
    std::optional<std::string> m_authChallenge;
    std::optional<protocol::Bytes32> m_authEventId;
    bool m_authenticated = false;
    bool m_authPending = false;       // a subscription waits for AUTH to finish
    int64_t m_rateLimitDelay_ms = 0;

    // Sync.
    std::unique_ptr<sync::BackfillPlanner> m_catchUp;
    std::unique_ptr<sync::BackfillPlanner> m_backfill;
    std::string m_backfillCheckpoint;  // latest (in memory), persisted via the checkpoint queue
    bool m_backfillDone = false;
    bool m_haveSlot = false;
    bool m_queryInFlight = false;
    bool m_queryIsCatchUp = false;
    std::string m_querySub;
    uint64_t m_querySeq = 0;
    uint64_t m_queryEvents = 0;
    size_t m_queryKinds = 0;
    size_t m_kindsPerFilter = 500;   // lowered to kFallbackKindsPerFilter when a relay refuses long lists
    static constexpr size_t kFallbackKindsPerFilter = 20;
    int64_t m_backfillStart_s = 0;
    // NIP-77 window in flight: reconcile (our side empty: the window is one second of one kind),
    // then fetch the ids the relay has in chunks of ≤ the query limit.
    std::unique_ptr<sync::Negentropy> m_neg;
    std::vector<protocol::Bytes32> m_negNeed;   // bounded by kMaxNegentropyIds
    size_t m_negFetched = 0;
    bool m_negFetching = false;
    protocol::Filter m_negWindow;
    static constexpr size_t kMaxNegentropyIds = 100000;

    // Pipeline hand-off.
    ingest::RawBatch m_batch;
    size_t m_batchBytes = 0;
    SlidingWindowRateLimiter m_limiter;
    bool m_pausedForRate = false, m_pausedForSink = false;
    int64_t m_pausedAt_ms = 0;
    bool m_pausedSincePing = false;

    struct Checkpoint {
        uint64_t required = 0;  // source received count that must have settled
        bool live = false;
        int64_t cursor = 0;
        std::string backfill;
        bool backfill_done = false;
    };
    std::deque<Checkpoint> m_liveCheckpoints;      // each bounded: kMaxCheckpoints
    std::deque<Checkpoint> m_backfillCheckpoints;
    static constexpr size_t kMaxCheckpoints = 16;
    int64_t m_lastLiveCheckpoint_ms = 0;

    mutable std::mutex m_statusMutex;
    RelayStatusView m_status;   // guarded by m_statusMutex (the copy others read)
    RelayStatusView m_work;     // network thread's working copy
};

}  // namespace archivist::net
