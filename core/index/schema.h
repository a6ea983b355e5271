#pragma once
// The SQL of the partitioned index (schema version 3; docs/index-schema.md): the catalog, and the
// schema of hot files and parts. Both hold the same tables; a part's `tags` has its primary key and
// every part has the secondary indexes, built after its rows (PartBuilder), which is cheaper and
// leaves them compact. A hot file keeps only what its writer needs — the id index (exact dedupe)
// and the sightings' key (the earliest seen_at) — and its tags in arrival order: readers walk its
// rows by row key, and the flush builds the rest once (decision 0030).
#include <string>

namespace archivist::index {

inline constexpr const char* kCatalogSql = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,          -- 'hot' or 'part'
  state TEXT NOT NULL,         -- 'building', 'active' (hot, receiving), 'frozen' (hot, awaiting its flush), 'live' (part), 'retired'
  lane INTEGER NOT NULL DEFAULT 0,
  bucket INTEGER NOT NULL DEFAULT 0,
  level INTEGER NOT NULL DEFAULT 0,
  events INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS frames(
  id INTEGER PRIMARY KEY,
  segment INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  events INTEGER NOT NULL,
  raw_bytes INTEGER NOT NULL,
  checksum INTEGER NOT NULL,
  UNIQUE(segment, offset));
CREATE TABLE IF NOT EXISTS sources(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS segments(segment INTEGER PRIMARY KEY, sealed_at INTEGER NOT NULL, bytes INTEGER NOT NULL);
)SQL";

// Tables of a hot file or a part but `tags` (below). `rk` is the row key (layout.h).
inline constexpr const char* kEventTablesSql = R"SQL(
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE events(
  rk INTEGER PRIMARY KEY,
  id BLOB NOT NULL,
  pubkey BLOB NOT NULL,
  kind INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  first_seen_at INTEGER NOT NULL,
  segment INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  line INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  sighash INTEGER NOT NULL);
CREATE TABLE sightings(rk INTEGER NOT NULL, source INTEGER NOT NULL, seen_at INTEGER NOT NULL,
  PRIMARY KEY(rk, source)) WITHOUT ROWID;
CREATE TABLE kind_counts(kind INTEGER PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE buckets(bucket INTEGER PRIMARY KEY, count INTEGER NOT NULL);
)SQL";

// A part's tag rows, one per (key, event), in key order.
inline constexpr const char* kPartTagsSql =
    "CREATE TABLE tags(key INTEGER NOT NULL, rk INTEGER NOT NULL, PRIMARY KEY(key, rk)) WITHOUT ROWID;";
// A hot file's tag rows, appended (the writer gives each (key, event) once). Hot files of earlier
// versions have the part's table; readers and the flush take either.
inline constexpr const char* kHotTagsSql = "CREATE TABLE tags(key INTEGER NOT NULL, rk INTEGER NOT NULL);";

// The id index: every hot file and part.
inline constexpr const char* kIdIndexSql = "CREATE UNIQUE INDEX events_id ON events(id);";
// The secondary indexes: parts only (hot files of earlier versions have them too).
inline constexpr const char* kSecondaryIndexesSql = R"SQL(
CREATE INDEX events_pubkey_created ON events(pubkey, created_at);
CREATE INDEX events_kind_created ON events(kind, created_at);
CREATE INDEX events_created ON events(created_at, id);
)SQL";

// Columns of an event row as every reader selects them (EventRow order).
inline constexpr const char* kEventColumns =
    "e.rk, e.id, e.pubkey, e.kind, e.created_at, e.first_seen_at, e.flags, e.segment, e.offset, e.length, e.line";

}  // namespace archivist::index
