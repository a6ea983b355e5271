#include "core/net/relay_connection.h"

#include <QDateTime>
#include <QUrl>
#include <algorithm>
#include <thread>

#include "core/net/backfill_slots.h"
#include "core/net/checked_resolver.h"
#include "core/net/event_sink.h"
#include "core/net/http_get.h"
#include "core/observe/log.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/event_signer.h"
#include "core/protocol/relay_message.h"
#include "core/relays/relay_state_store.h"
#include "core/sync/backfill_planner.h"
#include "core/sync/negentropy.h"
#include "core/protocol/hex.h"

namespace archivist::net {

namespace {

int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }
int64_t nowS() { return QDateTime::currentSecsSinceEpoch(); }

constexpr const char* kLiveSub = "live";
constexpr size_t kMaxNoticeBytes = 200;
constexpr int64_t kInfoRefresh_ms = 24LL * 3600 * 1000;
constexpr int64_t kLiveCheckpointEvery_ms = 1000;
constexpr int64_t kRateLimitedCap_ms = 300000;
constexpr int64_t kNoticeGrace_ms = 5000;

std::string bounded(std::string_view s, size_t n) { return std::string(s.substr(0, n)); }

}  // namespace

const char* relayStateName(RelayState s) {
    switch (s) {
    case RelayState::Idle: return "idle";
    case RelayState::Resolving: return "resolving";
    case RelayState::FetchingInfo: return "fetching_info";
    case RelayState::Connecting: return "connecting";
    case RelayState::Open: return "open";
    case RelayState::BackingOff: return "backing_off";
    case RelayState::Failing: return "failing";
    case RelayState::Refused: return "refused";
    case RelayState::Restricted: return "restricted";
    case RelayState::Blocked: return "blocked";
    case RelayState::Stopped: return "stopped";
    }
    return "unknown";
}

const char* backfillStateName(BackfillState s) {
    switch (s) {
    case BackfillState::NotStarted: return "not_started";
    case BackfillState::Waiting: return "waiting";
    case BackfillState::Running: return "running";
    case BackfillState::Done: return "done";
    case BackfillState::Disabled: return "disabled";
    }
    return "unknown";
}

RelayConnection::RelayConnection(RelayUrl url, std::string source, ConnectionOptions options, Deps deps, QObject* parent)
    : QObject(parent),
      m_url(std::move(url)),
      m_source(std::move(source)),
      m_opts(std::move(options)),
      m_deps(deps),
      m_rng(std::random_device{}()),
      m_limiter(m_opts.rate) {
    m_work.url = m_url.text;
    m_work.source = m_source;
    m_work.state_since_ms = nowMs();
    m_work.backfill = m_opts.backfill ? BackfillState::NotStarted : BackfillState::Disabled;
    if (auto id = m_deps.sink->addSource(m_url.text)) {
        m_sourceId = *id;
        m_haveSource = true;
    }
    m_batch.source = m_sourceId;
    if (m_deps.state) {
        if (auto rec = m_deps.state->find(m_url.text); rec && *rec) {
            const auto& r = **rec;
            if (r.live_cursor) m_work.live_cursor = *r.live_cursor;
            m_backfillCheckpoint = r.backfill_checkpoint;
            m_backfillDone = r.backfill_done;
            m_work.consecutive_failures = r.consecutive_failures;
            if (m_backfillDone && m_opts.backfill) m_work.backfill = BackfillState::Done;
        }
    }
    for (QTimer* t : {&m_reconnectTimer, &m_pongTimer, &m_flushTimer, &m_queryTimer, &m_resumeTimer})
        t->setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &RelayConnection::resolve);
    connect(&m_pingTimer, &QTimer::timeout, this, [this] {
        // While we hold reading back (flow control) the relay is evidently alive and its pong
        // would sit behind unread data: no ping then.
        if (m_pausedForRate || m_pausedForSink || m_pongTimer.isActive()) return;
        m_pausedSincePing = false;
        if (m_ws && m_ws->state() == WsState::Open && m_ws->ping()) m_pongTimer.start(int(m_opts.pong_timeout_ms));
    });
    connect(&m_pongTimer, &QTimer::timeout, this, [this] {
        if (m_pausedForRate || m_pausedForSink || m_pausedSincePing) {
            // Reading was held back since the ping: the pong may be queued unread. Not a stall.
            m_pausedSincePing = m_pausedForRate || m_pausedForSink;
            m_pongTimer.start(int(m_opts.pong_timeout_ms));
            return;
        }
        fail("stalled", "no pong within " + std::to_string(m_opts.pong_timeout_ms) + " ms");
    });
    connect(&m_flushTimer, &QTimer::timeout, this, [this] { flushBatch(); });
    connect(&m_submitRetryTimer, &QTimer::timeout, this, [this] { flushBatch(); });
    connect(&m_settleTimer, &QTimer::timeout, this, &RelayConnection::checkSettled);
    connect(&m_queryTimer, &QTimer::timeout, this, &RelayConnection::onQueryTimeout);
    connect(&m_resumeTimer, &QTimer::timeout, this, [this] {
        m_pausedForRate = false;
        applyRateLimit();
        if (!m_pausedForRate && !m_pausedForSink) setPaused(false, "rate");
    });
    connect(&m_syncTimer, &QTimer::timeout, this, &RelayConnection::pumpSync);
    connect(&m_publishTimer, &QTimer::timeout, this, &RelayConnection::publish);
    m_settleTimer.start(250);
    m_publishTimer.start(250);
    publish();
}

