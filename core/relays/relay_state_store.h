#pragma once
// RelayStateStore: what the engine knows about relays that cannot be rebuilt from the archive —
// the relay directory (URL, source, status, pin/block), live cursors, resumable backfill
// checkpoints, recorded backfill gaps and NIP-11 documents. Its own SQLite database
// (<data dir>/relays.sqlite, see docs/decisions/0006-relay-state-database.md), schema versioned
// with forward migrations like the index.
//
// Contract
// - Cursors and checkpoints are written by the relay code only after the events they cover are
//   committed to the archive and index; this store just makes them durable (WAL, synchronous=NORMAL:
//   a lost write means an older cursor, i.e. re-downloading events that dedupe then drops).
// - Nothing is held in memory beyond one statement's row or one bounded page: the directory can
//   hold 100k relays. Every query takes or applies a limit.
// - Retention (bounds on what grows with time; docs/relay-directory.md):
//   * relay_outcomes and relay_hourly: rows older than kRetentionMs (8 days) are deleted by
//     prune(now_ms), which recordOutcome() runs every kPruneEveryOutcomes calls and addHourly()
//     runs on every call.
//   * NIP-11: a history row is added only when a relay's document changes (a re-fetch of the same
//     document moves the newest row's fetched_ms); at most kNip11HistoryPerRelay rows per relay;
//     a document no history row refers to is deleted; documents above kMaxNip11Bytes are refused.
//   * discovery_counts: one row per source (a fixed, small set).
//   * relays: one row per URL ever seen; grows with the network (tested with 100k).
// - Statuses written by the engine: "candidate", "connected", "backing off", "failing",
//   "blocked" (setBlocked writes "blocked"/"candidate"); the store does not interpret others.
// Thread: any; calls are serialised by an internal mutex. Batch writes are one transaction.
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/relays/relay_discovery.h"
#include "core/util/expected.h"

struct sqlite3;

