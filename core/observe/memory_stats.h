#pragma once
// Process memory: resident set (and its peak) from /proc/self/status, heap from jemalloc's
// statistics when the process runs on it (the archivist executable: decision 0032), otherwise
// from glibc's mallinfo2(); the gauges also carry SQLite's heap and its soft limit (sqlite_heap.h).
// The kernel's RSS figures are per-CPU approximations (off by up to a few hundred KiB between
// reads); mallinfo2() sums every glibc malloc arena plus mmap'd blocks. Fields stay zero when
// their source cannot be read.
// Thread: any (mallinfo2 locks each malloc arena briefly: call at scrape rate, not per event).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace archivist::observe {

class MetricsRegistry;

struct MemoryStats {
    uint64_t rss_bytes = 0;
    uint64_t peak_rss_bytes = 0;
    uint64_t heap_in_use_bytes = 0;  // malloc'd and not freed (jemalloc: stats.allocated; glibc: uordblks + hblkhd)
    uint64_t heap_arena_bytes = 0;   // obtained from the system by malloc (jemalloc: stats.mapped)
};

MemoryStats readMemoryStats();
// Hands the free pages inside glibc's malloc arenas back to the kernel (malloc_trim): memory the
// pipeline freed stays mapped otherwise, and the arenas' high-water marks — not what is in use —
// set the resident size (measured in docs/benchmarks.md). A no-op under AddressSanitizer, outside
// glibc and under jemalloc (which returns free pages by itself). Thread: any; costs a walk over the arenas' free lists, so call it about once a
// second, not per event.
void releaseFreeHeap();
// archivist_process_resident_memory_bytes, archivist_process_peak_resident_memory_bytes,
// archivist_heap_in_use_bytes, archivist_heap_arena_bytes, archivist_sqlite_memory_bytes,
// archivist_sqlite_memory_peak_bytes, archivist_sqlite_memory_limit_bytes.
void registerMemoryGauges(MetricsRegistry& registry);

// Reads the memory figures every interval on a thread of its own ("memory-sampler"), so a caller
// on a busy thread (the GUI thread's snapshot tick) never waits on the malloc arenas' locks while
// the verify and writer threads allocate. latest() is a copy of the newest reading (zeros before
// the first). The thread is joined by the destructor.
// Thread: latest() from any thread.
class MemorySampler {
public:
    explicit MemorySampler(int interval_ms = 500);
    ~MemorySampler();
    MemorySampler(const MemorySampler&) = delete;
    MemorySampler& operator=(const MemorySampler&) = delete;
    MemoryStats latest() const;

private:
    const int m_intervalMs;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    MemoryStats m_latest;
    bool m_stop = false;
    std::thread m_thread;
};

}  // namespace archivist::observe
