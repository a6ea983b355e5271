#include "fake_relay.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QHostAddress>
#include <QPointer>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <deque>
#include <memory>
#include <QWebSocket>
#include <QWebSocketServer>

#include <algorithm>
#include <map>

#include "core/protocol/event_codec.h"
#include "core/protocol/event_validator.h"
#include "core/protocol/hex.h"
#include "core/protocol/json.h"
#include "core/protocol/relay_message.h"
#include "signed_events.h"

namespace archivist::testing {

using namespace archivist::protocol;

namespace {

constexpr int64_t kAuthWindowS = 600;
constexpr qint64 kSampleEveryMs = 5;
constexpr uint16_t kAuthKind = 22242;
constexpr int64_t kHugeFrameCreatedAt = 1700000000;

std::string headerValue(const QByteArray& head, const QByteArray& name) {
    for (const QByteArray& line : head.split('\n')) {
        const int colon = line.indexOf(':');
        if (colon <= 0) continue;
        if (line.left(colon).trimmed().toLower() == name) return line.mid(colon + 1).trimmed().toStdString();
    }
    return {};
}

bool isUpgrade(const QByteArray& head) {
    return QByteArray::fromStdString(headerValue(head, "upgrade")).toLower().contains("websocket");
}

std::string firstTagValue(const Event& e, std::string_view name) {
    for (const auto& t : e.tags) {
        if (t.size() >= 2 && t[0] == name) return t[1];
    }
    return {};
}

std::string stripSlash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

}  // namespace

struct FakeRelay::Session {
    QWebSocket* ws = nullptr;
    std::map<std::string, std::vector<Filter>> subs;
    std::string challenge;
    bool authed = false;
    uint64_t events_to_this = 0;  // for invalid_signature_every
    // An unfinished flood: which subscription, how many events still to send, EOSE after?
    std::string flood_sub;
    int64_t flood_created_at = 0;
    uint64_t flood_left = 0;
    bool flood_eose = false;
};

FakeRelay::FakeRelay(FakeRelayOptions options, QObject* parent)
    : QObject(parent), m_options(std::move(options)), m_validator(std::make_unique<EventValidator>()) {
    m_clock.start();
}

FakeRelay::~FakeRelay() {
    stop();
    // Destroy the servers (and the sockets they own) while the session table still exists: a
    // socket torn down now may still emit signals into this object.
    m_ws_server.reset();
    m_tcp.reset();
}

Expected<void> FakeRelay::start(quint16 port) {
    if (m_tcp && m_tcp->isListening()) return {};
    m_tcp = std::make_unique<QTcpServer>();
    m_ws_server = std::make_unique<QWebSocketServer>(QStringLiteral("archivist-fake-relay"),
                                                     QWebSocketServer::NonSecureMode);
    connect(m_tcp.get(), &QTcpServer::newConnection, this, &FakeRelay::onNewTcpConnection);
    connect(m_ws_server.get(), &QWebSocketServer::newConnection, this, &FakeRelay::onNewWebSocket);
    if (!m_tcp->listen(QHostAddress::LocalHost, port)) {
        return makeError("listen", "FakeRelay cannot listen on 127.0.0.1: " + m_tcp->errorString().toStdString());
    }
    m_clock.restart();
    return {};
}

void FakeRelay::stop() {
    dropConnections();
    if (m_tcp) {
        m_tcp->close();
        // Raw sockets (HTTP, slowloris, half-read upgrades) are children of the server.
        for (QTcpSocket* s : m_tcp->findChildren<QTcpSocket*>()) s->abort();
    }
}

void FakeRelay::dropConnections() {
    std::vector<QWebSocket*> open;
    for (auto& [ws, s] : m_sessions) open.push_back(ws);
    m_sessions.clear();
    for (QWebSocket* ws : open) {
        ws->disconnect(this);
        ws->abort();
        ws->deleteLater();
    }
}

quint16 FakeRelay::port() const { return m_tcp ? m_tcp->serverPort() : 0; }
QString FakeRelay::url() const { return QStringLiteral("ws://127.0.0.1:%1").arg(port()); }
QString FakeRelay::httpUrl() const { return QStringLiteral("http://127.0.0.1:%1/").arg(port()); }

qint64 FakeRelay::elapsedMs() const { return m_clock.elapsed(); }

QByteArray FakeRelay::nip11Document() const {
    if (!m_options.nip11_json.isEmpty()) return m_options.nip11_json;
    std::string nips = "[1,11";
    if (m_options.auth_required) nips += ",42";
    nips += ",45";
    if (m_options.advertise_nip77_ignore_neg_open) nips += ",77";
    nips += "]";
    std::string doc = "{\"name\":\"archivist-fake-relay\",\"description\":\"FakeRelay (Archivist tests)\","
                      "\"software\":\"archivist-tests/fake_relay\",\"version\":\"1\",\"supported_nips\":" +
                      nips + ",\"limitation\":{\"max_limit\":" + std::to_string(m_options.max_limit) +
                      ",\"default_limit\":" + std::to_string(m_options.default_limit) +
                      ",\"max_subscriptions\":" + std::to_string(kFakeRelayMaxSubscriptions) +
                      ",\"auth_required\":" + (m_options.auth_required ? "true" : "false") +
                      ",\"restricted_writes\":" + (m_options.restricted ? "true" : "false") + "}}";
    return QByteArray::fromStdString(doc);
}

// --- raw TCP: HTTP, upgrades, close_on_connect, slowloris ---

void FakeRelay::onNewTcpConnection() {
    while (QTcpSocket* socket = m_tcp->nextPendingConnection()) {
        ++m_connections_accepted;
        if (m_connection_times_ms.size() < kFakeRelayMaxRecorded) m_connection_times_ms.push_back(elapsedMs());
        emit connectionAccepted();
        if (m_options.close_on_connect) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onTcpReadyRead(socket); });
        if (socket->bytesAvailable() > 0) onTcpReadyRead(socket);
    }
}

