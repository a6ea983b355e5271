#pragma once
// The engine's configuration file: <data dir>/config.json (optional). Command-line flags add to
// it (relays, allowed addresses) or override it (see app/main.cpp). Unknown keys are an error, so
// a typo never silently changes nothing. Documented in docs/configuration.md.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/util/expected.h"

namespace archivist::engine {

struct EngineConfig {
    std::vector<std::string> relays;           // always connected (source "config")
    std::vector<std::string> allow_addresses;  // CIDRs the address policy allows
    bool seed_relays = true;                   // connect to the built-in list of well-known relays
    uint32_t max_relays = 150;
    bool backfill = true;
    int64_t backfill_depth_days = 0;           // 0 = everything
    uint32_t backfill_limit = 500;
    uint32_t backfill_slots = 8;
    uint32_t network_threads = 2;
    uint32_t rate_events_per_s = 2000;         // per relay
    uint64_t rate_bytes_per_s = 8u << 20;      // per relay
    std::string filter_json;                   // NIP-01 filter of what to archive ("" = everything)
    std::string metrics_listen;
};

// Missing file → defaults. Errors: "config" with the file name and the offending key.
Expected<EngineConfig> loadConfig(const std::filesystem::path& file);

// The built-in seed list (well-known public relays).
const std::vector<std::string>& seedRelays();

}  // namespace archivist::engine
