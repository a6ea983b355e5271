#pragma once
// SQLite's heap, all connections of the process together: its page caches, schemas, statements
// and sorters. Each connection's page cache has its own bound (cache_size), but their sum grows
// with the number of open files; the soft heap limit bounds the sum. At or above the limit a
// connection that needs another page reuses its own least recently used clean page instead of
// allocating one (SQLite's pcache1 under memory pressure; it needs memory statistics, which
// SQLite keeps by default), and sorters spill to temporary files sooner, so the caches stop
// growing. A soft limit: pinned pages, statements and sorters still allocate past it, so `used`
// can exceed `limit` for a while. Gauges: registerMemoryGauges (memory_stats.h).
// Thread: any.
#include <cstdint>

namespace archivist::observe {

struct SqliteHeap {
    uint64_t used_bytes = 0;   // sqlite3_memory_used()
    uint64_t peak_bytes = 0;   // sqlite3_memory_highwater(0): the most held at once since start
    uint64_t limit_bytes = 0;  // the soft heap limit in force (0 = none)
};
SqliteHeap readSqliteHeap();  // cheap (one SQLite mutex): any rate

inline constexpr uint64_t kDefaultSqliteHeapLimitBytes = uint64_t(64) << 20;
inline constexpr uint64_t kMinSqliteHeapLimitBytes = uint64_t(8) << 20;

// Sets SQLite's process-wide soft heap limit (sqlite3_soft_heap_limit64). Start-up code calls it
// before opening any database (the engine and the commands with config.json's
// sqlite_heap_limit_bytes); a later call replaces the limit, and caches above a lowered limit
// stop growing from then on.
void setSqliteHeapLimit(uint64_t bytes);
// Sets kDefaultSqliteHeapLimitBytes unless setSqliteHeapLimit() was called before: every place
// that opens a SQLite connection calls it, so no process (a tool, a test) runs without a bound.
void ensureSqliteHeapLimit();

}  // namespace archivist::observe
