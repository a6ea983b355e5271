#pragma once
// Store: one open data directory with its ingest pipeline.
//
// open() takes the directory lock and opens the index (core/index/index.h) — migrating a
// single-file index of schema 1/2, building a missing one from the archive, and moving a damaged
// one aside (index.corrupt-<time>/) and building it anew — then runs watermark recovery (torn tail
// cut, damage quarantined, frames past the lowest lane watermark re-indexed) and opens the archive
// writer. start() spawns the verify pool and the commit writer. Producers submit RawBatches
// (blocking when the pipeline is full: backpressure).
// shutdown() closes intake, lets the pipeline drain, commits the last group, closes the archive and
// checkpoints the index; every thread is joined. The destructor calls shutdown() if needed.
//
// Thread: open/start/shutdown from the owner thread; submit/trySubmit/waitSettled from any thread.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "core/archive/recovery.h"
#include "core/archive/file_system.h"
#include "core/archive/segment_writer.h"
#include "core/archive/sightings_log.h"
#include "core/engine/data_dir.h"
#include "core/index/index_writer.h"
#include "core/ingest/recent_id_cache.h"
#include "core/ingest/bounded_queue.h"
#include "core/ingest/commit_writer.h"
#include "core/ingest/copy_cache.h"
#include "core/ingest/ingest_types.h"
#include "core/ingest/source_table.h"
#include "core/ingest/verify_pool.h"
#include "core/protocol/event_validator.h"
#include "core/util/expected.h"

namespace archivist::observe {
class MetricsRegistry;
}

namespace archivist::engine {

struct StoreOptions {
    protocol::ValidationPolicy policy;
    ingest::WriterOptions writer;
    archive::ArchiveOptions archive;
    index::IndexOptions index;
    size_t verify_threads = 0;          // 0 = one per core
    size_t raw_queue_batches = 64;      // capacity of the verify pool input (batches ≤ 256 items, ≤ 1 MiB)
    size_t verified_queue_batches = 16; // capacity of the writer's input (batches of parsed events and their JSON)
    size_t source_capacity = 65536;
    // JSON the verify threads handled lately, by SHA-256 (ingest::CopyCache): a byte-identical copy
    // is not parsed or verified again. About 100 bytes an entry once full; 0: off.
    size_t copy_cache = 131072;
    archive::FileSystem* file_system = nullptr;  // nullptr = the real one; tests inject faults here
    // Build a new index from the archive at open instead of opening (or migrating) the one there
    // (`archivist reindex`). Sightings and first-seen times come from the durable sightings log;
    // events archived before the log existed get the source "reindex".
    bool fresh_index = false;
    archive::SightingsLogOptions sightings;
    // Called on the opening thread about twice a second while open() reads the archive into the
    // index (a migration, a build, the rebuild of a damaged index, frames past the watermark):
    // archive bytes done of total.
    std::function<void(uint64_t done_bytes, uint64_t total_bytes)> open_progress;
};

struct OpenReport {
    archive::RecoveryReport recovery;
    uint64_t recovered_events = 0;
    uint64_t damaged_lines = 0;
    // What happened to the index at open (empty: it was opened as it was).
    std::string index_action;  // "migrated", "built", "rebuilt", "rebuilt (damaged)"
    std::string index_note;    // for people: what was done, where a damaged index was moved
    uint64_t index_events = 0; // events a migration or rebuild put into the index
    uint64_t sightings_restored = 0;  // sightings a rebuild or migration took from the log / old index
    archive::SightingsOpenReport sightings;  // what opening the sightings log found (torn tail, damage)
    std::string index_damage;        // why the index was set aside ("" = it was fine)
    std::string index_set_aside;     // where the damaged index went (index.corrupt-<UTC>)
    bool index_rebuilt = false;      // the whole archive was read into the index during open
    size_t quarantine_pending = 0;   // quarantine entries not yet salvaged or accepted
};

// The index options of `base` with ARCHIVIST_INDEX_TUNING applied (docs/testing.md; for tests and
// benchmarks). Errors: "usage" for a malformed value.
Expected<index::IndexOptions> indexOptionsFromEnvironment(index::IndexOptions base);

class Store {
public:
    static Expected<std::unique_ptr<Store>> open(const std::filesystem::path& data_dir, StoreOptions options,
                                                 observe::MetricsRegistry& metrics, OpenReport* report = nullptr);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Called on the writer thread after each commit. Set before start().
    void setCommitListener(std::function<void(const ingest::CommitNotice&)> listener);
    // Every newly stored event, on the writer thread after its commit (ingest::CommitWriter). Set before start().
    void setEventObserver(ingest::CommitWriter::EventObserver observer);
    void start();

    // A named source (relay URL, "import:<file>"). Error "capacity" when the table is full.
    Expected<ingest::SourceId> addSource(const std::string& name);
    ingest::SourceTable& sources() { return m_sources; }

