#include "core/observe/sqlite_heap.h"

#include <sqlite3.h>

#include <algorithm>
#include <mutex>

namespace archivist::observe {

SqliteHeap readSqliteHeap() {
    SqliteHeap h;
    h.used_bytes = uint64_t(std::max<sqlite3_int64>(0, sqlite3_memory_used()));
    h.peak_bytes = uint64_t(std::max<sqlite3_int64>(0, sqlite3_memory_highwater(0)));
    h.limit_bytes = uint64_t(std::max<sqlite3_int64>(0, sqlite3_soft_heap_limit64(-1)));
    return h;
}

namespace {
std::mutex g_sqliteLimitMutex;
bool g_sqliteLimitSet = false;  // guarded by g_sqliteLimitMutex

void applySqliteHeapLimit(uint64_t bytes) {
    g_sqliteLimitSet = true;
    sqlite3_soft_heap_limit64(sqlite3_int64(std::min<uint64_t>(bytes, uint64_t(INT64_MAX))));
}
}  // namespace

void setSqliteHeapLimit(uint64_t bytes) {
    std::lock_guard lock(g_sqliteLimitMutex);
    applySqliteHeapLimit(bytes);
}

void ensureSqliteHeapLimit() {
    std::lock_guard lock(g_sqliteLimitMutex);
    if (!g_sqliteLimitSet) applySqliteHeapLimit(kDefaultSqliteHeapLimitBytes);
}

}  // namespace archivist::observe
