#pragma once
// Our own RFC 6455 WebSocket client (see docs/decisions/0004-own-websocket-client.md).
// Why not QWebSocket: it reads everything the peer sends (no way to pause reading, so no TCP
// backpressure) and it resolves the host itself (we must connect to the address the address
// policy checked, while Host, SNI and certificate checks use the URL's host name).
//
// Contracts
// - Thread: a QObject living on one network thread; all calls and signals happen there.
// - open() is asynchronous: it ends in opened() or closed(). closed() is emitted exactly once per
//   open() (never from inside open() itself), after which state() == Closed.
// - Reading: at most read_chunk_bytes are taken from the socket per pass; the socket's own read
//   buffer is bounded by socket_read_buffer_bytes, so a paused or slow reader makes the kernel
//   window close and TCP pushes back on the relay. Nothing is ever dropped.
// - Memory: bufferedBytes() (partial frames + message fragments) stays within
//   max_message_bytes + read_chunk_bytes. Between passes the read buffer keeps its allocation
//   up to read_chunk_bytes + 16 KiB (a busy connection reads into the same pages each pass);
//   a larger one, left by a large message, is freed once emptied (heldBytes()). A frame header
//   announcing a message larger than max_message_bytes fails at once (close 1009,
//   MessageTooBig) without buffering its payload.
// - Binary messages are not used by Nostr: they are counted (binaryMessagesIgnored()) and
//   dropped, still subject to max_message_bytes.
// - permessage-deflate (RFC 7692) is offered (offer_deflate) and used when the server accepts:
//   compressed messages are inflated as their frames arrive, and the inflated size is bounded
//   exactly like an uncompressed message — beyond max_message_bytes the connection closes with
//   1009 (MessageTooBig) before more is inflated (a decompression bomb costs at most the bound).
//   What we send is never compressed (RFC 7692 §6: a message may be sent uncompressed). A server
//   answering with another extension, unknown parameters or a subprotocol fails the handshake.
// - Text messages must be UTF-8 (close 1007 otherwise). Server frames must be unmasked, use no
//   reserved bits or opcodes, control frames must be final and ≤ 125 bytes (close 1002).
// - Pings from the server are answered automatically (not while paused: control frames wait
//   in order like everything else); close frames are echoed.
#include <QByteArray>
#include <QElapsedTimer>
#include <QHostAddress>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QTimer>
#include <QUrl>
#include <cstdint>
#include <deque>

#include "core/net/socket_connector.h"

class QAbstractSocket;

namespace archivist::net {

struct WebSocketOptions {
    int64_t connect_timeout_ms = 10000;             // TCP + TLS + upgrade handshake
    int64_t max_message_bytes = 1 << 20;            // larger (assembled) message → 1009, MessageTooBig
    int64_t read_chunk_bytes = 64 * 1024;           // bytes read from the socket per pass (min 1 KiB)
    int64_t socket_read_buffer_bytes = 256 * 1024;  // QAbstractSocket::setReadBufferSize
    int64_t max_pending_write_bytes = 4 << 20;      // sendText refuses (returns false) beyond this
    int64_t close_timeout_ms = 5000;                // wait for the closing handshake, then abort
    bool offer_deflate = true;                      // offer permessage-deflate (inflate only)
    QByteArray user_agent = "archivist";
    QList<QSslCertificate> extra_ca_certificates;   // trusted besides the system store (tests, LAN relays)
};

enum class WsState { Idle, Connecting, Open, Closing, Closed };
enum class WsError {
    None,
    ConnectTimeout,
    ConnectFailed,
    TlsFailed,
    HandshakeFailed,  // non-101, bad Sec-WebSocket-Accept, unexpected extension
    ProtocolError,    // bad frame, masked server frame, bad opcode, bad UTF-8 in text
    MessageTooBig,
    RemoteClosed,     // the server closed (with or without a close frame)
    Aborted,          // abort() was called
};
const char* wsErrorName(WsError error);  // snake_case names, stable (they appear in metrics/UI)

class WebSocketClient : public QObject {
    Q_OBJECT
public:
    explicit WebSocketClient(WebSocketOptions options, QObject* parent = nullptr);
    ~WebSocketClient() override;  // aborts if open; emits nothing

