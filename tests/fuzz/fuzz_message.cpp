// Fuzzes the websocket message codec in both directions. Nothing may crash or read out of
// bounds; an EVENT/AUTH span must lie inside the input (and an EVENT's keys be what peekEventKeys
// reads from it); a parsed client message must survive
// serialise → parse unchanged (filters included).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/protocol/event_codec.h"
#include "core/protocol/relay_message.h"

using namespace archivist::protocol;

namespace {

void requireInside(std::string_view span, std::string_view text) {
    if (span.empty()) return;
    if (span.data() < text.data() || span.data() + span.size() > text.data() + text.size()) std::abort();
}

void checkClientRoundTrip(const ClientMessage& m) {
    std::string again;
    switch (m.type) {
    case ClientMsgType::Req: again = makeReq(m.subscription_id, m.filters); break;
    case ClientMsgType::Count: again = makeCount(m.subscription_id, m.filters); break;
    case ClientMsgType::Close: again = makeClose(m.subscription_id); break;
    case ClientMsgType::NegOpen: again = makeNegOpen(m.subscription_id, m.filters.at(0), m.payload); break;
    case ClientMsgType::NegMsg: again = makeNegMsg(m.subscription_id, m.payload); break;
    case ClientMsgType::NegClose: again = makeNegClose(m.subscription_id); break;
    default: return;
    }
    const ClientMessage back = parseClientMessage(again);
    if (back.type != m.type || back.subscription_id != m.subscription_id || back.filters != m.filters ||
        back.payload != m.payload)
        std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);

    const RelayMessage r = parseRelayMessage(text);
    requireInside(r.event_json, text);
    if (r.type == RelayMsgType::Event) {
        if (r.event_json.empty() || r.event_json.front() != '{') std::abort();
        Event e;
        (void)parseEvent(r.event_json, e);
        // The keys read while splitting are those peekEventKeys reads from the span.
        const auto keys = peekEventKeys(r.event_json);
        if (keys.has_value() != r.event_keys.has_value()) std::abort();
        if (keys && (keys->id != r.event_keys->id || keys->created_at != r.event_keys->created_at ||
                     keys->kind != r.event_keys->kind || keys->pubkey != r.event_keys->pubkey))
            std::abort();
    }
    if (r.type == RelayMsgType::Unknown && r.message.empty()) std::abort();

    const ClientMessage c = parseClientMessage(text);
    requireInside(c.event_json, text);
    if (c.type == ClientMsgType::Unknown && c.error.empty()) std::abort();
    checkClientRoundTrip(c);
    return 0;
}
