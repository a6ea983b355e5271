#include "core/net/websocket_client.h"

#include <zlib.h>

#include <QAbstractSocket>
#include <QCryptographicHash>
#include <QRandomGenerator>
#include <algorithm>
#include <string_view>

#include "core/observe/log.h"
#include "core/protocol/json.h"

namespace archivist::net {

namespace {
constexpr char kAcceptGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr int kOpContinuation = 0x0;
constexpr int kOpText = 0x1;
constexpr int kOpBinary = 0x2;
constexpr int kOpClose = 0x8;
constexpr int kOpPing = 0x9;
constexpr int kOpPong = 0xA;
constexpr qint64 kMaxControlPayload = 125;
constexpr qint64 kMinReadChunk = 1024;

bool isUtf8(const char* data, qint64 size) {
    return protocol::json::isValidUtf8(std::string_view(data, size_t(size)));
}

QByteArray closePayload(uint16_t code, const QByteArray& reason) {
    QByteArray p;
    p.append(char(code >> 8));
    p.append(char(code & 0xFF));
    p.append(reason.left(kMaxControlPayload - 2));
    return p;
}
}  // namespace

const char* wsErrorName(WsError error) {
    switch (error) {
    case WsError::None: return "none";
    case WsError::ConnectTimeout: return "connect_timeout";
    case WsError::ConnectFailed: return "connect_failed";
    case WsError::TlsFailed: return "tls_failed";
    case WsError::HandshakeFailed: return "handshake_failed";
    case WsError::ProtocolError: return "protocol_error";
    case WsError::MessageTooBig: return "message_too_big";
    case WsError::RemoteClosed: return "remote_closed";
    case WsError::Aborted: return "aborted";
    }
    return "unknown";
}

WebSocketClient::WebSocketClient(WebSocketOptions options, QObject* parent)
    : QObject(parent), m_options(std::move(options)) {
    m_options.read_chunk_bytes = std::max<int64_t>(m_options.read_chunk_bytes, kMinReadChunk);
    m_options.max_message_bytes = std::max<int64_t>(m_options.max_message_bytes, 1);
    m_connectTimer.setSingleShot(true);
    m_closeTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, &WebSocketClient::onConnectTimeout);
    connect(&m_closeTimer, &QTimer::timeout, this, &WebSocketClient::onCloseTimeout);
    connect(&m_connector, &SocketConnector::connected, this, &WebSocketClient::onConnected);
    connect(&m_connector, &SocketConnector::failed, this, &WebSocketClient::onConnectFailed);
}

