#pragma once
// The observations family of relays.sqlite: what the engine saw of each relay over time —
// probe and connection outcomes (`relay_outcomes`) and hourly traffic statistics
// (`relay_hourly`), both kept kRetentionMs (8 days); plus the aggregates scoring reads.
//
// Contract
// - Bounded by time: prune(now_ms) deletes rows older than kRetentionMs; recordOutcome() runs it
//   every kPruneEveryOutcomes calls, addHourly() trims hours older than the retention before its
//   newest hour on every call.
// - Rows of relays not in the directory are skipped (an outcome or hour needs a directory row).
// Thread: the owner of the RelayStateStore (one thread).
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/relays/statement.h"

namespace archivist::relays {

// One relay-hour of traffic statistics (HourlyStats flushes these). Adding a row whose
// (url, hour) exists adds every field to the stored one.
struct HourlyRow {
    std::string url;
    int64_t hour = 0;  // unix hour: ms / 3'600'000
    uint64_t received = 0;
    uint64_t novel = 0;       // stored: first sighting in the archive
    uint64_t duplicates = 0;
    uint64_t rejected = 0;    // sum of rejected_by_reason
    std::map<std::string, uint64_t> rejected_by_reason;  // reason name (validation or subscription) → count
    int64_t connected_s = 0;
    uint64_t failures = 0;
    uint64_t bytes = 0;
};

enum class OutcomeKind : uint8_t { Probe, Connect };

struct RelayAggregate {
    std::string url;
    uint64_t received = 0, novel = 0, duplicates = 0, rejected = 0, failures = 0, bytes = 0;
    int64_t connected_s = 0;
    int64_t hours_with_data = 0;
    double uptime_24h = -1;
    double uptime_7d = -1;
    int64_t median_open_rtt_ms = -1;  // successful outcomes of the last 7 days, -1 = none
};

class ObservationsTable {
public:
    static constexpr int64_t kRetentionMs = int64_t(8) * 24 * 3600 * 1000;
    static constexpr int kPruneEveryOutcomes = 256;
    static constexpr size_t kMaxRttSamples = 2048;  // per relay, for the median

    explicit ObservationsTable(sqlite3* db) : m_db(db) {}

    // rtts -1 = unknown; error text ≤ 500 bytes. Unknown relays are ignored (returns ok).
    StateResult<void> recordOutcome(const std::string& url, int64_t at_ms, OutcomeKind kind, bool ok,
                                    int64_t open_rtt_ms, int64_t read_rtt_ms, const std::string& error);
    // Add semantics per (url, hour); rows of relays not in the directory are skipped. One
    // transaction. Returns the number of rows stored.
    StateResult<size_t> addHourly(const std::vector<HourlyRow>& rows);
    StateResult<void> prune(int64_t now_ms);

    // Windows end at now_ms (later rows are not counted, so a past now_ms gives a past view).
    // Traffic over the last `window_hours` whole hours (including the current one), uptime and
    // median open RTT. `urls` empty = every relay with hourly rows in the window or outcomes in the
    // last 7 days, at most `limit` relays. Unknown URLs are left out.
    StateResult<std::vector<RelayAggregate>> aggregates(const std::vector<std::string>& urls, int64_t now_ms,
                                                        int window_hours, size_t limit = 20000);
    // Adds a stored rejected_json map ({"bad_signature":3}) into `into`; unreadable text adds nothing.
    static void mergeRejectedJson(const std::string& json, std::map<std::string, uint64_t>& into);

private:
    StateResult<void> pruneOlderThan(int64_t cutoff_ms);
    sqlite3* m_db;
    int m_outcomesSincePrune = 0;
};

}  // namespace archivist::relays
