#include "core/protocol/relay_message.h"

#include <array>

#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"
#include "core/protocol/json.h"

namespace archivist::protocol {

namespace {

bool isWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skipWs(std::string_view s, size_t i) {
    while (i < s.size() && isWs(s[i])) ++i;
    return i;
}

// Structural skip of one JSON value starting at i (no whitespace before it). Returns the index
// one past its end, or npos when the text ends first. Containers are skipped by counting
// brackets outside strings; their content is validated by whoever parses the span later.
size_t skipValue(std::string_view s, size_t i) {
    const size_t n = s.size();
    if (i >= n) return std::string_view::npos;
    auto skipString = [&](size_t j) -> size_t {  // j at the opening quote
        for (j = json::findQuoteOrBackslash(s, j + 1); j < n; j = json::findQuoteOrBackslash(s, j + 2))
            if (s[j] == '"') return j + 1;
        return std::string_view::npos;
    };
    const char c = s[i];
    if (c == '"') return skipString(i);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        for (size_t j = i; j < n; ++j) {
            const char d = s[j];
            if (d == '"') {
                j = skipString(j);
                if (j == std::string_view::npos) return j;
                --j;
            } else if (d == '{' || d == '[') {
                ++depth;
            } else if (d == '}' || d == ']') {
                if (--depth == 0) return j + 1;
            }
        }
        return std::string_view::npos;
    }
    size_t j = i;
    while (j < n && s[j] != ',' && s[j] != ']' && s[j] != '}' && !isWs(s[j])) ++j;
    return j == i ? std::string_view::npos : j;
}

// Splits a top-level JSON array into the source spans of its elements. With `event`: when the
// first element is exactly "EVENT" and the third an object, the object is read by peekEventObject
// on the way — its keys in the same pass that finds its end — and *event holds what it read
// (event_read says so; when that scan cannot read the object, the structural skip finds its end).
bool splitArray(std::string_view s, std::vector<std::string_view>& out, std::string& why,
                std::optional<EventKeys>* event = nullptr, bool* event_read = nullptr) {
    size_t i = skipWs(s, 0);
    if (i >= s.size() || s[i] != '[') {
        why = "not a JSON array";
        return false;
    }
    i = skipWs(s, i + 1);
    if (i < s.size() && s[i] == ']') {
        why = "empty array";
        return false;
    }
    for (;;) {
        if (out.size() >= kMaxMessageElements) {
            why = "more than " + std::to_string(kMaxMessageElements) + " elements";
            return false;
        }
        size_t end = std::string_view::npos;
        if (event && out.size() == 2 && out[0] == "\"EVENT\"" && i < s.size() && s[i] == '{') {
            *event = peekEventObject(s.substr(i), end);
            if (end != std::string_view::npos) {
                end += i;
                *event_read = true;
            }
        }
        if (end == std::string_view::npos) end = skipValue(s, i);
        if (end == std::string_view::npos) {
            why = i < s.size() ? "malformed or truncated element at offset " + std::to_string(i) : "truncated";
            return false;
        }
        out.push_back(s.substr(i, end - i));
        i = skipWs(s, end);
        if (i >= s.size()) {
            why = "truncated";
            return false;
        }
        if (s[i] == ']') break;
        if (s[i] != ',') {
            why = "expected ',' or ']' at offset " + std::to_string(i);
            return false;
        }
        i = skipWs(s, i + 1);
    }
    if (skipWs(s, i + 1) != s.size()) {
        why = "trailing data after the array";
        return false;
    }
    return true;
}

// A string element. Plain strings (no escapes) take a fast path; others go through json::parse.
bool stringElement(std::string_view span, std::string& out) {
    if (span.size() >= 2 && span.front() == '"' && span.back() == '"') {
        const std::string_view inner = span.substr(1, span.size() - 2);
        bool plain = true;
        for (char c : inner)
            if (c == '\\' || c == '"' || static_cast<unsigned char>(c) < 0x20) {
                plain = false;
                break;
            }
        if (plain) {
            if (!json::isValidUtf8(inner)) return false;
            out.assign(inner);
            return true;
        }
    }
    json::Value v;
    if (!json::parse(span, v, nullptr, 1) || v.type != json::Type::String) return false;
    out = std::move(v.str);
    return true;
}

bool isHexPayload(std::string_view s) {
    if (s.size() % 2) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
    return true;
}

std::string machinePrefix(std::string_view message) {
    static constexpr std::array<std::string_view, 8> kPrefixes = {
        "auth-required", "rate-limited", "restricted", "blocked", "duplicate", "pow", "invalid", "error"};
    const size_t colon = message.find(':');
    if (colon == std::string_view::npos) return {};
    const std::string_view head = message.substr(0, colon);
    for (std::string_view p : kPrefixes)
        if (head == p) return std::string(p);
    return {};
}

bool isObjectSpan(std::string_view span) { return !span.empty() && span.front() == '{'; }

void appendArrayStart(std::string& out, std::string_view type) {
    out += "[\"";
    out += type;
    out += '"';
}

void appendStringElement(std::string& out, std::string_view s) {
    out += ',';
    json::appendQuoted(out, s);
}

std::string simple(std::string_view type, std::string_view a) {
    std::string out;
    appendArrayStart(out, type);
    appendStringElement(out, a);
    out += ']';
    return out;
}

std::string simple2(std::string_view type, std::string_view a, std::string_view b) {
    std::string out;
    appendArrayStart(out, type);
    appendStringElement(out, a);
    appendStringElement(out, b);
    out += ']';
    return out;
}

std::string withFilters(std::string_view type, std::string_view sub_id, const std::vector<Filter>& filters) {
    std::string out;
    appendArrayStart(out, type);
    appendStringElement(out, sub_id);
    for (const Filter& f : filters) {
        out += ',';
        out += serializeFilter(f);
    }
    out += ']';
    return out;
}

RelayMessage relayUnknown(std::string why) {
    RelayMessage m;
    m.message = std::move(why);
    return m;
}

ClientMessage clientUnknown(std::string why) {
    ClientMessage m;
    m.error = std::move(why);
    return m;
}

}  // namespace