WebSocketClient::~WebSocketClient() {
    blockSignals(true);
    endInflate();
    m_connector.abort();
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

QString WebSocketClient::acceptExtensions(const QByteArray& extensions) {
    const QString offered = "server chose an extension we did not offer: " + QString::fromLatin1(extensions.left(200));
    if (!m_options.offer_deflate || extensions.contains(',')) return offered;
    const QList<QByteArray> parts = extensions.split(';');
    if (parts[0].trimmed().toLower() != "permessage-deflate") return offered;
    bool reset = false;
    for (qsizetype i = 1; i < parts.size(); ++i) {
        const QByteArray param = parts[i].trimmed().toLower();
        const qsizetype eq = param.indexOf('=');
        const QByteArray name = eq < 0 ? param : param.left(eq).trimmed();
        QByteArray value = eq < 0 ? QByteArray() : param.mid(eq + 1).trimmed();
        if (value.startsWith('"') && value.endsWith('"') && value.size() >= 2) value = value.mid(1, value.size() - 2);
        if (name == "server_no_context_takeover" && value.isEmpty()) reset = true;
        else if (name == "client_no_context_takeover" && value.isEmpty()) continue;
        else if (name == "server_max_window_bits") {
            bool ok = false;
            const int bits = value.toInt(&ok);
            if (!ok || bits < 8 || bits > 15) return "permessage-deflate: bad server_max_window_bits";
        } else {
            return "permessage-deflate: parameter we did not offer: " + QString::fromLatin1(name.left(60));
        }
    }
    auto* z = new z_stream{};
    // Raw deflate with the largest window: it decodes a stream made with any smaller one.
    if (inflateInit2(z, -15) != Z_OK) {
        delete z;
        return "permessage-deflate: inflater unavailable";
    }
    endInflate();
    m_inflater = z;
    m_deflate = true;
    m_inflateResetEachMessage = reset;
    return {};
}

void WebSocketClient::endInflate() {
    if (m_inflater) {
        auto* z = static_cast<z_stream*>(m_inflater);
        inflateEnd(z);
        delete z;
    }
    m_inflater = nullptr;
    m_deflate = false;
    m_messageCompressed = false;
}

bool WebSocketClient::inflateInto(const char* data, qint64 length) {
    auto* z = static_cast<z_stream*>(m_inflater);
    z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z->avail_in = uInt(length);
    char out[16384];
    while (true) {
        z->next_out = reinterpret_cast<Bytef*>(out);
        z->avail_out = sizeof out;
        const int rc = inflate(z, Z_SYNC_FLUSH);
        const qint64 produced = qint64(sizeof out - z->avail_out);
        if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
            failWithClose(WsError::ProtocolError, 1007, "permessage-deflate: corrupt compressed data");
            return false;
        }
        // Bounded like an uncompressed message: never more than max_message_bytes inflated.
        if (m_message.size() + produced > m_options.max_message_bytes) {
            failWithClose(WsError::MessageTooBig, 1009,
                          QStringLiteral("inflated message exceeds the %1-byte limit").arg(m_options.max_message_bytes));
            return false;
        }
        m_message.append(out, produced);
        m_inflatedBytes += uint64_t(produced);
        if (rc == Z_STREAM_END) inflateReset(z);  // a final block: the next one starts a new stream
        if (z->avail_in == 0 && z->avail_out != 0) return true;
        if (rc == Z_BUF_ERROR && produced == 0) return true;
    }
}

void WebSocketClient::setMaxMessageBytes(int64_t bytes) { m_options.max_message_bytes = std::max<int64_t>(bytes, 1); }

qint64 WebSocketClient::readBound() const {
    return m_options.max_message_bytes + m_options.read_chunk_bytes;
}

qsizetype WebSocketClient::retainedInput() const {
    // One read and a partial frame, within the read bound.
    return std::min<qsizetype>(qsizetype(m_options.read_chunk_bytes) + 16 * 1024, readBound());
}

qint64 WebSocketClient::bytesToWrite() const {
    return m_socket ? m_socket->bytesToWrite() : 0;
}

qint64 WebSocketClient::bufferedBytes() const {
    return m_in.size() + m_message.size();
}

qint64 WebSocketClient::heldBytes() const {
    return std::max(m_in.capacity(), m_in.size()) + std::max(m_message.capacity(), m_message.size());
}

void WebSocketClient::open(const QUrl& url, const QHostAddress& address) {
    if (m_state != WsState::Idle && m_state != WsState::Closed) return;
    m_state = WsState::Connecting;
    m_url = url;
    m_address = address;
    m_in.clear();
    m_message.clear();
    m_messageOpcode = 0;
    m_messageBytes = 0;
    m_passScheduled = false;
    m_peerGone = false;
    m_peerGoneDetail.clear();
    m_closeSent = false;
    m_closeError = WsError::None;
    m_closeDetail.clear();
    m_pings.clear();

    const QString scheme = url.scheme().toLower();
    if (scheme != "ws" && scheme != "wss") {
        QMetaObject::invokeMethod(
            this, [this, scheme] { finish(WsError::ConnectFailed, "unsupported scheme '" + scheme + "'"); },
            Qt::QueuedConnection);
        return;
    }
    const bool tls = scheme == "wss";
    ConnectTarget target;
    target.host = url.host(QUrl::FullyEncoded);
    target.port = quint16(url.port(tls ? 443 : 80));
    target.tls = tls;
    target.address = address;
    target.extra_ca_certificates = m_options.extra_ca_certificates;

    quint32 nonce[4];
    QRandomGenerator::global()->fillRange(nonce);
    m_key = QByteArray(reinterpret_cast<const char*>(nonce), sizeof nonce).toBase64();

    m_connectTimer.start(std::chrono::milliseconds(std::max<int64_t>(1, m_options.connect_timeout_ms)));
    m_connector.connectTo(target, m_options.connect_timeout_ms, m_options.socket_read_buffer_bytes);
}