RelayConnection::~RelayConnection() {
    if (m_deps.backfill_slots) m_deps.backfill_slots->forget(m_url.text);
    if (m_ws) {
        m_ws->disconnect(this);
        m_ws->abort();
    }
}

RelayStatusView RelayConnection::status() const {
    std::lock_guard lock(m_statusMutex);
    return m_status;
}

void RelayConnection::publish() {
    m_work.reading_paused = m_pausedForRate || m_pausedForSink;
    m_work.buffered_bytes = int64_t(m_batchBytes) + (m_ws ? m_ws->bufferedBytes() + m_ws->bytesToWrite() : 0);
    if (m_backfill) {
        const auto p = m_backfill->progress();
        m_work.backfill_fraction = p.fraction;
        m_work.backfill_cursor = p.cursor;
        m_work.backfill_queries = p.queries;
    }
    m_work.catching_up = m_catchUp != nullptr;
    std::lock_guard lock(m_statusMutex);
    m_status = m_work;
}

void RelayConnection::setState(RelayState s, const std::string& error) {
    if (m_work.state != s) {
        m_work.state = s;
        m_work.state_since_ms = nowMs();
    }
    if (!error.empty()) m_work.last_error = bounded(error, 400);
    if (m_deps.state) {
        // The directory's vocabulary (docs/relay-directory.md): candidate, connected, backing off,
        // failing, blocked — plus refused and restricted, which the optimizer leaves alone.
        const char* status = nullptr;
        switch (s) {
        case RelayState::Open: status = "connected"; break;
        case RelayState::BackingOff: status = "backing off"; break;
        case RelayState::Failing: status = "failing"; break;
        case RelayState::Refused: status = "refused"; break;
        case RelayState::Restricted: status = "restricted"; break;
        case RelayState::Stopped: status = "candidate"; break;  // disconnected, dropped or shutting down
        default: break;
        }
        if (status) {
            auto r = m_deps.state->saveStatus(m_url.text, status, m_work.consecutive_failures,
                                              m_work.last_error,
                                              s == RelayState::Open ? std::optional<int64_t>(nowMs()) : std::nullopt);
            if (!r) qCWarning(lcNet) << "relay state:" << r.error().message.c_str();
        }
    }
    publish();
}

// ---------------------------------------------------------------- lifecycle

void RelayConnection::start() {
    if (m_work.state == RelayState::Blocked) return;
    if (!m_haveSource) {
        m_terminal = true;
        setState(RelayState::Stopped, "capacity: the source table is full");
        return;
    }
    m_terminal = false;
    m_reconnectTimer.stop();
    if (m_ws && m_ws->state() != WsState::Closed) return;  // already connecting/open
    resolve();
}

void RelayConnection::stop(bool by_operator) {
    closeConnection();
    if (by_operator || m_work.state != RelayState::Blocked) setState(RelayState::Stopped);
}

void RelayConnection::closeConnection() {
    m_terminal = true;
    m_reconnectTimer.stop();
    m_syncTimer.stop();
    m_pingTimer.stop();
    m_pongTimer.stop();
    m_queryTimer.stop();
    ++m_generation;
    if (m_ws && m_ws->state() == WsState::Open) {
        stopSubscriptions();
        m_ws->close(1000, "bye");
    } else if (m_ws) {
        m_ws->abort();
    }
    if (m_haveSlot) m_deps.backfill_slots->release(m_url.text);
    m_haveSlot = false;
    m_deps.backfill_slots->forget(m_url.text);
    m_work.connected_since_ms = 0;
    flushBatch();
}

void RelayConnection::block() {
    stop(true);
    setState(RelayState::Blocked, "blocked by the operator");
    if (m_deps.state) (void)m_deps.state->setBlocked(m_url.text, true);
}

void RelayConnection::unblock() {
    if (m_deps.state) (void)m_deps.state->setBlocked(m_url.text, false);
    m_work.state = RelayState::Stopped;
    start();
}

void RelayConnection::backfillNow() {
    if (!m_opts.backfill) return;
    m_backfillCheckpoint.clear();
    m_backfillDone = false;
    m_backfill.reset();
    m_backfillStart_s = nowS();
    m_work.backfill = BackfillState::NotStarted;
    m_work.backfill_gaps = 0;
    if (m_deps.state) (void)m_deps.state->saveBackfill(m_url.text, "", false);
    if (m_work.state == RelayState::Open) pumpSync();
    else start();
}

