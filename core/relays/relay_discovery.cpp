#include "core/relays/relay_discovery.h"

#include <algorithm>

#include "core/net/address_policy.h"
#include "core/net/relay_url.h"
#include "core/protocol/json.h"

namespace archivist::relays {

namespace {

constexpr uint16_t kKindContacts = 3;
constexpr uint16_t kKindRelayList = 10002;
constexpr uint16_t kKindRelayDiscovery = 30166;

bool isTrimSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && isTrimSpace(s.front())) s.remove_prefix(1);
    while (!s.empty() && isTrimSpace(s.back())) s.remove_suffix(1);
    return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

bool equalsLower(std::string_view s, std::string_view lower_word) {
    if (s.size() != lower_word.size()) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (lower(s[i]) != lower_word[i]) return false;
    }
    return true;
}

bool endsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// `host` is already lower-case (normalised).
bool isLocalName(std::string_view host) {
    if (host.find('.') == std::string_view::npos) return true;  // single label: search-domain lookup
    static constexpr std::string_view kLocalSuffixes[] = {".localhost", ".local", ".localdomain",
                                                          ".internal", ".lan", ".home.arpa"};
    for (auto suffix : kLocalSuffixes) {
        if (endsWith(host, suffix)) return true;
    }
    return false;
}

bool isHintTag(const std::vector<std::string>& tag) {
    if (tag.size() < 3 || tag[0].size() != 1 || tag[2].empty()) return false;
    const char n = tag[0][0];
    return n == 'e' || n == 'p' || n == 'a' || n == 'q';
}

int64_t parseMs(const std::string& s) {
    uint64_t v = 0;
    if (!protocol::json::parseUnsigned(s, uint64_t(1) << 40, v)) return -1;
    return int64_t(v);
}

class Collector {
public:
    Collector(std::vector<DiscoveredUrl>& out, DiscoveryCounters& counters, const DiscoveryOptions& options,
              int64_t created_at)
        : m_out(out), m_counters(counters), m_options(options), m_created_at(created_at) {}

    DiscoveredUrl* add(std::string_view text, DiscoverySource source) {
        if (m_out.size() >= kMaxUrlsPerEvent) {
            ++m_counters.junk[size_t(DiscoveryJunk::TooMany)];
            return nullptr;
        }
        UrlVerdict v = checkDiscoveredUrl(text, m_options);
        if (!v.ok) {
            ++m_counters.junk[size_t(v.reason)];
            return nullptr;
        }
        for (const auto& d : m_out) {
            if (d.url == v.url) {
                ++m_counters.junk[size_t(DiscoveryJunk::Duplicate)];
                return nullptr;
            }
        }
        if (m_out.empty()) m_out.reserve(4);
        DiscoveredUrl d;
        d.url = std::move(v.url);
        d.source = discoverySourceName(source);
        d.reported_at = m_created_at;
        m_out.push_back(std::move(d));
        ++m_counters.found[size_t(source)];
        return &m_out.back();
    }

private:
    std::vector<DiscoveredUrl>& m_out;
    DiscoveryCounters& m_counters;
    const DiscoveryOptions& m_options;
    int64_t m_created_at;
};

void readNip66(const protocol::Event& ev, Collector& collect) {
    const std::string* d = nullptr;
    for (const auto& tag : ev.tags) {
        if (tag.size() >= 2 && tag[0] == "d") {
            d = &tag[1];
            break;
        }
    }
    if (!d || d->empty()) return;
    DiscoveredUrl* url = collect.add(*d, DiscoverySource::Nip66);
    if (!url) return;
    for (const auto& tag : ev.tags) {
        if (tag.size() < 2) continue;
        const std::string& name = tag[0];
        const std::string& value = tag[1];
        if (name == "rtt-open") url->rtt_open_ms = parseMs(value);
        else if (name == "rtt-read") url->rtt_read_ms = parseMs(value);
        else if (name == "rtt-write") url->rtt_write_ms = parseMs(value);
        else if (name == "n" && url->network.empty() && value.size() <= 16) url->network = value;
        else if (name == "R") {
            const bool negated = !value.empty() && value[0] == '!';
            const std::string_view what = std::string_view(value).substr(negated ? 1 : 0);
            const int8_t flag = negated ? 0 : 1;
            if (what == "auth") url->requires_auth = flag;
            else if (what == "payment") url->requires_payment = flag;
            else if (what == "writes") url->restricts_writes = flag;
        }
    }
}

void readKind3(const protocol::Event& ev, Collector& collect, DiscoveryCounters& counters) {
    const std::string_view content = trim(ev.content);
    if (content.empty() || content.front() != '{') return;  // usually empty: no relay map
    protocol::json::Value root;
    if (!protocol::json::parse(content, root, nullptr, 8) || root.type != protocol::json::Type::Object) {
        ++counters.junk[size_t(DiscoveryJunk::Unparsable)];
        return;
    }
    for (const auto& [key, value] : root.members) {
        (void)value;
        collect.add(key, DiscoverySource::Kind3);
    }
}

}  // namespace

