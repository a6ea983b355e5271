#pragma once
// The sync-state family of relays.sqlite: per relay the live cursor, the resumable backfill
// checkpoint and whether backfill is done (columns of `relays`), and the recorded backfill gaps
// (`backfill_gaps`). Written only with values the sync layer reported after the events they
// cover settled in the pipeline (docs/relay-network.md, "The rule").
// Thread: the owner of the RelayStateStore (one thread).
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/relays/statement.h"
#include "core/sync/sync_reports.h"

namespace archivist::relays {

struct GapRecord {
    std::string url;
    int64_t since = 0;
    int64_t until = 0;
    std::string kinds;   // comma-separated, "" = all kinds
    std::string reason;
    int64_t recorded_ms = 0;
};

class SyncStateTable {
public:
    explicit SyncStateTable(sqlite3* db) : m_db(db) {}

    // Never moves backwards: a late, older checkpoint must not undo a newer one. Unknown relays: no-op.
    StateResult<void> saveLiveCursor(const std::string& url, int64_t cursor);
    StateResult<void> saveBackfill(const std::string& url, const std::string& checkpoint, bool done);
    StateResult<void> saveNegentropy(const std::string& url, const sync::NegentropyVerdict& verdict);
    // The last completed reconciliation of the whole history (never moves backwards) and the
    // late events it found (added to the total).
    StateResult<void> saveReconciled(const std::string& url, std::optional<int64_t> reconciled_ms, uint64_t late_events);
    // A gap already recorded (same relay, window, kinds and reason) is not added twice.
    StateResult<void> addGap(const GapRecord& gap);
    StateResult<uint64_t> gapCount(const std::string& url);
    // Newest first; url "" = every relay.
    StateResult<std::vector<GapRecord>> gaps(const std::string& url, size_t limit);
    // nullopt when the relay is not in the directory.
    StateResult<std::optional<sync::SyncResume>> resume(const std::string& url);

private:
    sqlite3* m_db;
};

}  // namespace archivist::relays
