#include "core/observe/sqlite_heap.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <mutex>

namespace archivist::observe {

namespace {

// ---- the counting allocator -------------------------------------------------------------------

sqlite3_mem_methods g_mem{};  // SQLite's default allocator, which the wrappers call
std::atomic<int64_t> g_used{0};
std::atomic<int64_t> g_peak{0};
std::atomic<uint64_t> g_limit{0};
std::atomic<bool> g_over{false};  // g_used at or above g_limit: page caches stop growing
std::atomic<bool> g_installed{false};

constexpr int64_t kPublishBytes = int64_t(64) << 10;

void publish(int64_t delta) {
    const int64_t now = g_used.fetch_add(delta, std::memory_order_relaxed) + delta;
    int64_t peak = g_peak.load(std::memory_order_relaxed);
    while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
    const int64_t limit = int64_t(std::min<uint64_t>(g_limit.load(std::memory_order_relaxed), uint64_t(INT64_MAX)));
    // A little hysteresis: caps come off only once the heap is 1/16 below the limit again.
    if (limit > 0 && now >= limit) g_over.store(true, std::memory_order_relaxed);
    else if (limit == 0 || now < limit - limit / 16) g_over.store(false, std::memory_order_relaxed);
}

// Each thread's allocations are summed here and published every 64 KiB (trivially destructible:
// it stays usable while the thread's other thread_local objects are destroyed).
thread_local int64_t t_delta = 0;
thread_local bool t_flushAtExit = false;
thread_local bool t_exiting = false;  // the flusher ran: publish at once from now on
struct FlushAtExit {
    ~FlushAtExit() {
        t_exiting = true;
        const int64_t d = t_delta;
        t_delta = 0;
        if (d) publish(d);
    }
};
thread_local FlushAtExit t_flusher;

inline void account(int64_t bytes) {
    if (!t_flushAtExit) {
        t_flushAtExit = true;
        (void)&t_flusher;  // constructs it: its destructor publishes what is left when the thread ends
    }
    if (t_exiting) {  // a later thread_local destructor (a connection it owned) frees memory
        publish(bytes);
        return;
    }
    t_delta += bytes;
    if (t_delta >= kPublishBytes || t_delta <= -kPublishBytes) {
        const int64_t d = t_delta;
        t_delta = 0;
        publish(d);
    }
}

void* memMalloc(int n) {
    void* p = g_mem.xMalloc(n);
    if (p) account(g_mem.xSize(p));
    return p;
}
void memFree(void* p) {
    if (p) account(-int64_t(g_mem.xSize(p)));
    g_mem.xFree(p);
}
void* memRealloc(void* p, int n) {
    const int64_t before = p ? g_mem.xSize(p) : 0;
    void* q = g_mem.xRealloc(p, n);
    if (q) account(int64_t(g_mem.xSize(q)) - before);
    return q;
}
int memSize(void* p) { return g_mem.xSize(p); }
int memRoundup(int n) { return g_mem.xRoundup(n); }
int memInit(void*) { return g_mem.xInit(g_mem.pAppData); }
void memShutdown(void*) { g_mem.xShutdown(g_mem.pAppData); }

// ---- the capping page cache ---------------------------------------------------------------------

sqlite3_pcache_methods2 g_pc{};  // SQLite's default page cache (pcache1)

constexpr int kMinCappedPages = 16;

struct Cache {
    sqlite3_pcache* inner = nullptr;
    bool purgeable = false;
    bool capped = false;
    int requested = 0;  // the cache size the pager asked for (cache_size)
};

Cache* cacheOf(sqlite3_pcache* p) { return reinterpret_cast<Cache*>(p); }

int pcInit(void*) { return g_pc.xInit(g_pc.pArg); }
void pcShutdown(void*) { g_pc.xShutdown(g_pc.pArg); }
sqlite3_pcache* pcCreate(int szPage, int szExtra, int purgeable) {
    auto* c = static_cast<Cache*>(sqlite3_malloc(sizeof(Cache)));
    if (!c) return nullptr;
    *c = Cache{};
    c->inner = g_pc.xCreate(szPage, szExtra, purgeable);
    if (!c->inner) {
        sqlite3_free(c);
        return nullptr;
    }
    c->purgeable = purgeable != 0;
    return reinterpret_cast<sqlite3_pcache*>(c);
}
void pcCachesize(sqlite3_pcache* p, int n) {
    Cache* c = cacheOf(p);
    c->requested = n;
    if (c->capped) n = std::min(n, std::max(kMinCappedPages, g_pc.xPagecount(c->inner)));
    g_pc.xCachesize(c->inner, n);
}
int pcPagecount(sqlite3_pcache* p) { return g_pc.xPagecount(cacheOf(p)->inner); }
sqlite3_pcache_page* pcFetch(sqlite3_pcache* p, unsigned key, int create) {
    Cache* c = cacheOf(p);
    if (create && c->purgeable) {
        // Over the limit: this cache keeps what it holds and recycles its own least recently
        // used clean page for the next one (as pcache1 does under SQLite's soft heap limit).
        const bool over = g_over.load(std::memory_order_relaxed);
        if (over != c->capped) {
            c->capped = over;
            const int n = over ? std::min(c->requested, std::max(kMinCappedPages, g_pc.xPagecount(c->inner)))
                               : c->requested;
            g_pc.xCachesize(c->inner, n);
        }
    }
    return g_pc.xFetch(c->inner, key, create);
}
void pcUnpin(sqlite3_pcache* p, sqlite3_pcache_page* pg, int discard) { g_pc.xUnpin(cacheOf(p)->inner, pg, discard); }
void pcRekey(sqlite3_pcache* p, sqlite3_pcache_page* pg, unsigned from, unsigned to) {
    g_pc.xRekey(cacheOf(p)->inner, pg, from, to);
}
void pcTruncate(sqlite3_pcache* p, unsigned limit) { g_pc.xTruncate(cacheOf(p)->inner, limit); }
void pcDestroy(sqlite3_pcache* p) {
    Cache* c = cacheOf(p);
    g_pc.xDestroy(c->inner);
    sqlite3_free(c);
}
void pcShrink(sqlite3_pcache* p) { g_pc.xShrink(cacheOf(p)->inner); }

std::mutex g_mutex;          // installation and the limit
bool g_tried = false;        // guarded by g_mutex
bool g_sqliteLimitSet = false;  // guarded by g_mutex

bool installLocked() {
    if (g_tried) return g_installed.load();
    g_tried = true;
    // Every sqlite3_config call below fails with SQLITE_MISUSE once SQLite is initialised.
    sqlite3_mem_methods mem{};
    sqlite3_pcache_methods2 pc{};
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &mem) != SQLITE_OK) return false;
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &pc) != SQLITE_OK) return false;
    if (!mem.xMalloc || !mem.xSize || !pc.xCreate || !pc.xFetch) return false;
    g_mem = mem;
    g_pc = pc;
    static const sqlite3_mem_methods counting = {memMalloc, memFree, memRealloc, memSize, memRoundup,
                                                 memInit,   memShutdown, nullptr};
    static const sqlite3_pcache_methods2 capping = {1,          nullptr,    pcInit,     pcShutdown, pcCreate,
                                                    pcCachesize, pcPagecount, pcFetch,  pcUnpin,    pcRekey,
                                                    pcTruncate, pcDestroy,  pcShrink};
    // A small bulk allocation per connection: by default every page cache allocates 20 pages
    // (≈ 88 KB with 4 KiB pages) the first time it reads, however few pages it ever uses. A
    // read-only connection to a part touches a handful of pages, so with hundreds of parts open
    // that bulk was two thirds of a connection's memory (decision 0038). Four pages cover a point
    // lookup's path; further pages are allocated one at a time as they are needed. (No bulk at all
    // saved 4 KB more a connection but, under ASan, slowed the store enough for a relay test's
    // 300 ms pong to time out every time.) Best effort: without it only memory grows.
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 4);
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &counting) != SQLITE_OK) return false;
    if (sqlite3_config(SQLITE_CONFIG_PCACHE2, &capping) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK) {
        sqlite3_config(SQLITE_CONFIG_MALLOC, &g_mem);
        sqlite3_config(SQLITE_CONFIG_PCACHE2, &g_pc);
        return false;
    }
    g_installed.store(true);
    return true;
}