const char* relayMsgTypeName(RelayMsgType t) {
    switch (t) {
    case RelayMsgType::Event: return "EVENT";
    case RelayMsgType::Ok: return "OK";
    case RelayMsgType::Eose: return "EOSE";
    case RelayMsgType::Closed: return "CLOSED";
    case RelayMsgType::Notice: return "NOTICE";
    case RelayMsgType::Auth: return "AUTH";
    case RelayMsgType::Count: return "COUNT";
    case RelayMsgType::NegMsg: return "NEG-MSG";
    case RelayMsgType::NegErr: return "NEG-ERR";
    case RelayMsgType::Unknown: break;
    }
    return "UNKNOWN";
}

const char* clientMsgTypeName(ClientMsgType t) {
    switch (t) {
    case ClientMsgType::Event: return "EVENT";
    case ClientMsgType::Req: return "REQ";
    case ClientMsgType::Close: return "CLOSE";
    case ClientMsgType::Auth: return "AUTH";
    case ClientMsgType::Count: return "COUNT";
    case ClientMsgType::NegOpen: return "NEG-OPEN";
    case ClientMsgType::NegMsg: return "NEG-MSG";
    case ClientMsgType::NegClose: return "NEG-CLOSE";
    case ClientMsgType::Unknown: break;
    }
    return "UNKNOWN";
}

