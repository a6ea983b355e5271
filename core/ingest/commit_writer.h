#pragma once
// CommitWriter: the single writer of the archive (its own thread) and the feeder of the index's
// writer lanes.
//
// It drains verified batches, deduplicates (in-flight ids of the open group and of groups the
// lanes are still committing → RecentIdCache → what the verify thread found, while still valid →
// index lookup) and forms commit groups of at most `group_events` events / `group_bytes` bytes /
// `group_ms` milliseconds. For each group: append its zstd frames (of at most
// ArchiveOptions::frame_bytes each, so reading one event decompresses little) to the open segment
// with one write and one fdatasync, then hand the rows to the index (IndexWriter::submit: the
// catalog's frame rows, then each lane's share). The writer goes on with the next group while the lanes commit. Only once
// every lane has committed a group are its events "stored": source counters, metrics, the
// recent-id cache and the commit listener see them then, never before.
//
// Every group's sightings — the new events' (origin) and the copies of stored ones — are appended
// to the durable sightings log (core/archive/sightings_log.h) right after the archive frames and
// before the group goes to the index: nothing is acknowledged before its provenance is durable.
//
// Failure policy: an archive error pauses the writer (its queue fills, producers block —
// backpressure, nothing dropped) and the append is retried with exponential backoff until it
// succeeds or the owner abandons it at a shutdown deadline; a lane that cannot commit retries the
// same way inside the index and holds its group back. A frame that reached the archive but not
// the index is re-indexed by watermark recovery on the next start.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/archive/segment_writer.h"
#include "core/archive/sightings_log.h"
#include "core/index/index_writer.h"
#include "core/ingest/bounded_queue.h"
#include "core/ingest/ingest_types.h"
#include "core/ingest/recent_id_cache.h"
#include "core/ingest/source_table.h"
#include "core/ingest/writer_task.h"
#include "core/protocol/event_validator.h"

namespace archivist::observe {
class MetricsRegistry;
class Counter;
class Gauge;
class Histogram;
}  // namespace archivist::observe

namespace archivist::ingest {

struct WriterOptions {
    int group_ms = 250;
    // A lane's transaction holds its share of a group: the bigger the group, the fewer times each
    // random b-tree page of a hot file is written to its WAL per event (decision 0025).
    size_t group_events = 8192;
    // Sightings of copies (and echoes) a group holds, as a multiple of group_events: a sighting
    // is ≈ 100 bytes on the writer and in the lane queues, against a new event's whole JSON, and a
    // relay flood brings several per new event. Each lane commit writes its hot file's sighting
    // pages to the WAL once, so fewer, larger groups write them fewer times per copy.
    size_t group_sightings_per_event = 4;
    size_t group_bytes = 8u << 20;  // uncompressed bytes of a group (cut into frames by the archive)
    size_t recent_cache = 131072;
    int retry_initial_ms = 100;
    int retry_max_ms = 5000;
    // The verify threads' policy, for what they left to the writer: an item taken for a copy whose
    // event is not stored after all is parsed here (VerifiedItem::unparsed) and, unless its bytes
    // passed BIP-340 already, its signature checked here.
    protocol::ValidationPolicy policy;
};

// A thin record of a committed event, for the console's "newest events" table.
struct CommittedEvent {
    protocol::Bytes32 id{};
    protocol::Bytes32 pubkey{};
    int64_t created_at = 0;
    uint16_t kind = 0;
    std::string content_preview;  // at most 160 bytes, cut at a UTF-8 boundary
    SourceId source = 0;
    int64_t first_seen_at_ms = 0;
};

// At most 160 bytes of content, cut at a UTF-8 character boundary.
std::string contentPreview(const std::string& content);

struct CommitNotice {
    uint64_t stored = 0;
    uint64_t duplicates = 0;
    int64_t commit_ms = 0;                // wall time from the archive append to the lanes' commit
    std::vector<CommittedEvent> newest;   // at most kNoticeNewest of this group's new events
    archive::Watermark archive_end;       // end of this group's frame ({0,0}: no frame); durable
    archive::LogCursor sightings_end;     // end of the sightings log after this group ({0,0}: no log); durable
    static constexpr size_t kNoticeNewest = 64;
};

class CommitWriter {
public:
    // `recent` is shared with the verify threads (they read it).
    CommitWriter(BoundedQueue<VerifiedBatch>& in, archive::ArchiveWriter& archive, index::IndexWriter& index,
                 SourceTable& sources, RecentIdCache& recent, WriterOptions options, observe::MetricsRegistry& metrics);
    ~CommitWriter();
    CommitWriter(const CommitWriter&) = delete;
    CommitWriter& operator=(const CommitWriter&) = delete;

    // Called on the writer thread after every committed group; must be quick and thread-safe.
    // Set before start().
    void setCommitListener(std::function<void(const CommitNotice&)> listener);
    // Called on the writer thread for every newly stored event right after its group committed
    // (relay discovery reads tags here). Must be quick, must not block. Set before start().
    using EventObserver = std::function<void(const protocol::Event&, SourceId)>;
    void setEventObserver(EventObserver observer);
    // The durable sightings log this writer appends every group's sightings to (borrowed; owned
    // by the writer thread while it runs). None: provenance lives only in the index. Set before start().
    void setSightingsLog(archive::SightingsLog* log) { m_log = log; }

    void start();
    // Waits for the thread: it exits once the input queue is closed and drained and the last group
    // is committed (or abandoned, see abandonRetries()).
    void join();
    // Stop retrying a failing commit (shutdown deadline passed). The group is not acknowledged.
    void abandonRetries();

