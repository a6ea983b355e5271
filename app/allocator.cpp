// The allocator's options (decision 0032). jemalloc reads this symbol once, at its first
// allocation; MALLOC_CONF in the environment still overrides it.
//
// - narenas:2 — two arenas instead of four per core: the events are allocated by the verify
//   threads and freed by the writer and the lanes, and more arenas only held more dirty pages
//   (peak RSS of a 1M backfill import: 238.9 MB with 4 arenas, 226.8 with 2; glibc 226.9).
// - dirty_decay_ms:250, muzzy_decay_ms:0 — freed pages go back to the system within a quarter of a
//   second instead of ten: the import's peak RSS stays where glibc's is (the ≤ 300 MB bound of the
//   10M import), for no measurable CPU.
// No background_thread: jemalloc starts no thread of its own.
#ifdef ARCHIVIST_JEMALLOC
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "narenas:2,dirty_decay_ms:250,muzzy_decay_ms:0";
}
#endif
