#include "core/relays/schema.h"

#include <iterator>
#include <string>

#include "core/observe/log.h"
#include "core/relays/nip11_table.h"

namespace archivist::relays {

namespace {

// Never edit a released step; append new ones.
constexpr const char* kMigrations[] = {
    // v1
    R"SQL(
CREATE TABLE relays(
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'candidate',
  pinned INTEGER NOT NULL DEFAULT 0,
  blocked INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  last_connected INTEGER,
  live_cursor INTEGER,
  backfill_checkpoint TEXT NOT NULL DEFAULT '',
  backfill_done INTEGER NOT NULL DEFAULT 0,
  nip11 TEXT,
  nip11_at INTEGER);
CREATE TABLE backfill_gaps(
  id INTEGER PRIMARY KEY,
  relay INTEGER NOT NULL,
  since INTEGER NOT NULL,
  until INTEGER NOT NULL,
  kinds TEXT NOT NULL,
  reason TEXT NOT NULL,
  recorded_at INTEGER NOT NULL);
CREATE UNIQUE INDEX backfill_gaps_key ON backfill_gaps(relay, since, until, kinds, reason);
)SQL",
    // v2: directory scores and indexes, content-addressed NIP-11 documents with history,
    // probe/connect outcomes, hourly statistics, discovery counts. The legacy relays.nip11 column
    // is moved into the new tables by moveLegacyNip11() in the same transaction.
    R"SQL(
ALTER TABLE relays ADD COLUMN score REAL;
ALTER TABLE relays ADD COLUMN score_json TEXT;
ALTER TABLE relays ADD COLUMN scored_ms INTEGER;
ALTER TABLE relays ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN last_attempt_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN blocked_until_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN last_probe_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN nip66_reported_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN nip66_rtt_open_ms INTEGER NOT NULL DEFAULT -1;
ALTER TABLE relays ADD COLUMN nip66_requires_payment INTEGER NOT NULL DEFAULT -1;
ALTER TABLE relays ADD COLUMN nip66_requires_auth INTEGER NOT NULL DEFAULT -1;
CREATE INDEX relays_score ON relays(score);
CREATE INDEX relays_last_seen ON relays(last_seen);
CREATE INDEX relays_status ON relays(status);
CREATE TABLE nip11_documents(
  sha256 BLOB PRIMARY KEY,
  canonical_json TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE relay_nip11_history(
  relay INTEGER NOT NULL,
  fetched_ms INTEGER NOT NULL,
  sha256 BLOB NOT NULL,
  PRIMARY KEY(relay, fetched_ms)) WITHOUT ROWID;
CREATE INDEX relay_nip11_history_sha ON relay_nip11_history(sha256);
CREATE TABLE relay_outcomes(
  id INTEGER PRIMARY KEY,
  relay INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  ok INTEGER NOT NULL,
  open_rtt_ms INTEGER NOT NULL DEFAULT -1,
  read_rtt_ms INTEGER NOT NULL DEFAULT -1,
  error TEXT NOT NULL DEFAULT '');
CREATE INDEX relay_outcomes_relay ON relay_outcomes(relay, at_ms);
CREATE INDEX relay_outcomes_at ON relay_outcomes(at_ms);
CREATE TABLE relay_hourly(
  relay INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  received INTEGER NOT NULL DEFAULT 0,
  novel INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  rejected_json TEXT NOT NULL DEFAULT '{}',
  connected_s INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(relay, hour)) WITHOUT ROWID;
CREATE INDEX relay_hourly_hour ON relay_hourly(hour);
CREATE TABLE discovery_counts(
  source TEXT PRIMARY KEY,
  urls INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
)SQL",
    // v3: one relay-state vocabulary (core/observe/relay_state.h).
    R"SQL(
UPDATE relays SET status = 'backing_off' WHERE status = 'backing off';
UPDATE relays SET status = 'candidate' WHERE status NOT IN ('candidate', 'resolving', 'fetching_info',
  'connecting', 'connected', 'backing_off', 'failing', 'refused', 'restricted', 'blocked', 'stopped');
)SQL",
    // v4: the engine's alerts and their history (alerts_table.h; docs/incidents.md).
    R"SQL(
CREATE TABLE alerts(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  severity INTEGER NOT NULL,
  relay TEXT NOT NULL DEFAULT '',
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  resolved_ms INTEGER NOT NULL DEFAULT 0,
  count INTEGER NOT NULL DEFAULT 1,
  message TEXT NOT NULL DEFAULT '',
  level INTEGER NOT NULL DEFAULT 0,
  acknowledged INTEGER NOT NULL DEFAULT 0,
  cleared INTEGER NOT NULL DEFAULT 0);
CREATE INDEX alerts_relay ON alerts(relay, id);
)SQL",
    // v5: NIP-77 support judged by behaviour and the whole-history reconciliation (decision 0016).
    R"SQL(
ALTER TABLE relays ADD COLUMN neg_support TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE relays ADD COLUMN neg_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE relays ADD COLUMN neg_retry_after_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN reconciled_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN late_events INTEGER NOT NULL DEFAULT 0;
)SQL",
};
static_assert(std::size(kMigrations) == size_t(kRelaySchemaVersion));

