#pragma once
// The engine's configuration file: <data dir>/config.json (optional). Command-line flags add to
// it (relays, allowed addresses) or override it (see app/main.cpp). Unknown keys are an error, so
// a typo never silently changes nothing. Documented in docs/configuration.md.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/observe/sqlite_heap.h"
#include "core/util/expected.h"

namespace archivist::engine {

// The ClickHouse sink (docs/clickhouse.md). Off while url is empty.
struct ClickHouseConfig {
    std::string url;                    // http://HOST:PORT or https://…; "" = no sink
    std::string database = "archivist";
    std::string user;                   // "" = the server's default user
    std::string password_file;          // file holding the password (first line); "" = none
    std::string table_prefix;
    std::string node;                   // "" = <host name>-<8 hex of the data directory's path>
    uint64_t batch_bytes = 8u << 20;    // uncompressed bytes per insert, at most

    bool operator==(const ClickHouseConfig&) const = default;
};

struct EngineConfig {
    std::vector<std::string> relays;           // always connected (source "config")
    std::vector<std::string> allow_addresses;  // CIDRs the address policy allows
    bool seed_relays = true;                   // connect to the built-in list of well-known relays
    uint32_t max_relays = 150;
    bool auto_relays = true;                   // the optimizer adds, drops and probes relays (docs/relay-scoring.md)
    uint32_t optimizer_interval_s = 300;       // optimizer cycle
    bool backfill = true;
    int64_t backfill_depth_days = 0;           // 0 = everything
    uint32_t backfill_limit = 500;
    uint32_t backfill_slots = 8;
    // NIP-77 reconciliation (docs/backfill.md): sessions at once across relays, the periodic
    // re-reconciliation of the whole history (0 = off) and how long a relay may stay silent.
    uint32_t reconcile_sessions = 4;
    uint32_t reconcile_interval_s = 86400;
    uint32_t negentropy_timeout_s = 30;
    uint32_t network_threads = 2;
    uint32_t rate_events_per_s = 2000;         // per relay
    uint64_t rate_bytes_per_s = 8u << 20;      // per relay
    std::string filter_json;                   // NIP-01 filter of what to archive ("" = everything)
    std::string metrics_listen;
    ClickHouseConfig clickhouse;
    // Low-disk threshold: intake pauses while less than this is free in the data directory's file
    // system (the console and --headless resume by themselves once space is freed; import stops).
    uint64_t min_free_bytes = uint64_t(1) << 30;
    // A soft limit on SQLite's heap for the whole process (every index, catalog and relays.sqlite
    // connection together; observe::setSqliteHeapLimit). At least kMinSqliteHeapLimitBytes.
    uint64_t sqlite_heap_limit_bytes = observe::kDefaultSqliteHeapLimitBytes;

    bool operator==(const EngineConfig&) const = default;
};

// Missing file → defaults. Errors: "config" with the file name and the offending key.
Expected<EngineConfig> loadConfig(const std::filesystem::path& file);

// Writes `cfg` as config.json text (every key, so the file documents itself). filter_json is
// re-emitted as given ("" = no "filter" key).
std::string configToJson(const EngineConfig& cfg);

// Atomic: writes `file`.tmp, fsyncs it, renames it over `file`. loadConfig(saveConfig(x)) == x.
// Errors: "config" with the file name and the OS reason; the old file is left untouched.
Expected<void> saveConfig(const std::filesystem::path& file, const EngineConfig& cfg);

// "HOST:PORT" as accepted by metrics_listen ("" = off): a non-empty host (name, IPv4 or [IPv6])
// and a port 0..65535 (0 = any free port). Returns "" when valid, else the reason.
std::string checkListenAddress(const std::string& text);

// Checks a ClickHouse section (url form, identifiers, characters); "" when valid, else the reason.
std::string checkClickHouseConfig(const ClickHouseConfig& c);
// One allowed-address rule as config's allow_addresses takes it: an IPv4 or IPv6 CIDR ("127.0.0.1/32",
// "fd00::/8") or a single address. Returns "" when valid, else the reason.
std::string checkAllowedAddress(const std::string& text);

// The built-in seed list (well-known public relays).
const std::vector<std::string>& seedRelays();

}  // namespace archivist::engine
