#pragma once
// The directory family of relays.sqlite: one row per normalised relay URL ever seen (`relays`:
// source, status, pin/block, failures, scores, the optimizer's bookkeeping, the newest NIP-66
// report) and the per-source discovery counts (`discovery_counts`). Its pages and candidate
// lists read the other families (outcomes for uptime, NIP-11 for the summary) but write only
// its own tables.
//
// Contract
// - Nothing is held in memory beyond one statement's row or one bounded page: the directory can
//   hold 100k relays (docs/relay-directory.md gives the measured costs). Every query takes or
//   applies a limit.
// - Statuses are observe::RelayState, stored by relayStateName().
// Thread: the owner of the RelayStateStore (one thread).
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/net/relay_info.h"
#include "core/observe/relay_state.h"
#include "core/relays/relay_discovery.h"
#include "core/relays/statement.h"
#include "core/sync/sync_reports.h"

namespace archivist::relays {

struct RelayRecord {
    int64_t id = 0;
    std::string url;                 // normalised (net::normalizeRelayUrl)
    std::string source;              // "seed", "user", "config", "cli", "nip65", "nip66", "hint", "kind3"
    observe::RelayState status = observe::RelayState::Candidate;
    bool pinned = false;
    bool blocked = false;
    int consecutive_failures = 0;
    std::string last_error;
    int64_t first_seen_ms = 0;
    int64_t last_seen_ms = 0;
    std::optional<int64_t> last_connected_ms;
    std::optional<int64_t> live_cursor;     // sync state (SyncStateTable writes it)
    std::string backfill_checkpoint;
    bool backfill_done = false;
    // Optimizer bookkeeping (schema v2).
    int tries = 0;                   // connection attempts ever (connect outcomes)
    int64_t last_attempt_ms = 0;     // 0 = never tried
    int64_t blocked_until_ms = 0;    // failure block set by the optimizer; 0 = never, ≤ now = expired
    int64_t last_probe_ms = 0;       // 0 = never probed
    // The newest NIP-66 report about the relay (kind 30166 in the archive): a prefilter only.
    int64_t nip66_reported_at = 0;   // the report's created_at (seconds); 0 = none
    int64_t nip66_rtt_open_ms = -1;
    int8_t nip66_requires_payment = -1;  // 1 / 0, -1 = not reported
    int8_t nip66_requires_auth = -1;
    // NIP-77 judged by behaviour and the last reconciliation of the whole history (schema v5).
    sync::NegentropyVerdict negentropy;
    int64_t reconciled_ms = 0;       // 0 = never
    uint64_t late_events = 0;        // events reconciliation found missing that predate its previous pass
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

struct DirectoryQuery {
    enum class Order : uint8_t { Score /* best first, unscored last */, Url, LastSeen /* newest first */ };
    std::string text;    // substring of the URL, "" = all
    std::string source;  // "" = any
    std::optional<observe::RelayState> status;  // nullopt = any
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
    net::RelayInfoSummary nip11;
    std::map<std::string, uint64_t> rejected;  // by reason, over the hourly retention (8 days)
};

struct DirectoryPageResult {
    std::vector<DirectoryRow> rows;
    uint64_t total_matching = 0;
};

class DirectoryTable {
public:
    static constexpr size_t kMaxPageRows = 5000;

    explicit DirectoryTable(sqlite3* db) : m_db(db) {}

    // Adds the relay if unknown (keeping the first source), updates last_seen otherwise.
    StateResult<RelayRecord> upsert(const std::string& url, const std::string& source, int64_t now_ms);
    StateResult<std::optional<RelayRecord>> find(const std::string& url);
    // Relays to consider at start: not blocked, pinned and user/cli/config first, at most `limit`.
    StateResult<std::vector<RelayRecord>> list(size_t limit, bool include_blocked = false);
    StateResult<uint64_t> count();

    StateResult<void> setPinned(const std::string& url, bool pinned);
    // The operator removed the relay: unpinned, stopped, and a relay they had added (source
    // user/cli) gets source "removed" so the next start does not add it again. Its history stays.
    StateResult<void> markRemoved(const std::string& url);
    // Blocked → status "blocked"; unblocked → "candidate" until its connection reports again.
    StateResult<void> setBlocked(const std::string& url, bool blocked);
    StateResult<void> saveStatus(const std::string& url, observe::RelayState status, int consecutive_failures,
                                 const std::string& last_error, std::optional<int64_t> last_connected_ms);
    // Adds unknown URLs as candidates with their discovery source and counts them per source in
    // discovery_counts; known ones only get last_seen. One transaction. Returns how many were new.
    StateResult<uint64_t> upsertDiscovered(const std::vector<DiscoveredUrl>& urls, int64_t now_ms);
    // Writes score, score_json and scored_ms = now_ms. One transaction.
    StateResult<void> saveScores(const std::vector<ScoreUpdate>& scores, int64_t now_ms);

    StateResult<DirectoryPageResult> page(const DirectoryQuery& query);
    // Relays worth trying next: not blocked, status not "connected", not in `exclude`.
    // Ordering: scored relays by score (best first) and never-scored relays (pinned, then
    // user/cli/config/seed sources, then oldest discovery first, so every one is reached in
    // bounded time) are interleaved one for one, starting with the better-ranked scored one:
    // a new relay is never starved behind scored ones, and a good scored relay is never starved
    // behind a flood of fresh discoveries.
    // Relays under a failure block (blocked_until_ms > now_ms) are left out; expired blocks are
    // interleaved as a third list (oldest attempt first), so they are retried.
    StateResult<std::vector<RelayRecord>> bestCandidates(size_t limit, const std::set<std::string>& exclude,
                                                         int64_t now_ms = 0);
    // The optimizer blocks a relay after repeated failures until `until_ms` (0 = lift).
    StateResult<void> setFailureBlock(const std::string& url, int64_t until_ms);
    // At engine start: live statuses of a previous run (observe::isLiveState) and "stopped" are
    // not true any more; they become "candidate" until this run's connections report.
    StateResult<void> resetLiveStatuses();
    StateResult<std::vector<RelayRecord>> pinnedRelays(size_t limit = 10000);
    StateResult<std::vector<std::pair<std::string, uint64_t>>> discoveryCounts();
    // (status name, relays) per stored status.
    StateResult<std::vector<std::pair<std::string, uint64_t>>> statusCounts();

private:
    sqlite3* m_db;
};

}  // namespace archivist::relays
