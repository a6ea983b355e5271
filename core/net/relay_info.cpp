#include "core/net/relay_info.h"

#include <algorithm>

#include "core/protocol/json.h"

namespace archivist::net {

namespace pj = archivist::protocol::json;

namespace {

std::optional<uint64_t> unsignedMember(const pj::Value& obj, std::string_view key) {
    const pj::Value* v = obj.find(key);
    if (!v || v->type != pj::Type::Number) return std::nullopt;
    uint64_t out = 0;
    if (!pj::parseUnsigned(v->raw, UINT64_MAX, out)) return std::nullopt;
    return out;
}

bool boolMember(const pj::Value& obj, std::string_view key) {
    const pj::Value* v = obj.find(key);
    return v && v->type == pj::Type::Bool && v->boolean;
}

std::string stringMember(const pj::Value& obj, std::string_view key, size_t max_bytes = 256) {
    const pj::Value* v = obj.find(key);
    if (!v || v->type != pj::Type::String) return {};
    return v->str.substr(0, max_bytes);
}

std::optional<uint32_t> clamp32(std::optional<uint64_t> v) {
    if (!v) return std::nullopt;
    return uint32_t(std::min<uint64_t>(*v, UINT32_MAX));
}

}  // namespace

bool RelayInfo::supports(int nip) const {
    return std::find(supported_nips.begin(), supported_nips.end(), nip) != supported_nips.end();
}

Expected<RelayInfo> parseRelayInfo(std::string_view body) {
    pj::Value doc;
    pj::ParseError err;
    if (!pj::parse(body, doc, &err, 32)) return makeError("nip11", "relay information is not JSON: " + err.message);
    if (doc.type != pj::Type::Object) return makeError("nip11", "relay information is not a JSON object");
    RelayInfo info;
    info.raw = std::string(body);
    info.name = stringMember(doc, "name");
    info.software = stringMember(doc, "software");
    info.version = stringMember(doc, "version", 64);
    if (const pj::Value* nips = doc.find("supported_nips"); nips && nips->type == pj::Type::Array) {
        for (const auto& n : nips->items) {
            uint64_t v = 0;
            if (n.type == pj::Type::Number && pj::parseUnsigned(n.raw, 100000, v)) info.supported_nips.push_back(int(v));
            else if (n.type == pj::Type::String && pj::parseUnsigned(n.str, 100000, v))  // some relays list "11"
                info.supported_nips.push_back(int(v));
            if (info.supported_nips.size() >= 256) break;
        }
    }
    if (const pj::Value* lim = doc.find("limitation"); lim && lim->type == pj::Type::Object) {
        auto& l = info.limitation;
        l.max_limit = clamp32(unsignedMember(*lim, "max_limit"));
        l.max_subscriptions = clamp32(unsignedMember(*lim, "max_subscriptions"));
        l.max_message_length = unsignedMember(*lim, "max_message_length");
        l.max_filters = clamp32(unsignedMember(*lim, "max_filters"));
        l.auth_required = boolMember(*lim, "auth_required");
        l.payment_required = boolMember(*lim, "payment_required");
        l.restricted_writes = boolMember(*lim, "restricted_writes");
    }
    return info;
}

RelayInfoSummary summarizeRelayInfo(const RelayInfo& info) {
    RelayInfoSummary s;
    s.name = info.name.substr(0, 100);
    s.software = info.software.substr(0, 120);
    if (!info.version.empty()) s.software += (s.software.empty() ? "" : " ") + info.version.substr(0, 40);
    std::vector<std::string> parts;
    if (!info.supported_nips.empty()) {
        std::string list;
        size_t n = 0;
        for (int nip : info.supported_nips) {
            if (++n > 40) {
                list += ", …";
                break;
            }
            if (!list.empty()) list += ", ";
            list += std::to_string(nip);
        }
        parts.push_back("NIPs " + list);
    }
    const auto& l = info.limitation;
    if (l.auth_required) parts.push_back("auth");
    if (l.payment_required) parts.push_back("paid");
    if (l.restricted_writes) parts.push_back("restricted writes");
    if (l.max_limit) parts.push_back("max_limit " + std::to_string(*l.max_limit));
    for (const auto& p : parts) s.summary += (s.summary.empty() ? "" : " · ") + p;
    return s;
}

std::string relayInfoUrl(std::string_view relay_url) {
    if (relay_url.substr(0, 6) == "wss://") return "https://" + std::string(relay_url.substr(6));
    if (relay_url.substr(0, 5) == "ws://") return "http://" + std::string(relay_url.substr(5));
    return std::string(relay_url);
}

}  // namespace archivist::net
