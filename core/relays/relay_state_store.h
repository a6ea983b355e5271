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
// - Nothing is held in memory beyond one statement's row: the directory can hold 100k relays.
// Thread: any; calls are serialised by an internal mutex and are short.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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
};

struct GapRecord {
    std::string url;
    int64_t since = 0;
    int64_t until = 0;
    std::string kinds;   // comma-separated, "" = all kinds
    std::string reason;
    int64_t recorded_ms = 0;
};

class RelayStateStore {
public:
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
    Expected<void> saveRelayInfo(const std::string& url, const std::string& document, int64_t fetched_ms);
    // The stored NIP-11 document; "" when the relay is unknown or has none.
    Expected<std::string> relayInfo(const std::string& url);
    Expected<void> addGap(const GapRecord& gap);
    Expected<std::vector<GapRecord>> gaps(const std::string& url, size_t limit);
    Expected<uint64_t> gapCount();

private:
    RelayStateStore() = default;
    Expected<void> exec(const char* sql);
    sqlite3* m_db = nullptr;
    std::mutex m_mutex;
};

}  // namespace archivist::relays
