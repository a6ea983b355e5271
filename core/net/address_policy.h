#pragma once
// Address policy: which IP addresses the engine may connect to.
//
// A relay URL comes from strangers (NIP-65 lists, hints, discovery), so by default the engine
// refuses every address that is not public unicast: loopback, private, link-local, CGNAT,
// multicast, unspecified, broadcast, reserved/documentation and cloud metadata endpoints. The
// check runs on the address actually connected to (after DNS), and looks through IPv6 forms that
// embed an IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16).
// An allow list of CIDRs lets tests and LAN relays through. See docs/address-policy.md.
//
// Contract
// - check(), classify() and refusals() are safe to call concurrently from any thread (the counters
//   are atomics). The allow list is copied on write: allow()/allowText() may run while other
//   threads check() (the running engine adds a rule the operator allowed); a check sees the list
//   before or after the new rule, never a partial one. One thread configures (the policy's owner).
// - check() counts every refused address in refusals(cls): the console shows these counts.
// - Cloud metadata addresses are allowed only by a rule naming exactly that address (/32 or
//   /128); a broad rule such as 169.254.0.0/16 or 0.0.0.0/0 does not cover them.
// - The allow list is bounded (kMaxAllowRules); allow() beyond it drops the rule, logs a
//   warning and counts it in droppedRules(); allowText() returns "too_many" instead.
#include <QHostAddress>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/expected.h"

namespace archivist::net {

// Stable names (addressClassName) are used in logs, metrics labels and the console.
enum class AddressClass : uint8_t {
    Public,         // "public"
    Loopback,       // "loopback"        127/8, ::1
    Private,        // "private"         10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10
    LinkLocal,      // "link_local"      169.254/16, fe80::/10
    Cgnat,          // "cgnat"           100.64/10
    Multicast,      // "multicast"       224/4, ff00::/8
    Unspecified,    // "unspecified"     0/8, ::
    Broadcast,      // "broadcast"       255.255.255.255
    Reserved,       // "reserved"        240/4, 192.0.0/24, 198.18/15, documentation, non-global v6
    CloudMetadata,  // "cloud_metadata"  169.254.169.254, 169.254.170.2, fd00:ec2::254, 100.100.100.200
    Invalid,        // "invalid"         a null/unparsable QHostAddress
};
inline constexpr size_t kAddressClassCount = 11;

std::string_view addressClassName(AddressClass cls);
std::optional<AddressClass> addressClassFromName(std::string_view name);

struct Cidr {
    QHostAddress network;  // host bits cleared
    int prefix_length = 0;

    bool isIpv4() const { return network.protocol() == QAbstractSocket::IPv4Protocol; }
    // Same family and the first prefix_length bits equal. No IPv4/IPv6 cross-matching here.
    bool contains(const QHostAddress& address) const;
    std::string toString() const;  // "10.0.0.0/8", "::1/128"
    bool operator==(const Cidr& other) const;
};

struct Classification {
    AddressClass cls = AddressClass::Invalid;
    std::optional<Cidr> range;                  // the special-purpose range that matched
    std::optional<QHostAddress> embedded_ipv4;  // for ::ffff:a.b.c.d, 64:ff9b::/96, 2002::/16
};

struct Verdict {
    bool allowed = false;
    AddressClass cls = AddressClass::Invalid;
    // Refused: "loopback address 127.0.0.1 refused (allow with --allow-address 127.0.0.0/8)".
    // Allowed by a rule: "loopback address 127.0.0.1 allowed by 127.0.0.0/8". Public: "".
    std::string reason;
};

class AddressPolicy {
public:
    static constexpr size_t kMaxAllowRules = 1024;

    AddressPolicy() = default;
    AddressPolicy(const AddressPolicy&) = delete;
    AddressPolicy& operator=(const AddressPolicy&) = delete;

    // "10.0.0.0/8", "::1/128", or a bare address (= /32 or /128). Host bits are cleared.
    // Errors: "cidr" (with the offending text in the message).
    static Expected<Cidr> parseCidr(std::string_view text);
    // Pure; thread-safe.
    static Classification classify(const QHostAddress& address);

    // Configuration (the owner's thread; also while shared). Duplicates are ignored.
    void allow(Cidr rule);
    Expected<void> allowText(std::string_view text);
    std::vector<Cidr> allowList() const;

    // Thread: any (after configuration).
    Verdict check(const QHostAddress& address) const;
    uint64_t refusals(AddressClass cls) const;
    uint64_t refusalsTotal() const;
    uint64_t droppedRules() const { return m_droppedRules.load(std::memory_order_relaxed); }

private:
    std::shared_ptr<const std::vector<Cidr>> rules() const;

    mutable std::mutex m_allowMutex;  // guards the pointer only; the list it points to never changes
    std::shared_ptr<const std::vector<Cidr>> m_allow = std::make_shared<const std::vector<Cidr>>();
    mutable std::array<std::atomic<uint64_t>, kAddressClassCount> m_refusals{};
    std::atomic<uint64_t> m_droppedRules{0};
};

}  // namespace archivist::net
