#pragma once
// The relay database's schema (relays.sqlite) as ordered forward migrations, like the index's
// (core/index/schema.h): PRAGMA user_version = the number of steps applied; a released step is
// never edited, new ones are appended. docs/relay-directory.md describes the tables.
//   v1  relays (directory + sync state), backfill_gaps
//   v2  scores and optimizer bookkeeping, NIP-11 documents and history (the legacy relays.nip11
//       column moved into them), relay_outcomes, relay_hourly, discovery_counts
//   v3  statuses in the one relay-state vocabulary (observe::relayStateName): "backing off" →
//       "backing_off", any other unknown text → "candidate"
//   v4  alerts: the engine's alert history (alerts_table.h)
//   v5  NIP-77 support judged by behaviour (neg_support, neg_reason, neg_retry_after_ms), the last
//       completed reconciliation of the whole history (reconciled_ms) and the events it found
//       missing ("late" events, late_events)
#include <sqlite3.h>

#include "core/relays/statement.h"

namespace archivist::relays {

constexpr int kRelaySchemaVersion = 5;

// Applies the missing migrations, one transaction each (re-reading the version under the write
// lock: another process may have migrated meanwhile). Errors: Schema when the file is newer
// than this build or a step fails.
StateResult<void> migrateRelaySchema(sqlite3* db, const std::string& file_name);

}  // namespace archivist::relays
