#include "core/net/http_get.h"

#include <QAbstractSocket>
#include <algorithm>

#include "core/observe/log.h"

namespace archivist::net {

HttpGet::HttpGet(HttpGetOptions options, QObject* parent) : QObject(parent), m_options(std::move(options)) {
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] { fail("timeout: no complete response in time"); });
    connect(&m_connector, &SocketConnector::connected, this, &HttpGet::onConnected);
    connect(&m_connector, &SocketConnector::failed, this, &HttpGet::onConnectFailed);
}

HttpGet::~HttpGet() {
    blockSignals(true);
    m_connector.abort();
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void HttpGet::start(const QUrl& url, const QHostAddress& address, const HttpHeaders& headers) {
    if (m_started) return;
    m_started = true;
    m_url = url;
    m_headers = headers;
    const QString scheme = url.scheme().toLower();
    if (scheme != "http" && scheme != "https") {
        QMetaObject::invokeMethod(
            this, [this, scheme] { fail("connect_failed: unsupported scheme '" + scheme + "'"); },
            Qt::QueuedConnection);
        return;
    }
    const bool tls = scheme == "https";
    ConnectTarget target;
    target.host = url.host(QUrl::FullyEncoded);
    target.port = quint16(url.port(tls ? 443 : 80));
    target.tls = tls;
    target.address = address;
    target.extra_ca_certificates = m_options.extra_ca_certificates;
    m_timer.start(std::chrono::milliseconds(std::max<int64_t>(1, m_options.timeout_ms)));
    m_connector.connectTo(target, m_options.timeout_ms, kSocketReadBufferBytes);
}

void HttpGet::post(const QUrl& url, const QHostAddress& address, QByteArray body, const HttpHeaders& headers) {
    if (m_started) return;
    m_method = "POST";
    m_requestBody = std::move(body);
    start(url, address, headers);
}

void HttpGet::abort() {
    if (!m_started) return;
    fail("aborted: by the caller");
}

void HttpGet::onConnectFailed(ConnectError error, const QString& detail) {
    fail(QString::fromLatin1(connectErrorName(error)) + ": " + detail);
}

void HttpGet::onConnected() {
    if (m_finished) return;
    m_socket = m_connector.takeSocket(this);
    if (!m_socket) {
        fail("connect_failed: connected socket vanished");
        return;
    }
    connect(m_socket, &QAbstractSocket::readyRead, this, &HttpGet::onReadyRead);
    connect(m_socket, &QAbstractSocket::disconnected, this, &HttpGet::onDisconnected);
    connect(m_socket, &QAbstractSocket::errorOccurred, this, &HttpGet::onDisconnected);
    connect(m_socket, &QAbstractSocket::bytesWritten, this, [this] {
        if (m_finished || !m_socket || m_socket->bytesToWrite() > 0 || m_sentSignalled) return;
        m_sentSignalled = true;
        emit requestSent();
    });

    const RequestLine line = requestLine(m_url, m_url.scheme().toLower() == "https");
    const QByteArray& host = line.host;
    const QByteArray& target = line.target;

    QByteArray request = m_method + ' ' + target + " HTTP/1.1\r\nHost: " + host + "\r\n";
    bool has_user_agent = false;
    for (const auto& [name, value] : m_headers) {
        const QByteArray lower = name.toLower();
        // Framing headers are ours; a caller cannot break the exchange through them.
        if (lower == "host" || lower == "connection" || lower == "content-length" || lower == "transfer-encoding")
            continue;
        if (name.contains('\n') || name.contains('\r') || value.contains('\n') || value.contains('\r')) continue;
        if (lower == "user-agent") has_user_agent = true;
        request += name + ": " + value + "\r\n";
    }
    if (!has_user_agent && !m_options.user_agent.isEmpty()) request += "User-Agent: " + m_options.user_agent + "\r\n";
    if (m_method == "POST") request += "Content-Length: " + QByteArray::number(m_requestBody.size()) + "\r\n";
    request += "Connection: close\r\n\r\n";
    m_socket->write(request);
    if (!m_requestBody.isEmpty()) m_socket->write(m_requestBody);
    m_requestWritten = true;
}

void HttpGet::onReadyRead() {
    if (m_finished || !m_socket) return;
    // Everything read is bounded by the parser: header ≤ 16 KiB, body ≤ max_body_bytes, plus
    // at most one chunk-size line; reading stops as soon as the parser fails.
    while (!m_finished && m_socket && m_socket->bytesAvailable() > 0) {
        m_in.append(m_socket->read(std::min<qint64>(m_socket->bytesAvailable(), 64 * 1024)));
        process();
    }
}

void HttpGet::onDisconnected() {
    if (m_finished || m_peerGone) return;
    m_peerGone = true;
    if (m_socket && m_socket->bytesAvailable() > 0) onReadyRead();
    if (m_finished) return;
    if (m_phase == Phase::UntilClose) {
        succeed();
        return;
    }
    fail(QStringLiteral("closed_early: connection closed before the response was complete"));
}

bool HttpGet::parseHeader() {
    const qsizetype end = m_in.indexOf("\r\n\r\n");
    if (end < 0) {
        if (m_in.size() > kMaxHeaderBytes) fail("bad_response: response header exceeds 16 KiB");
        return false;
    }
    if (end > kMaxHeaderBytes) {
        fail("bad_response: response header exceeds 16 KiB");
        return false;
    }
    const QByteArray head = m_in.left(end);
    m_in.remove(0, end + 4);
    const QList<QByteArray> lines = head.split('\n');
    const QList<QByteArray> status_parts = lines.value(0).trimmed().split(' ');
    bool ok = false;
    const int status = status_parts.size() >= 2 ? status_parts[1].toInt(&ok) : 0;
    if (!status_parts.value(0).startsWith("HTTP/1.") || !ok || status < 100 || status > 999) {
        fail("bad_response: not an HTTP/1.x status line");
        return false;
    }
    if (status < 200) return true;  // interim response (100 Continue …): the real header follows
    m_status = status;
    bool chunked = false;
    qint64 content_length = -1;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0) continue;
        const QByteArray name = line.left(colon).trimmed().toLower();
        const QByteArray value = line.mid(colon + 1).trimmed();
        if (name == "transfer-encoding") {
            if (value.toLower().split(',').last().trimmed() == "chunked") chunked = true;
        } else if (name == "content-length") {
            bool n_ok = false;
            const qint64 n = value.toLongLong(&n_ok);
            if (!n_ok || n < 0 || (content_length >= 0 && n != content_length)) {
                fail("bad_response: invalid Content-Length");
                return false;
            }
            content_length = n;
        }
    }
    if (chunked) {
        m_phase = Phase::ChunkSize;
    } else if (content_length >= 0) {
        if (content_length > m_options.max_body_bytes) {
            fail(QStringLiteral("body_too_large: Content-Length %1 exceeds %2 bytes")
                     .arg(content_length)
                     .arg(m_options.max_body_bytes));
            return false;
        }
        m_phase = Phase::FixedBody;
        m_remaining = content_length;
    } else if (status == 204 || status == 304) {
        m_phase = Phase::FixedBody;
        m_remaining = 0;
    } else {
        m_phase = Phase::UntilClose;
    }
    return true;
}