void RelayConnection::flushForShutdown() {
    const int64_t deadline = nowMs() + 2000;
    while (!m_batch.items.empty() && m_deps.sink->accepting() && nowMs() < deadline) {
        if (m_deps.sink->trySubmit(m_batch)) {
            m_batch = ingest::RawBatch{m_sourceId, {}};
            m_batchBytes = 0;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    checkSettled();
}

void RelayConnection::resolve() {
    if (m_terminal) return;
    const uint64_t gen = ++m_generation;
    setState(RelayState::Resolving);
    QPointer<RelayConnection> self(this);
    m_deps.resolver->resolve(m_url, [self, gen](Expected<QHostAddress> address) {
        if (!self || gen != self->m_generation) return;
        if (!address) {
            if (address.error().code == "address_refused") {
                self->m_terminal = true;
                self->setState(RelayState::Refused, "address_refused: " + address.error().message);
                return;
            }
            self->fail(address.error().code, address.error().message);
            return;
        }
        self->m_address = *address;
        self->fetchInfo(*address);
    });
}

void RelayConnection::fetchInfo(const QHostAddress& address) {
    if (m_info && nowMs() - m_infoFetchedAt_ms < kInfoRefresh_ms) {
        connectSocket(address);
        return;
    }
    setState(RelayState::FetchingInfo);
    const uint64_t gen = m_generation;
    HttpGetOptions ho;
    ho.timeout_ms = m_opts.info_timeout_ms;
    auto* get = new HttpGet(ho, this);
    m_infoFetch = get;
    QPointer<RelayConnection> self(this);
    connect(get, &HttpGet::finished, this, [self, gen, get, address](int status, const QByteArray& body, const QString& error) {
        get->deleteLater();
        if (!self || gen != self->m_generation) return;
        self->m_infoFetchedAt_ms = nowMs();
        if (error.isEmpty() && status == 200) {
            auto info = parseRelayInfo(std::string_view(body.constData(), size_t(body.size())));
            if (info) {
                self->m_info = std::move(*info);
                auto& w = self->m_work;
                w.info_name = bounded(self->m_info->name, 120);
                w.info_software = bounded(self->m_info->software, 200);
                w.max_limit = self->m_info->limitation.max_limit.value_or(0);
                w.auth_required = self->m_info->limitation.auth_required;
                w.payment_required = self->m_info->limitation.payment_required;
                w.supports_negentropy = self->m_info->supports(77);
                if (self->m_deps.state) {
                    // The document was used; keeping it in the directory's history is secondary
                    // (too large or not an object: refused by the store, said in the log).
                    if (auto kept = self->m_deps.state->saveRelayInfo(self->m_url.text, self->m_info->raw, nowMs()); !kept)
                        qCInfo(lcNet) << self->m_url.text.c_str() << "NIP-11 document not kept:" << kept.error().message.c_str();
                }
            } else {
                qCInfo(lcNet) << self->m_url.text.c_str() << "NIP-11:" << info.error().message.c_str();
            }
        }
        // A missing or broken NIP-11 document does not stop the connection: many relays have none.
        self->connectSocket(address);
    });
    get->start(QUrl(QString::fromStdString(relayInfoUrl(m_url.text))), address,
             {{QByteArray("Accept"), QByteArray("application/nostr+json")}});
}

void RelayConnection::connectSocket(const QHostAddress& address) {
    setState(RelayState::Connecting);
    if (m_ws) {
        m_ws->disconnect(this);
        m_ws->abort();
        m_ws.release()->deleteLater();
    }
    m_ws = std::make_unique<WebSocketClient>(m_opts.ws);
    connect(m_ws.get(), &WebSocketClient::opened, this, &RelayConnection::onOpened);
    connect(m_ws.get(), &WebSocketClient::textMessage, this, &RelayConnection::onText);
    connect(m_ws.get(), &WebSocketClient::closed, this, &RelayConnection::onClosed);
    connect(m_ws.get(), &WebSocketClient::pong, this, [this](qint64 rtt_ms, const QByteArray&) {
        m_pongTimer.stop();
        m_work.rtt_ms = rtt_ms;
    });
    connect(m_ws.get(), &WebSocketClient::bytesReceived, this, [this](qint64 n) { m_work.bytes_received += uint64_t(n); });
    m_ws->open(m_url.toQUrl(), address);
}

void RelayConnection::onOpened() {
    ++m_work.connects;
    m_openedAt_ms = nowMs();
    m_work.connected_since_ms = m_openedAt_ms;
    m_sessionStart_s = nowS();
    m_liveOpen = m_liveEose = false;
    m_authenticated = false;
    m_authPending = false;
    m_authChallenge.reset();
    m_queryInFlight = false;
    m_rateLimitDelay_ms = 0;
    setState(RelayState::Open);
    m_pingTimer.start(int(m_opts.ping_interval_ms));
    // NIP-11 max_message_length bounds our REQs: a kinds list costs at most 6 bytes per kind
    // plus the rest of the filter (≈ 300 bytes with authors/tags of a typical base filter).
    if (m_info && m_info->limitation.max_message_length) {
        const uint64_t room = *m_info->limitation.max_message_length > 600 ? *m_info->limitation.max_message_length - 600 : 0;
        m_kindsPerFilter = std::clamp<size_t>(size_t(room / 6), 1, m_kindsPerFilter);
    }
    // Catch-up: from the persisted live cursor (minus the margin) up to this session's start.
    if (m_work.live_cursor >= 0) {
        sync::BackfillConfig cfg;
        cfg.floor = std::max<int64_t>(0, m_work.live_cursor - m_opts.live_margin_s);
        cfg.limit = std::max<uint32_t>(1, std::min(m_opts.backfill_limit, m_work.max_limit ? m_work.max_limit : UINT32_MAX));
        cfg.negentropy = m_work.supports_negentropy;
        cfg.max_kinds_per_filter = m_kindsPerFilter;
        m_catchUp = std::make_unique<sync::BackfillPlanner>(cfg, m_opts.filter, m_sessionStart_s);
    }
    if (m_backfillStart_s == 0) m_backfillStart_s = m_work.live_cursor >= 0 ? m_work.live_cursor : m_sessionStart_s;
    const uint32_t relayCap = m_info && m_info->limitation.max_subscriptions ? *m_info->limitation.max_subscriptions : 0;
    const uint32_t cap = relayCap ? std::min(relayCap, m_opts.max_subscriptions) : m_opts.max_subscriptions;
    // With a single subscription allowed, history first; live follows when sync has finished.
    if (cap >= 2 || (!m_catchUp && (m_backfillDone || !m_opts.backfill))) openLive();
    pumpSync();
    m_syncTimer.start(1000);
}

void RelayConnection::stopSubscriptions() {
    if (!m_ws || m_ws->state() != WsState::Open) return;
    if (m_liveOpen) send(protocol::makeClose(kLiveSub));
    if (m_queryInFlight) send(protocol::makeClose(m_querySub));
    m_liveOpen = false;
    m_queryInFlight = false;
}

void RelayConnection::onClosed(WsError error, const QString& detail) {
    ++m_generation;
    m_pingTimer.stop();
    m_pongTimer.stop();
    m_queryTimer.stop();
    m_syncTimer.stop();
    m_resumeTimer.stop();
    m_pausedForRate = false;
    m_liveOpen = false;
    m_queryInFlight = false;
    // The query in flight is abandoned: planners restart from their last completed query.
    m_catchUp.reset();
    m_backfill.reset();
    m_neg.reset();
    m_negNeed.clear();
    m_negFetching = false;
    if (m_haveSlot) m_deps.backfill_slots->release(m_url.text);
    m_haveSlot = false;
    m_deps.backfill_slots->forget(m_url.text);
    m_work.connected_since_ms = 0;
    flushBatch();
    if (m_terminal) {
        publish();
        return;
    }
    const bool wasStable = m_openedAt_ms && nowMs() - m_openedAt_ms >= m_opts.stable_after_ms;
    m_openedAt_ms = 0;
    if (wasStable) m_work.consecutive_failures = 0;
    const std::string reason = error == WsError::None ? std::string("closed") : std::string(wsErrorName(error));
    fail(reason, detail.toStdString());
}

void RelayConnection::fail(const std::string& reason, const std::string& detail) {
    ++m_generation;
    if (m_ws && m_ws->state() != WsState::Closed) {
        m_ws->disconnect(this);
        m_ws->abort();
    }
    m_pingTimer.stop();
    m_pongTimer.stop();
    m_queryTimer.stop();
    m_syncTimer.stop();
    m_catchUp.reset();
    m_backfill.reset();
    m_liveOpen = false;
    m_queryInFlight = false;
    if (m_haveSlot) m_deps.backfill_slots->release(m_url.text);
    m_haveSlot = false;
    m_deps.backfill_slots->forget(m_url.text);
    m_work.connected_since_ms = 0;
    ++m_work.consecutive_failures;
    m_work.last_error = bounded(reason + (detail.empty() ? "" : ": " + detail), 400);
    qCInfo(lcNet) << m_url.text.c_str() << "failed:" << m_work.last_error.c_str();
    scheduleReconnect();
}

void RelayConnection::scheduleReconnect() {
    if (m_terminal) return;
    const int shift = std::min(m_work.consecutive_failures - 1, 20);
    const int64_t base = std::min(m_opts.backoff_cap_ms, m_opts.backoff_base_ms << std::max(0, shift));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    const int64_t delay = std::max<int64_t>(50, int64_t(double(base) * jitter(m_rng)));
    m_work.next_attempt_ms = nowMs() + delay;
    setState(m_work.consecutive_failures >= m_opts.failing_after ? RelayState::Failing : RelayState::BackingOff);
    m_reconnectTimer.start(int(delay));
}

bool RelayConnection::send(const std::string& text) {
    if (!m_ws || m_ws->state() != WsState::Open) return false;
    return m_ws->sendText(QByteArray(text.data(), qsizetype(text.size())));
}

// ---------------------------------------------------------------- messages

void RelayConnection::onText(const QByteArray& text) {
    ++m_work.messages;
    const std::string_view view(text.constData(), size_t(text.size()));
    const protocol::RelayMessage msg = protocol::parseRelayMessage(view);
    switch (msg.type) {
    case protocol::RelayMsgType::Event: handleEvent(msg.subscription_id, msg.event_json, view.size()); break;
    case protocol::RelayMsgType::Eose: handleEose(msg.subscription_id); break;
    case protocol::RelayMsgType::Closed: handleClosed(msg.subscription_id, msg.prefix, msg.message); break;
    case protocol::RelayMsgType::Notice:
        ++m_work.notices;
        m_work.last_notice = bounded(msg.message, kMaxNoticeBytes);
        handleNoticeDuringQuery();
        break;
    case protocol::RelayMsgType::Auth: handleAuthChallenge(msg.message); break;
    case protocol::RelayMsgType::Ok: handleOk(msg.event_id, msg.accepted, msg.message); break;
    case protocol::RelayMsgType::NegMsg:
    case protocol::RelayMsgType::NegErr: handleNegentropy(msg); break;
    case protocol::RelayMsgType::Count: break;
    case protocol::RelayMsgType::Unknown: ++m_work.bad_messages; break;
    }
}

void RelayConnection::handleEvent(const std::string& sub, std::string_view event_json, size_t wire_bytes) {
    ++m_work.events_received;
    m_limiter.record(nowMs(), 1, wire_bytes);
    if (m_queryInFlight && sub == m_querySub) {
        sync::BackfillPlanner* p = m_queryIsCatchUp ? m_catchUp.get() : m_backfill.get();
        if (auto keys = protocol::peekEventKeys(event_json); keys && p) p->onEvent(keys->id, keys->created_at, keys->kind);
        ++m_queryEvents;
        m_queryTimer.start(int(m_opts.query_timeout_ms));  // activity: not stalled
    }
    // Every event goes to the pipeline, whichever subscription it came on; the verify stage decides.
    appendEvent(event_json);
    applyRateLimit();
}

void RelayConnection::handleEose(const std::string& sub) {
    if (sub == kLiveSub) {
        m_liveEose = true;
        return;
    }
    if (!m_queryInFlight || sub != m_querySub) return;
    send(protocol::makeClose(sub));  // NIP-01: a subscription stays open after EOSE
    if (m_negFetching && m_negFetched < m_negNeed.size()) {
        sendNegentropyFetch();  // next chunk of the window's ids
        return;
    }
    finishQuery(true, {});
    pumpSync();
}

void RelayConnection::finishQuery(bool completed, const std::string& reason) {
    m_queryTimer.stop();
    m_queryInFlight = false;
    m_neg.reset();
    m_negNeed.clear();
    m_negFetching = false;
    sync::BackfillPlanner* p = m_queryIsCatchUp ? m_catchUp.get() : m_backfill.get();
    if (!p) return;
    if (completed) p->onEose();
    else p->onClosed(reason);
    persistGaps();
    if (!m_queryIsCatchUp) {
        m_backfillCheckpoint = p->checkpoint();
        pushCheckpoint(false, 0, m_backfillCheckpoint, p->done());
    }
}

bool RelayConnection::startNegentropy(const protocol::Filter& window) {
    auto neg = sync::Negentropy::create({}, 0, kMaxNegentropyIds);
    if (!neg) return false;
    m_neg = std::make_unique<sync::Negentropy>(std::move(*neg));
    auto first = m_neg->initiate();
    if (!first) {
        m_neg.reset();
        return false;
    }
    m_negWindow = window;
    m_negWindow.limit.reset();
    m_negNeed.clear();
    m_negFetched = 0;
    m_negFetching = false;
    if (!send(protocol::makeNegOpen(m_querySub, m_negWindow, protocol::toHex(
                                                                 reinterpret_cast<const uint8_t*>(first->data()),
                                                                 first->size())))) {
        m_neg.reset();
        return false;
    }
    m_queryInFlight = true;
    m_queryEvents = 0;
    m_queryTimer.start(int(m_opts.query_timeout_ms));
    return true;
}

void RelayConnection::handleNegentropy(const protocol::RelayMessage& msg) {
    if (!m_queryInFlight || !m_neg || msg.subscription_id != m_querySub) return;
    if (msg.type == protocol::RelayMsgType::NegErr) {
        finishQuery(false, "negentropy: " + bounded(msg.message, 200));
        pumpSync();
        return;
    }
    std::string reply(msg.message.size() / 2, '\0');
    if (msg.message.size() % 2 ||
        !protocol::fromHex(msg.message, reinterpret_cast<uint8_t*>(reply.data()), reply.size())) {
        send(protocol::makeNegClose(m_querySub));
        finishQuery(false, "negentropy: reply is not hex");
        pumpSync();
        return;
    }
    std::vector<protocol::Bytes32> have;
    auto next = m_neg->reconcile(reply, have, m_negNeed);
    if (!next) {
        send(protocol::makeNegClose(m_querySub));
        finishQuery(false, "negentropy: " + next.error().message);
        pumpSync();
        return;
    }
    m_queryTimer.start(int(m_opts.query_timeout_ms));
    if (*next) {
        send(protocol::makeNegMsg(m_querySub, protocol::toHex(reinterpret_cast<const uint8_t*>((*next)->data()),
                                                              (*next)->size())));
        return;
    }
    send(protocol::makeNegClose(m_querySub));
    m_neg.reset();
    m_negFetching = true;
    m_negFetched = 0;
    if (m_negNeed.empty()) {
        finishQuery(true, {});
        pumpSync();
        return;
    }
    sendNegentropyFetch();
}

void RelayConnection::sendNegentropyFetch() {
    const size_t chunk = std::max<size_t>(1, std::min<size_t>(m_opts.backfill_limit, m_work.max_limit ? m_work.max_limit : 500));
    protocol::Filter f;
    const size_t end = std::min(m_negNeed.size(), m_negFetched + chunk);
    f.ids.assign(m_negNeed.begin() + long(m_negFetched), m_negNeed.begin() + long(end));
    f.limit = uint32_t(f.ids.size());
    m_negFetched = end;
    m_querySub = (m_queryIsCatchUp ? "cn" : "bn") + std::to_string(++m_querySeq);
    if (!send(protocol::makeReq(m_querySub, {f}))) return;
    m_queryTimer.start(int(m_opts.query_timeout_ms));
}

void RelayConnection::handleClosed(const std::string& sub, const std::string& prefix, const std::string& message) {
    ++m_work.closed_by_relay;
    m_work.last_error = bounded("closed: " + message, 400);
    if (prefix == "restricted" || prefix == "blocked") {
        closeConnection();
        setState(RelayState::Restricted, prefix + ": " + message);
        return;
    }
    const bool isQuery = m_queryInFlight && sub == m_querySub;
    if (sub == kLiveSub) m_liveOpen = false;
    if (isQuery) finishQuery(false, message);
    if (prefix == "auth-required") {
        m_authPending = true;
        if (m_authChallenge) sendAuth();
        return;  // subscriptions are re-sent once AUTH is accepted
    }
    if (prefix == "rate-limited") {
        ++m_work.rate_limited;
        m_rateLimitDelay_ms = std::min(kRateLimitedCap_ms, std::max<int64_t>(1000, m_rateLimitDelay_ms * 2));
        QPointer<RelayConnection> self(this);
        const uint64_t gen = m_generation;
        QTimer::singleShot(int(m_rateLimitDelay_ms), this, [self, gen, sub] {
            if (!self || gen != self->m_generation) return;
            if (sub == kLiveSub) self->openLive();
            else self->pumpSync();
        });
        return;
    }
    if (sub == kLiveSub) {
        // The relay refused the live subscription for another reason: try again later, bounded by the backoff cap.
        QPointer<RelayConnection> self(this);
        const uint64_t gen = m_generation;
        QTimer::singleShot(60000, this, [self, gen] {
            if (self && gen == self->m_generation) self->openLive();
        });
        return;
    }
    if (isQuery) pumpSync();
}

void RelayConnection::handleNoticeDuringQuery() {
    // Many relays answer a REQ they refuse with a NOTICE instead of CLOSED. A NOTICE while a query
    // has had no answer at all is taken as that refusal: a split chunk with a long kinds list is
    // re-asked in short pieces (the commonest cause); otherwise the query gives up soon instead of
    // waiting for the full query timeout.
    if (!m_queryInFlight || m_queryEvents != 0 || m_neg || m_negFetching) return;
    sync::BackfillPlanner* p = m_queryIsCatchUp ? m_catchUp.get() : m_backfill.get();
    if (p && m_queryKinds > kFallbackKindsPerFilter && p->onKindsListTooLong(kFallbackKindsPerFilter)) {
        send(protocol::makeClose(m_querySub));
        m_queryTimer.stop();
        m_queryInFlight = false;
        m_kindsPerFilter = kFallbackKindsPerFilter;
        pumpSync();
        return;
    }
    m_queryTimer.start(int(std::min<int64_t>(m_opts.query_timeout_ms, kNoticeGrace_ms)));
}

void RelayConnection::handleAuthChallenge(const std::string& challenge) {
    m_authChallenge = bounded(challenge, 256);
    if (m_authPending || (m_info && m_info->limitation.auth_required)) sendAuth();
}

void RelayConnection::sendAuth() {
    if (!m_authChallenge || !m_deps.signer) return;
    protocol::Event e = protocol::makeAuthEvent(m_url.text, *m_authChallenge, nowS());
    if (auto r = m_deps.signer->sign(e); !r) {
        m_work.last_error = "auth: " + r.error().message;
        return;
    }
    m_authEventId = e.id;
    ++m_work.auth_attempts;
    send(protocol::makeAuth(e));
}

void RelayConnection::handleOk(const protocol::Bytes32& id, bool accepted, const std::string& message) {
    if (!m_authEventId || id != *m_authEventId) return;
    m_authEventId.reset();
    if (!accepted) {
        ++m_work.auth_failures;
        closeConnection();
        setState(RelayState::Restricted, "auth failed: " + message);
        return;
    }
    m_authenticated = true;
    m_authPending = false;
    if (!m_liveOpen) openLive();
    pumpSync();
}

// ---------------------------------------------------------------- subscriptions

void RelayConnection::openLive() {
    if (m_liveOpen || !m_ws || m_ws->state() != WsState::Open) return;
    protocol::Filter f = m_opts.filter;
    f.since = std::max<int64_t>(0, m_sessionStart_s - m_opts.live_margin_s);
    f.until.reset();
    f.limit.reset();
    if (send(protocol::makeReq(kLiveSub, {f}))) m_liveOpen = true;
}

void RelayConnection::pumpSync() {
    if (m_terminal || !m_ws || m_ws->state() != WsState::Open || m_queryInFlight || m_authPending) return;
    // 1. Catch-up of what the relay got while we were away.
    if (m_catchUp) {
        if (!m_catchUp->done()) {
            m_queryIsCatchUp = true;
            sendQuery();
            if (m_queryInFlight) return;
        }
        if (m_catchUp && m_catchUp->done()) finishCatchUp();
    }
    // 2. Historical backfill, one slot-holder at a time per the global scheduler.
    if (!m_opts.backfill || m_backfillDone) {
        if (!m_liveOpen) openLive();
        return;
    }
    if (!m_backfill) {
        const int64_t behind = std::max<int64_t>(1, m_backfillStart_s - m_opts.backfill_floor);
        if (!m_haveSlot && !m_deps.backfill_slots->tryAcquire(m_url.text, behind)) {
            m_work.backfill = BackfillState::Waiting;
            return;  // m_syncTimer asks again
        }
        m_haveSlot = true;
        sync::BackfillConfig cfg;
        cfg.floor = m_opts.backfill_floor;
        cfg.limit = std::max<uint32_t>(1, std::min(m_opts.backfill_limit, m_work.max_limit ? m_work.max_limit : UINT32_MAX));
        cfg.negentropy = m_work.supports_negentropy;
        cfg.max_kinds_per_filter = m_kindsPerFilter;
        if (!m_backfillCheckpoint.empty()) {
            auto resumed = sync::BackfillPlanner::resume(cfg, m_opts.filter, m_backfillCheckpoint);
            if (resumed) m_backfill = std::make_unique<sync::BackfillPlanner>(std::move(*resumed));
            else qCWarning(lcNet) << m_url.text.c_str() << "backfill checkpoint unreadable, restarting:"
                                  << resumed.error().message.c_str();
        }
        if (!m_backfill) m_backfill = std::make_unique<sync::BackfillPlanner>(cfg, m_opts.filter, m_backfillStart_s);
    }
    m_work.backfill = BackfillState::Running;
    m_queryIsCatchUp = false;
    if (!m_backfill->done()) sendQuery();
    if (m_backfill && m_backfill->done() && !m_queryInFlight) {
        persistGaps();
        m_backfillDone = true;
        m_backfillCheckpoint = m_backfill->checkpoint();
        pushCheckpoint(false, 0, m_backfillCheckpoint, true);
        m_work.backfill = BackfillState::Done;
        m_work.backfill_fraction = 1.0;
        m_backfill.reset();
        m_deps.backfill_slots->release(m_url.text);
        m_haveSlot = false;
        if (!m_liveOpen) openLive();
    }
}

void RelayConnection::finishCatchUp() {
    persistGaps();
    m_catchUp.reset();
    // Everything up to the session start is now received; once settled, the cursor moves there.
    pushCheckpoint(true, m_sessionStart_s, {}, false);
    if (!m_liveOpen && (m_backfillDone || !m_opts.backfill)) openLive();
}

void RelayConnection::sendQuery() {
    sync::BackfillPlanner* p = m_queryIsCatchUp ? m_catchUp.get() : m_backfill.get();
    if (!p || m_queryInFlight) return;
    auto q = p->next();
    if (!q) return;
    m_querySub = (m_queryIsCatchUp ? "cu" : "bf") + std::to_string(++m_querySeq);
    std::string text;
    if (q->type == sync::BackfillQuery::Type::Negentropy) {
        if (!startNegentropy(q->filter)) return;
        return;
    }
    m_queryKinds = q->filter.kinds.size();
    text = protocol::makeReq(m_querySub, {q->filter});
    if (!send(text)) return;
    m_queryInFlight = true;
    m_queryEvents = 0;
    m_queryTimer.start(int(m_opts.query_timeout_ms));
}

void RelayConnection::onQueryTimeout() {
    if (!m_queryInFlight) return;
    send(m_neg ? protocol::makeNegClose(m_querySub) : protocol::makeClose(m_querySub));
    finishQuery(false, "timeout: no answer within " + std::to_string(m_opts.query_timeout_ms) + " ms");
    pumpSync();
}

void RelayConnection::persistGaps() {
    for (sync::BackfillPlanner* p : {m_catchUp.get(), m_backfill.get()}) {
        if (!p) continue;
        for (auto& g : p->takeGaps()) {
            ++m_work.backfill_gaps;
            if (!m_deps.state) continue;
            relays::GapRecord rec;
            rec.url = m_url.text;
            rec.since = g.since;
            rec.until = g.until;
            for (size_t i = 0; i < g.kinds.size(); ++i) rec.kinds += (i ? "," : "") + std::to_string(g.kinds[i]);
            rec.reason = g.reason;
            rec.recorded_ms = nowMs();
            if (auto r = m_deps.state->addGap(rec); !r) qCWarning(lcNet) << "gap:" << r.error().message.c_str();
        }
    }
}

// ---------------------------------------------------------------- pipeline hand-off

void RelayConnection::appendEvent(std::string_view json) {
    m_batch.items.push_back(ingest::RawItem{std::string(json), nowMs()});
    m_batchBytes += json.size();
    if (m_batch.items.size() >= m_opts.batch_items || m_batchBytes >= m_opts.batch_bytes) flushBatch();
    else if (!m_flushTimer.isActive()) m_flushTimer.start(int(m_opts.batch_flush_ms));
}

void RelayConnection::flushBatch() {
    if (m_batch.items.empty()) {
        m_submitRetryTimer.stop();
        return;
    }
    if (!m_deps.sink->trySubmit(m_batch)) {
        // Pipeline full (or closing): hold this batch, stop reading until it is taken.
        if (!m_pausedForSink) {
            m_pausedForSink = true;
            setPaused(true, "pipeline");
        }
        if (!m_submitRetryTimer.isActive()) m_submitRetryTimer.start(int(m_opts.submit_retry_ms));
        return;
    }
    m_batch = ingest::RawBatch{m_sourceId, {}};
    m_batchBytes = 0;
    m_flushTimer.stop();
    m_submitRetryTimer.stop();
    if (m_pausedForSink) {
        m_pausedForSink = false;
        if (!m_pausedForRate) setPaused(false, "pipeline");
    }
}

void RelayConnection::applyRateLimit() {
    if (m_pausedForRate) return;
    const int64_t pause = m_limiter.pauseFor_ms(nowMs());
    if (pause <= 0) return;
    m_pausedForRate = true;
    ++m_work.rate_limited;
    setPaused(true, "rate");
    m_resumeTimer.start(int(std::max<int64_t>(1, pause)));
}

void RelayConnection::setPaused(bool paused, const char* /*why*/) {
    if (paused) {
        m_pausedSincePing = true;
        if (!m_pausedAt_ms) {
            m_pausedAt_ms = nowMs();
            ++m_work.read_pauses;
        }
        if (m_ws) m_ws->setReadingPaused(true);
        return;
    }
    if (m_pausedAt_ms) {
        m_work.paused_ms_total += nowMs() - m_pausedAt_ms;
        m_pausedAt_ms = 0;
    }
    if (m_ws) m_ws->setReadingPaused(false);
}

void RelayConnection::pushCheckpoint(bool live, int64_t cursor, std::string backfill, bool backfill_done) {
    Checkpoint c;
    // Items still in the pending batch will be counted as received when it is submitted, in order.
    c.required = m_deps.sink->received(m_sourceId) + m_batch.items.size();
    c.live = live;
    c.cursor = cursor;
    c.backfill = std::move(backfill);
    c.backfill_done = backfill_done;
    // One bounded queue per kind. Checkpoints only move forward, so when a queue is full its newest
    // pending entry is replaced by this newer one: persisting is delayed, never wrong.
    auto& queue = live ? m_liveCheckpoints : m_backfillCheckpoints;
    if (queue.size() >= kMaxCheckpoints) queue.back() = std::move(c);
    else queue.push_back(std::move(c));
}

void RelayConnection::checkSettled() {
    // A live checkpoint every second once the live subscription is caught up and no catch-up is pending.
    const int64_t now = nowMs();
    if (m_liveOpen && m_liveEose && !m_catchUp && m_work.state == RelayState::Open &&
        now - m_lastLiveCheckpoint_ms >= kLiveCheckpointEvery_ms) {
        m_lastLiveCheckpoint_ms = now;
        pushCheckpoint(true, now / 1000, {}, false);
    }
    const uint64_t settled = m_deps.sink->settled(m_sourceId);
    while (!m_liveCheckpoints.empty() && m_liveCheckpoints.front().required <= settled) {
        const Checkpoint& c = m_liveCheckpoints.front();
        if (c.cursor > m_work.live_cursor) {
            m_work.live_cursor = c.cursor;
            if (m_deps.state) {
                if (auto r = m_deps.state->saveLiveCursor(m_url.text, c.cursor); !r)
                    qCWarning(lcNet) << "cursor:" << r.error().message.c_str();
            }
        }
        m_liveCheckpoints.pop_front();
    }
    while (!m_backfillCheckpoints.empty() && m_backfillCheckpoints.front().required <= settled) {
        const Checkpoint& c = m_backfillCheckpoints.front();
        if (m_deps.state) {
            if (auto r = m_deps.state->saveBackfill(m_url.text, c.backfill, c.backfill_done); !r)
                qCWarning(lcNet) << "backfill checkpoint:" << r.error().message.c_str();
        }
        m_backfillCheckpoints.pop_front();
    }
}

}  // namespace archivist::net
