#include "core/engine/config.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>
#include <sstream>

#include "core/net/address_policy.h"
#include "core/protocol/filter.h"
#include "core/protocol/json.h"
#include "core/sink/clickhouse_schema.h"

namespace archivist::engine {

namespace pj = archivist::protocol::json;

namespace {

Error configError(const std::filesystem::path& file, const std::string& what) {
    return makeError("config", file.string() + ": " + what);
}

Expected<std::vector<std::string>> stringList(const std::filesystem::path& file, const pj::Value& v, const char* key) {
    if (v.type != pj::Type::Array) return configError(file, std::string("\"") + key + "\" must be a list of strings");
    std::vector<std::string> out;
    for (const auto& item : v.items) {
        if (item.type != pj::Type::String)
            return configError(file, std::string("\"") + key + "\" must be a list of strings");
        out.push_back(item.str);
    }
    return out;
}

Expected<uint64_t> number(const std::filesystem::path& file, const pj::Value& v, const char* key, uint64_t max) {
    uint64_t out = 0;
    if (v.type != pj::Type::Number || !pj::parseUnsigned(v.raw, max, out))
        return configError(file, std::string("\"") + key + "\" must be an integer from 0 to " + std::to_string(max));
    return out;
}

Expected<ClickHouseConfig> clickhouseConfig(const std::filesystem::path& file, const pj::Value& v) {
    if (v.type != pj::Type::Object) return configError(file, "\"clickhouse\" must be an object");
    ClickHouseConfig c;
    for (const auto& [key, item] : v.members) {
        std::string* text = key == "url"             ? &c.url
                            : key == "database"      ? &c.database
                            : key == "user"          ? &c.user
                            : key == "password_file" ? &c.password_file
                            : key == "table_prefix"  ? &c.table_prefix
                            : key == "node"          ? &c.node
                                                     : nullptr;
        if (text) {
            if (item.type != pj::Type::String) return configError(file, "\"clickhouse." + key + "\" must be a string");
            *text = item.str;
        } else if (key == "batch_bytes") {
            auto n = number(file, item, "clickhouse.batch_bytes", uint64_t(256) << 20);
            if (!n) return n.error();
            if (*n < 65536) return configError(file, "\"clickhouse.batch_bytes\" must be at least 65536");
            c.batch_bytes = *n;
        } else {
            return configError(file, "unknown key \"clickhouse." + key + "\"");
        }
    }
    if (auto why = checkClickHouseConfig(c); !why.empty()) return configError(file, "\"clickhouse\": " + why);
    return c;
}

}  // namespace

std::string checkClickHouseConfig(const ClickHouseConfig& c) {
    if (!c.url.empty()) {
        const auto colon = c.url.find("://");
        const std::string scheme = colon == std::string::npos ? "" : c.url.substr(0, colon);
        if (scheme != "http" && scheme != "https") return "url must start with http:// or https://";
        if (c.url.find('@') != std::string::npos) return "url must not hold a user or password (use user and password_file)";
        if (c.url.find('?') != std::string::npos || c.url.find('#') != std::string::npos)
            return "url must not have a query or fragment";
        if (colon + 3 >= c.url.size()) return "url has no host";
    }
    if (!sink::isSqlIdentifier(c.database)) return "database must be an identifier ([A-Za-z_][A-Za-z0-9_]*)";
    if (!sink::isSqlIdentifier(c.table_prefix, true)) return "table_prefix must be empty or an identifier";
    for (char ch : c.user + c.node)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == ':' || ch == '\'' || ch == '\\')
            return "user and node must not hold control characters, ':', quotes or backslashes";
    if (c.node.size() > 128) return "node must be at most 128 characters";
    return {};
}