void WebSocketClient::onConnectFailed(ConnectError error, const QString& detail) {
    if (m_state != WsState::Connecting) return;
    WsError e = WsError::ConnectFailed;
    if (error == ConnectError::Timeout) e = WsError::ConnectTimeout;
    if (error == ConnectError::TlsFailed) e = WsError::TlsFailed;
    finish(e, detail);
}

void WebSocketClient::onConnectTimeout() {
    if (m_state != WsState::Connecting) return;
    finish(WsError::ConnectTimeout, m_socket ? QStringLiteral("no upgrade response in time")
                                             : QStringLiteral("connect timed out"));
}

void WebSocketClient::onConnected() {
    if (m_state != WsState::Connecting) return;
    m_socket = m_connector.takeSocket(this);
    if (!m_socket) {
        finish(WsError::ConnectFailed, "connected socket vanished");
        return;
    }
    connect(m_socket, &QAbstractSocket::readyRead, this, &WebSocketClient::onReadyRead);
    connect(m_socket, &QAbstractSocket::disconnected, this, &WebSocketClient::onDisconnected);
    connect(m_socket, &QAbstractSocket::errorOccurred, this, &WebSocketClient::onDisconnected);

    const RequestLine line = requestLine(m_url, m_url.scheme().toLower() == "wss");
    const QByteArray& host = line.host;
    const QByteArray& target = line.target;

    QByteArray request;
    request += "GET " + target + " HTTP/1.1\r\n";
    request += "Host: " + host + "\r\n";
    request += "Upgrade: websocket\r\n";
    request += "Connection: Upgrade\r\n";
    request += "Sec-WebSocket-Key: " + m_key + "\r\n";
    request += "Sec-WebSocket-Version: 13\r\n";
    if (m_options.offer_deflate) request += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n";
    if (!m_options.user_agent.isEmpty()) request += "User-Agent: " + m_options.user_agent + "\r\n";
    request += "\r\n";
    m_socket->write(request);
    if (m_socket->bytesAvailable() > 0) schedulePass();
}

void WebSocketClient::onReadyRead() {
    if (m_state == WsState::Closed || (m_paused && m_state != WsState::Connecting)) return;
    if (m_inPass) {
        schedulePass();
        return;
    }
    readPass();
}

void WebSocketClient::onDisconnected() {
    if (m_state == WsState::Closed || m_peerGone) return;
    m_peerGone = true;
    if (m_socket) m_peerGoneDetail = m_socket->errorString();
    // Bytes the socket already buffered are still delivered (in order, honouring pause) before
    // closed() is reported.
    schedulePass();
}

void WebSocketClient::onCloseTimeout() {
    if (m_state != WsState::Closing) return;
    retireSocket(false);
    finish(m_closeError, "closing handshake timed out");
}

void WebSocketClient::setReadingPaused(bool paused) {
    m_paused = paused;
    if (!paused && m_state != WsState::Closed && m_state != WsState::Idle) schedulePass();
}

void WebSocketClient::schedulePass() {
    if (m_passScheduled) return;
    m_passScheduled = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_passScheduled = false;
            if (!m_inPass) readPass();
        },
        Qt::QueuedConnection);
}