void FakeRelay::onTcpReadyRead(QTcpSocket* socket) {
    // Peek, do not read: a WebSocket upgrade is handed over with its request still unread.
    const QByteArray head = socket->peek(kFakeRelayMaxHttpHeaderBytes + 1);
    const int end = head.indexOf("\r\n\r\n");
    if (end < 0) {
        if (head.size() > qsizetype(kFakeRelayMaxHttpHeaderBytes)) socket->abort();
        return;
    }
    QObject::disconnect(socket, nullptr, this, nullptr);
    const QByteArray request_head = head.left(end);
    if (!isUpgrade(request_head)) {
        serveHttp(socket, request_head);
    } else if (m_options.slowloris) {
        startSlowloris(socket, request_head);
    } else if (m_sessions.size() >= kFakeRelayMaxConnections) {
        socket->abort();
    } else {
        disconnect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        m_ws_server->handleConnection(socket);
    }
}

void FakeRelay::serveHttp(QTcpSocket* socket, const QByteArray& head) {
    ++m_http_requests;
    socket->readAll();
    QByteArray response;
    if (!head.startsWith("GET ")) {
        response = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    } else if (m_options.nip11_status != 200) {
        const QByteArray body = "no relay information here\n";
        response = "HTTP/1.1 " + QByteArray::number(m_options.nip11_status) + " Fake Status\r\n"
                   "Content-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                   QByteArray::number(body.size()) + "\r\n\r\n" + body;
    } else {
        const QByteArray body = nip11Document();
        response = "HTTP/1.1 200 OK\r\nContent-Type: application/nostr+json\r\n"
                   "Access-Control-Allow-Origin: *\r\nConnection: close\r\nContent-Length: " +
                   QByteArray::number(body.size()) + "\r\n\r\n" + body;
    }
    socket->write(response);
    socket->disconnectFromHost();
}