const char* discoveryJunkName(DiscoveryJunk reason) {
    switch (reason) {
    case DiscoveryJunk::NotWebsocket: return "not_ws";
    case DiscoveryJunk::Unparsable: return "unparsable";
    case DiscoveryJunk::TooLong: return "too_long";
    case DiscoveryJunk::Credentials: return "credentials";
    case DiscoveryJunk::NoHost: return "no_host";
    case DiscoveryJunk::AddressRefused: return "address_refused";
    case DiscoveryJunk::Onion: return "onion";
    case DiscoveryJunk::LocalName: return "local_name";
    case DiscoveryJunk::ControlChars: return "control_chars";
    case DiscoveryJunk::Duplicate: return "duplicate";
    case DiscoveryJunk::TooMany: return "too_many";
    case DiscoveryJunk::Count: break;
    }
    return "unknown";
}

const char* discoverySourceName(DiscoverySource source) {
    switch (source) {
    case DiscoverySource::Nip65: return "nip65";
    case DiscoverySource::Kind3: return "kind3";
    case DiscoverySource::Nip66: return "nip66";
    case DiscoverySource::Hint: return "hint";
    case DiscoverySource::Count: break;
    }
    return "unknown";
}

uint64_t DiscoveryCounters::junkTotal() const {
    uint64_t total = 0;
    for (uint64_t n : junk) total += n;
    return total;
}

UrlVerdict checkDiscoveredUrl(std::string_view raw, const DiscoveryOptions& options) {
    UrlVerdict v;
    const auto reject = [&](DiscoveryJunk reason) {
        v.reason = reason;
        return v;
    };
    const std::string_view s = trim(raw);
    if (s.empty()) return reject(DiscoveryJunk::NoHost);
    if (s.size() > kMaxDiscoveredUrlBytes) return reject(DiscoveryJunk::TooLong);
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f || c == ' ') return reject(DiscoveryJunk::ControlChars);
    }
    const size_t colon = s.find(':');
    if (colon == std::string_view::npos) return reject(DiscoveryJunk::NotWebsocket);
    const std::string_view scheme = s.substr(0, colon);
    if (!equalsLower(scheme, "ws") && !equalsLower(scheme, "wss")) return reject(DiscoveryJunk::NotWebsocket);
    if (s.substr(colon + 1, 2) != "//") return reject(DiscoveryJunk::Unparsable);
    const std::string_view rest = s.substr(colon + 3);
    const std::string_view authority = rest.substr(0, std::min(rest.find_first_of("/?#"), rest.size()));
    if (authority.find('@') != std::string_view::npos) return reject(DiscoveryJunk::Credentials);
    if (authority.empty() || authority.front() == ':') return reject(DiscoveryJunk::NoHost);

    auto url = net::normalizeRelayUrl(s);
    if (!url) {
        switch (url.error().code) {
        case net::UrlErrorCode::Scheme: return reject(DiscoveryJunk::NotWebsocket);
        case net::UrlErrorCode::Userinfo: return reject(DiscoveryJunk::Credentials);
        case net::UrlErrorCode::TooLong: return reject(DiscoveryJunk::TooLong);
        default: return reject(DiscoveryJunk::Unparsable);
        }
    }
    if (url->text.size() > kMaxDiscoveredUrlBytes) return reject(DiscoveryJunk::TooLong);
    if (url->literal) {
        if (options.policy) {
            if (!options.policy->check(*url->literal).allowed) return reject(DiscoveryJunk::AddressRefused);
        } else if (net::AddressPolicy::classify(*url->literal).cls != net::AddressClass::Public) {
            return reject(DiscoveryJunk::AddressRefused);
        }
    } else {
        if (endsWith(url->host, ".onion")) {
            if (!options.allow_onion) return reject(DiscoveryJunk::Onion);
        } else if (isLocalName(url->host)) {
            return reject(DiscoveryJunk::LocalName);
        }
    }
    v.ok = true;
    v.url = std::move(url->text);
    return v;
}

std::vector<DiscoveredUrl> discoverRelays(const protocol::Event& ev, DiscoveryCounters& counters,
                                          const DiscoveryOptions& options) {
    std::vector<DiscoveredUrl> out;
    const bool url_kind =
        ev.kind == kKindRelayList || ev.kind == kKindRelayDiscovery || (ev.kind == kKindContacts && !ev.content.empty());
    if (!url_kind && std::none_of(ev.tags.begin(), ev.tags.end(), isHintTag)) return out;

    Collector collect(out, counters, options, ev.created_at);
    if (ev.kind == kKindRelayDiscovery) readNip66(ev, collect);
    if (ev.kind == kKindRelayList) {
        for (const auto& tag : ev.tags) {
            if (tag.size() >= 2 && tag[0] == "r") collect.add(tag[1], DiscoverySource::Nip65);
        }
    }
    if (ev.kind == kKindContacts) readKind3(ev, collect, counters);
    for (const auto& tag : ev.tags) {
        if (isHintTag(tag)) collect.add(tag[2], DiscoverySource::Hint);
    }
    if (!out.empty()) ++counters.events_with_urls;
    return out;
}

}  // namespace archivist::relays