void WebSocketClient::readPass() {
    if (m_state == WsState::Closed || m_state == WsState::Idle) return;
    // The upgrade handshake completes even while paused; only frames wait for resume.
    if (m_paused && m_state != WsState::Connecting) return;
    QPointer<WebSocketClient> self(this);
    m_inPass = true;
    struct PassGuard {
        QPointer<WebSocketClient>& s;
        ~PassGuard() {
            if (s) s->m_inPass = false;
        }
    } guard{self};

    if (m_state == WsState::Connecting) {
        if (!m_socket) return;
        if (!readHandshake()) {
            if (!self || m_state == WsState::Closed) return;
            if (m_socket && m_socket->bytesAvailable() > 0) {
                schedulePass();
            } else if (m_peerGone) {
                finish(WsError::HandshakeFailed, "connection closed before the upgrade response");
            }
            return;
        }
        if (!self || m_state == WsState::Closed) return;
    }

    // Deliver frames read earlier (e.g. before a pause) before taking more from the socket.
    if (parseFrames() == Step::Stop) return;

    if (m_socket) {
        const qint64 room = readBound() - bufferedBytes();
        const qint64 n = std::min<qint64>({qint64(m_options.read_chunk_bytes), room, m_socket->bytesAvailable()});
        if (n > 0) {
            // Straight into m_in, no intermediate array.
            const qsizetype before = m_in.size();
            if (before + n > m_in.capacity()) {
                // Doubling (within the read bound) under a large message; after a full chunk (a
                // busy connection) room for the next one as well.
                qsizetype want = std::max<qsizetype>(before + n, std::min<qsizetype>(2 * m_in.capacity(), readBound()));
                if (n >= m_options.read_chunk_bytes) want = std::max(want, retainedInput());
                m_in.reserve(want);
            }
            m_in.resize(before + n);
            const qint64 got = std::max<qint64>(m_socket->read(m_in.data() + before, n), 0);
            m_in.resize(before + got);
            emit bytesReceived(got);
            if (!self || m_state == WsState::Closed) return;
            if (parseFrames() == Step::Stop) return;
        }
        if (m_socket && m_socket->bytesAvailable() > 0) {
            schedulePass();  // more is buffered: yield to the event loop, continue next pass
            return;
        }
    }
    if (m_peerGone) {
        if (m_state == WsState::Closing) {
            retireSocket(false);
            finish(m_closeError, "server closed the connection during the closing handshake");
        } else {
            QString detail = m_in.isEmpty() && m_messageOpcode == 0
                                 ? QStringLiteral("connection closed without a close frame")
                                 : QStringLiteral("connection closed mid-frame (%1 bytes buffered)")
                                       .arg(bufferedBytes());
            if (!m_peerGoneDetail.isEmpty()) detail += ": " + m_peerGoneDetail;
            finish(WsError::RemoteClosed, detail);
        }
    }
}