void HttpGet::appendBody(const char* data, qint64 n) {
    if (m_body.size() + n > m_options.max_body_bytes) {
        fail(QStringLiteral("body_too_large: body exceeds %1 bytes").arg(m_options.max_body_bytes));
        return;
    }
    m_body.append(data, n);
}

void HttpGet::process() {
    qint64 pos = 0;
    auto take_line = [this, &pos](QByteArray& line) -> bool {
        const qsizetype eol = m_in.indexOf('\n', pos);
        if (eol < 0) {
            if (m_in.size() - pos > kMaxChunkLineBytes) fail("bad_response: chunk line too long");
            return false;
        }
        if (eol - pos > kMaxChunkLineBytes) {
            fail("bad_response: chunk line too long");
            return false;
        }
        line = m_in.mid(pos, eol - pos).trimmed();
        pos = eol + 1;
        return true;
    };
    while (!m_finished) {
        if (m_phase == Phase::Header) {
            if (pos > 0) {
                m_in.remove(0, pos);
                pos = 0;
            }
            if (!parseHeader()) return;
            continue;
        }
        if (m_phase == Phase::FixedBody) {
            const qint64 n = std::min<qint64>(m_remaining, m_in.size() - pos);
            appendBody(m_in.constData() + pos, n);
            pos += n;
            m_remaining -= n;
            if (m_finished) return;
            if (m_remaining == 0) {
                succeed();
                return;
            }
            break;
        }
        if (m_phase == Phase::UntilClose) {
            appendBody(m_in.constData() + pos, m_in.size() - pos);
            pos = m_in.size();
            break;
        }
        if (m_phase == Phase::ChunkSize) {
            QByteArray line;
            if (!take_line(line)) break;
            const qsizetype semi = line.indexOf(';');
            const QByteArray hex = (semi >= 0 ? line.left(semi) : line).trimmed();
            bool ok = false;
            const qint64 size = hex.toLongLong(&ok, 16);
            if (!ok || size < 0 || hex.size() > 15) {
                fail("bad_response: invalid chunk size");
                return;
            }
            if (m_body.size() + size > m_options.max_body_bytes) {
                fail(QStringLiteral("body_too_large: body exceeds %1 bytes").arg(m_options.max_body_bytes));
                return;
            }
            m_remaining = size;
            m_phase = size == 0 ? Phase::Trailers : Phase::ChunkData;
            continue;
        }
        if (m_phase == Phase::ChunkData) {
            const qint64 n = std::min<qint64>(m_remaining, m_in.size() - pos);
            appendBody(m_in.constData() + pos, n);
            pos += n;
            m_remaining -= n;
            if (m_finished) return;
            if (m_remaining > 0) break;
            m_phase = Phase::ChunkDataEnd;
            continue;
        }
        if (m_phase == Phase::ChunkDataEnd) {
            QByteArray line;
            if (!take_line(line)) break;
            if (!line.isEmpty()) {
                fail("bad_response: chunk data not followed by CRLF");
                return;
            }
            m_phase = Phase::ChunkSize;
            continue;
        }
        if (m_phase == Phase::Trailers) {
            QByteArray line;
            if (!take_line(line)) break;
            if (line.isEmpty()) {
                succeed();
                return;
            }
            continue;  // trailer fields are ignored
        }
        break;
    }
    if (!m_finished && pos > 0) m_in.remove(0, pos);
}

void HttpGet::succeed() {
    m_phase = Phase::Done;
    emitOnce(m_status, m_body, QString());
}

void HttpGet::fail(const QString& error) {
    qCDebug(lcNet) << m_method << m_url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery) << "failed:" << error;
    emitOnce(m_status, QByteArray(), error);
}

void HttpGet::emitOnce(int status, const QByteArray& body, const QString& error) {
    if (m_finished) return;
    m_finished = true;
    m_timer.stop();
    m_connector.abort();
    if (m_socket) {
        QAbstractSocket* s = m_socket;
        m_socket = nullptr;
        s->disconnect(this);
        s->abort();
        s->deleteLater();
    }
    m_in.clear();
    m_requestBody.clear();
    const QByteArray out = body;
    m_body.clear();
    emit finished(status, out, error);
}

}  // namespace archivist::net
