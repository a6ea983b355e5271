#include "core/net/relay_connection.h"

#include <QDateTime>
#include <QUrl>
#include <algorithm>
#include <thread>

#include "core/net/checked_resolver.h"
#include "core/net/event_sink.h"
#include "core/net/http_get.h"
#include "core/observe/log.h"
#include "core/protocol/event_signer.h"
#include "core/protocol/relay_message.h"

namespace archivist::net {

namespace {

using observe::RelayState;

int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }
int64_t nowS() { return QDateTime::currentSecsSinceEpoch(); }

constexpr size_t kMaxNoticeBytes = 200;
constexpr int64_t kInfoRefresh_ms = 24LL * 3600 * 1000;

std::string bounded(std::string_view s, size_t n) { return std::string(s.substr(0, n)); }

}  // namespace

RelayConnection::RelayConnection(RelayUrl url, Start start, ConnectionOptions options, Deps deps,
                                 std::unique_ptr<SessionDriver> driver, QObject* parent)
    : QObject(parent),
      m_url(std::move(url)),
      m_source(std::move(start.source)),
      m_opts(std::move(options)),
      m_deps(deps),
      m_driver(std::move(driver)),
      m_rng(std::random_device{}()),
      m_limiter(m_opts.rate) {
    m_work.url = m_url.text;
    m_work.source = m_source;
    m_work.state_since_ms = nowMs();
    m_work.consecutive_failures = start.consecutive_failures;
    if (auto id = m_deps.sink->addSource(m_url.text)) {
        m_sourceId = *id;
        m_haveSource = true;
    }
    m_batch.source = m_sourceId;
    for (QTimer* t : {&m_reconnectTimer, &m_pongTimer, &m_flushTimer, &m_resumeTimer}) t->setSingleShot(true);
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
    connect(&m_resumeTimer, &QTimer::timeout, this, [this] {
        m_pausedForRate = false;
        applyRateLimit();
        if (!m_pausedForRate && !m_pausedForSink) setPaused(false);
    });
    connect(&m_publishTimer, &QTimer::timeout, this, &RelayConnection::publish);
    m_publishTimer.start(250);
    publish();
}

RelayConnection::~RelayConnection() {
    if (m_ws) {
        m_ws->disconnect(this);
        m_ws->abort();
    }
    endSession();
}

RelayStatusView RelayConnection::status() const {
    std::lock_guard lock(m_statusMutex);
    return m_status;
}

void RelayConnection::publish() {
    if (m_unsentStatus && m_deps.reports->reportStatus(*m_unsentStatus)) m_unsentStatus.reset();
    if (m_unsentNip11 && m_deps.reports->reportNip11(*m_unsentNip11)) m_unsentNip11.reset();
    m_work.unreported = (m_unsentStatus ? 1 : 0) + (m_unsentNip11 ? 1 : 0);
    m_work.reading_paused = m_pausedForRate || m_pausedForSink;
    m_work.buffered_bytes = int64_t(m_batchBytes) + (m_ws ? m_ws->heldBytes() + m_ws->bytesToWrite() : 0);
    if (m_driver) m_driver->describe(m_work.sync);
    std::lock_guard lock(m_statusMutex);
    m_status = m_work;
}

void RelayConnection::reportState() {
    StatusReport r;
    r.url = m_url.text;
    r.state = m_work.state;
    r.consecutive_failures = m_work.consecutive_failures;
    r.last_error = m_work.last_error;
    r.at_ms = nowMs();
    if (m_work.state == RelayState::Connected) r.last_connected_ms = r.at_ms;
    // Coalesced here as well: an unsent older status is replaced, its connect time kept.
    if (m_unsentStatus && !r.last_connected_ms) r.last_connected_ms = m_unsentStatus->last_connected_ms;
    if (m_deps.reports->reportStatus(r)) m_unsentStatus.reset();
    else m_unsentStatus = std::move(r);
}