bool WebSocketClient::readHandshake() {
    const qint64 room = kMaxHandshakeBytes - m_in.size();
    if (room > 0 && m_socket->bytesAvailable() > 0) {
        const QByteArray part = m_socket->read(std::min(room, m_socket->bytesAvailable()));
        m_in.append(part);
        QPointer<WebSocketClient> self(this);
        emit bytesReceived(part.size());
        if (!self || m_state != WsState::Connecting) return false;
    }
    const qsizetype end = m_in.indexOf("\r\n\r\n");
    if (end < 0) {
        if (m_in.size() >= kMaxHandshakeBytes) {
            finish(WsError::HandshakeFailed, "upgrade response header exceeds 16 KiB");
        }
        return false;
    }
    const QByteArray head = m_in.left(end);
    m_in.remove(0, end + 4);

    const QList<QByteArray> lines = head.split('\n');
    const QByteArray status_line = lines.value(0).trimmed();
    const QList<QByteArray> status_parts = status_line.split(' ');
    if (status_parts.size() < 2 || !status_parts[0].startsWith("HTTP/1.")) {
        finish(WsError::HandshakeFailed, "not an HTTP response: " + QString::fromLatin1(status_line.left(80)));
        return false;
    }
    if (status_parts[1] != "101") {
        finish(WsError::HandshakeFailed,
               "server answered " + QString::fromLatin1(status_line.mid(status_parts[0].size() + 1).left(80)));
        return false;
    }
    QByteArray upgrade, connection, accept, extensions, protocol;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0) continue;
        const QByteArray name = line.left(colon).trimmed().toLower();
        const QByteArray value = line.mid(colon + 1).trimmed();
        auto add = [&value](QByteArray& into) { into = into.isEmpty() ? value : into + ", " + value; };
        if (name == "upgrade") add(upgrade);
        else if (name == "connection") add(connection);
        else if (name == "sec-websocket-accept") add(accept);
        else if (name == "sec-websocket-extensions") add(extensions);
        else if (name == "sec-websocket-protocol") add(protocol);
    }
    const QByteArray expected =
        QCryptographicHash::hash(m_key + kAcceptGuid, QCryptographicHash::Sha1).toBase64();
    bool connection_upgrade = false;
    for (const QByteArray& token : connection.split(','))
        if (token.trimmed().toLower() == "upgrade") connection_upgrade = true;
    QString problem;
    if (upgrade.toLower() != "websocket") problem = "missing 'Upgrade: websocket'";
    else if (!connection_upgrade) problem = "missing 'Connection: Upgrade'";
    else if (accept != expected) problem = "wrong Sec-WebSocket-Accept";
    else if (!extensions.isEmpty()) problem = acceptExtensions(extensions);
    else if (!protocol.isEmpty()) problem = "server chose a subprotocol we did not offer";
    if (!problem.isEmpty()) {
        finish(WsError::HandshakeFailed, problem);
        return false;
    }
    m_connectTimer.stop();
    m_state = WsState::Open;
    QPointer<WebSocketClient> self(this);
    emit opened();
    return self && m_state == WsState::Open;
}