void FakeRelay::startSlowloris(QTcpSocket* socket, const QByteArray& head) {
    socket->readAll();
    const QByteArray key = QByteArray::fromStdString(headerValue(head, "sec-websocket-key"));
    const QByteArray accept =
        QCryptographicHash::hash(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", QCryptographicHash::Sha1).toBase64();
    auto response = std::make_shared<QByteArray>(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " + accept + "\r\n\r\n");
    auto* timer = new QTimer(socket);  // dies with the socket
    QPointer<QTcpSocket> guard(socket);
    auto pos = std::make_shared<qsizetype>(0);
    connect(timer, &QTimer::timeout, this, [this, guard, timer, response, pos] {
        if (!guard || guard->state() != QAbstractSocket::ConnectedState || *pos >= response->size()) {
            timer->stop();
            return;
        }
        guard->write(response->constData() + *pos, 1);
        ++*pos;
        ++m_slowloris_bytes_sent;
        // Anything the client sends meanwhile is read and dropped (bounded by the socket).
        guard->readAll();
    });
    timer->start(std::max(1, m_options.slowloris_interval_ms));
}

// --- WebSocket sessions ---

void FakeRelay::onNewWebSocket() {
    while (QWebSocket* ws = m_ws_server->nextPendingConnection()) {
        ++m_websockets_opened;
        auto session = std::make_unique<Session>();
        Session* s = session.get();
        s->ws = ws;
        m_sessions.emplace(ws, std::move(session));
        m_max_open_websockets = std::max(m_max_open_websockets, m_sessions.size());
        connect(ws, &QWebSocket::textMessageReceived, this, [this, ws](const QString& text) {
            auto it = m_sessions.find(ws);
            if (it != m_sessions.end()) onTextMessage(*it->second, text);
        });
        connect(ws, &QWebSocket::bytesWritten, this, [this, ws](qint64) {
            auto it = m_sessions.find(ws);
            if (it == m_sessions.end()) return;
            samplePending(*it->second, false);
            if (it->second->flood_left > 0) pumpFlood(*it->second);
        });
        // Queued: a send() that fails may emit disconnected synchronously while a Session& is in use.
        connect(
            ws, &QWebSocket::disconnected, this,
            [this, ws] {
                m_sessions.erase(ws);
                ws->deleteLater();
            },
            Qt::QueuedConnection);
        if (m_options.notice_spam_interval_ms > 0) {
            auto* timer = new QTimer(ws);
            connect(timer, &QTimer::timeout, this, [this, ws] {
                auto it = m_sessions.find(ws);
                if (it == m_sessions.end()) return;
                ++m_notices_sent;
                send(*it->second, makeNotice("spam: notice number " + std::to_string(m_notices_sent)));
            });
            timer->start(m_options.notice_spam_interval_ms);
        }
        if (m_options.auth_required) {
            const uint64_t a = QRandomGenerator::global()->generate64();
            const uint64_t b = QRandomGenerator::global()->generate64();
            s->challenge = toHex(reinterpret_cast<const uint8_t*>(&a), 8) + toHex(reinterpret_cast<const uint8_t*>(&b), 8);
            send(*s, makeAuthChallenge(s->challenge));
        }
    }
}

void FakeRelay::onTextMessage(Session& s, const QString& text) {
    const std::string utf8 = text.toStdString();
    const ClientMessage msg = parseClientMessage(utf8);
    switch (msg.type) {
    case ClientMsgType::Req: {
        ++m_reqs_received;
        std::string filters = "[";
        for (size_t i = 0; i < msg.filters.size(); ++i) filters += (i ? "," : "") + serializeFilter(msg.filters[i]);
        filters += "]";
        m_req_filters.push_back(QByteArray::fromStdString(filters));
        if (m_req_filters.size() > kFakeRelayMaxRecorded) m_req_filters.pop_front();
        emit reqReceived(QString::fromStdString(msg.subscription_id));
        handleReq(s, msg.subscription_id, msg.filters);
        return;
    }
    case ClientMsgType::Close:
        ++m_closes_received;
        s.subs.erase(msg.subscription_id);
        if (s.flood_sub == msg.subscription_id) s.flood_left = 0;
        return;
    case ClientMsgType::Event:
        ++m_events_received;
        handleEvent(s, msg.event_json);
        return;
    case ClientMsgType::Auth:
        handleAuth(s, msg.event_json);
        return;
    case ClientMsgType::Count: {
        ++m_counts_received;
        if (m_options.auth_required && !s.authed) {
            ++m_closed_sent;
            send(s, makeClosed(msg.subscription_id, "auth-required: authenticate first"));
            return;
        }
        uint64_t n = 0;
        for (const Stored& st : m_events) n += matchesAny(msg.filters, st.event) ? 1 : 0;
        send(s, makeCountResult(msg.subscription_id, n));
        return;
    }
    case ClientMsgType::NegOpen:
        ++m_neg_opens_received;
        if (!m_options.advertise_nip77_ignore_neg_open) {
            send(s, makeNegErr(msg.subscription_id, "error: NIP-77 is not supported by this relay"));
        }
        return;
    case ClientMsgType::NegMsg:
    case ClientMsgType::NegClose:
        return;
    case ClientMsgType::Unknown:
        ++m_invalid_received;
        ++m_notices_sent;
        send(s, makeNotice("invalid: " + msg.error));
        return;
    }
}

void FakeRelay::handleReq(Session& s, const std::string& sub_id, const std::vector<Filter>& filters) {
    auto refuse = [&](const std::string& message) {
        ++m_closed_sent;
        s.subs.erase(sub_id);
        send(s, makeClosed(sub_id, message));
    };
    if (m_options.auth_required && !s.authed) return refuse("auth-required: this relay requires NIP-42 authentication");
    if (m_options.rate_limited) return refuse("rate-limited: slow down");
    if (m_options.restricted) return refuse("restricted: this relay serves members only");
    if (!s.subs.count(sub_id) && s.subs.size() >= kFakeRelayMaxSubscriptions) {
        return refuse("error: too many subscriptions (max " + std::to_string(kFakeRelayMaxSubscriptions) + ")");
    }
    s.subs[sub_id] = filters;

    if (m_options.huge_frame) {
        if (!m_flood_signer) m_flood_signer = std::make_unique<EventSigner>(777);
        std::string content(m_options.huge_frame_bytes, 'x');
        const Event big = m_flood_signer->make(kHugeFrameCreatedAt, 1, std::move(content));
        std::string json;
        appendEventJson(json, big);
        sendEvent(s, sub_id, std::move(json));
    }
    if (m_options.trickle_ms > 0) {
        auto left = std::make_shared<std::deque<std::string>>();
        for (const Stored* st : query(filters)) left->push_back(st->json);
        auto* timer = new QTimer(s.ws);  // dies with the socket
        QWebSocket* ws = s.ws;
        connect(timer, &QTimer::timeout, this, [this, ws, timer, left, sub_id] {
            auto it = m_sessions.find(ws);
            if (it == m_sessions.end()) return;
            if (!left->empty()) {
                sendEvent(*it->second, sub_id, std::move(left->front()));
                left->pop_front();
                return;
            }
            timer->stop();
            timer->deleteLater();
            if (!m_options.never_eose) {
                ++m_eoses_sent;
                send(*it->second, makeEose(sub_id));
            }
        });
        timer->start(m_options.trickle_ms);
        return;
    }
    if (m_options.ignore_filters) {
        for (const Stored& st : m_events) sendEvent(s, sub_id, st.json);
    } else {
        for (const Stored* st : query(filters)) sendEvent(s, sub_id, st->json);
    }
    if (m_options.foreign_subscription_events > 0) {
        if (!m_flood_signer) m_flood_signer = std::make_unique<EventSigner>(777);
        const int64_t now = QDateTime::currentSecsSinceEpoch();
        for (uint32_t i = 0; i < m_options.foreign_subscription_events; ++i) {
            const Event e = m_flood_signer->make(now, 0, "{\"name\":\"foreign " + std::to_string(m_foreign_events_sent) + "\"}");
            std::string json;
            appendEventJson(json, e);
            sendEvent(s, "not-yours", std::move(json));
            ++m_foreign_events_sent;
        }
    }
    if (m_options.flood_events > 0) {
        s.flood_created_at = QDateTime::currentSecsSinceEpoch();
        s.flood_sub = sub_id;
        s.flood_left = m_options.flood_events;
        s.flood_eose = !m_options.never_eose;
        pumpFlood(s);
        return;
    }
    if (!m_options.never_eose) {
        ++m_eoses_sent;
        send(s, makeEose(sub_id));
    }
}

void FakeRelay::pumpFlood(Session& s) {
    if (!m_flood_signer) m_flood_signer = std::make_unique<EventSigner>(777);
    while (s.flood_left > 0 && s.ws->bytesToWrite() < m_options.flood_high_water_bytes) {
        const uint64_t n = m_flood_serial++;
        const Event e = m_flood_signer->make(s.flood_created_at, 1,
                                             "flood event #" + std::to_string(n) + " " + std::string(200, 'f'));
        std::string json;
        appendEventJson(json, e);
        sendEvent(s, s.flood_sub, std::move(json));
        ++m_flood_events_sent;
        --s.flood_left;
        samplePending(s, false);
    }
    samplePending(s, true);
    if (s.flood_left == 0 && s.flood_eose) {
        s.flood_eose = false;
        ++m_eoses_sent;
        send(s, makeEose(s.flood_sub));
    }
}

void FakeRelay::handleEvent(Session& s, std::string_view json) {
    Event e;
    uint32_t flags = 0;
    const Reject r = m_validator->validate(json, QDateTime::currentSecsSinceEpoch(), e, flags);
    if (r != Reject::None) {
        // The id may be unparseable; answer with whatever id the text carries (zero otherwise).
        Event partial;
        if (parseEvent(json, partial) == Reject::None) e.id = partial.id;
        send(s, makeOk(e.id, false, std::string("invalid: ") + rejectName(r)));
        return;
    }
    if (m_options.auth_required && !s.authed) return send(s, makeOk(e.id, false, "auth-required: authenticate first"));
    if (m_options.rate_limited) return send(s, makeOk(e.id, false, "rate-limited: slow down"));
    if (m_options.restricted) return send(s, makeOk(e.id, false, "restricted: members only"));
    if (m_ids.count(e.id)) return send(s, makeOk(e.id, true, "duplicate: already have this event"));
    if (m_events.size() >= kFakeRelayMaxEvents) return send(s, makeOk(e.id, false, "error: relay store is full"));
    send(s, makeOk(e.id, true, ""));
    addEvent(e);
}

void FakeRelay::handleAuth(Session& s, std::string_view json) {
    Event e;
    uint32_t flags = 0;
    const int64_t now = QDateTime::currentSecsSinceEpoch();
    std::string why;
    const Reject r = m_validator->validate(json, now, e, flags);
    if (r != Reject::None) why = std::string("invalid: ") + rejectName(r);
    else if (e.kind != kAuthKind) why = "invalid: not a kind 22242 event";
    else if (s.challenge.empty() || firstTagValue(e, "challenge") != s.challenge) why = "invalid: wrong challenge";
    else if (stripSlash(firstTagValue(e, "relay")) != url().toStdString()) why = "invalid: wrong relay url";
    else if (e.created_at > now + kAuthWindowS || e.created_at < now - kAuthWindowS) why = "invalid: created_at too far from now";
    if (why.empty()) {
        s.authed = true;
        ++m_auth_accepted;
        send(s, makeOk(e.id, true, ""));
    } else {
        ++m_auth_rejected;
        send(s, makeOk(e.id, false, why));
    }
}

bool FakeRelay::addEvent(const Event& e) {
    std::string json;
    appendEventJson(json, e);
    if (!store(e, json)) return false;
    pushEvent(e);
    return true;
}

void FakeRelay::pushEvent(const Event& e) {
    std::string json;
    appendEventJson(json, e);
    // Live: push to every open subscription it matches (copy the keys: send may not erase, but
    // be safe against re-entrancy through signals).
    std::vector<QWebSocket*> sockets;
    for (auto& [ws, s] : m_sessions) sockets.push_back(ws);
    for (QWebSocket* ws : sockets) {
        auto it = m_sessions.find(ws);
        if (it == m_sessions.end()) continue;
        Session& s = *it->second;
        for (const auto& [sub_id, filters] : s.subs) {
            if (m_options.ignore_filters || matchesAny(filters, e)) sendEvent(s, sub_id, json);
        }
    }
}

bool FakeRelay::store(const Event& e, std::string json) {
    if (m_ids.count(e.id) || m_events.size() >= kFakeRelayMaxEvents) return false;
    m_ids.insert(e.id);
    m_events.push_back(Stored{e, std::move(json)});
    return true;
}

std::vector<const FakeRelay::Stored*> FakeRelay::query(const std::vector<Filter>& filters) const {
    auto newer = [](const Stored* a, const Stored* b) {
        if (a->event.created_at != b->event.created_at) return a->event.created_at > b->event.created_at;
        return a->event.id < b->event.id;
    };
    std::vector<const Stored*> out;
    std::set<const Stored*> seen;
    for (const Filter& f : filters) {
        const uint32_t limit = std::min(f.limit.value_or(m_options.default_limit), m_options.max_limit);
        std::vector<const Stored*> hits;
        for (const Stored& st : m_events) {
            if (matches(f, st.event)) hits.push_back(&st);
        }
        std::sort(hits.begin(), hits.end(), newer);
        if (hits.size() > limit) hits.resize(limit);
        for (const Stored* h : hits) {
            if (seen.insert(h).second) out.push_back(h);
        }
    }
    std::sort(out.begin(), out.end(), newer);
    return out;
}

void FakeRelay::sendEvent(Session& s, const std::string& sub_id, std::string event_json) {
    ++s.events_to_this;
    const uint32_t k = m_options.invalid_signature_every;
    if (k > 0 && s.events_to_this % k == 0 && event_json.size() > 3) {
        // Canonical JSON ends with ...,"sig":"<128 hex>"}: change the last hex digit.
        char& c = event_json[event_json.size() - 3];
        c = (c == '0') ? '1' : '0';
        ++m_broken_sigs_sent;
    }
    ++m_events_sent;
    send(s, makeRelayEvent(sub_id, event_json));
}

void FakeRelay::send(Session& s, const std::string& text) {
    ++m_messages_sent;
    m_bytes_sent += text.size();
    s.ws->sendTextMessage(QString::fromStdString(text));
}

void FakeRelay::samplePending(const Session& s, bool force) {
    const qint64 pending = s.ws->bytesToWrite();
    m_max_bytes_pending = std::max(m_max_bytes_pending, pending);
    const qint64 now = elapsedMs();
    if (!force && m_last_sample_ms >= 0 && now - m_last_sample_ms < kSampleEveryMs) return;
    m_last_sample_ms = now;
    m_pending_samples.push_back(PendingSample{now, pending});
    if (m_pending_samples.size() > kFakeRelayMaxRecorded) m_pending_samples.pop_front();
}

qint64 FakeRelay::bytesPendingNow() const {
    qint64 sum = 0;
    for (const auto& [ws, s] : m_sessions) sum += ws->bytesToWrite();
    return sum;
}

std::vector<qint64> FakeRelay::connectionTimesMs() const { return m_connection_times_ms; }
std::vector<QByteArray> FakeRelay::reqFilters() const { return {m_req_filters.begin(), m_req_filters.end()}; }
std::vector<PendingSample> FakeRelay::pendingSamples() const { return {m_pending_samples.begin(), m_pending_samples.end()}; }

}  // namespace archivist::testing
