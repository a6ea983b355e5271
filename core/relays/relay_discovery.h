#pragma once
// Relay discovery: the relay URLs an archived event names, normalised, with junk rejected and
// counted per reason (docs/relay-directory.md lists the sources and reasons).
//
// Contract
// - discoverRelays() is a pure function of the event, the options and the address policy's allow
//   list; it never resolves a host name (that happens at connect time, through the address policy
//   again). It is cheap enough for the commit path: events of kinds that cannot carry a URL and
//   without e/p/a/q tags with a third element return at once without allocating.
// - At most kMaxUrlsPerEvent URLs are returned per event; the rest are counted as "too_many".
// - A URL named twice in one event is returned once (the first occurrence, sources in the order
//   nip66, nip65, kind3, hint) and the repetition is counted as "duplicate".
// - Empty hint strings ("", the usual placeholder in e/p tags) are not URLs and are not counted.
// - IP literals are checked with AddressPolicy::check(); with a null policy the default policy
//   applies (public unicast only). Note that check() also counts its refusals in the policy's
//   own refusal counters, so the console's address-refusal counts include discovery refusals.
// - ".onion" hosts are refused ("onion") unless DiscoveryOptions::allow_onion: the engine has no
//   Tor transport, so such URLs could only ever fail. Local-only names (localhost, *.localhost,
//   *.local, *.localdomain, *.internal, *.lan, *.home.arpa and single-label names) are refused
//   ("local_name"): they reach the operator's own network, not the public relay network.
// Thread: any. DiscoveryCounters is a plain value owned by the caller (one per thread; the
// caller publishes copies).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/event.h"

namespace archivist::net {
class AddressPolicy;
}

namespace archivist::relays {

inline constexpr size_t kMaxUrlsPerEvent = 256;
inline constexpr size_t kMaxDiscoveredUrlBytes = 255;

// Why a URL was rejected. Names (discoveryJunkName) are stable: metrics labels, console.
enum class DiscoveryJunk : uint8_t {
    NotWebsocket,    // "not_ws": scheme other than ws/wss (https://, nostr:, bare host)
    Unparsable,      // "unparsable": not a URL (bad host characters, bad port, lists of URLs, #fragment)
    TooLong,         // "too_long": more than kMaxDiscoveredUrlBytes bytes
    Credentials,     // "credentials": user:password@ in the URL
    NoHost,          // "no_host": "wss://" or "wss:///path"
    AddressRefused,  // "address_refused": IP literal refused by the address policy
    Onion,           // "onion": .onion host and onion not allowed
    LocalName,       // "local_name": localhost and other names that are local by definition
    ControlChars,    // "control_chars": control characters or spaces inside the URL
    Duplicate,       // "duplicate": the same URL twice in one event
    TooMany,         // "too_many": beyond kMaxUrlsPerEvent in one event
    Count
};
inline constexpr size_t kDiscoveryJunkCount = size_t(DiscoveryJunk::Count);
const char* discoveryJunkName(DiscoveryJunk reason);

// Where a URL was found. Names (discoverySourceName) are the directory's `source` values.
enum class DiscoverySource : uint8_t {
    Nip65,  // "nip65": kind 10002 `r` tags
    Kind3,  // "kind3": legacy kind 3 content, a JSON object whose keys are relay URLs
    Nip66,  // "nip66": kind 30166 `d` tag (relay discovery report)
    Hint,   // "hint": third element of e, p, a and q tags of any event
    Count
};
inline constexpr size_t kDiscoverySourceCount = size_t(DiscoverySource::Count);
const char* discoverySourceName(DiscoverySource source);

struct DiscoveryCounters {
    std::array<uint64_t, kDiscoveryJunkCount> junk{};     // by DiscoveryJunk
    std::array<uint64_t, kDiscoverySourceCount> found{};  // URLs returned, by DiscoverySource
    uint64_t events_with_urls = 0;

    uint64_t junkTotal() const;
    uint64_t junkCount(DiscoveryJunk r) const { return junk[size_t(r)]; }
    uint64_t foundCount(DiscoverySource s) const { return found[size_t(s)]; }
};

struct DiscoveredUrl {
    std::string url;      // normalised (net::normalizeRelayUrl)
    std::string source;   // discoverySourceName()
    // NIP-66 report fields (source "nip66" only); -1 = not reported. A report is a prefilter for
    // the prober, never the truth about a relay.
    int64_t rtt_open_ms = -1;
    int64_t rtt_read_ms = -1;
    int64_t rtt_write_ms = -1;
    int8_t requires_auth = -1;     // R auth / !auth: 1 / 0, -1 = not reported
    int8_t requires_payment = -1;  // R payment / !payment
    int8_t restricts_writes = -1;  // R writes / !writes
    std::string network;           // n tag: "clearnet", "tor", "i2p", … ("" = not reported)
    int64_t reported_at = 0;       // the event's created_at (seconds)
};

struct DiscoveryOptions {
    const net::AddressPolicy* policy = nullptr;  // null = default policy (public unicast only)
    bool allow_onion = false;
};

// Checks one candidate URL text: the normalised URL, or the reason it is junk.
struct UrlVerdict {
    bool ok = false;
    DiscoveryJunk reason = DiscoveryJunk::Unparsable;
    std::string url;
};
UrlVerdict checkDiscoveredUrl(std::string_view text, const DiscoveryOptions& options);

std::vector<DiscoveredUrl> discoverRelays(const protocol::Event& ev, DiscoveryCounters& counters,
                                          const DiscoveryOptions& options = {});

}  // namespace archivist::relays