WebSocketClient::Step WebSocketClient::parseFrames() {
    QPointer<WebSocketClient> self(this);
    // Messages go out as views into m_in. A receiver that closes this client while it holds one
    // (and schedules its deletion) clears m_in: `hold` shares the bytes (no copy) and keeps them
    // until the pass ends.
    QByteArray hold = m_in;
    qint64 pos = 0;
    Step result = Step::Continue;
    while (true) {
        if (m_paused) {
            result = Step::Stop;
            break;
        }
        const qint64 avail = m_in.size() - pos;
        if (avail < 2) break;
        const auto* p = reinterpret_cast<const unsigned char*>(m_in.constData() + pos);
        const bool fin = (p[0] & 0x80) != 0;
        const int opcode = p[0] & 0x0F;
        // RSV1 marks the first frame of a compressed message, only when permessage-deflate is on.
        const bool rsv1 = (p[0] & 0x40) != 0;
        if ((p[0] & 0x30) != 0 || (rsv1 && (!m_deflate || opcode == kOpContinuation || (opcode & 0x8)))) {
            failWithClose(WsError::ProtocolError, 1002, "reserved bits set in a frame header");
            return Step::Stop;
        }
        if ((p[1] & 0x80) != 0) {
            failWithClose(WsError::ProtocolError, 1002, "server sent a masked frame");
            return Step::Stop;
        }
        qint64 header = 2;
        uint64_t length = p[1] & 0x7F;
        if (length == 126) {
            if (avail < 4) break;
            header = 4;
            length = (uint64_t(p[2]) << 8) | p[3];
        } else if (length == 127) {
            if (avail < 10) break;
            header = 10;
            length = 0;
            for (int i = 2; i < 10; ++i) length = (length << 8) | p[i];
            if (length >> 63) {
                failWithClose(WsError::ProtocolError, 1002, "64-bit frame length has its top bit set");
                return Step::Stop;
            }
        }
        const bool control = (opcode & 0x8) != 0;
        if (control) {
            if (opcode != kOpClose && opcode != kOpPing && opcode != kOpPong) {
                failWithClose(WsError::ProtocolError, 1002, QStringLiteral("reserved opcode %1").arg(opcode));
                return Step::Stop;
            }
            if (!fin || length > uint64_t(kMaxControlPayload)) {
                failWithClose(WsError::ProtocolError, 1002, "fragmented or oversized control frame");
                return Step::Stop;
            }
        } else {
            if (opcode != kOpContinuation && opcode != kOpText && opcode != kOpBinary) {
                failWithClose(WsError::ProtocolError, 1002, QStringLiteral("reserved opcode %1").arg(opcode));
                return Step::Stop;
            }
            if (opcode == kOpContinuation && m_messageOpcode == 0) {
                failWithClose(WsError::ProtocolError, 1002, "continuation frame without a message in progress");
                return Step::Stop;
            }
            if (opcode != kOpContinuation && m_messageOpcode != 0) {
                failWithClose(WsError::ProtocolError, 1002, "new message inside an unfinished fragmented message");
                return Step::Stop;
            }
            // Judge the size from the header alone: never buffer an oversize payload.
            const uint64_t so_far = opcode == kOpContinuation ? uint64_t(m_messageBytes) : 0;
            if (length > uint64_t(m_options.max_message_bytes) ||
                so_far + length > uint64_t(m_options.max_message_bytes)) {
                failWithClose(WsError::MessageTooBig, 1009,
                              QStringLiteral("message of at least %1 bytes exceeds the %2-byte limit")
                                  .arg(so_far + length)
                                  .arg(m_options.max_message_bytes));
                return Step::Stop;
            }
        }
        if (avail < header + qint64(length)) break;
        const char* payload = m_in.constData() + pos + header;
        pos += header + qint64(length);
        if (opcode == kOpText || opcode == kOpBinary) m_messageCompressed = rsv1;
        if (handleFrame(opcode, fin, payload, qint64(length)) == Step::Stop) {
            if (!self) return Step::Stop;
            if (m_state == WsState::Closed) return Step::Stop;
            result = Step::Stop;
            break;
        }
        if (!self) return Step::Stop;
        if (m_state == WsState::Closed) return Step::Stop;
    }
    hold = QByteArray();  // m_in's bytes unshared again: the compaction below copies only the rest
    if (pos > 0) consumeInput(pos);
    return result;
}

void WebSocketClient::consumeInput(qint64 n) {
    const qint64 rest = m_in.size() - n;
    if (rest < 0) return;  // cleared meanwhile: a receiver closed this client inside its handler
    // The unread rest (at most a partial frame) moves to the front and the allocation stays for
    // the next read: QByteArray::remove(0, n) would advance the data's start instead, so the next
    // read past the end would allocate a new array and copy — fresh pages the kernel must zero,
    // once per read, on a busy connection. An emptied buffer keeps at most retainedInput().
    if (rest == 0 && m_in.capacity() > retainedInput()) {
        m_in = QByteArray();
        return;
    }
    if (rest > 0) std::memmove(m_in.data(), m_in.constData() + n, size_t(rest));
    m_in.resize(rest);
}

