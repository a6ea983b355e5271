#include "core/observe/memory_stats.h"

#include <mutex>

#include "core/util/clock.h"

#include <cstdio>
#include <cstring>
#include <malloc.h>
#include <pthread.h>

#include <chrono>

#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer runtime (its header is not always installed).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
extern "C" size_t __sanitizer_get_heap_size();
#endif

#include "core/observe/metrics.h"
#include "core/observe/sqlite_heap.h"

#if !defined(__SANITIZE_ADDRESS__)
// jemalloc's control interface, when the process has it (the archivist executable links it:
// decision 0032; test binaries do not). Weak: null without it.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen) __attribute__((weak));
#endif

namespace archivist::observe {

namespace {
#if !defined(__SANITIZE_ADDRESS__)
// jemalloc's figures, refreshed ("epoch") before they are read: allocated (in use) and mapped
// (obtained from the system). False without jemalloc or when its statistics are off.
bool readJemalloc(uint64_t& allocated, uint64_t& mapped) {
    if (!mallctl) return false;
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    if (mallctl("epoch", &epoch, &len, &epoch, len) != 0) return false;
    size_t a = 0, m = 0;
    len = sizeof a;
    if (mallctl("stats.allocated", &a, &len, nullptr, 0) != 0) return false;
    len = sizeof m;
    if (mallctl("stats.mapped", &m, &len, nullptr, 0) != 0) return false;
    allocated = a;
    mapped = m;
    return true;
}
#endif
}  // namespace

MemoryStats readMemoryStats() {
    MemoryStats m;
    if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
            unsigned long long kib = 0;
            if (std::sscanf(line, "VmRSS: %llu kB", &kib) == 1) m.rss_bytes = kib * 1024;
            else if (std::sscanf(line, "VmHWM: %llu kB", &kib) == 1) m.peak_rss_bytes = kib * 1024;
        }
        std::fclose(f);
    }
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer replaces malloc: glibc's mallinfo2() would report nothing.
    m.heap_in_use_bytes = __sanitizer_get_current_allocated_bytes();
    m.heap_arena_bytes = __sanitizer_get_heap_size();
#else
    // Under jemalloc glibc's arenas are (nearly) empty: its own figures are the heap.
    if (!readJemalloc(m.heap_in_use_bytes, m.heap_arena_bytes)) {
        const struct mallinfo2 mi = mallinfo2();
        m.heap_in_use_bytes = uint64_t(mi.uordblks) + uint64_t(mi.hblkhd);
        m.heap_arena_bytes = uint64_t(mi.arena) + uint64_t(mi.hblkhd);
    }
#endif
    return m;
}

void releaseFreeHeap() {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    // jemalloc returns freed pages by itself (dirty_decay_ms, app/allocator.cpp).
    if (!mallctl) (void)malloc_trim(0);
#endif
}

namespace {
// One scrape reads four gauges; mallinfo2() walks every malloc arena, which costs real CPU on a
// large heap. The four share one reading taken at most every 200 ms.
MemoryStats cachedMemoryStats() {
    static std::mutex mutex;
    static MemoryStats last;
    static int64_t lastMs = -1;
    std::lock_guard lock(mutex);
    const int64_t now = steadyMs();
    if (lastMs < 0 || now - lastMs >= 200) {
        last = readMemoryStats();
        lastMs = now;
    }
    return last;
}
}  // namespace

void registerMemoryGauges(MetricsRegistry& r) {
    r.gaugeFn("archivist_process_resident_memory_bytes", "Resident set size", {},
              [] { return double(cachedMemoryStats().rss_bytes); });
    r.gaugeFn("archivist_process_peak_resident_memory_bytes", "Peak resident set size", {},
              [] { return double(cachedMemoryStats().peak_rss_bytes); });
    r.gaugeFn("archivist_heap_in_use_bytes", "Heap bytes in use (jemalloc's stats.allocated, or mallinfo2)", {},
              [] { return double(cachedMemoryStats().heap_in_use_bytes); });
    r.gaugeFn("archivist_heap_arena_bytes", "Heap bytes obtained from the system (jemalloc's stats.mapped, or mallinfo2)", {},
              [] { return double(cachedMemoryStats().heap_arena_bytes); });
    // SQLite's page caches (bounded per connection by cache_size, and together by the soft heap
    // limit) fill as the index grows: growth by design, reported here so a soak can tell it from a
    // leak, next to its peak and the limit.
    r.gaugeFn("archivist_sqlite_memory_bytes", "Memory SQLite holds (page caches, statements), all connections", {},
              [] { return double(readSqliteHeap().used_bytes); });
    r.gaugeFn("archivist_sqlite_memory_peak_bytes", "Most memory SQLite held at once since start", {},
              [] { return double(readSqliteHeap().peak_bytes); });
    r.gaugeFn("archivist_sqlite_memory_limit_bytes",
              "Soft limit on SQLite's heap (sqlite_heap_limit_bytes in config.json; 0 = none)", {},
              [] { return double(readSqliteHeap().limit_bytes); });
}

MemorySampler::MemorySampler(int interval_ms) : m_intervalMs(interval_ms > 0 ? interval_ms : 500) {
    m_latest = readMemoryStats();
    m_thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "memory-sampler");
        std::unique_lock lock(m_mutex);
        while (!m_cv.wait_for(lock, std::chrono::milliseconds(m_intervalMs), [this] { return m_stop; })) {
            lock.unlock();
            const MemoryStats m = readMemoryStats();
            lock.lock();
            m_latest = m;
        }
    });
}

MemorySampler::~MemorySampler() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

MemoryStats MemorySampler::latest() const {
    std::lock_guard lock(m_mutex);
    return m_latest;
}

}  // namespace archivist::observe