    // url: ws:// or wss://. address: where to connect (already checked). Host header, SNI and
    // certificate verification use url.host(). Path+query of the url go in the request line.
    // Valid in Idle or Closed; a call in any other state is ignored.
    void open(const QUrl& url, const QHostAddress& address);
    bool sendText(const QByteArray& utf8);      // false when not Open, not UTF-8, or over the write bound
    // false when not Open or payload > 125 B. At most 16 pings are remembered: beyond that the
    // oldest unanswered one is forgotten (its pong, if it ever comes, is ignored).
    bool ping(const QByteArray& payload = {});
    // Closing handshake, then socket close (bounded by close_timeout_ms, then abort). closed()
    // then reports WsError::None. Before Open it is the same as abort().
    void close(uint16_t code = 1000, const QByteArray& reason = {});
    void abort();  // closed(Aborted) unless already closed
    // Paused: no bytes are taken from the socket and no further buffered frames are delivered,
    // even if already read, until resumed. Safe to call from inside textMessage() and before
    // open(): the upgrade handshake still completes (opened() is emitted), frames then wait.
    // A peer that disconnects while paused is reported only after resume, once the frames
    // it sent before have been delivered. Do not `delete` the client from inside one of its
    // signals; deleteLater() is fine.
    void setReadingPaused(bool paused);
    bool readingPaused() const { return m_paused; }
    // Changes max_message_bytes from the next frame on (a message in progress is checked against
    // the new bound with its next frame). At least 1.
    void setMaxMessageBytes(int64_t bytes);
    int64_t maxMessageBytes() const { return m_options.max_message_bytes; }
    WsState state() const { return m_state; }
    qint64 bytesToWrite() const;
    // Bytes held by this client (partial frames + fragments): ≤ max_message_bytes +
    // read_chunk_bytes (right after the upgrade, at most 16 KiB of response leftovers once).
    qint64 bufferedBytes() const;
    // Memory the client's buffers hold, allocated and not only in use: bufferedBytes() plus the
    // read buffer's room kept between passes (at most read_chunk_bytes + 16 KiB once emptied).
    qint64 heldBytes() const;
    QHostAddress peerAddress() const { return m_address; }
    uint64_t binaryMessagesIgnored() const { return m_binaryIgnored; }
    bool deflateActive() const { return m_deflate; }                 // negotiated on this connection
    uint64_t inflatedBytes() const { return m_inflatedBytes; }       // message bytes inflated so far

signals:
    void opened();
    // One complete (defragmented) text message. The view is valid during the call only: a
    // receiver that keeps the text copies it.
    void textMessage(QByteArrayView utf8);
    void pong(qint64 rtt_ms, const QByteArray& payload);
    void closed(archivist::net::WsError error, const QString& detail);
    void bytesReceived(qint64 n);  // wire bytes, for accounting

private:
    enum class Step { Continue, Stop };

    void onConnected();
    void onConnectFailed(ConnectError error, const QString& detail);
    void onConnectTimeout();
    void onReadyRead();
    void onDisconnected();
    void onCloseTimeout();
    void schedulePass();
    void readPass();
    bool readHandshake();                 // false: failed (closed emitted) or incomplete
    Step parseFrames();                   // delivers complete frames from m_in
    void consumeInput(qint64 n);          // drops m_in's first n bytes, keeping its allocation
    qsizetype retainedInput() const;      // the allocation m_in keeps between passes
    Step handleFrame(int opcode, bool fin, const char* payload, qint64 length);
    void writeFrame(int opcode, const QByteArray& payload);
    void failWithClose(WsError error, uint16_t code, const QString& detail);
    void finish(WsError error, const QString& detail);  // emits closed() once
    void retireSocket(bool graceful);
    qint64 readBound() const;
    QString acceptExtensions(const QByteArray& extensions);  // "" = accepted; else the problem
    bool inflateInto(const char* data, qint64 length);      // false: failed (closed with 1009/1007)
    void endInflate();

    WebSocketOptions m_options;
    WsState m_state = WsState::Idle;
    SocketConnector m_connector;
    QPointer<QAbstractSocket> m_socket;
    QTimer m_connectTimer;
    QTimer m_closeTimer;
    QUrl m_url;
    QHostAddress m_address;
    QByteArray m_key;       // base64 Sec-WebSocket-Key
    QByteArray m_in;        // wire bytes not yet consumed (handshake or frames)
    QByteArray m_message;   // fragments of the text message in progress
    int m_messageOpcode = 0;  // 0: none in progress, 1 text, 2 binary
    qint64 m_messageBytes = 0;
    bool m_paused = false;
    bool m_passScheduled = false;
    bool m_inPass = false;
    bool m_peerGone = false;   // the socket disconnected; report after draining what it buffered
    QString m_peerGoneDetail;
    bool m_closeSent = false;
    bool m_userClose = false;
    WsError m_closeError = WsError::None;  // reported when the closing handshake completes
    QString m_closeDetail;
    uint64_t m_binaryIgnored = 0;
    // permessage-deflate: negotiated, the message in progress is compressed, the inflater
    // (32 KiB window + state, allocated only when negotiated) and whether it resets per message.
    bool m_deflate = false;
    bool m_messageCompressed = false;
    bool m_inflateResetEachMessage = false;
    void* m_inflater = nullptr;  // z_stream
    uint64_t m_inflatedBytes = 0;
    struct PendingPing {
        QByteArray payload;
        QElapsedTimer sent;
    };
    std::deque<PendingPing> m_pings;  // bounded by kMaxPendingPings
    static constexpr size_t kMaxPendingPings = 16;
    static constexpr qint64 kMaxHandshakeBytes = 16 * 1024;
};

}  // namespace archivist::net