WebSocketClient::Step WebSocketClient::handleFrame(int opcode, bool fin, const char* payload, qint64 length) {
    switch (opcode) {
    case kOpText:
    case kOpBinary:
    case kOpContinuation: {
        const int kind = opcode == kOpContinuation ? m_messageOpcode : opcode;
        if (m_messageCompressed) {
            // Inflated as it arrives (binary too: its size is bounded the same way, then dropped).
            if (!inflateInto(payload, length)) return Step::Stop;
            if (fin) {
                static const char kTail[4] = {0x00, 0x00, char(0xff), char(0xff)};  // RFC 7692 §7.2.2
                if (!inflateInto(kTail, 4)) return Step::Stop;
                if (m_inflateResetEachMessage) inflateReset(static_cast<z_stream*>(m_inflater));
                m_messageCompressed = false;
                if (kind == kOpBinary) m_message.clear();
            }
        } else if (kind == kOpText) {
            if (fin && opcode == kOpText) {
                if (!isUtf8(payload, length)) {
                    failWithClose(WsError::ProtocolError, 1007, "text message is not valid UTF-8");
                    return Step::Stop;
                }
                emit textMessage(QByteArrayView(payload, length));
                return Step::Continue;
            }
            m_message.append(payload, length);
        }
        m_messageOpcode = kind;
        m_messageBytes += length;
        if (!fin) return Step::Continue;
        m_messageOpcode = 0;
        m_messageBytes = 0;
        if (kind == kOpBinary) {
            ++m_binaryIgnored;
            qCDebug(lcNet) << "ignored a binary message from" << m_url.toString();
            return Step::Continue;
        }
        const QByteArray message = std::move(m_message);
        m_message = QByteArray();
        if (!isUtf8(message.constData(), message.size())) {
            failWithClose(WsError::ProtocolError, 1007, "text message is not valid UTF-8");
            return Step::Stop;
        }
        emit textMessage(QByteArrayView(message));
        return Step::Continue;
    }
    case kOpPing:
        if (m_state == WsState::Open) writeFrame(kOpPong, QByteArray(payload, length));
        return Step::Continue;
    case kOpPong: {
        const QByteArray data(payload, length);
        const auto it = std::find_if(m_pings.begin(), m_pings.end(),
                                     [&data](const PendingPing& pp) { return pp.payload == data; });
        if (it == m_pings.end()) return Step::Continue;  // unsolicited pong: allowed, ignored
        const qint64 rtt_ms = it->sent.elapsed();
        m_pings.erase(it);
        emit pong(rtt_ms, data);
        return Step::Continue;
    }
    case kOpClose: {
        if (length == 1) {
            failWithClose(WsError::ProtocolError, 1002, "close frame with a 1-byte payload");
            return Step::Stop;
        }
        uint16_t code = 1005;  // "no status received"
        QByteArray reason;
        if (length >= 2) {
            code = uint16_t((uint8_t(payload[0]) << 8) | uint8_t(payload[1]));
            reason = QByteArray(payload + 2, length - 2);
        }
        if (m_closeSent) {
            // Our close was answered: the closing handshake is complete.
            retireSocket(true);
            finish(m_closeError, m_closeDetail.isEmpty() ? QStringLiteral("closed (%1)").arg(code) : m_closeDetail);
            return Step::Stop;
        }
        writeFrame(kOpClose, length >= 2 ? closePayload(code, {}) : QByteArray());
        m_closeSent = true;
        retireSocket(true);
        finish(WsError::RemoteClosed,
               QStringLiteral("server closed with code %1%2")
                   .arg(code)
                   .arg(reason.isEmpty() ? QString() : ": " + QString::fromUtf8(reason.left(123))));
        return Step::Stop;
    }
    }
    return Step::Continue;
}