Expected<EngineConfig> loadConfig(const std::filesystem::path& file) {
    EngineConfig cfg;
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return cfg;
    std::ifstream in(file, std::ios::binary);
    if (!in) return configError(file, "cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    if (text.size() > (1u << 20)) return configError(file, "is larger than 1 MiB");
    pj::Value doc;
    pj::ParseError err;
    if (!pj::parse(text, doc, &err)) return configError(file, "not valid JSON at byte " + std::to_string(err.offset) + ": " + err.message);
    if (doc.type != pj::Type::Object) return configError(file, "must hold one JSON object");
    for (const auto& [key, v] : doc.members) {
        if (key == "relays") {
            auto l = stringList(file, v, "relays");
            if (!l) return l.error();
            cfg.relays = std::move(*l);
        } else if (key == "allow_addresses") {
            auto l = stringList(file, v, "allow_addresses");
            if (!l) return l.error();
            cfg.allow_addresses = std::move(*l);
        } else if (key == "seed_relays" || key == "backfill" || key == "auto_relays") {
            if (v.type != pj::Type::Bool) return configError(file, "\"" + key + "\" must be true or false");
            (key == "seed_relays" ? cfg.seed_relays : key == "backfill" ? cfg.backfill : cfg.auto_relays) = v.boolean;
        } else if (key == "optimizer_interval_s") {
            auto n = number(file, v, "optimizer_interval_s", 86400);
            if (!n) return n.error();
            if (*n < 10) return configError(file, "\"optimizer_interval_s\" must be at least 10");
            cfg.optimizer_interval_s = uint32_t(*n);
        } else if (key == "max_relays") {
            auto n = number(file, v, "max_relays", 10000);
            if (!n) return n.error();
            if (*n == 0) return configError(file, "\"max_relays\" must be at least 1");
            cfg.max_relays = uint32_t(*n);
        } else if (key == "backfill_depth_days") {
            auto n = number(file, v, "backfill_depth_days", 100000);
            if (!n) return n.error();
            cfg.backfill_depth_days = int64_t(*n);
        } else if (key == "backfill_limit") {
            auto n = number(file, v, "backfill_limit", 100000);
            if (!n) return n.error();
            if (*n == 0) return configError(file, "\"backfill_limit\" must be at least 1");
            cfg.backfill_limit = uint32_t(*n);
        } else if (key == "backfill_slots") {
            auto n = number(file, v, "backfill_slots", 1000);
            if (!n) return n.error();
            if (*n == 0) return configError(file, "\"backfill_slots\" must be at least 1");
            cfg.backfill_slots = uint32_t(*n);
        } else if (key == "reconcile_sessions") {
            auto n = number(file, v, "reconcile_sessions", 64);
            if (!n) return n.error();
            if (*n == 0) return configError(file, "\"reconcile_sessions\" must be at least 1");
            cfg.reconcile_sessions = uint32_t(*n);
        } else if (key == "reconcile_interval_s") {
            auto n = number(file, v, "reconcile_interval_s", 365u * 86400);
            if (!n) return n.error();
            cfg.reconcile_interval_s = uint32_t(*n);
        } else if (key == "negentropy_timeout_s") {
            auto n = number(file, v, "negentropy_timeout_s", 3600);
            if (!n) return n.error();
            if (*n == 0) return configError(file, "\"negentropy_timeout_s\" must be at least 1");
            cfg.negentropy_timeout_s = uint32_t(*n);
        } else if (key == "network_threads") {
            auto n = number(file, v, "network_threads", 16);
            if (!n) return n.error();
            if (*n == 0) return configError(file, "\"network_threads\" must be at least 1");
            cfg.network_threads = uint32_t(*n);
        } else if (key == "rate_events_per_s") {
            auto n = number(file, v, "rate_events_per_s", 10000000);
            if (!n) return n.error();
            cfg.rate_events_per_s = uint32_t(*n);
        } else if (key == "rate_bytes_per_s") {
            auto n = number(file, v, "rate_bytes_per_s", uint64_t(1) << 40);
            if (!n) return n.error();
            cfg.rate_bytes_per_s = *n;
        } else if (key == "min_free_bytes") {
            auto n = number(file, v, "min_free_bytes", uint64_t(1) << 50);
            if (!n) return n.error();
            cfg.min_free_bytes = *n;
        } else if (key == "sqlite_heap_limit_bytes") {
            auto n = number(file, v, "sqlite_heap_limit_bytes", uint64_t(1) << 40);
            if (!n) return n.error();
            if (*n < observe::kMinSqliteHeapLimitBytes)
                return configError(file, "\"sqlite_heap_limit_bytes\" must be at least " +
                                             std::to_string(observe::kMinSqliteHeapLimitBytes));
            cfg.sqlite_heap_limit_bytes = *n;
        } else if (key == "filter") {
            if (v.type != pj::Type::Object) return configError(file, "\"filter\" must be a NIP-01 filter object");
            auto f = protocol::parseFilter(v.raw);
            if (!f) return configError(file, "\"filter\": " + f.error().message);
            cfg.filter_json = std::string(v.raw);
        } else if (key == "metrics_listen") {
            if (v.type != pj::Type::String) return configError(file, "\"metrics_listen\" must be \"HOST:PORT\"");
            if (auto why = checkListenAddress(v.str); !why.empty())
                return configError(file, "\"metrics_listen\": " + why);
            cfg.metrics_listen = v.str;
        } else if (key == "clickhouse") {
            auto c = clickhouseConfig(file, v);
            if (!c) return c.error();
            cfg.clickhouse = std::move(*c);
        } else {
            return configError(file, "unknown key \"" + key + "\"");
        }
    }
    return cfg;
}

std::string checkAllowedAddress(const std::string& text) {
    auto cidr = net::AddressPolicy::parseCidr(text);
    return cidr ? std::string() : cidr.error().message;
}

std::string checkListenAddress(const std::string& text) {
    if (text.empty()) return {};
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return "must be HOST:PORT";
    const std::string host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    if (host.empty()) return "the host is missing";
    if (host.front() == '[' ? host.back() != ']' || host.size() < 3 : host.find(':') != std::string::npos)
        return "an IPv6 host must be written in brackets, e.g. [::1]:9100";
    for (char c : host)
        if (c == ' ' || c == '/' || c == '\t') return "the host contains a space or slash";
    if (uint64_t p = 0; port.empty() || port.size() > 5 || !pj::parseUnsigned(port, 65535, p))
        return "the port must be a number from 0 to 65535 (0 = any free port)";
    return {};
}

std::string configToJson(const EngineConfig& cfg) {
    std::string out = "{\n";
    auto list = [&](const char* key, const std::vector<std::string>& items) {
        out += "  \"";
        out += key;
        out += "\": [";
        for (size_t i = 0; i < items.size(); ++i) {
            if (i) out += ", ";
            pj::appendQuoted(out, items[i]);
        }
        out += "],\n";
    };
    auto num = [&](const char* key, uint64_t v) {
        out += "  \"" + std::string(key) + "\": " + std::to_string(v) + ",\n";
    };
    auto flag = [&](const char* key, bool v) {
        out += "  \"" + std::string(key) + "\": " + (v ? "true" : "false") + ",\n";
    };
    list("relays", cfg.relays);
    list("allow_addresses", cfg.allow_addresses);
    flag("seed_relays", cfg.seed_relays);
    num("max_relays", cfg.max_relays);
    flag("auto_relays", cfg.auto_relays);
    num("optimizer_interval_s", cfg.optimizer_interval_s);
    flag("backfill", cfg.backfill);
    num("backfill_depth_days", uint64_t(std::max<int64_t>(0, cfg.backfill_depth_days)));
    num("backfill_limit", cfg.backfill_limit);
    num("backfill_slots", cfg.backfill_slots);
    num("reconcile_sessions", cfg.reconcile_sessions);
    num("reconcile_interval_s", cfg.reconcile_interval_s);
    num("negentropy_timeout_s", cfg.negentropy_timeout_s);
    num("network_threads", cfg.network_threads);
    num("rate_events_per_s", cfg.rate_events_per_s);
    num("rate_bytes_per_s", cfg.rate_bytes_per_s);
    num("min_free_bytes", cfg.min_free_bytes);
    num("sqlite_heap_limit_bytes", cfg.sqlite_heap_limit_bytes);
    if (!cfg.filter_json.empty()) out += "  \"filter\": " + cfg.filter_json + ",\n";
    out += "  \"metrics_listen\": ";
    pj::appendQuoted(out, cfg.metrics_listen);
    const ClickHouseConfig& ch = cfg.clickhouse;
    out += ",\n  \"clickhouse\": {";
    const std::pair<const char*, const std::string*> texts[] = {
        {"url", &ch.url},   {"database", &ch.database},         {"user", &ch.user},
        {"password_file", &ch.password_file}, {"table_prefix", &ch.table_prefix}, {"node", &ch.node}};
    for (const auto& [key, value] : texts) {
        out += "\"" + std::string(key) + "\": ";
        pj::appendQuoted(out, *value);
        out += ", ";
    }
    out += "\"batch_bytes\": " + std::to_string(ch.batch_bytes) + "}\n}\n";
    return out;
}

Expected<void> saveConfig(const std::filesystem::path& file, const EngineConfig& cfg) {
    const std::string text = configToJson(cfg);
    const std::filesystem::path tmp = file.string() + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return configError(file, std::string("cannot write: ") + std::strerror(errno));
    size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            return configError(file, "cannot write: " + why);
        }
        written += size_t(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return configError(file, "cannot write: " + why);
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return configError(file, "cannot replace: " + why);
    }
    return {};
}

const std::vector<std::string>& seedRelays() {
    static const std::vector<std::string> kSeeds = {
        "wss://relay.damus.io",     "wss://nos.lol",         "wss://relay.nostr.band", "wss://relay.primal.net",
        "wss://nostr.wine",         "wss://relay.snort.social", "wss://nostr.mom",     "wss://purplepag.es",
        "wss://relay.nostr.bg",     "wss://nostr.oxtr.dev",
    };
    return kSeeds;
}

}  // namespace archivist::engine