void applySqliteHeapLimit(uint64_t bytes) {
    g_sqliteLimitSet = true;
    if (installLocked()) {
        g_limit.store(bytes, std::memory_order_relaxed);
        publish(0);  // re-evaluates g_over against the new limit
    } else {
        sqlite3_soft_heap_limit64(sqlite3_int64(std::min<uint64_t>(bytes, uint64_t(INT64_MAX))));
    }
}

}  // namespace

bool installSqliteMemory() {
    std::lock_guard lock(g_mutex);
    return installLocked();
}

bool sqliteMemoryInstalled() { return g_installed.load(); }

SqliteHeap readSqliteHeap() {
    SqliteHeap h;
    if (g_installed.load()) {
        if (const int64_t d = t_delta) {  // this thread's own allocations, exact (tests read them)
            t_delta = 0;
            publish(d);
        }
        h.used_bytes = uint64_t(std::max<int64_t>(0, g_used.load(std::memory_order_relaxed)));
        h.peak_bytes = uint64_t(std::max<int64_t>(0, g_peak.load(std::memory_order_relaxed)));
        h.limit_bytes = g_limit.load(std::memory_order_relaxed);
        return h;
    }
    h.used_bytes = uint64_t(std::max<sqlite3_int64>(0, sqlite3_memory_used()));
    h.peak_bytes = uint64_t(std::max<sqlite3_int64>(0, sqlite3_memory_highwater(0)));
    h.limit_bytes = uint64_t(std::max<sqlite3_int64>(0, sqlite3_soft_heap_limit64(-1)));
    return h;
}

void setSqliteHeapLimit(uint64_t bytes) {
    std::lock_guard lock(g_mutex);
    applySqliteHeapLimit(bytes);
}

void ensureSqliteHeapLimit() {
    std::lock_guard lock(g_mutex);
    if (!g_sqliteLimitSet) applySqliteHeapLimit(kDefaultSqliteHeapLimitBytes);
}

}  // namespace archivist::observe