void WebSocketClient::writeFrame(int opcode, const QByteArray& payload) {
    if (!m_socket) return;
    const qint64 n = payload.size();
    QByteArray frame;
    frame.reserve(n + 14);
    frame.append(char(0x80 | opcode));
    if (n < 126) {
        frame.append(char(0x80 | n));
    } else if (n <= 0xFFFF) {
        frame.append(char(0x80 | 126));
        frame.append(char(n >> 8));
        frame.append(char(n & 0xFF));
    } else {
        frame.append(char(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) frame.append(char((uint64_t(n) >> shift) & 0xFF));
    }
    const quint32 key_word = QRandomGenerator::global()->generate();
    unsigned char key[4];
    for (int i = 0; i < 4; ++i) key[i] = static_cast<unsigned char>(key_word >> (8 * i));
    frame.append(reinterpret_cast<const char*>(key), 4);
    const qsizetype start = frame.size();
    frame.resize(start + n);
    char* out = frame.data() + start;
    const char* in = payload.constData();
    for (qint64 i = 0; i < n; ++i) out[i] = char(in[i] ^ key[i & 3]);
    m_socket->write(frame);
}

bool WebSocketClient::sendText(const QByteArray& utf8) {
    if (m_state != WsState::Open || !m_socket) return false;
    if (m_socket->bytesToWrite() + utf8.size() + 14 > m_options.max_pending_write_bytes) return false;
    if (!isUtf8(utf8.constData(), utf8.size())) return false;
    writeFrame(kOpText, utf8);
    return true;
}

bool WebSocketClient::ping(const QByteArray& payload) {
    if (m_state != WsState::Open || !m_socket) return false;
    if (payload.size() > kMaxControlPayload) return false;
    if (m_pings.size() >= kMaxPendingPings) m_pings.pop_front();  // that one will never be reported
    PendingPing pp;
    pp.payload = payload;
    pp.sent.start();
    m_pings.push_back(std::move(pp));
    writeFrame(kOpPing, payload);
    return true;
}

void WebSocketClient::close(uint16_t code, const QByteArray& reason) {
    if (m_state == WsState::Connecting) {
        finish(WsError::Aborted, "closed before the connection was open");
        return;
    }
    if (m_state != WsState::Open) return;
    writeFrame(kOpClose, closePayload(code, reason));
    m_closeSent = true;
    m_state = WsState::Closing;
    m_closeError = WsError::None;
    m_closeDetail = QStringLiteral("closed by us (%1)").arg(code);
    m_closeTimer.start(std::chrono::milliseconds(std::max<int64_t>(1, m_options.close_timeout_ms)));
}

void WebSocketClient::abort() {
    if (m_state == WsState::Idle || m_state == WsState::Closed) return;
    finish(WsError::Aborted, "aborted");
}

void WebSocketClient::failWithClose(WsError error, uint16_t code, const QString& detail) {
    if (m_state == WsState::Closed) return;
    if (m_socket && !m_closeSent) {
        writeFrame(kOpClose, closePayload(code, {}));
        m_closeSent = true;
    }
    retireSocket(true);
    finish(error, detail);
}

void WebSocketClient::retireSocket(bool graceful) {
    QAbstractSocket* s = m_socket;
    m_socket = nullptr;
    if (!s) return;
    s->disconnect(this);
    if (!graceful || s->state() != QAbstractSocket::ConnectedState) {
        s->abort();
        s->deleteLater();
        return;
    }
    // Let the close frame leave, then give the peer a bounded time to close its side.
    connect(s, &QAbstractSocket::disconnected, s, &QObject::deleteLater);
    QTimer::singleShot(std::chrono::milliseconds(std::max<int64_t>(1, m_options.close_timeout_ms)), s, [s] {
        s->abort();
        s->deleteLater();
    });
    s->disconnectFromHost();
}

void WebSocketClient::finish(WsError error, const QString& detail) {
    if (m_state == WsState::Closed || m_state == WsState::Idle) return;
    m_state = WsState::Closed;
    m_connectTimer.stop();
    m_closeTimer.stop();
    m_connector.abort();
    retireSocket(false);
    m_in.clear();
    m_in.squeeze();
    m_message.clear();
    m_message.squeeze();
    m_messageOpcode = 0;
    m_messageBytes = 0;
    m_pings.clear();
    endInflate();
    if (error != WsError::None)
        qCDebug(lcNet) << m_url.toString() << "closed:" << wsErrorName(error) << detail;
    emit closed(error, detail);
}

}  // namespace archivist::net