namespace archivist::relays {

struct RelayRecord {
    int64_t id = 0;
    std::string url;                 // normalised (net::normalizeRelayUrl)
    std::string source;              // "seed", "user", "config", "cli", "nip65", "nip66", "hint", "kind3"
    std::string status = "candidate";
    bool pinned = false;
    bool blocked = false;
    int consecutive_failures = 0;
    std::string last_error;
    int64_t first_seen_ms = 0;
    int64_t last_seen_ms = 0;
    std::optional<int64_t> last_connected_ms;
    std::optional<int64_t> live_cursor;     // created_at seconds: everything the relay sent up to here is committed
    std::string backfill_checkpoint;        // sync::BackfillPlanner checkpoint ("" = not started)
    bool backfill_done = false;
    // Optimizer bookkeeping (schema v2).
    int tries = 0;                   // connection attempts ever (recordOutcome "connect")
    int64_t last_attempt_ms = 0;     // 0 = never tried
    int64_t blocked_until_ms = 0;    // failure block set by the optimizer; 0 = never, ≤ now = expired
    int64_t last_probe_ms = 0;       // 0 = never probed
    // The newest NIP-66 report about the relay (kind 30166 in the archive): a prefilter only.
    int64_t nip66_reported_at = 0;   // the report's created_at (seconds); 0 = none
    int64_t nip66_rtt_open_ms = -1;
    int8_t nip66_requires_payment = -1;  // 1 / 0, -1 = not reported
    int8_t nip66_requires_auth = -1;
};

struct GapRecord {
    std::string url;
    int64_t since = 0;
    int64_t until = 0;
    std::string kinds;   // comma-separated, "" = all kinds
    std::string reason;
    int64_t recorded_ms = 0;
};

// One relay-hour of traffic statistics (HourlyStats flushes these). Adding a row whose
// (url, hour) exists adds every field to the stored one.
struct HourlyRow {
    std::string url;
    int64_t hour = 0;  // unix hour: ms / 3'600'000
    uint64_t received = 0;
    uint64_t novel = 0;       // stored: first sighting in the archive
    uint64_t duplicates = 0;
    uint64_t rejected = 0;    // sum of rejected_by_reason
    std::map<std::string, uint64_t> rejected_by_reason;  // protocol::rejectName → count
    int64_t connected_s = 0;
    uint64_t failures = 0;
    uint64_t bytes = 0;
};

struct ScoreUpdate {
    std::string url;
    double score = 0;
    std::string json;  // the score's components, as relay_score writes them
};

struct ProbeInfo {
    int64_t at_ms = 0;  // 0 = never probed
    bool ok = false;
    int64_t open_rtt_ms = -1;
    int64_t read_rtt_ms = -1;
};

// A summary of a NIP-11 document for tables ("" when absent).
struct Nip11Summary {
    std::string name;
    std::string software;  // "strfry 1.0.1" (software + version)
    std::string summary;   // "NIPs 1, 11, 42 · auth · paid · max_limit 500"
};

struct DirectoryQuery {
    enum class Order : uint8_t { Score /* best first, unscored last */, Url, LastSeen /* newest first */ };
    std::string text;    // substring of the URL, "" = all
    std::string source;  // "" = any
    std::string status;  // "" = any
    bool include_blocked = true;
    size_t offset = 0;
    size_t limit = 200;  // clamped to 1 … kMaxPageRows
    Order order = Order::Score;
    int64_t now_ms = 0;  // end of the uptime windows; 0 = the wall clock
};

struct DirectoryRow {
    RelayRecord record;
    std::optional<double> score;  // nullopt = not scored yet
    int64_t scored_ms = 0;
    double uptime_24h = -1;  // 0 … 1, -1 = no outcome in the window
    double uptime_7d = -1;
    ProbeInfo last_probe;
    Nip11Summary nip11;
};

struct DirectoryPageResult {
    std::vector<DirectoryRow> rows;
    uint64_t total_matching = 0;
};

struct RelayAggregate {
    std::string url;
    uint64_t received = 0, novel = 0, duplicates = 0, rejected = 0, failures = 0, bytes = 0;
    int64_t connected_s = 0;
    int64_t hours_with_data = 0;
    double uptime_24h = -1;
    double uptime_7d = -1;
    int64_t median_open_rtt_ms = -1;  // successful outcomes of the last 7 days, -1 = none
};

class RelayStateStore {
public:
    static constexpr int64_t kRetentionMs = int64_t(8) * 24 * 3600 * 1000;
    static constexpr int kPruneEveryOutcomes = 256;
    static constexpr size_t kNip11HistoryPerRelay = 32;
    static constexpr size_t kMaxNip11Bytes = 64 * 1024;
    static constexpr size_t kMaxPageRows = 5000;
    static constexpr size_t kMaxRttSamples = 2048;  // per relay, for the median

    static Expected<std::unique_ptr<RelayStateStore>> open(const std::filesystem::path& file);
    ~RelayStateStore();
    RelayStateStore(const RelayStateStore&) = delete;
    RelayStateStore& operator=(const RelayStateStore&) = delete;

    // Adds the relay if unknown (keeping the first source), updates last_seen otherwise.
    Expected<RelayRecord> upsert(const std::string& url, const std::string& source, int64_t now_ms);
    Expected<std::optional<RelayRecord>> find(const std::string& url);
    // Relays to consider at start: not blocked, pinned and user/cli/config first, at most `limit`.
    Expected<std::vector<RelayRecord>> list(size_t limit, bool include_blocked = false);
    Expected<uint64_t> count();

    Expected<void> setPinned(const std::string& url, bool pinned);
    Expected<void> setBlocked(const std::string& url, bool blocked);
    Expected<void> saveStatus(const std::string& url, const std::string& status, int consecutive_failures,
                              const std::string& last_error, std::optional<int64_t> last_connected_ms);
    Expected<void> saveLiveCursor(const std::string& url, int64_t cursor);
    Expected<void> saveBackfill(const std::string& url, const std::string& checkpoint, bool done);
    // Stores the document content-addressed by the SHA-256 of its canonical JSON and records it in
    // the relay's history (see Retention). Errors: "json" (not a JSON object), "too_large".
    // An unknown relay is a no-op.
    Expected<void> saveRelayInfo(const std::string& url, const std::string& document, int64_t fetched_ms);
    // The newest stored NIP-11 document in canonical JSON; "" when the relay is unknown or has none.
    Expected<std::string> relayInfo(const std::string& url);
    // (fetched_ms, canonical JSON) newest first, at most `limit`.
    Expected<std::vector<std::pair<int64_t, std::string>>> relayInfoHistory(const std::string& url, size_t limit);
    Expected<uint64_t> nip11DocumentCount();
    Expected<void> addGap(const GapRecord& gap);
    Expected<std::vector<GapRecord>> gaps(const std::string& url, size_t limit);
    Expected<uint64_t> gapCount();

