#include "core/index/schema.h"

#include <iterator>
#include <string>
#include <string_view>

#include "core/index/tag_key.h"
#include "core/observe/log.h"

namespace archivist::index {

namespace {

// Version 1 (never edit once released; append kV2 … to kMigrations instead): events, tags, frames, segments, sources, sightings, kind counts, meta.
constexpr const char* kV1 = R"SQL(
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE segments(segment INTEGER PRIMARY KEY, sealed_at INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE frames(
  id INTEGER PRIMARY KEY,
  segment INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  events INTEGER NOT NULL,
  raw_bytes INTEGER NOT NULL,
  checksum INTEGER NOT NULL,
  UNIQUE(segment, offset));
CREATE TABLE events(
  rowid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  pubkey BLOB NOT NULL,
  kind INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  first_seen_at INTEGER NOT NULL,
  frame INTEGER NOT NULL,
  line INTEGER NOT NULL,
  flags INTEGER NOT NULL);
CREATE INDEX events_pubkey_created ON events(pubkey, created_at);
CREATE INDEX events_kind_created ON events(kind, created_at);
CREATE INDEX events_created ON events(created_at, id);
CREATE INDEX events_frame_line ON events(frame, line);
CREATE TABLE tags(name TEXT NOT NULL, value TEXT NOT NULL, event INTEGER NOT NULL,
  PRIMARY KEY(name, value, event)) WITHOUT ROWID;
CREATE TABLE kind_counts(kind INTEGER PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE sources(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE sightings(event INTEGER NOT NULL, source INTEGER NOT NULL, seen_at INTEGER NOT NULL,
  PRIMARY KEY(event, source)) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES ('watermark_segment', 0), ('watermark_offset', 0), ('event_count', 0),
  ('created_at', strftime('%s','now')), ('fts', 0), ('fts_backfill_pending', 0);
)SQL";

// Version 2: `#x` tags indexed by a 64-bit key of (name, value) instead of the text (tag_key.h;
// docs/decisions/0010-throughput-ceiling.md). archivist_tag_key() is registered by migrate().
constexpr const char* kV2 = R"SQL(
CREATE TABLE tags_v2(key INTEGER NOT NULL, event INTEGER NOT NULL, PRIMARY KEY(key, event)) WITHOUT ROWID;
INSERT OR IGNORE INTO tags_v2(key, event) SELECT archivist_tag_key(name, value), event FROM tags;
DROP TABLE tags;
ALTER TABLE tags_v2 RENAME TO tags;
)SQL";

constexpr const char* kMigrations[] = {kV1, kV2};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration step per schema version");

Error sqlError(sqlite3* db, const std::string& what) {
    return makeError("sqlite", what + ": " + sqlite3_errmsg(db));
}

Expected<void> exec(sqlite3* db, const char* sql, const std::string& what) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string m = msg ? msg : "unknown error";
        sqlite3_free(msg);
        return makeError("sqlite", what + ": " + m);
    }
    return {};
}

}  // namespace

int storedSchemaVersion(sqlite3* db) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) != SQLITE_OK) return -1;
    int version = -1;
    if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return version;
}

static Error newerSchemaError(int version) {
    return makeError("schema", "index was written by a newer Archivist (schema version " + std::to_string(version) +
                                   ", this build knows up to " + std::to_string(kSchemaVersion) + ")");
}

// archivist_tag_key(name TEXT, value TEXT) → tagKey(name[0], value), for the version 2 step.
static void tagKeyFunction(sqlite3_context* ctx, int, sqlite3_value** argv) {
    const auto* name = sqlite3_value_text(argv[0]);
    const auto* value = sqlite3_value_text(argv[1]);
    if (!name || !value || sqlite3_value_bytes(argv[0]) != 1) {
        sqlite3_result_error(ctx, "archivist_tag_key: a one-character name and a value are required", -1);
        return;
    }
    const std::string_view v(reinterpret_cast<const char*>(value), size_t(sqlite3_value_bytes(argv[1])));
    sqlite3_result_int64(ctx, tagKey(char(name[0]), v));
}

Expected<void> migrate(sqlite3* db) {
    int version = storedSchemaVersion(db);
    if (version < 0) return sqlError(db, "read user_version");
    if (version > kSchemaVersion) return newerSchemaError(version);
    if (version < kSchemaVersion &&
        sqlite3_create_function(db, "archivist_tag_key", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                tagKeyFunction, nullptr, nullptr) != SQLITE_OK)
        return sqlError(db, "register archivist_tag_key");
    const bool fresh = version == 0;  // a new index is created, nothing is upgraded
    while (version < kSchemaVersion) {
        if (auto r = exec(db, "BEGIN IMMEDIATE", "begin migration"); !r) return r;
        // Re-read under the write lock: another process may have migrated meanwhile.
        version = storedSchemaVersion(db);
        Expected<void> r;
        if (version < 0) r = sqlError(db, "read user_version");
        else if (version > kSchemaVersion) r = newerSchemaError(version);
        else if (version < kSchemaVersion) {
            if (!fresh)
                qCInfo(lcIndex).noquote() << "upgrading the index to schema version" << version + 1
                                          << "(on a large archive this can take minutes)";
            r = exec(db, kMigrations[version], "migration to version " + std::to_string(version + 1));
            if (r) {
                const std::string set = "PRAGMA user_version = " + std::to_string(version + 1);
                r = exec(db, set.c_str(), "set user_version");
            }
        }
        if (!r) {
            if (auto rb = exec(db, "ROLLBACK", "rollback"); !rb)
                qCWarning(lcIndex).noquote() << "rollback of a failed migration failed:"
                                             << QString::fromStdString(rb.error().message);
            return r;
        }
        if (auto c = exec(db, "COMMIT", "commit migration"); !c) return c;
        version = storedSchemaVersion(db);
        if (version < 0) return sqlError(db, "read user_version");
    }
    return {};
}

}  // namespace archivist::index
