#pragma once
// The ClickHouse side of the sink: table definitions, the partition function the sink mirrors on
// the client, and SQL quoting. docs/clickhouse.md explains the design; the statements here are
// what the sink runs (CREATE … IF NOT EXISTS) before its first insert.
//
// Tables (in `database`, names prefixed with `table_prefix`):
//   events     one row per Nostr event: the seven NIP-01 fields exactly as archived, plus `node`
//              (which Archivist node shipped this copy) and `batch` (the shipping batch, the
//              identity the sink checks after an ambiguous failure). ReplacingMergeTree: copies
//              of an event are identical in the seven fields and collapse to one row on merge.
//              ORDER BY (pubkey, kind, created_at, id): per-author (and per-author-and-kind)
//              reads use the primary index; PARTITION BY month of created_at (UTC) prunes time
//              ranges. created_at is Int64; for the partition only it is clamped to
//              0 … 4102444799 (2099-12-31), the range 18.16's DateTime handles.
//   sightings  (id, relay, seen_at, node, batch): which node received which event from which
//              relay, and when (Unix milliseconds). Fed from the durable sightings log with its
//              own cursor; ReplacingMergeTree ORDER BY (id, node, relay, seen_at).
// Thread: any (pure functions).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace archivist::sink {

// [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes: database names and table prefixes are interpolated
// into SQL, so nothing else is accepted ("" is valid for a prefix, not for a database).
bool isSqlIdentifier(std::string_view s, bool allow_empty = false);

// 'text' with ClickHouse's backslash escapes (\\ \' and control characters).
std::string sqlQuote(std::string_view text);

struct ClickHouseTables {
    std::string database;
    std::string prefix;
    std::string events() const;     // `database`.`<prefix>events`
    std::string sightings() const;  // `database`.`<prefix>sightings`
};

// CREATE DATABASE IF NOT EXISTS, then the tables, in order.
std::vector<std::string> schemaStatements(const ClickHouseTables& t);

// The partition expression of the events table (as SQL over created_at) and its client-side
// mirror: YYYYMM of created_at in UTC after the clamp described above.
extern const char* const kEventsPartitionSql;
uint32_t monthPartition(int64_t created_at_s);

}  // namespace archivist::sink