    // --- Directory (issue 5) ---
    // Adds unknown URLs as candidates with their discovery source and counts them per source in
    // discovery_counts; known ones only get last_seen. One transaction. Returns how many were new.
    Expected<uint64_t> upsertDiscovered(const std::vector<DiscoveredUrl>& urls, int64_t now_ms);
    // kind: "probe" or "connect". rtts -1 = unknown. Unknown relays are ignored (returns ok).
    Expected<void> recordOutcome(const std::string& url, int64_t at_ms, const std::string& kind, bool ok,
                                 int64_t open_rtt_ms, int64_t read_rtt_ms, const std::string& error);
    // Add semantics per (url, hour); rows of relays not in the directory are skipped. One
    // transaction. Returns the number of rows stored (rows.size() minus the skipped ones).
    Expected<size_t> addHourly(const std::vector<HourlyRow>& rows);
    // Writes score, score_json and scored_ms = now_ms. One transaction.
    Expected<void> saveScores(const std::vector<ScoreUpdate>& scores, int64_t now_ms);
    // Deletes outcomes and hourly rows older than kRetentionMs.
    Expected<void> prune(int64_t now_ms);

    Expected<DirectoryPageResult> page(const DirectoryQuery& query);
    // Windows end at now_ms (later rows are not counted, so a past now_ms gives a past view).
    // Traffic over the last `window_hours` whole hours (including the current one), uptime and
    // median open RTT. `urls` empty = every relay with hourly rows in the window or outcomes in the
    // last 7 days, at most `limit` relays. Unknown URLs are left out.
    Expected<std::vector<RelayAggregate>> aggregates(const std::vector<std::string>& urls, int64_t now_ms,
                                                     int window_hours, size_t limit = 20000);
    // Relays worth trying next: not blocked, status not "connected", not in `exclude`.
    // Ordering: scored relays by score (best first) and never-scored relays (pinned, then
    // user/cli/config/seed sources, then oldest discovery first, so every one is reached in
    // bounded time) are interleaved one for one, starting with the better-ranked scored one:
    // a new relay is never starved behind scored ones, and a good scored relay is never starved
    // behind a flood of fresh discoveries.
    // Relays under a failure block (blocked_until_ms > now_ms) are left out; expired blocks are
    // interleaved as a third list (oldest attempt first), so they are retried.
    Expected<std::vector<RelayRecord>> bestCandidates(size_t limit, const std::set<std::string>& exclude,
                                                      int64_t now_ms = 0);
    // The optimizer blocks a relay after repeated failures until `until_ms` (0 = lift).
    Expected<void> setFailureBlock(const std::string& url, int64_t until_ms);
    // At engine start: statuses of a previous run ("connected", "backing off", "failing") are not
    // true any more; they become "candidate" until this run's connections report.
    Expected<void> resetLiveStatuses();
    Expected<std::vector<RelayRecord>> pinnedRelays(size_t limit = 10000);
    Expected<std::vector<std::pair<std::string, uint64_t>>> discoveryCounts();
    Expected<std::vector<std::pair<std::string, uint64_t>>> statusCounts();
    // Parses a NIP-11 document into the short summary tables show. Pure.
    static Nip11Summary summarizeNip11(const std::string& json);
    // Canonical JSON (keys sorted recursively by byte order, first of duplicate keys kept, no
    // whitespace, strings as JSON.stringify, numbers as written). Error "json" when unparsable.
    static Expected<std::string> canonicalJson(const std::string& json);

private:
    RelayStateStore() = default;
    Expected<void> exec(const char* sql);
    Expected<void> migrateLegacyNip11();
    Expected<void> pruneLocked(int64_t now_ms);
    Expected<void> saveRelayInfoLocked(int64_t relay_id, const std::string& document, int64_t fetched_ms);
    int m_outcomesSincePrune = 0;
    sqlite3* m_db = nullptr;
    std::mutex m_mutex;
};

}  // namespace archivist::relays
