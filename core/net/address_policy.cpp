#include "core/net/address_policy.h"

#include <algorithm>
#include <cstring>

#include "core/observe/log.h"

namespace archivist::net {
namespace {

using Bytes16 = std::array<uint8_t, 16>;

// IPv4 in the first 4 bytes (network order), IPv6 in all 16.
Bytes16 bytesOf(const QHostAddress& a) {
    Bytes16 b{};
    if (a.protocol() == QAbstractSocket::IPv4Protocol) {
        const quint32 v = a.toIPv4Address();
        b[0] = uint8_t(v >> 24);
        b[1] = uint8_t(v >> 16);
        b[2] = uint8_t(v >> 8);
        b[3] = uint8_t(v);
    } else {
        const Q_IPV6ADDR v = a.toIPv6Address();
        std::memcpy(b.data(), v.c, 16);
    }
    return b;
}

bool prefixEqual(const Bytes16& a, const Bytes16& b, int bits) {
    const int whole = bits / 8;
    if (std::memcmp(a.data(), b.data(), size_t(whole)) != 0) return false;
    const int rest = bits % 8;
    if (rest == 0) return true;
    const uint8_t mask = uint8_t(0xff << (8 - rest));
    return (a[size_t(whole)] & mask) == (b[size_t(whole)] & mask);
}

bool isV4(const QHostAddress& a) { return a.protocol() == QAbstractSocket::IPv4Protocol; }
bool isV6(const QHostAddress& a) { return a.protocol() == QAbstractSocket::IPv6Protocol; }

struct Range {
    Cidr cidr;
    AddressClass cls;
};

Cidr cidrOf(const char* text) {
    auto c = AddressPolicy::parseCidr(text);
    Q_ASSERT(c.ok());
    return c.value();
}

// Special-purpose ranges (RFC 6890 and successors), most specific first.
const std::vector<Range>& ranges() {
    static const std::vector<Range> table = [] {
        std::vector<Range> t = {
            {cidrOf("0.0.0.0/8"), AddressClass::Unspecified},
            {cidrOf("10.0.0.0/8"), AddressClass::Private},
            {cidrOf("100.64.0.0/10"), AddressClass::Cgnat},
            {cidrOf("100.100.100.200/32"), AddressClass::CloudMetadata},  // Alibaba Cloud
            {cidrOf("127.0.0.0/8"), AddressClass::Loopback},
            {cidrOf("169.254.0.0/16"), AddressClass::LinkLocal},
            {cidrOf("169.254.169.254/32"), AddressClass::CloudMetadata},  // AWS, GCP, Azure, ...
            {cidrOf("169.254.170.2/32"), AddressClass::CloudMetadata},    // AWS ECS task metadata
            {cidrOf("172.16.0.0/12"), AddressClass::Private},
            {cidrOf("192.0.0.0/24"), AddressClass::Reserved},     // IETF protocol assignments
            {cidrOf("192.0.2.0/24"), AddressClass::Reserved},     // TEST-NET-1
            {cidrOf("192.88.99.0/24"), AddressClass::Reserved},   // deprecated 6to4 relay anycast
            {cidrOf("192.168.0.0/16"), AddressClass::Private},
            {cidrOf("198.18.0.0/15"), AddressClass::Reserved},    // benchmarking
            {cidrOf("198.51.100.0/24"), AddressClass::Reserved},  // TEST-NET-2
            {cidrOf("203.0.113.0/24"), AddressClass::Reserved},   // TEST-NET-3
            {cidrOf("224.0.0.0/4"), AddressClass::Multicast},
            {cidrOf("240.0.0.0/4"), AddressClass::Reserved},
            {cidrOf("255.255.255.255/32"), AddressClass::Broadcast},
            {cidrOf("::/128"), AddressClass::Unspecified},
            {cidrOf("::1/128"), AddressClass::Loopback},
            {cidrOf("::/96"), AddressClass::Reserved},          // deprecated IPv4-compatible
            {cidrOf("64:ff9b:1::/48"), AddressClass::Reserved},  // local-use NAT64
            {cidrOf("100::/64"), AddressClass::Reserved},        // discard-only
            {cidrOf("2001::/23"), AddressClass::Reserved},       // IETF assignments, Teredo, ORCHID
            {cidrOf("2001:db8::/32"), AddressClass::Reserved},   // documentation
            {cidrOf("3fff::/20"), AddressClass::Reserved},       // documentation (RFC 9637)
            {cidrOf("fc00::/7"), AddressClass::Private},         // unique local
            {cidrOf("fd00:ec2::254/128"), AddressClass::CloudMetadata},  // AWS IMDS over IPv6
            {cidrOf("fec0::/10"), AddressClass::Private},        // deprecated site-local
            {cidrOf("fe80::/10"), AddressClass::LinkLocal},
            {cidrOf("ff00::/8"), AddressClass::Multicast},
        };
        std::stable_sort(t.begin(), t.end(),
                         [](const Range& a, const Range& b) { return a.cidr.prefix_length > b.cidr.prefix_length; });
        return t;
    }();
    return table;
}

std::optional<QHostAddress> embeddedIpv4(const QHostAddress& a) {
    if (!isV6(a)) return std::nullopt;
    static const Cidr kMapped = cidrOf("::ffff:0:0/96");
    static const Cidr kNat64 = cidrOf("64:ff9b::/96");
    static const Cidr k6to4 = cidrOf("2002::/16");
    const Bytes16 b = bytesOf(a);
    auto v4At = [&](size_t off) {
        return QHostAddress(quint32(b[off]) << 24 | quint32(b[off + 1]) << 16 | quint32(b[off + 2]) << 8 |
                            quint32(b[off + 3]));
    };
    if (kMapped.contains(a) || kNat64.contains(a)) return v4At(12);
    if (k6to4.contains(a)) return v4At(2);
    return std::nullopt;
}

std::string_view humanName(AddressClass cls) {
    switch (cls) {
    case AddressClass::Public: return "public";
    case AddressClass::Loopback: return "loopback";
    case AddressClass::Private: return "private";
    case AddressClass::LinkLocal: return "link-local";
    case AddressClass::Cgnat: return "CGNAT";
    case AddressClass::Multicast: return "multicast";
    case AddressClass::Unspecified: return "unspecified";
    case AddressClass::Broadcast: return "broadcast";
    case AddressClass::Reserved: return "reserved";
    case AddressClass::CloudMetadata: return "cloud metadata";
    case AddressClass::Invalid: return "invalid";
    }
    return "invalid";
}

}  // namespace

std::string_view addressClassName(AddressClass cls) {
    switch (cls) {
    case AddressClass::Public: return "public";
    case AddressClass::Loopback: return "loopback";
    case AddressClass::Private: return "private";
    case AddressClass::LinkLocal: return "link_local";
    case AddressClass::Cgnat: return "cgnat";
    case AddressClass::Multicast: return "multicast";
    case AddressClass::Unspecified: return "unspecified";
    case AddressClass::Broadcast: return "broadcast";
    case AddressClass::Reserved: return "reserved";
    case AddressClass::CloudMetadata: return "cloud_metadata";
    case AddressClass::Invalid: return "invalid";
    }
    return "invalid";
}

std::optional<AddressClass> addressClassFromName(std::string_view name) {
    for (size_t i = 0; i < kAddressClassCount; ++i) {
        const auto cls = static_cast<AddressClass>(i);
        if (addressClassName(cls) == name) return cls;
    }
    return std::nullopt;
}

bool Cidr::contains(const QHostAddress& address) const {
    if (address.protocol() != network.protocol()) return false;
    if (!isV4(address) && !isV6(address)) return false;
    return prefixEqual(bytesOf(address), bytesOf(network), prefix_length);
}

std::string Cidr::toString() const {
    return network.toString().toStdString() + "/" + std::to_string(prefix_length);
}

bool Cidr::operator==(const Cidr& other) const {
    return prefix_length == other.prefix_length && network == other.network;
}

Expected<Cidr> AddressPolicy::parseCidr(std::string_view raw) {
    std::string_view text = raw;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    const auto bad = [&](const std::string& why) {
        return makeError("cidr", "'" + std::string(raw) + "' is not an address or CIDR: " + why);
    };
    const size_t slash = text.find('/');
    const std::string_view addr_text = text.substr(0, slash);
    if (addr_text.empty()) return bad("no address");
    if (addr_text.find('%') != std::string_view::npos) return bad("zone ids are not allowed");
    QHostAddress addr;
    if (!addr.setAddress(QString::fromLatin1(addr_text.data(), qsizetype(addr_text.size()))) ||
        (!isV4(addr) && !isV6(addr))) {
        return bad("unparsable address");
    }
    if (isV4(addr)) {
        // Qt also accepts inet_aton shorthand ("10.1"); a rule must say exactly what it means.
        int dots = 0;
        for (char ch : addr_text) {
            if (ch == '.') ++dots;
            else if (ch < '0' || ch > '9') return bad("IPv4 must be a dotted quad");
        }
        if (dots != 3) return bad("IPv4 must be a dotted quad");
    }
    const int max_bits = isV4(addr) ? 32 : 128;
    int prefix = max_bits;
    if (slash != std::string_view::npos) {
        const std::string_view p = text.substr(slash + 1);
        if (p.empty() || p.size() > 3) return bad("invalid prefix length");
        prefix = 0;
        for (char c : p) {
            if (c < '0' || c > '9') return bad("invalid prefix length");
            prefix = prefix * 10 + (c - '0');
        }
        if (prefix > max_bits) return bad("prefix length above " + std::to_string(max_bits));
    }
    Bytes16 b = bytesOf(addr);
    for (int bit = prefix; bit < max_bits; ++bit) b[size_t(bit / 8)] &= uint8_t(~(0x80 >> (bit % 8)));
    Cidr c;
    if (max_bits == 32) {
        c.network = QHostAddress(quint32(b[0]) << 24 | quint32(b[1]) << 16 | quint32(b[2]) << 8 | quint32(b[3]));
    } else {
        c.network = QHostAddress(b.data());
    }
    c.prefix_length = prefix;
    return c;
}

Classification AddressPolicy::classify(const QHostAddress& address) {
    Classification out;
    if (address.isNull() || (!isV4(address) && !isV6(address))) return out;
    if (auto v4 = embeddedIpv4(address)) {
        Classification inner = classify(*v4);
        inner.embedded_ipv4 = *v4;
        return inner;
    }
    for (const Range& r : ranges()) {
        if (r.cidr.contains(address)) {
            out.cls = r.cls;
            out.range = r.cidr;
            return out;
        }
    }
    static const Cidr kGlobalUnicast = cidrOf("2000::/3");
    if (isV6(address) && !kGlobalUnicast.contains(address)) {
        out.cls = AddressClass::Reserved;  // unassigned IPv6 space
        Cidr exact;
        exact.network = QHostAddress(address.toIPv6Address());
        exact.prefix_length = 128;
        out.range = exact;
        return out;
    }
    out.cls = AddressClass::Public;
    return out;
}

std::shared_ptr<const std::vector<Cidr>> AddressPolicy::rules() const {
    std::lock_guard lock(m_allowMutex);
    return m_allow;
}

std::vector<Cidr> AddressPolicy::allowList() const { return *rules(); }

void AddressPolicy::allow(Cidr rule) {
    const auto current = rules();
    if (std::find(current->begin(), current->end(), rule) != current->end()) return;
    if (current->size() >= kMaxAllowRules) {
        m_droppedRules.fetch_add(1, std::memory_order_relaxed);
        qCWarning(lcNet) << "address allow list full (" << kMaxAllowRules << "rules); dropped"
                         << QString::fromStdString(rule.toString());
        return;
    }
    auto next = std::make_shared<std::vector<Cidr>>(*current);
    next->push_back(std::move(rule));
    std::lock_guard lock(m_allowMutex);
    m_allow = std::move(next);
}

Expected<void> AddressPolicy::allowText(std::string_view text) {
    auto c = parseCidr(text);
    if (!c) return c.error();
    const auto current = rules();
    if (current->size() >= kMaxAllowRules &&
        std::find(current->begin(), current->end(), c.value()) == current->end()) {
        return makeError("too_many", "address allow list is limited to " + std::to_string(kMaxAllowRules) +
                                         " rules; '" + std::string(text) + "' not added");
    }
    allow(std::move(c.value()));
    return {};
}

Verdict AddressPolicy::check(const QHostAddress& address) const {
    const Classification c = classify(address);
    Verdict v;
    v.cls = c.cls;
    if (c.cls == AddressClass::Public) {
        v.allowed = true;
        return v;
    }
    // QHostAddress::toString() keeps a scope id; the reason names the address as given.
    std::string shown = address.isNull() ? std::string("<none>") : address.toString().toStdString();
    if (c.embedded_ipv4) shown += " (embeds " + c.embedded_ipv4->toString().toStdString() + ")";
    const std::string what = std::string(humanName(c.cls)) + " address " + shown;

    if (c.cls != AddressClass::Invalid) {
        const auto allowed = rules();
        for (const Cidr& rule : *allowed) {
            const bool matches = rule.contains(address) || (c.embedded_ipv4 && rule.contains(*c.embedded_ipv4));
            if (!matches) continue;
            if (c.cls == AddressClass::CloudMetadata && rule.prefix_length != (rule.isIpv4() ? 32 : 128)) continue;
            v.allowed = true;
            v.reason = what + " allowed by " + rule.toString();
            return v;
        }
    }
    m_refusals[size_t(c.cls)].fetch_add(1, std::memory_order_relaxed);
    v.reason = what + " refused";
    if (c.range) v.reason += " (allow with --allow-address " + c.range->toString() + ")";
    return v;
}

uint64_t AddressPolicy::refusals(AddressClass cls) const {
    return m_refusals[size_t(cls)].load(std::memory_order_relaxed);
}

uint64_t AddressPolicy::refusalsTotal() const {
    uint64_t total = 0;
    for (const auto& r : m_refusals) total += r.load(std::memory_order_relaxed);
    return total;
}

}  // namespace archivist::net