void RelayConnection::setState(RelayState s, const std::string& error) {
    if (m_work.state != s) {
        m_work.state = s;
        m_work.state_since_ms = nowMs();
    }
    if (!error.empty()) m_work.last_error = bounded(error, 400);
    reportState();
    publish();
}

// ---------------------------------------------------------------- RelayLink

bool RelayConnection::send(const std::string& text) {
    if (!m_ws || m_ws->state() != WsState::Open) return false;
    if (!m_ws->sendText(QByteArray(text.data(), qsizetype(text.size())))) return false;
    // A masked client frame: 2 header bytes, 2 or 8 more for longer payloads, 4 of mask.
    const uint64_t n = text.size();
    m_work.bytes_sent += n + 6 + (n > 65535 ? 8 : n > 125 ? 2 : 0);
    return true;
}

void RelayConnection::setMessageLimit(uint64_t bytes) {
    if (m_ws) m_ws->setMaxMessageBytes(int64_t(std::min<uint64_t>(bytes, uint64_t(INT64_MAX))));
}

uint64_t RelayConnection::receivedMark() const {
    // Items still in the pending batch will be counted as received when it is submitted, in order.
    return m_deps.sink->received(m_sourceId) + m_batch.items.size();
}

uint64_t RelayConnection::settledCount() const { return m_deps.sink->settled(m_sourceId); }

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
    m_pingTimer.stop();
    m_pongTimer.stop();
    ++m_generation;
    if (m_ws && m_ws->state() == WsState::Open) {
        if (m_driver && m_sessionActive) m_driver->closing();
        m_ws->close(1000, "bye");  // the session ends when the closing handshake does (onClosed)
    } else if (m_ws) {
        m_ws->disconnect(this);
        m_ws->abort();
        endSession();
    }
    m_work.connected_since_ms = 0;
    flushBatch();
}

void RelayConnection::endSession() {
    if (!m_sessionActive) return;
    m_sessionActive = false;
    if (m_driver) m_driver->closed();
}

void RelayConnection::block() {
    stop(true);
    setState(RelayState::Blocked, "blocked by the operator");
}

void RelayConnection::unblock() {
    m_work.state = RelayState::Stopped;
    start();
}

void RelayConnection::backfillNow() {
    if (m_driver) m_driver->backfillNow();
    if (m_work.state != RelayState::Connected) start();
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
    if (m_driver) m_driver->flush();
    publish();
}

