#pragma once
// SessionDriver: the query side of one relay connection, behind one interface. The connection
// (RelayConnection) keeps the socket, its state machine, AUTH, rate limits and batching; a
// driver (sync::RelaySync) decides which subscriptions and NIP-77 sessions are open, judges every
// EVENT against them, and drives live, catch-up and backfill queries. net/ knows nothing of how:
// the engine hands the pool a factory of drivers.
//
// Contract
// - Thread: the connection's network thread. Every call comes from the connection; a driver
//   may use timers on that thread, and calls back only through the RelayLink it was given.
// - Sessions: opened() starts one per websocket; closed() ends it (everything in flight is
//   abandoned, the link is no longer valid). A driver may hold any number of subscriptions and
//   NIP-77 sessions at once within SessionInfo::max_subscriptions; the connection routes every
//   subscription-scoped message (EVENT, EOSE, CLOSED, NEG-MSG, NEG-ERR) to it by id and never
//   interprets ids itself.
// - admit() judges one EVENT before anything else happens to it: only an accepted one
//   (EventRefusal::None) reaches the pipeline; the connection counts the refusals by reason
//   (subscription discipline, core/observe/relay_state.h).
// - Persisting what settled (cursors, checkpoints, gaps) is the driver's, through its own report
//   interface (sync::SyncReports): the connection never sees it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/net/relay_info.h"
#include "core/net/relay_status.h"
#include "core/protocol/event_codec.h"

namespace archivist::protocol {
struct RelayMessage;
}

namespace archivist::net {

// What the connection knows when a websocket has opened.
struct SessionInfo {
    int64_t opened_s = 0;                 // wall-clock second the websocket opened
    std::optional<RelayInfo> info;        // the relay's NIP-11 document, when it serves one
    uint32_t max_subscriptions = 10;      // ours, capped by the relay's NIP-11
    uint64_t max_message_bytes = 0;       // the largest message we accept from the relay
};

// The connection as a driver sees it (implemented by RelayConnection).
class RelayLink {
public:
    virtual ~RelayLink() = default;
    // Sends one text message; false when the socket is not open (the driver tries again later).
    virtual bool send(const std::string& text) = 0;
    // Events handed on to the pipeline so far, the pending batch included, and how many of them
    // have settled (stored, duplicate or invalid). A cursor or checkpoint taken when
    // receivedMark() was N is durable once settledCount() ≥ N.
    virtual uint64_t receivedMark() const = 0;
    virtual uint64_t settledCount() const = 0;
    // A subscription was refused with auth-required and AUTH is under way: open nothing new until
    // authenticated() arrives.
    virtual bool authenticating() const = 0;
    // The largest message accepted from the relay from now on (a larger one closes the socket
    // with 1009). A driver raises it while a NIP-77 session may answer with large NEG-MSGs and
    // restores SessionInfo::max_message_bytes after (docs/backfill.md, "Frame sizes").
    virtual void setMessageLimit(uint64_t bytes) = 0;
};

class SessionDriver {
public:
    virtual ~SessionDriver() = default;

    virtual void opened(RelayLink& link, const SessionInfo& session) = 0;
    // The connection is about to close the socket on purpose (operator stop, block, restricted):
    // close what is open (CLOSE, NEG-CLOSE) while the link still sends.
    virtual void closing() = 0;
    virtual void closed() = 0;

    // `keys`: peekEventKeys(event_json), as the message parse read it.
    virtual observe::EventRefusal admit(std::string_view subscription, std::string_view event_json,
                                        const std::optional<protocol::EventKeys>& keys) = 0;
    // An admitted EVENT answers a query we sent (backfill, catch-up, a NIP-77 fetch): its volume
    // is paced by our own requests (limit, one query at a time), so the connection's rate limiter,
    // which guards against unsolicited floods, does not count it. Live traffic is unsolicited.
    virtual bool solicited(std::string_view subscription) const { (void)subscription; return false; }
    virtual void eose(const std::string& subscription) = 0;
    // CLOSED from the relay. The connection has already acted on restricted:/blocked: (terminal)
    // and auth-required: (AUTH started); the driver decides what happens to the query.
    virtual void refused(const std::string& subscription, const std::string& prefix, const std::string& message) = 0;
    virtual void notice(const std::string& message) = 0;
    virtual void negentropy(const protocol::RelayMessage& message) = 0;  // NEG-MSG, NEG-ERR
    virtual void authenticated() = 0;

    // The operator asked for the relay's history again, from now back to the floor.
    virtual void backfillNow() = 0;
    // Shutdown or removal: report whatever has settled (the connection has handed its batch on).
    virtual void flush() = 0;
    virtual void describe(SyncStatus& out) const = 0;
};

}  // namespace archivist::net
