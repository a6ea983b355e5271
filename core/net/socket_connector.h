#pragma once
// Opens one TCP (or TLS) connection to an address that the caller has already checked against
// the address policy. It never resolves a name: the socket connects to exactly `address`, while
// TLS SNI and certificate verification use `host` (the URL's host name), so DNS rebinding cannot
// move the connection to an address nobody checked.
//
// Ownership: the connector owns the socket until connected() is emitted; the receiver then takes
// it with takeSocket() (re-parenting it) or leaves it to die with the connector.
// Thread: lives on one network thread; every call and signal happens there.
// Errors: reported once through failed(); nothing is thrown.
#include <QHostAddress>
#include <QObject>
#include <QList>
#include <QPointer>
#include <QSslCertificate>
#include <QString>
#include <QTimer>
#include <QUrl>
#include <cstdint>

class QAbstractSocket;

namespace archivist::net {

enum class ConnectError { None, Timeout, Failed, TlsFailed };
const char* connectErrorName(ConnectError error);  // stable snake_case names

// The Host header value (bracketed IPv6, port only when not the scheme's default) and the
// request target (path, "/" when empty, plus query) of an HTTP/1.1 request for `url`.
struct RequestLine {
    QByteArray host;
    QByteArray target;
};
RequestLine requestLine(const QUrl& url, bool tls);

struct ConnectTarget {
    QString host;          // URL host (ACE form): TLS SNI + certificate name
    quint16 port = 0;
    bool tls = false;
    QHostAddress address;  // where the TCP connection goes; already checked by the caller
    QList<QSslCertificate> extra_ca_certificates;  // trusted in addition to the system store
};

class SocketConnector : public QObject {
    Q_OBJECT
public:
    explicit SocketConnector(QObject* parent = nullptr);
    ~SocketConnector() override;  // aborts a connection in progress (no signal)

    // Starts the connection. read_buffer_bytes > 0 bounds the socket's read buffer (the kernel
    // receive window then pushes back on the sender). timeout_ms covers TCP + TLS handshake.
    // Calling it again while a connection is in progress aborts the first one silently.
    void connectTo(const ConnectTarget& target, int64_t timeout_ms, int64_t read_buffer_bytes);
    void abort();  // no signal is emitted afterwards

    // After connected(): hands the socket (connected, and encrypted when tls) to the caller,
    // who becomes its parent. Returns nullptr before connected() or after a previous take.
    QAbstractSocket* takeSocket(QObject* new_parent);

signals:
    void connected();
    void failed(archivist::net::ConnectError error, const QString& detail);

private:
    void onTcpConnected();
    void onReady();
    void onSocketError();
    void onTimeout();
    void fail(ConnectError error, const QString& detail);
    void dropSocket();

    QPointer<QAbstractSocket> m_socket;
    QTimer m_timer;
    ConnectTarget m_target;
    bool m_tcpConnected = false;
    bool m_done = false;
    QString m_sslErrors;
};

}  // namespace archivist::net