    // Blocks while the pipeline is full. Returns false when intake is closed or the writer failed
    // (the batch is not taken). Counts items as received on their source.
    bool submit(ingest::RawBatch&& batch);
    // Never blocks: false when the pipeline is full (the batch is left untouched: the caller
    // applies backpressure upstream and retries), intake is closed or the writer failed.
    bool trySubmit(ingest::RawBatch& batch);
    bool accepting() const { return m_started && !m_raw.closed() && !failed(); }
    // Waits until `expected` items of `source` have settled (stored, duplicate or invalid).
    // Returns false on timeout, cancel, or when the writer failed.
    bool waitSettled(ingest::SourceId source, uint64_t expected, std::chrono::milliseconds timeout,
                     const std::atomic<bool>* cancel = nullptr);

    // Stop intake, drain, final commit, close. Retries of a failing commit are abandoned at the
    // deadline (then the group is not acknowledged and the error is returned). Batches still
    // waiting for verification after `verify_budget` are let go unverified (never acknowledged:
    // an import counts them as not stored, a relay's cursor never passed them), so that a stop
    // asked for by a signal is bounded too; by default everything submitted is drained.
    Expected<void> shutdown(std::chrono::milliseconds deadline = std::chrono::milliseconds(5000),
                            std::chrono::milliseconds verify_budget = std::chrono::milliseconds::max());

    // Runs `task` on the writer thread between commit groups (core/ingest/writer_task.h). false
    // when not started, shut down, or another task is queued or running (the task is dropped).
    bool startWriterTask(std::unique_ptr<ingest::WriterTask> task);
    void cancelWriterTask();  // any thread; the task's finish() reports "cancelled"
    bool writerTaskRunning() const;

    bool failed() const;
    bool paused() const;  // the writer is retrying a failed commit (intake is held back)
    std::string lastError() const;
    std::string lastErrorCode() const;  // of the writer's last failed attempt ("disk_full", "io", …)
    // The writer is paused because the disk is full (or below the low-disk threshold) or failing.
    bool pausedOnDisk() const;
    const DataDirPaths& paths() const { return m_paths; }
    size_t rawQueueDepth() const { return m_raw.depth(); }
    size_t rawQueueCapacity() const { return m_raw.capacity(); }
    size_t verifiedQueueDepth() const { return m_verified.depth(); }
    size_t verifiedQueueCapacity() const { return m_verified.capacity(); }
    size_t verifyThreads() const { return m_verifyPool ? m_verifyPool->threadCount() : 0; }
    // Writer-thread objects; only for maintenance commands that run with the pipeline stopped.
    index::IndexWriter& indexWriter() { return *m_index; }
    // Quarantines a damaged region of the archive (core/archive/quarantine.h), also while the
    // pipeline runs (serialised with the writer's appends). Any thread.
    Expected<archive::QuarantineEntry> quarantine(const archive::DamagedRegion& region, int64_t indexed_events);
    archive::FileSystem* fileSystem() const;
    std::shared_ptr<index::Index> index() const { return m_index->index(); }
    // Puts a finished generation in place of the current index (promoted; the old one is superseded)
    // and starts it. With the pipeline stopped, or on the writer thread (IndexRebuild).
    Expected<void> replaceIndex(std::shared_ptr<index::Index> built);
    ingest::RecentIdCache& recentIds() { return m_recent; }
    ingest::CopyCache* copies() { return m_copies.get(); }  // null when off
    // The durable sightings log (writer thread while the pipeline runs).
    archive::SightingsLog* sightingsLog() { return m_log.get(); }

private:
    Store(DataDirPaths paths, DataDirLock lock, StoreOptions options, observe::MetricsRegistry& metrics);

    DataDirPaths m_paths;
    DataDirLock m_lock;
    StoreOptions m_opts;
    observe::MetricsRegistry& m_metrics;
    ingest::SourceTable m_sources;
    ingest::BoundedQueue<ingest::RawBatch> m_raw;
    ingest::BoundedQueue<ingest::VerifiedBatch> m_verified;
    ingest::RecentIdCache m_recent;
    std::unique_ptr<ingest::CopyCache> m_copies;  // null when off
    std::unique_ptr<index::IndexWriter> m_index;
    std::unique_ptr<archive::ArchiveWriter> m_archive;
    std::unique_ptr<archive::SightingsLog> m_log;
    std::unique_ptr<ingest::VerifyPool> m_verifyPool;
    std::unique_ptr<ingest::CommitWriter> m_writer;
    std::function<void(const ingest::CommitNotice&)> m_listener;
    ingest::CommitWriter::EventObserver m_observer;
    bool m_started = false;
    bool m_shutDown = false;
};

}  // namespace archivist::engine
