#pragma once
// SQLite's heap, all connections of the process together: its page caches, schemas, statements
// and sorters. Each connection's page cache has its own bound (cache_size), but their sum grows
// with the number of open files; the heap limit bounds the sum: at or above it a connection that
// needs another page reuses its own least recently used clean page instead of allocating one, so
// the caches stop growing. A soft limit: pinned pages, statements and sorters still allocate past
// it, so `used` can exceed `limit` for a while. Gauges: registerMemoryGauges (memory_stats.h).
//
// How (decision 0022): SQLite's own memory statistics take one process-wide mutex around every
// allocation and free, and with lanes, flushes and merges allocating at once that mutex was ≈ 4 µs
// of CPU per imported event. Before SQLite initialises, installSqliteMemory() turns them off and
// installs two thin wrappers of SQLite's default allocator and page cache: the allocator counts
// bytes per thread and publishes them in steps of 64 KiB (so `used` is exact to 64 KiB per
// thread), the page cache caps a connection's cache at its current size while the count is at
// or above the limit (what SQLite's soft heap limit does inside pcache1). Should SQLite already be
// initialised (another library opened it first), the wrappers cannot be installed: then SQLite's
// own statistics and soft heap limit are used, as before.
// Thread: any.
#include <cstdint>

namespace archivist::observe {

struct SqliteHeap {
    uint64_t used_bytes = 0;   // bytes SQLite holds now
    uint64_t peak_bytes = 0;   // the most held at once since start
    uint64_t limit_bytes = 0;  // the heap limit in force (0 = none)
};
SqliteHeap readSqliteHeap();  // cheap (a few atomic loads): any rate

inline constexpr uint64_t kDefaultSqliteHeapLimitBytes = uint64_t(64) << 20;
inline constexpr uint64_t kMinSqliteHeapLimitBytes = uint64_t(8) << 20;

// Installs the counting allocator and the capping page cache unless SQLite is initialised
// already; true when they are in place (now or from an earlier call). main() calls it first thing;
// setSqliteHeapLimit and ensureSqliteHeapLimit call it too, so a test or tool that opens SQLite
// through the project's code gets them as well.
bool installSqliteMemory();
bool sqliteMemoryInstalled();

// Sets the process-wide heap limit. Start-up code calls it before opening any database (the
// engine and the commands with config.json's sqlite_heap_limit_bytes); a later call replaces the
// limit, and caches above a lowered limit stop growing from then on.
void setSqliteHeapLimit(uint64_t bytes);
// Sets kDefaultSqliteHeapLimitBytes unless setSqliteHeapLimit() was called before: every place
// that opens a SQLite connection calls it, so no process (a tool, a test) runs without a bound.
void ensureSqliteHeapLimit();

}  // namespace archivist::observe
