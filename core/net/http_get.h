#pragma once
// One HTTP/1.1 GET (or POST) to an address that the caller has already checked (see
// SocketConnector): GET for NIP-11 relay documents (the caller derives http/https from ws/wss and
// sends `Accept: application/nostr+json`), POST for the ClickHouse sink (core/sink). Host header,
// TLS SNI and certificate checks use url.host().
//
// Contracts
// - Thread: a QObject on one network thread. start() once per object; asynchronous.
// - finished(status, body, error) is emitted exactly once per start()/post(), never from inside
//   the call.
//   error is empty when a complete HTTP response arrived, whatever its status (404 is reported as
//   status 404 with its body). On failure error names the cause (stable prefix before ':':
//   connect_timeout, connect_failed, tls_failed, timeout, body_too_large, bad_response,
//   closed_early, aborted), status is the parsed status or 0, body is empty.
// - POST: the body is sent with Content-Length after the header; the caller's headers name its
//   type and encoding. A failure whose prefix is connect_timeout, connect_failed or tls_failed
//   happened before a byte of the request was written (requestWritten() is false then); after any
//   other failure the server may or may not have received and acted on the request.
// - Bounded: response header ≤ 16 KiB, body ≤ max_body_bytes (Content-Length larger than the
//   bound fails before reading the body), whole exchange ≤ timeout_ms.
// - Bodies: Content-Length, chunked, or read-until-close. Redirects are not followed (the 3xx
//   status is reported). The request says `Connection: close`.
#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QPair>
#include <QPointer>
#include <QTimer>
#include <QUrl>
#include <cstdint>

#include "core/net/socket_connector.h"

class QAbstractSocket;

namespace archivist::net {

struct HttpGetOptions {
    int64_t timeout_ms = 10000;           // connect + request + whole response
    int64_t max_body_bytes = 256 * 1024;  // larger → error body_too_large
    QByteArray user_agent = "archivist";
    QList<QSslCertificate> extra_ca_certificates;  // trusted besides the system store
};

using HttpHeaders = QList<QPair<QByteArray, QByteArray>>;

class HttpGet : public QObject {
    Q_OBJECT
public:
    explicit HttpGet(HttpGetOptions options = {}, QObject* parent = nullptr);
    ~HttpGet() override;  // aborts a request in progress; emits nothing

    // url: http:// or https://; address: where to connect (already checked).
    void start(const QUrl& url, const QHostAddress& address, const HttpHeaders& headers = {});
    // The same with method POST and `body` (held until finished; its size is the caller's bound).
    void post(const QUrl& url, const QHostAddress& address, QByteArray body, const HttpHeaders& headers = {});
    // True once the request (line, header and body) was handed to the socket.
    bool requestWritten() const { return m_requestWritten; }
    void abort();  // finished(0, {}, "aborted: ...") unless already finished
    bool isFinished() const { return m_finished; }

signals:
    void finished(int status, const QByteArray& body, const QString& error);
    // The whole request has left the socket's buffer for the kernel (at most once, before
    // finished): the server is now reading or working on it.
    void requestSent();

private:
    enum class Phase { Header, FixedBody, ChunkSize, ChunkData, ChunkDataEnd, Trailers, UntilClose, Done };

    void onConnected();
    void onConnectFailed(ConnectError error, const QString& detail);
    void onReadyRead();
    void onDisconnected();
    void process();       // advances the parser over m_in
    bool parseHeader();   // false: need more bytes or failed
    void appendBody(const char* data, qint64 n);
    void succeed();
    void fail(const QString& error);
    void emitOnce(int status, const QByteArray& body, const QString& error);

    HttpGetOptions m_options;
    SocketConnector m_connector;
    QPointer<QAbstractSocket> m_socket;
    QTimer m_timer;
    QUrl m_url;
    HttpHeaders m_headers;
    QByteArray m_method = "GET";
    QByteArray m_requestBody;
    QByteArray m_in;
    QByteArray m_body;
    Phase m_phase = Phase::Header;
    int m_status = 0;
    qint64 m_remaining = 0;  // FixedBody: bytes left; ChunkData: bytes left in this chunk
    bool m_started = false;
    bool m_finished = false;
    bool m_peerGone = false;
    bool m_requestWritten = false;
    bool m_sentSignalled = false;
    static constexpr qint64 kMaxHeaderBytes = 16 * 1024;
    static constexpr qint64 kMaxChunkLineBytes = 1024;
    static constexpr qint64 kSocketReadBufferBytes = 64 * 1024;
};

}  // namespace archivist::net
