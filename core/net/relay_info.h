#pragma once
// NIP-11 relay information document: the one parser of it (connections act on it, the relay
// directory summarises it for tables). Lenient by design (relays publish all sorts of
// documents): unknown or mistyped fields are ignored; only a body that is not a JSON object is
// an error.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/expected.h"

namespace archivist::net {

struct RelayLimitation {
    std::optional<uint32_t> max_limit;           // events per REQ the relay returns at most
    std::optional<uint32_t> max_subscriptions;   // concurrent subscriptions per connection
    std::optional<uint64_t> max_message_length;  // bytes of one websocket message (both ways)
    std::optional<uint32_t> max_filters;
    bool auth_required = false;
    bool payment_required = false;
    bool restricted_writes = false;
};

struct RelayInfo {
    std::string name;
    std::string software;
    std::string version;
    std::vector<int> supported_nips;  // at most 256 entries kept
    RelayLimitation limitation;
    std::string raw;                  // the document as received (bounded by the fetch's body limit)

    bool supports(int nip) const;
};

Expected<RelayInfo> parseRelayInfo(std::string_view body);

// A document in brief, for tables ("" when absent).
struct RelayInfoSummary {
    std::string name;      // at most 100 bytes
    std::string software;  // "strfry 1.0.1" (software + version)
    std::string summary;   // "NIPs 1, 11, 42 · auth · paid · max_limit 500"
};
RelayInfoSummary summarizeRelayInfo(const RelayInfo& info);

// The http(s) URL a NIP-11 document is fetched from for a ws(s) relay URL.
std::string relayInfoUrl(std::string_view relay_url);

}  // namespace archivist::net
