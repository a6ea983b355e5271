#include "core/net/socket_connector.h"

#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpSocket>

#include "core/observe/log.h"

namespace archivist::net {

RequestLine requestLine(const QUrl& url, bool tls) {
    RequestLine line;
    line.host = url.host(QUrl::FullyEncoded).toUtf8();
    if (line.host.contains(':')) line.host = '[' + line.host + ']';
    const int port = url.port(tls ? 443 : 80);
    if (port != (tls ? 443 : 80)) line.host += ':' + QByteArray::number(port);
    line.target = url.path(QUrl::FullyEncoded).toUtf8();
    if (line.target.isEmpty()) line.target = "/";
    if (url.hasQuery()) line.target += '?' + url.query(QUrl::FullyEncoded).toUtf8();
    return line;
}

const char* connectErrorName(ConnectError error) {
    switch (error) {
    case ConnectError::None: return "none";
    case ConnectError::Timeout: return "connect_timeout";
    case ConnectError::Failed: return "connect_failed";
    case ConnectError::TlsFailed: return "tls_failed";
    }
    return "unknown";
}

SocketConnector::SocketConnector(QObject* parent) : QObject(parent) {
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &SocketConnector::onTimeout);
}

SocketConnector::~SocketConnector() {
    m_done = true;
    dropSocket();
}

void SocketConnector::dropSocket() {
    m_timer.stop();
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket->deleteLater();
    }
    m_socket = nullptr;
}

void SocketConnector::connectTo(const ConnectTarget& target, int64_t timeout_ms, int64_t read_buffer_bytes) {
    dropSocket();
    m_target = target;
    m_tcpConnected = false;
    m_done = false;
    m_sslErrors.clear();

    if (target.address.isNull() || target.port == 0) {
        // Reported asynchronously so that the caller always sees failed() after connectTo returns.
        QMetaObject::invokeMethod(this, [this] { fail(ConnectError::Failed, "no address or port"); },
                                  Qt::QueuedConnection);
        return;
    }
    if (target.tls && !QSslSocket::supportsSsl()) {
        QMetaObject::invokeMethod(this, [this] { fail(ConnectError::TlsFailed, "TLS is not available"); },
                                  Qt::QueuedConnection);
        return;
    }

    QAbstractSocket* socket = nullptr;
    if (target.tls) {
        auto* ssl = new QSslSocket(this);
        ssl->setPeerVerifyMode(QSslSocket::VerifyPeer);
        if (!target.extra_ca_certificates.isEmpty()) {
            QSslConfiguration conf = ssl->sslConfiguration();
            conf.addCaCertificates(target.extra_ca_certificates);
            ssl->setSslConfiguration(conf);
        }
        connect(ssl, &QSslSocket::encrypted, this, &SocketConnector::onReady);
        connect(ssl, &QSslSocket::sslErrors, this, [this](const QList<QSslError>& errors) {
            QStringList parts;
            for (const QSslError& e : errors) parts << e.errorString();
            m_sslErrors = parts.join("; ");
        });
        socket = ssl;
    } else {
        socket = new QTcpSocket(this);
    }
    m_socket = socket;
    if (read_buffer_bytes > 0) socket->setReadBufferSize(read_buffer_bytes);
    connect(socket, &QAbstractSocket::connected, this, &SocketConnector::onTcpConnected);
    connect(socket, &QAbstractSocket::errorOccurred, this, &SocketConnector::onSocketError);
    m_timer.start(std::chrono::milliseconds(std::max<int64_t>(1, timeout_ms)));

    if (target.tls) {
        // hostName is an IP literal, so Qt performs no lookup; sslPeerName carries the real name
        // for SNI and certificate verification.
        static_cast<QSslSocket*>(socket)->connectToHostEncrypted(target.address.toString(), target.port,
                                                                 target.host);
    } else {
        socket->connectToHost(target.address, target.port);
    }
}

void SocketConnector::abort() {
    m_done = true;
    dropSocket();
}

QAbstractSocket* SocketConnector::takeSocket(QObject* new_parent) {
    if (!m_done || !m_socket || m_socket->state() != QAbstractSocket::ConnectedState) return nullptr;
    QAbstractSocket* socket = m_socket;
    socket->disconnect(this);
    socket->setParent(new_parent);
    m_socket = nullptr;
    return socket;
}

void SocketConnector::onTcpConnected() {
    m_tcpConnected = true;
    if (!m_target.tls) onReady();
}

void SocketConnector::onReady() {
    if (m_done) return;
    m_done = true;
    m_timer.stop();
    emit connected();
}

void SocketConnector::onSocketError() {
    if (m_done || !m_socket) return;
    const QAbstractSocket::SocketError code = m_socket->error();
    QString detail = m_socket->errorString();
    const bool tls_stage = m_target.tls && m_tcpConnected;
    const bool tls_code = code == QAbstractSocket::SslHandshakeFailedError ||
                          code == QAbstractSocket::SslInternalError ||
                          code == QAbstractSocket::SslInvalidUserDataError;
    if (!m_sslErrors.isEmpty()) detail += " (" + m_sslErrors + ")";
    fail(tls_stage || tls_code ? ConnectError::TlsFailed : ConnectError::Failed, detail);
}

void SocketConnector::onTimeout() {
    if (m_done) return;
    fail(ConnectError::Timeout, m_tcpConnected ? QStringLiteral("TLS handshake timed out")
                                               : QStringLiteral("TCP connect timed out"));
}

void SocketConnector::fail(ConnectError error, const QString& detail) {
    if (m_done) return;
    m_done = true;
    qCDebug(lcNet) << "connect to" << m_target.host << m_target.address.toString() << m_target.port
                   << "failed:" << connectErrorName(error) << detail;
    dropSocket();
    emit failed(error, detail);
}

}  // namespace archivist::net