RelayMessage parseRelayMessage(std::string_view text) {
    std::vector<std::string_view> el;
    el.reserve(4);
    std::string why;
    std::optional<EventKeys> eventKeys;
    bool eventRead = false;
    if (!splitArray(text, el, why, &eventKeys, &eventRead)) return relayUnknown(why);
    std::string type;
    if (!stringElement(el[0], type)) return relayUnknown("message type is not a string");

    auto need = [&](size_t n) { return el.size() >= n; };
    RelayMessage m;
    if (type == "EVENT") {
        if (!need(3)) return relayUnknown("EVENT needs a subscription id and an event");
        if (!stringElement(el[1], m.subscription_id)) return relayUnknown("EVENT subscription id is not a string");
        if (!isObjectSpan(el[2])) return relayUnknown("EVENT payload is not an object");
        m.event_json = el[2];
        m.event_keys = eventRead ? std::move(eventKeys) : peekEventKeys(m.event_json);
        m.type = RelayMsgType::Event;
        return m;
    }
    if (type == "OK") {
        if (!need(3)) return relayUnknown("OK needs an event id and a status");
        std::string id;
        if (!stringElement(el[1], id) || !fromHex(id, m.event_id.data(), 32))
            return relayUnknown("OK event id is not 64 lowercase hex");
        if (el[2] == "true") m.accepted = true;
        else if (el[2] == "false") m.accepted = false;
        else return relayUnknown("OK status is not a boolean");
        if (el.size() >= 4 && !stringElement(el[3], m.message)) return relayUnknown("OK message is not a string");
        m.prefix = machinePrefix(m.message);
        m.type = RelayMsgType::Ok;
        return m;
    }
    if (type == "EOSE") {
        if (!need(2) || !stringElement(el[1], m.subscription_id))
            return relayUnknown("EOSE needs a subscription id string");
        m.type = RelayMsgType::Eose;
        return m;
    }
    if (type == "CLOSED") {
        if (!need(2) || !stringElement(el[1], m.subscription_id))
            return relayUnknown("CLOSED needs a subscription id string");
        if (el.size() >= 3 && !stringElement(el[2], m.message)) return relayUnknown("CLOSED message is not a string");
        m.prefix = machinePrefix(m.message);
        m.type = RelayMsgType::Closed;
        return m;
    }
    if (type == "NOTICE") {
        if (!need(2) || !stringElement(el[1], m.message)) return relayUnknown("NOTICE needs a message string");
        m.type = RelayMsgType::Notice;
        return m;
    }
    if (type == "AUTH") {
        if (!need(2) || !stringElement(el[1], m.message)) return relayUnknown("AUTH needs a challenge string");
        m.type = RelayMsgType::Auth;
        return m;
    }
    if (type == "COUNT") {
        if (!need(3) || !stringElement(el[1], m.subscription_id))
            return relayUnknown("COUNT needs a subscription id and a result");
        json::Value v;
        if (!json::parse(el[2], v, nullptr, 4) || v.type != json::Type::Object)
            return relayUnknown("COUNT result is not an object");
        const json::Value* c = v.find("count");
        if (!c || c->type != json::Type::Number || !json::parseUnsigned(c->raw, UINT64_MAX, m.count))
            return relayUnknown("COUNT result has no non-negative integer \"count\"");
        if (const json::Value* a = v.find("approximate"); a && a->type == json::Type::Bool) m.approximate = a->boolean;
        m.type = RelayMsgType::Count;
        return m;
    }
    if (type == "NEG-MSG") {
        if (!need(3) || !stringElement(el[1], m.subscription_id) || !stringElement(el[2], m.message))
            return relayUnknown("NEG-MSG needs a subscription id and a message string");
        if (!isHexPayload(m.message)) return relayUnknown("NEG-MSG payload is not hex");
        m.type = RelayMsgType::NegMsg;
        return m;
    }
    if (type == "NEG-ERR") {
        if (!need(3) || !stringElement(el[1], m.subscription_id) || !stringElement(el[2], m.message))
            return relayUnknown("NEG-ERR needs a subscription id and a reason string");
        m.type = RelayMsgType::NegErr;
        return m;
    }
    if (type.size() > 32) type = type.substr(0, 32) + "…";
    return relayUnknown("unknown message type \"" + type + "\"");
}