    // Runs `task` on the writer thread in slices between commit groups (see writer_task.h). One at
    // a time: false (task not taken) while another is queued or running, or once the writer ended.
    bool startTask(std::unique_ptr<WriterTask> task);
    // Cancels the queued or running task (its finish() reports "cancelled"). Any thread.
    void cancelTask();
    bool taskRunning() const { return m_taskActive.load(); }

    bool failed() const { return m_failed.load(); }       // a group was abandoned
    // Currently retrying a failed write: the archive append here, or an index lane's commit.
    bool paused() const;
    std::string lastError() const;
    // The code of the last failed attempt ("disk_full", "io", "locked", "sqlite", …; "" if none).
    std::string lastErrorCode() const;

private:
    struct Pending {  // a group the lanes are committing
        uint64_t ticket = 0;
        int64_t started_ms = 0;
        std::vector<archive::AppendedFrame> frames;  // the group's frames (none: sightings only)
        std::vector<index::NewEvent> events;
        std::vector<int64_t> rks;
        std::vector<SourceId> sources;
        std::vector<SourceId> sighting_sources;
        archive::LogCursor log_end;
    };

    void run();
    void addItem(SourceId source, VerifiedItem&& item, bool copies_expected);
    bool commitGroup();  // false when abandoned
    bool groupOpen() const { return !m_newEvents.empty() || !m_sightings.empty() || !m_echoes.empty(); }
    // The group's sightings as log records (positions resolved against the group's `frames`).
    void buildLogRecords(const std::vector<archive::AppendedFrame>& frames);
    // Acknowledges groups the lanes committed (waits up to `wait` for one). False when abandoned.
    bool drainCompleted(std::chrono::milliseconds wait);
    void acknowledge(Pending& p);
    bool waitAllCommitted();
    template <typename Fn>
    bool retry(const char* stage, Fn&& fn);
    void setError(const std::string& message, const std::string& code = {});
    uint32_t indexSource(SourceId source);
    bool runTaskSlice();  // false when the writer must stop (a commit was abandoned)
    void endTask(const Expected<void>& outcome);

    BoundedQueue<VerifiedBatch>& m_in;
    archive::ArchiveWriter& m_archive;
    index::IndexWriter& m_index;
    SourceTable& m_sources;
    RecentIdCache& m_recent;
    std::vector<std::pair<protocol::Bytes32, RecentIdCache::Entry>> m_recentBatch;  // acknowledge()'s, reused
    const WriterOptions m_opts;
    std::function<void(const CommitNotice&)> m_listener;
    EventObserver m_observer;
    std::thread m_thread;

    // Current group (writer thread only).
    std::string m_frame;
    int64_t m_lastTrimMs = 0;  // last releaseFreeHeap()
    std::vector<index::NewEvent> m_newEvents;
    std::vector<SourceId> m_newSources;
    std::vector<index::Sighting> m_sightings;
    std::vector<SourceId> m_sightingSources;
    // Where each further sighting's event is archived (segment 0: line `line` of the open group).
    std::vector<archive::EventPos> m_sightingPos;
    // Copies of the open group whose source's sighting is stored already, no later (decision
    // 0024): logged, counted, nothing for the index. Bounded with the sightings by
    // group_events × group_sightings_per_event.
    struct Echo {
        archive::EventPos pos;
        SourceId source = 0;
        int64_t seen_at_ms = 0;
    };
    std::vector<Echo> m_echoes;
    // Ids of the open group and of pending groups → row key (0 while the group is open) and
    // archive position (segment 0 while the group is open: line within it).
    struct InFlight {
        int64_t rk = 0;
        archive::EventPos pos;
    };
    std::unordered_map<protocol::Bytes32, InFlight, IdHash> m_inFlight;
    archive::SightingsLog* m_log = nullptr;
    std::unordered_map<SourceId, uint32_t> m_logCodes;  // source → code in the log's dictionary
    std::vector<archive::SightingRecord> m_logRecords;  // scratch
    std::deque<Pending> m_pending;
    int64_t m_groupStartMs = 0;
    protocol::EventValidator m_validator;
    observe::MetricsRegistry& m_metrics;

    // The task (see startTask): handed over under m_taskMutex, then owned by the writer thread.
    std::mutex m_taskMutex;
    std::unique_ptr<WriterTask> m_pendingTask;
    bool m_acceptTasks = true;  // guarded by m_taskMutex; false once run() has ended
    std::unique_ptr<WriterTask> m_task;  // writer thread only
    std::atomic<bool> m_taskActive{false};
    std::atomic<bool> m_taskCancel{false};
    int64_t m_lastCommitMs = 0;

    std::atomic<bool> m_abandon{false};
    std::atomic<bool> m_failed{false};
    std::atomic<bool> m_paused{false};
    std::atomic<size_t> m_inFlightSize{0};
    std::atomic<size_t> m_pendingSize{0};
    mutable std::mutex m_errorMutex;
    std::string m_lastError;
    std::string m_lastErrorCode;

    observe::Counter* m_storedTotal;
    observe::Counter* m_duplicateTotal;
    observe::Counter* m_sightedCopies;
    observe::Counter* m_lookupStored;  // the writer's own index lookups, by result
    observe::Counter* m_lookupAbsent;
    observe::Counter* m_archiveErrors;
    observe::Counter* m_logErrors;
    observe::Counter* m_logRecordsTotal;
    observe::Counter* m_logBytes;
    observe::Counter* m_logUnplaced;
    observe::Counter* m_indexErrors;
    observe::Counter* m_bytesCompressed;
    observe::Counter* m_bytesRaw;
    observe::Counter* m_lateVerified;
    observe::Counter* m_lateParsed;
    std::vector<observe::Counter*> m_rejectedLate;  // by protocol::Reject
    observe::Histogram* m_commitSeconds;
    observe::Histogram* m_groupEvents;
};

}  // namespace archivist::ingest