int storedVersion(sqlite3* db) {
    sql::Stmt st(db, "PRAGMA user_version");
    if (!st.ok() || st.step() != SQLITE_ROW) return -1;
    return int(st.int64(0));
}

// v2: the documents of the old relays.nip11 column go into the content-addressed tables.
// Documents that are not a JSON object (or too large) were never usable: dropped with a warning.
StateResult<void> moveLegacyNip11(sqlite3* db) {
    sql::Stmt sel(db, "SELECT id, nip11, coalesce(nip11_at, 0) FROM relays WHERE nip11 IS NOT NULL");
    if (!sel.ok()) return sel.error("prepare legacy NIP-11");
    Nip11Table nip11(db);
    int rc;
    uint64_t skipped = 0;
    while ((rc = sel.step()) == SQLITE_ROW) {
        auto r = nip11.save(sel.int64(0), sel.text(1), sel.int64(2));
        if (!r) {
            if (r.error().code == StateErrorCode::Sqlite) return r;
            ++skipped;
        }
    }
    if (rc != SQLITE_DONE) return sel.error("read legacy NIP-11");
    if (skipped) qCWarning(lcRelays) << "relay state migration: dropped" << skipped << "unusable NIP-11 documents";
    return sql::exec(db, "UPDATE relays SET nip11 = NULL, nip11_at = NULL WHERE nip11 IS NOT NULL");
}

StateError newer(const std::string& file, int version) {
    return stateError(StateErrorCode::Schema, file + " was written by a newer Archivist (relay schema version " +
                                                  std::to_string(version) + ")");
}

}  // namespace

StateResult<void> migrateRelaySchema(sqlite3* db, const std::string& file) {
    int version = storedVersion(db);
    if (version < 0) return stateError(StateErrorCode::Sqlite, file + ": cannot read user_version: " + sqlite3_errmsg(db));
    if (version > kRelaySchemaVersion) return newer(file, version);
    while (version < kRelaySchemaVersion) {
        if (auto r = sql::exec(db, "BEGIN IMMEDIATE"); !r) return r;
        version = storedVersion(db);
        StateResult<void> r;
        if (version < 0) r = stateError(StateErrorCode::Sqlite, "read user_version: " + std::string(sqlite3_errmsg(db)));
        else if (version > kRelaySchemaVersion) r = newer(file, version);
        else if (version < kRelaySchemaVersion) {
            r = sql::exec(db, kMigrations[version]);
            if (r && version + 1 == 2) r = moveLegacyNip11(db);
            if (r) r = sql::exec(db, ("PRAGMA user_version = " + std::to_string(version + 1)).c_str());
            if (!r) r = stateError(StateErrorCode::Schema, "relay state migration to version " + std::to_string(version + 1) +
                                                               ": " + r.error().message);
        }
        if (!r) {
            if (auto rb = sql::exec(db, "ROLLBACK"); !rb)
                qCWarning(lcRelays) << "relay state migration: rollback failed:" << rb.error().message.c_str();
            return r;
        }
        if (auto c = sql::exec(db, "COMMIT"); !c) return c;
        version = storedVersion(db);
    }
    return {};
}

}  // namespace archivist::relays
