#pragma once
// NIP-01 / NIP-42 / NIP-45 / NIP-77 websocket messages, both directions.
//
// Parsing never throws and never crashes on any input (fuzzed: tests/fuzz/fuzz_message.cpp).
// The event object of an EVENT/AUTH message is NOT parsed here: its exact source text is returned
// as a view (event_json) into the caller's buffer, located by a structural scan, so the verify
// stage builds the only DOM of it (parseEvent) and sees exactly the bytes the relay sent. A
// malformed event object is therefore reported by parseEvent, not here.
// Every other element is parsed strictly (json.h). Missing or mistyped elements make the message
// Unknown with a reason; elements beyond those a type defines are ignored (forward compatible).
// Thread: any (no state).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/event.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/filter.h"

namespace archivist::protocol {

// More top-level elements than this make a message Unknown (bounds REQ/COUNT filter lists).
inline constexpr size_t kMaxMessageElements = 128;
// NIP-01: subscription ids are non-empty and at most 64 characters (enforced for client messages).
inline constexpr size_t kMaxSubscriptionIdLength = 64;

enum class RelayMsgType : uint8_t { Event, Ok, Eose, Closed, Notice, Auth, Count, NegMsg, NegErr, Unknown };

// One relay → client message. event_json points into the parsed text: it is valid only while
// that buffer lives.
struct RelayMessage {
    RelayMsgType type = RelayMsgType::Unknown;
    std::string subscription_id;  // EVENT, EOSE, CLOSED, COUNT, NEG-MSG, NEG-ERR
    std::string_view event_json;  // EVENT: exact source text of the event object
    // EVENT: peekEventKeys(event_json), read in the same pass that located the object.
    std::optional<EventKeys> event_keys;
    Bytes32 event_id{};           // OK
    bool accepted = false;        // OK
    // OK/CLOSED/NOTICE message (whole, prefix included), AUTH challenge, NEG-MSG hex payload,
    // NEG-ERR reason; for Unknown, why the message was not understood.
    std::string message;
    // OK/CLOSED machine-readable prefix: one of "auth-required", "rate-limited", "restricted",
    // "blocked", "duplicate", "pow", "invalid", "error" (the NIP-01/NIP-42 set); "" if none.
    std::string prefix;
    uint64_t count = 0;      // COUNT
    bool approximate = false;  // COUNT: {"approximate": true}
};

RelayMessage parseRelayMessage(std::string_view text);
const char* relayMsgTypeName(RelayMsgType t);  // "EVENT", "OK", … ; "UNKNOWN"

// Client → relay serialisation (compact JSON). Ids are written as JSON strings with
// JSON.stringify escaping; filters with serializeFilter; events with appendEventJson.
std::string makeReq(std::string_view sub_id, const std::vector<Filter>& filters);
std::string makeClose(std::string_view sub_id);
std::string makeEventMsg(const Event& e);       // ["EVENT",{...}]
std::string makeAuth(const Event& auth_event);  // ["AUTH",{...}]
std::string makeCount(std::string_view sub_id, const std::vector<Filter>& filters);
std::string makeNegOpen(std::string_view sub_id, const Filter& f, std::string_view initial_hex);
std::string makeNegMsg(std::string_view sub_id, std::string_view hex);
std::string makeNegClose(std::string_view sub_id);

// Relay → client serialisation, for the fake relays in tests and for tools.
std::string makeRelayEvent(std::string_view sub_id, std::string_view event_json);
std::string makeOk(const Bytes32& event_id, bool accepted, std::string_view message);
std::string makeEose(std::string_view sub_id);
std::string makeClosed(std::string_view sub_id, std::string_view message);
std::string makeNotice(std::string_view message);
std::string makeAuthChallenge(std::string_view challenge);
std::string makeCountResult(std::string_view sub_id, uint64_t count);
std::string makeNegErr(std::string_view sub_id, std::string_view reason);

enum class ClientMsgType : uint8_t { Event, Req, Close, Auth, Count, NegOpen, NegMsg, NegClose, Unknown };

// One client → relay message. event_json (EVENT, AUTH) points into the parsed text.
struct ClientMessage {
    ClientMsgType type = ClientMsgType::Unknown;
    std::string subscription_id;  // REQ, CLOSE, COUNT, NEG-*
    std::vector<Filter> filters;  // REQ, COUNT (≥ 1); NEG-OPEN (exactly 1)
    std::string_view event_json;  // EVENT, AUTH
    std::string payload;          // NEG-OPEN initial message, NEG-MSG message (hex)
    std::string error;            // Unknown: why (a bad filter's parse error included)
};

ClientMessage parseClientMessage(std::string_view text);
const char* clientMsgTypeName(ClientMsgType t);  // "EVENT", "REQ", … ; "UNKNOWN"

}  // namespace archivist::protocol
