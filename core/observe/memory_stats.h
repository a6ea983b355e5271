#pragma once
// Process memory: resident set (and its peak) from /proc/self/status, heap from mallinfo2().
// The kernel's RSS figures are per-CPU approximations (off by up to a few hundred KiB between
// reads); mallinfo2() sums every glibc malloc arena plus mmap'd blocks. Fields stay zero when
// their source cannot be read.
// Thread: any (mallinfo2 locks each malloc arena briefly: call at scrape rate, not per event).
#include <cstdint>

namespace archivist::observe {

class MetricsRegistry;

struct MemoryStats {
    uint64_t rss_bytes = 0;
    uint64_t peak_rss_bytes = 0;
    uint64_t heap_in_use_bytes = 0;  // malloc'd and not freed (uordblks + hblkhd)
    uint64_t heap_arena_bytes = 0;   // obtained from the system by malloc
};

MemoryStats readMemoryStats();
// archivist_process_resident_memory_bytes, archivist_process_peak_resident_memory_bytes,
// archivist_heap_in_use_bytes, archivist_heap_arena_bytes, archivist_sqlite_memory_bytes.
void registerMemoryGauges(MetricsRegistry& registry);

}  // namespace archivist::observe