ClientMessage parseClientMessage(std::string_view text) {
    std::vector<std::string_view> el;
    std::string why;
    if (!splitArray(text, el, why)) return clientUnknown(why);
    std::string type;
    if (!stringElement(el[0], type)) return clientUnknown("message type is not a string");

    ClientMessage m;
    auto subId = [&](const char* what) -> bool {
        if (el.size() < 2 || !stringElement(el[1], m.subscription_id)) {
            why = std::string(what) + " needs a subscription id string";
            return false;
        }
        if (m.subscription_id.empty() || m.subscription_id.size() > kMaxSubscriptionIdLength) {
            why = std::string(what) + " subscription id must be 1…" + std::to_string(kMaxSubscriptionIdLength) +
                  " characters";
            return false;
        }
        return true;
    };
    auto filtersFrom = [&](size_t first, size_t last, const char* what) -> bool {
        if (last <= first) {
            why = std::string(what) + " needs at least one filter";
            return false;
        }
        for (size_t i = first; i < last; ++i) {
            auto f = parseFilter(el[i]);
            if (!f) {
                why = std::string(what) + " filter " + std::to_string(i - first + 1) + ": " + f.error().message;
                return false;
            }
            m.filters.push_back(std::move(*f));
        }
        return true;
    };

    if (type == "EVENT" || type == "AUTH") {
        if (el.size() < 2 || !isObjectSpan(el[1])) return clientUnknown(type + " needs an event object");
        m.event_json = el[1];
        m.type = type == "EVENT" ? ClientMsgType::Event : ClientMsgType::Auth;
        return m;
    }
    if (type == "REQ" || type == "COUNT") {
        if (!subId(type.c_str()) || !filtersFrom(2, el.size(), type.c_str())) return clientUnknown(why);
        m.type = type == "REQ" ? ClientMsgType::Req : ClientMsgType::Count;
        return m;
    }
    if (type == "CLOSE" || type == "NEG-CLOSE") {
        if (!subId(type.c_str())) return clientUnknown(why);
        m.type = type == "CLOSE" ? ClientMsgType::Close : ClientMsgType::NegClose;
        return m;
    }
    if (type == "NEG-OPEN") {
        if (!subId("NEG-OPEN")) return clientUnknown(why);
        if (el.size() < 4) return clientUnknown("NEG-OPEN needs a filter and an initial message");
        if (!filtersFrom(2, 3, "NEG-OPEN")) return clientUnknown(why);
        if (!stringElement(el[3], m.payload) || !isHexPayload(m.payload))
            return clientUnknown("NEG-OPEN initial message is not a hex string");
        m.type = ClientMsgType::NegOpen;
        return m;
    }
    if (type == "NEG-MSG") {
        if (!subId("NEG-MSG")) return clientUnknown(why);
        if (el.size() < 3 || !stringElement(el[2], m.payload) || !isHexPayload(m.payload))
            return clientUnknown("NEG-MSG message is not a hex string");
        m.type = ClientMsgType::NegMsg;
        return m;
    }
    if (type.size() > 32) type = type.substr(0, 32) + "…";
    return clientUnknown("unknown message type \"" + type + "\"");
}

std::string makeReq(std::string_view sub_id, const std::vector<Filter>& filters) {
    return withFilters("REQ", sub_id, filters);
}

std::string makeCount(std::string_view sub_id, const std::vector<Filter>& filters) {
    return withFilters("COUNT", sub_id, filters);
}

std::string makeClose(std::string_view sub_id) { return simple("CLOSE", sub_id); }

std::string makeEventMsg(const Event& e) {
    std::string out = "[\"EVENT\",";
    appendEventJson(out, e);
    out += ']';
    return out;
}

std::string makeAuth(const Event& auth_event) {
    std::string out = "[\"AUTH\",";
    appendEventJson(out, auth_event);
    out += ']';
    return out;
}

std::string makeNegOpen(std::string_view sub_id, const Filter& f, std::string_view initial_hex) {
    std::string out;
    appendArrayStart(out, "NEG-OPEN");
    appendStringElement(out, sub_id);
    out += ',';
    out += serializeFilter(f);
    appendStringElement(out, initial_hex);
    out += ']';
    return out;
}

std::string makeNegMsg(std::string_view sub_id, std::string_view hex) { return simple2("NEG-MSG", sub_id, hex); }
std::string makeNegClose(std::string_view sub_id) { return simple("NEG-CLOSE", sub_id); }

std::string makeRelayEvent(std::string_view sub_id, std::string_view event_json) {
    std::string out;
    appendArrayStart(out, "EVENT");
    appendStringElement(out, sub_id);
    out += ',';
    out += event_json;
    out += ']';
    return out;
}

std::string makeOk(const Bytes32& event_id, bool accepted, std::string_view message) {
    std::string out;
    appendArrayStart(out, "OK");
    out += ",\"" + toHex(event_id) + "\",";
    out += accepted ? "true" : "false";
    appendStringElement(out, message);
    out += ']';
    return out;
}

std::string makeEose(std::string_view sub_id) { return simple("EOSE", sub_id); }
std::string makeClosed(std::string_view sub_id, std::string_view message) { return simple2("CLOSED", sub_id, message); }
std::string makeNotice(std::string_view message) { return simple("NOTICE", message); }
std::string makeAuthChallenge(std::string_view challenge) { return simple("AUTH", challenge); }

std::string makeCountResult(std::string_view sub_id, uint64_t count) {
    std::string out;
    appendArrayStart(out, "COUNT");
    appendStringElement(out, sub_id);
    out += ",{\"count\":" + std::to_string(count) + "}]";
    return out;
}

std::string makeNegErr(std::string_view sub_id, std::string_view reason) { return simple2("NEG-ERR", sub_id, reason); }

}  // namespace archivist::protocol
