#include "core/protocol/filter.h"

#include <algorithm>

#include "core/protocol/hex.h"
#include "core/protocol/json.h"

namespace archivist::protocol {

namespace {

Error filterError(std::string msg) { return makeError("filter", std::move(msg)); }

bool containsCaseInsensitive(std::string_view hay, std::string_view needle) {
    if (needle.empty()) return true;
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                       [&](char a, char b) { return lower(a) == lower(b); }) != hay.end();
}

void appendHexList(std::string& out, const char* key, const std::vector<Bytes32>& list) {
    out += '"';
    out += key;
    out += "\":[";
    for (size_t i = 0; i < list.size(); ++i) {
        if (i) out += ',';
        out += '"' + toHex(list[i]) + '"';
    }
    out += ']';
}

}  // namespace

Expected<Filter> parseFilter(std::string_view text) {
    json::Value v;
    json::ParseError err;
    if (!json::parse(text, v, &err)) return filterError("not JSON: " + err.message);
    if (v.type != json::Type::Object) return filterError("a filter is a JSON object");
    // 7 named keys + 52 single-letter tags: any more means a duplicate or unknown key, and the
    // duplicate check below stays cheap.
    if (v.members.size() > 59) return filterError("too many filter keys");
    Filter f;
    for (size_t m = 0; m < v.members.size(); ++m) {
        const std::string& key = v.members[m].first;  // not a structured binding: clang 14 cannot
        const json::Value& val = v.members[m].second;  // capture those in the lambda below
        for (size_t prev = 0; prev < m; ++prev)
            if (v.members[prev].first == key) return filterError("duplicate filter key \"" + key + "\"");
        auto hexList = [&](std::vector<Bytes32>& dst) -> Expected<void> {
            if (val.type != json::Type::Array) return filterError("\"" + key + "\" must be an array");
            for (const auto& item : val.items) {
                Bytes32 b;
                if (item.type != json::Type::String || !fromHex(item.str, b.data(), 32))
                    return filterError("\"" + key + "\" entries must be 64 lowercase hex characters");
                dst.push_back(b);
            }
            return {};
        };
        if (key == "ids" || key == "authors") {
            if (auto r = hexList(key == "ids" ? f.ids : f.authors); !r) return r.error();
        } else if (key == "kinds") {
            if (val.type != json::Type::Array) return filterError("\"kinds\" must be an array");
            for (const auto& item : val.items) {
                uint64_t k;
                if (item.type != json::Type::Number || !json::parseUnsigned(item.raw, 65535, k))
                    return filterError("\"kinds\" entries must be integers 0…65535");
                f.kinds.push_back(uint16_t(k));
            }
        } else if (key == "since" || key == "until" || key == "limit") {
            uint64_t n;
            const uint64_t max = key == "limit" ? UINT32_MAX : uint64_t(INT64_MAX);
            if (val.type != json::Type::Number || !json::parseUnsigned(val.raw, max, n))
                return filterError("\"" + key + "\" must be a non-negative integer");
            if (key == "since") f.since = int64_t(n);
            else if (key == "until") f.until = int64_t(n);
            else f.limit = uint32_t(n);
        } else if (key == "search") {
            if (val.type != json::Type::String) return filterError("\"search\" must be a string");
            f.search = val.str;
        } else if (key.size() == 2 && key[0] == '#' &&
                   ((key[1] >= 'a' && key[1] <= 'z') || (key[1] >= 'A' && key[1] <= 'Z'))) {
            if (val.type != json::Type::Array) return filterError("\"" + key + "\" must be an array");
            auto& dst = f.tags[key[1]];
            for (const auto& item : val.items) {
                if (item.type != json::Type::String) return filterError("\"" + key + "\" entries must be strings");
                dst.push_back(item.str);
            }
        } else {
            return filterError("unknown filter key \"" + key + "\"");
        }
    }
    return f;
}

std::string serializeFilter(const Filter& f) {
    std::string out = "{";
    auto sep = [&] {
        if (out.size() > 1) out += ',';
    };
    if (!f.ids.empty()) { sep(); appendHexList(out, "ids", f.ids); }
    if (!f.authors.empty()) { sep(); appendHexList(out, "authors", f.authors); }
    if (!f.kinds.empty()) {
        sep();
        out += "\"kinds\":[";
        for (size_t i = 0; i < f.kinds.size(); ++i) {
            if (i) out += ',';
            out += std::to_string(f.kinds[i]);
        }
        out += ']';
    }
    for (const auto& [name, values] : f.tags) {
        sep();
        out += "\"#";
        out += name;
        out += "\":[";
        for (size_t i = 0; i < values.size(); ++i) {
            if (i) out += ',';
            json::appendQuoted(out, values[i]);
        }
        out += ']';
    }
    if (f.since) { sep(); out += "\"since\":" + std::to_string(*f.since); }
    if (f.until) { sep(); out += "\"until\":" + std::to_string(*f.until); }
    if (f.limit) { sep(); out += "\"limit\":" + std::to_string(*f.limit); }
    if (f.search) { sep(); out += "\"search\":"; json::appendQuoted(out, *f.search); }
    out += '}';
    return out;
}

bool matches(const Filter& f, const Event& e) {
    if (!f.ids.empty() && std::find(f.ids.begin(), f.ids.end(), e.id) == f.ids.end()) return false;
    if (!f.authors.empty() && std::find(f.authors.begin(), f.authors.end(), e.pubkey) == f.authors.end()) return false;
    if (!f.kinds.empty() && std::find(f.kinds.begin(), f.kinds.end(), e.kind) == f.kinds.end()) return false;
    if (f.since && e.created_at < *f.since) return false;
    if (f.until && e.created_at > *f.until) return false;
    for (const auto& [name, values] : f.tags) {
        bool found = false;
        for (const auto& t : e.tags) {
            if (t.size() >= 2 && t[0].size() == 1 && t[0][0] == name &&
                std::find(values.begin(), values.end(), t[1]) != values.end()) {
                found = true;
                break;
            }
        }
        if (!found) return false;
    }
    if (f.search && !containsCaseInsensitive(e.content, *f.search)) return false;
    return true;
}

bool matchesAny(const std::vector<Filter>& filters, const Event& e) {
    return std::any_of(filters.begin(), filters.end(), [&](const Filter& f) { return matches(f, e); });
}

}  // namespace archivist::protocol