void RelayConnection::resolve() {
    if (m_terminal) return;
    const uint64_t gen = ++m_generation;
    setState(RelayState::Resolving);
    QPointer<RelayConnection> self(this);
    m_deps.resolver->resolve(m_url, [self, gen](Resolved address) {
        if (!self || gen != self->m_generation) return;
        if (!address) {
            const ResolveError& e = address.error();
            if (e.code == ResolveErrorCode::AddressRefused) {
                self->m_terminal = true;
                self->setState(RelayState::Refused, "address_refused: " + e.message);
                return;
            }
            self->fail(errorCodeName(e.code), e.message);
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
                // The document was used; keeping it in the directory's history is the owner's job.
                Nip11Report r{self->m_url.text, self->m_info->raw, self->m_infoFetchedAt_ms};
                if (self->m_deps.reports->reportNip11(r)) self->m_unsentNip11.reset();
                else self->m_unsentNip11 = std::move(r);
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
    m_authChallenge.reset();
    m_authEventId.reset();
    m_authPending = false;
    setState(RelayState::Connected);
    m_pingTimer.start(int(m_opts.ping_interval_ms));
    if (!m_driver) return;
    SessionInfo session;
    session.opened_s = nowS();
    session.info = m_info;
    const uint32_t relayCap = m_info && m_info->limitation.max_subscriptions ? *m_info->limitation.max_subscriptions : 0;
    session.max_subscriptions = relayCap ? std::min(relayCap, m_opts.max_subscriptions) : m_opts.max_subscriptions;
    session.max_message_bytes = uint64_t(m_opts.ws.max_message_bytes);
    m_sessionActive = true;
    m_driver->opened(*this, session);
}

void RelayConnection::onClosed(WsError error, const QString& detail) {
    ++m_generation;
    endSession();
    m_pingTimer.stop();
    m_pongTimer.stop();
    m_resumeTimer.stop();
    m_pausedForRate = false;
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
    endSession();
    m_pingTimer.stop();
    m_pongTimer.stop();
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

// ---------------------------------------------------------------- messages

void RelayConnection::onText(QByteArrayView text) {
    ++m_work.messages;
    const std::string_view view(text.data(), size_t(text.size()));
    const protocol::RelayMessage msg = protocol::parseRelayMessage(view);
    switch (msg.type) {
    case protocol::RelayMsgType::Event: handleEvent(msg.subscription_id, msg.event_json, msg.event_keys, view.size()); break;
    case protocol::RelayMsgType::Eose:
        if (m_driver) m_driver->eose(msg.subscription_id);
        break;
    case protocol::RelayMsgType::Closed: handleClosed(msg.subscription_id, msg.prefix, msg.message); break;
    case protocol::RelayMsgType::Notice:
        ++m_work.notices;
        m_work.last_notice = bounded(msg.message, kMaxNoticeBytes);
        if (m_driver) m_driver->notice(msg.message);
        break;
    case protocol::RelayMsgType::Auth: handleAuthChallenge(msg.message); break;
    case protocol::RelayMsgType::Ok: handleOk(msg.event_id, msg.accepted, msg.message); break;
    case protocol::RelayMsgType::NegMsg:
    case protocol::RelayMsgType::NegErr:
        if (m_driver) m_driver->negentropy(msg);
        break;
    case protocol::RelayMsgType::Count: break;
    case protocol::RelayMsgType::Unknown: ++m_work.bad_messages; break;
    }
}

void RelayConnection::handleEvent(const std::string& sub, std::string_view event_json,
                                  const std::optional<protocol::EventKeys>& keys, size_t wire_bytes) {
    ++m_work.events_received;
    using observe::EventRefusal;
    const EventRefusal verdict = m_driver ? m_driver->admit(sub, event_json, keys) : EventRefusal::UnknownSubscription;
    if (verdict == EventRefusal::None) appendEvent(event_json);
    else if (verdict != EventRefusal::Count) ++m_work.refused_by_reason[size_t(verdict) - 1];
    // The limiter guards against unsolicited floods: answers to our own queries are paced by the
    // queries (and by the pipeline's backpressure), refused events always count.
    if (verdict == EventRefusal::None && m_driver->solicited(sub)) return;
    m_limiter.record(nowMs(), 1, wire_bytes);
    applyRateLimit();
}

void RelayConnection::handleClosed(const std::string& sub, const std::string& prefix, const std::string& message) {
    ++m_work.closed_by_relay;
    m_work.last_error = bounded("closed: " + message, 400);
    if (prefix == "restricted" || prefix == "blocked") {
        closeConnection();
        setState(RelayState::Restricted, prefix + ": " + message);
        return;
    }
    if (prefix == "rate-limited") ++m_work.rate_limited;
    if (prefix == "auth-required") m_authPending = true;  // subscriptions are re-sent once AUTH is accepted
    if (m_driver) m_driver->refused(sub, prefix, message);
    if (prefix == "auth-required" && m_authChallenge) sendAuth();
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
    m_authPending = false;
    if (m_driver) m_driver->authenticated();
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
            setPaused(true);
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
        if (!m_pausedForRate) setPaused(false);
    }
}

void RelayConnection::applyRateLimit() {
    if (m_pausedForRate) return;
    const int64_t pause = m_limiter.pauseFor_ms(nowMs());
    if (pause <= 0) return;
    m_pausedForRate = true;
    ++m_work.flood_pauses;
    setPaused(true);
    m_resumeTimer.start(int(std::max<int64_t>(1, pause)));
}

void RelayConnection::setPaused(bool paused) {
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

}  // namespace archivist::net
