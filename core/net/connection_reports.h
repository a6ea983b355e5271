#pragma once
// ConnectionReports: what relay connections and the prober tell the owner of relay state
// (relays::RelayStateOwner, which alone writes relays.sqlite). A narrow interface of value
// reports, like EventSink for events: the network threads never touch SQLite and never wait.
//
// Contract (every implementation)
// - Thread: any. Never blocks and never does I/O on the caller's thread.
// - Reports of one relay may be coalesced (the newest status wins); none is lost: a report the
//   owner cannot take now (its bounded inbox is full) is refused with false, and the caller keeps
//   it and offers it again (RelayConnection retries on its publish tick).
#include <QMetaType>

#include <cstdint>
#include <optional>
#include <string>

#include "core/observe/relay_state.h"

namespace archivist::net {

// A connection's state changed (or its failure count / last error did).
struct StatusReport {
    std::string url;
    observe::RelayState state = observe::RelayState::Candidate;
    int consecutive_failures = 0;
    std::string last_error;
    int64_t at_ms = 0;
    std::optional<int64_t> last_connected_ms;  // set when the socket opened (kept when reports coalesce)
};

// The NIP-11 document a connection fetched and used.
struct Nip11Report {
    std::string url;
    std::string document;  // as received (bounded by the fetch's body limit)
    int64_t fetched_ms = 0;
};

// One finished probe (RelayProber). A value: copied into signals; a registered metatype.
struct ProbeResult {
    std::string url;                 // normalised relay URL
    int64_t at_ms = 0;               // wall clock when the probe started
    bool ok = false;
    int64_t open_rtt_ms = -1;        // resolve + TCP + TLS + upgrade (the NIP-11 fetch excluded)
    int64_t read_rtt_ms = -1;        // REQ {"limit":1} sent → first EVENT, EOSE or CLOSED
    std::string nip11_json;          // the document as fetched (HTTP 200, a JSON object); "" none
    int nip11_status = 0;            // HTTP status of the NIP-11 GET; 0 = no response
    std::string nip11_error;         // why nip11_json is empty: "http: 404", "timeout: …", "json: …"
    std::string req_closed;          // the relay's CLOSED message when it refused the REQ; else ""
    std::string error;               // "" when ok; otherwise "reason: detail" (relay_prober.h)
};

class ConnectionReports {
public:
    virtual ~ConnectionReports() = default;
    virtual bool reportStatus(const StatusReport& report) = 0;
    virtual bool reportNip11(const Nip11Report& report) = 0;
    virtual bool reportProbe(const ProbeResult& result) = 0;
};

}  // namespace archivist::net

Q_DECLARE_METATYPE(archivist::net::ProbeResult)
