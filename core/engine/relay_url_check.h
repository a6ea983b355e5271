#pragma once
// Checking relay URLs the way the engine takes them: normalised (one canonical text per relay)
// and, for an address literal, checked against the address policy. Engine::checkRelayUrls is
// this with the engine's policy; the Add relays dialog shows its verdicts as the operator types.
// Thread: any (pure).
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>
#include <cstdint>
#include <optional>

namespace archivist::net {
class AddressPolicy;
struct RelayUrl;
}  // namespace archivist::net

namespace archivist::engine {

struct RelayUrlCheck {
    enum class Problem : uint8_t {
        None,
        Scheme,          // not ws:// or wss://
        Userinfo,        // user name or password in the URL
        Host,            // invalid host (incl. shorthand numeric hosts)
        Port,            // invalid port
        Fragment,        // a #fragment
        TooLong,         // longer than the bound
        Syntax,          // not a URL
        AddressRefused,  // a literal address the policy refuses
    };
    QString input;       // as given
    QString normalized;  // the canonical URL, when it parses
    Problem problem = Problem::None;
    QString detail;      // the engine's words: why not, or a note ("… allowed by 127.0.0.0/8")

    bool ok() const { return problem == Problem::None; }
};

// With a policy built from these CIDRs (an invalid one is skipped).
QVector<RelayUrlCheck> checkRelayUrls(const QStringList& urls, const QStringList& allow_cidrs);
// One URL against `policy`; `parsed` (may be null) gets the parsed URL when it is ok.
RelayUrlCheck checkRelayUrl(const QString& url, const net::AddressPolicy& policy, net::RelayUrl* parsed = nullptr);

}  // namespace archivist::engine
