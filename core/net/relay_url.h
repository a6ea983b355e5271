#pragma once
// Relay URL normalisation: one canonical text per relay so the directory, the connection set
// and the statistics never count the same relay twice.
//
// Contract
// - normalizeRelayUrl() is pure and thread-safe; it never touches the network.
// - Accepts only ws:// and wss:// (any letter case). http(s) is an error ("scheme"), never
//   silently rewritten: a typo should be visible, not guessed at.
// - Canonical form: lower-case scheme and host, IDN hosts in punycode (ACE), a single trailing
//   dot of the host dropped, default port (80 ws / 443 wss) dropped, a lone "/" path dropped,
//   other paths and the query kept as written except that non-ASCII and unsafe characters are
//   percent-encoded and existing escapes get upper-case hex. IPv6 literals are bracketed in
//   canonical compressed form ("ws://[::1]:7777").
// - Numeric hosts must be a strict dotted quad ("127.0.0.1"); shorthand and hex/octal forms
//   ("127.1", "0x7f.0.0.1", "2130706433", "010.0.0.1") are refused ("host") because resolvers
//   read them differently and they are a classic way around address filters.
// - Errors are UrlErrorCode values; errorCodeName() gives their stable names ("scheme",
//   "userinfo", "host", "port", "fragment", "too_long", "syntax").
#include <QHostAddress>
#include <QUrl>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/util/expected.h"

namespace archivist::net {

inline constexpr size_t kMaxRelayUrlBytes = 2048;

struct RelayUrl {
    std::string text;            // canonical URL, the relay's identity
    std::string scheme;          // "ws" or "wss"
    std::string host;            // lower-case ACE name or address literal (IPv6 without brackets)
    uint16_t port = 0;           // effective port (80/443 when the URL has none)
    std::string path_and_query;  // "" or starts with '/' or '?'
    bool tls = false;            // scheme == "wss"
    std::optional<QHostAddress> literal;  // set when host is an IP address literal

    QUrl toQUrl() const;
    bool operator==(const RelayUrl& other) const { return text == other.text; }
};

enum class UrlErrorCode : uint8_t { Scheme, Userinfo, Host, Port, Fragment, TooLong, Syntax };
const char* errorCodeName(UrlErrorCode code);
using UrlError = CodedError<UrlErrorCode>;

Expected<RelayUrl, UrlError> normalizeRelayUrl(std::string_view text);

}  // namespace archivist::net
