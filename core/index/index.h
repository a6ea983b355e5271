#pragma once
// Index: the partitioned SQLite index of one data directory (docs/index-schema.md, decision 0011).
//
//   <data-dir>/index/CURRENT                 the name of the generation in use ("g1\n")
//   <data-dir>/index/g<N>/catalog.sqlite     files, frames, sources, segments, meta (WAL)
//   <data-dir>/index/g<N>/hot-<lane>-<id>.sqlite     hot files: the writer lanes' commits (WAL)
//   <data-dir>/index/g<N>/part-<bucket>-<id>.sqlite  immutable parts, one bucket (month) each
//   <data-dir>/index/g<N>/fts-<lane>.sqlite  full-text index of the lane's events (fts.h)
//
// A rebuild (`archivist reindex`, the console's live rebuild, a migration, the repair of a damaged
// index) builds generation N + 1 beside N and switches CURRENT in one rename; a generation that
// is not current is removed at the next open (or when the last reader of the replaced one goes).
// Everything lives under index/, which Store::open moves aside as a whole when it is damaged.
//
// Events enter through writer lanes (lane = layout.h laneOf(id)): each lane thread commits its
// share of a commit group to its active hot file. A hot file is frozen at a size or age bound and
// flushed by a background thread into level-0 parts, one per bucket it holds, built rows first and
// indexes after; parts of a bucket are merged size-tiered in the background. Every change of the
// file set is one catalog transaction that registers outputs and retires inputs together, so at
// every moment each stored event is in exactly one live file; retired files are removed once no
// snapshot uses them, and crash leftovers (files still "building", or "retired") at the next open.
//
// Backpressure, never drops: a lane with `max_frozen_per_lane` frozen hot files waiting waits
// for the flusher; the flusher waits while a bucket it would add to has `max_parts_per_bucket`
// mergeable parts (the mergers catch up); the commit writer blocks on full lane queues.
//
// Readers (IndexReader, Lookup) take an immutable Snapshot of the file set; files stay on disk
// while a snapshot refers to them.
//
// Errors: "index_corrupt" (a catalog, hot or part file is damaged: quick_check or SQLite says so),
// "schema" (written by a newer Archivist, or an old layout that needs migrating), "locked",
// "sqlite", "io", "disk_full".
// Thread: every public member is thread-safe unless it says otherwise.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/index/fts.h"
#include "core/index/layout.h"
#include "core/index/part_builder.h"
#include "core/index/sqlite_util.h"
#include "core/index/xor_filter.h"
#include "core/util/expected.h"

namespace archivist::observe {
class MetricsRegistry;
class Counter;
}  // namespace archivist::observe

namespace archivist::index {

inline constexpr int kSchemaVersion = 3;  // 1, 2: the single index.sqlite; 3: this layout

struct IndexOptions {
    // Full-text search over content. nullopt keeps the stored setting (a new index: on). A value is
    // applied at open and remembered: off removes the full-text files, on creates them and fills
    // them from the archive (Store::open runs the backfill).
    std::optional<bool> fts;
    int cache_mib = 16;      // page cache of each hot file's writer connection (the OS caches the rest)
    // SQLite page size of new hot files (1 … 64 KiB, a power of two). A commit writes every page it
    // dirtied to the WAL, frame by frame, and the checkpoint copies each into the file: fewer,
    // bigger pages cost less CPU for the same rows (decision 0026).
    int hot_page_kib = 16;
    bool read_only = false;  // open without changing anything: no lanes, no background work

    // Layout and thresholds. `lanes` applies to a new index only (it is stored).
    uint32_t lanes = 2;
    uint64_t hot_max_events = 65536;    // a hot file is frozen at this many events …
    int64_t hot_max_age_ms = 600000;    // … or this long after its first commit
    uint32_t max_frozen_per_lane = 2;   // a lane waits while this many of its hot files wait for a flush
    uint32_t merge_fanin = 6;           // parts of one size tier merged together (sizes ×fan-in)
    // No merge makes a part bigger than this, and a part of half of it or more is final: with
    // hot files of 65,536 events and fan-in 6, a part is rewritten by one merge at most, so an
    // event costs the same at 10M as at 1M (decision 0021).
    uint64_t part_cap_events = 786432;
    uint32_t max_parts_per_bucket = 24; // flushes wait while a bucket has this many mergeable parts
    uint32_t background_threads = 2;    // flush + merge threads (at most threads − 1 merge at once)
    size_t lane_queue_batches = 1;      // commit groups per lane, queued or being committed (each holds its events in memory)
    // Connections a lookup keeps open (LRU), 1 MiB page cache each: as many as the query readers,
    // so that a stored id (a copy, a re-import) finds its part open in a 10M backfill (hundreds of
    // parts) instead of reopening it: 71.5 µs → 8.8 µs a lookup (decision 0038).
    size_t reader_connections = 384;
    // Connections an IndexReader (searches, the browser, exports) keeps open (LRU), 128 KiB page
    // cache each: enough for a query that visits every part of a backfilled archive (hundreds: one
    // per month and size tier) not to reopen each of them for every page (docs/benchmarks.md, "a
    // vocabulary that grows").
    size_t query_connections = 384;
    // Connections each lane keeps (LRU) to its frozen hot files and its months' parts, to read a
    // copy's event row and sources when they are not in its active hot file (rollups).
    size_t rollup_connections = 96;
    // Events a lane remembers the rollup facts of (RollupFactsCache: 64 bytes each), so that a
    // copy's sighting reads nothing back; 0: off.
    size_t rollup_facts = 65536;
    // A lane's batch of this many full-text documents or more is a bulk load's: its documents
    // wait in the lane's buffer, for at most fts_delay_ms, to be written with the next batches'
    // in one bigger full-text transaction (lane.h, decision 0031). Smaller batches are written at once.
    size_t fts_bulk_docs = 256;
    int64_t fts_delay_ms = 1000;
    // A full-text file's newest vocabulary run closes at this many terms (fts.h, decision 0035).
    uint64_t vocab_run_terms = kVocabRunTerms;
    // A term counted this many times by a full-text writer is recorded as frequent (fts.h,
    // decision 0037): searches split prefixes towards it.
    uint32_t frequent_term_occurrences = kFrequentTermOccurrences;

    // Applies "key=value,…" (ARCHIVIST_INDEX_TUNING; keys as the fields above, plus hot_events,
    // hot_age_ms, fanin, part_cap, max_parts, threads, frequent_at). Unknown keys and bad values are an error.
    Expected<void> applyTuning(std::string_view spec);
};

// The size tier a part of `events` events is merged in (parts of one tier of a bucket merge once
// `fanin` of them wait): ×fanin per tier, geometric from ≈ hot_max_events / fanin^3.5 up, a part
// of one full hot file in the middle of its tier (decision 0023).
int mergeSizeTier(uint64_t events, uint64_t hot_max_events, uint32_t fanin);

enum class FileKind : uint8_t { Hot, Part };

// An approximate set of the ids in one hot file (a Bloom filter of 16 bits per event of the
// hot file's size bound, 4 probes): the lane adds each id before it commits the row, lookups skip
// the file's SQLite probe when the id is certainly absent. Thread: add() from the lane,
// mayContain() from any thread.
class HotIdBloom {
public:
    explicit HotIdBloom(uint64_t max_events);
    void add(const protocol::Bytes32& id);
    bool mayContain(const protocol::Bytes32& id) const;
    size_t bytes() const { return m_words.size() * 8; }

private:
    std::vector<std::atomic<uint64_t>> m_words;
    uint64_t m_mask = 0;
};

// One hot or part file as a snapshot sees it. Files live as long as some snapshot refers to them;
// a retired file is unlinked when its last reference goes.
struct IndexFile {
    int64_t id = 0;
    FileKind kind = FileKind::Part;
    std::filesystem::path path;
    uint32_t lane = 0;            // hot files
    Bucket bucket = 0;            // parts
    int level = 0;                // parts: 0 from a flush, n + 1 from merging level-n parts
    std::atomic<uint64_t> events{0};  // parts: exact; hot files: committed so far
    uint64_t bytes = 0;
    std::vector<Bucket> hot_buckets;  // frozen hot files: the buckets they hold (flush planning)
    std::shared_ptr<HotIdBloom> bloom;  // hot files: their ids (exact "no", approximate "maybe")
    std::shared_ptr<const XorFilter> filter;  // parts
    // Parts: the rks it holds sightings of but no row for (orphanKey); nullptr: not known (a part
    // built before these filters) — then it may hold a sighting of anything in its month.
    std::shared_ptr<const XorFilter> orphans;
    // Parts: the created_at range of their event rows (meta min/max_created_at; min > max: no
    // rows). Hot files and parts that do not say: the whole range. A reader or lookup skips a
    // part whose range misses what it wants — with events arriving in time order, most of a
    // month's parts.
    int64_t min_created = std::numeric_limits<int64_t>::min();
    int64_t max_created = std::numeric_limits<int64_t>::max();
    bool mayHoldCreated(int64_t lo, int64_t hi) const { return lo <= max_created && hi >= min_created; }
    std::atomic<bool> retired{false};
    std::function<void(int64_t)> on_removed;   // tells the index the file is gone
    ~IndexFile();
};
using FilePtr = std::shared_ptr<IndexFile>;

struct Snapshot {
    uint64_t version = 0;
    uint32_t lanes = 1;
    bool fts = false;
    std::filesystem::path dir;
    std::vector<FilePtr> hot;                       // every lane's hot files, active and frozen
    std::map<Bucket, std::vector<FilePtr>> parts;   // live parts per bucket
    std::vector<std::filesystem::path> fts_files;   // per lane (empty when fts is off)
    std::shared_ptr<void> keep;                     // keeps a replaced index directory until released

    std::vector<FilePtr> hotOfLane(uint32_t lane) const;
    uint64_t partCount() const;
};
using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Everything a lane writes for one event: its `events` row, and what goes beside it.
struct LaneRow : PartRow {
    uint32_t source = 0;          // its own sighting (0: none)
    std::vector<int64_t> tag_keys;
    std::string content;          // for full-text search (empty: none)
    bool copies_expected = true;  // remembered in the lane's rollup facts cache (NewEvent::copies_expected)
};

struct LaneSighting {
    int64_t rk = 0;
    protocol::Bytes32 id{};  // the event's id (all zero: unknown — every part of its month is read)
    uint32_t source = 0;
    int64_t seen_at_ms = 0;
};

// One lane's share of a commit group.
struct LaneBatch {
    uint64_t ticket = 0;
    std::optional<archive::Watermark> watermark;  // the lane's watermark after this batch
    std::vector<LaneRow> rows;
    std::vector<LaneSighting> sightings;
};

// Gauges of the index's bounded structures (also on /metrics).
struct IndexGauges {
    struct Queue {
        std::string name;
        int64_t depth = 0;
        int64_t capacity = 0;
    };
    std::vector<Queue> queues;  // lane queues, hot files awaiting a flush, the fullest month's parts
    std::vector<Queue> caches;  // the id filters (KiB), the full-text term cache: full is normal
    uint64_t parts = 0;
    uint64_t hot_files = 0;
    uint64_t filter_bytes = 0;
    uint64_t flushes = 0;
    uint64_t merges = 0;
    uint64_t flushed_events = 0;  // events written by flushes since start
    uint64_t merged_events = 0;   // events written by merges since start (once per merge they go through)
    double flush_cpu_seconds = 0;  // CPU time of the flushes / merges since start
    double merge_cpu_seconds = 0;
    bool stalled = false;  // some lane waits for the flusher
};

class Lane;

// Reads one frame's uncompressed text (archive::readFrame bound to the archive directory).
using FrameTextFn = std::function<Expected<std::string>(const archive::FrameRef&)>;

class Index : public std::enable_shared_from_this<Index> {
public:
    // Opens (creating if missing) the index directory. Runs the crash cleanup (files left
    // "building" or "retired"), checks every live file (quick_check on a bounded budget) and, unless
    // read-only, starts the lanes and the background threads.
    // `root` is the index directory (<data-dir>/index); a new one gets generation g1.
    static Expected<std::shared_ptr<Index>> open(const std::filesystem::path& root, IndexOptions opts = {},
                                                 observe::MetricsRegistry* metrics = nullptr);
    // The current Index of `root` open in this process, if any (readers opened by path share it).
    static std::shared_ptr<Index> findOpen(const std::filesystem::path& root);
    // A new, empty generation next to the current one (for a rebuild); not current until promote().
    static Expected<std::shared_ptr<Index>> createGeneration(const std::filesystem::path& root, IndexOptions opts,
                                                             observe::MetricsRegistry* metrics = nullptr);
    // Makes this generation the current one (CURRENT renamed into place, synced); `replaced` (the
    // previous current Index, may be null) is superseded: readers move over to this one, and its
    // directory is removed when its last user goes.
    Expected<void> promote(const std::shared_ptr<Index>& replaced);
    // The Index that replaced this one (readers follow it), or null.
    std::shared_ptr<Index> replacement() const;
    // Whether a generation directory holds an index (for migrations and repairs).
    static bool exists(const std::filesystem::path& root);
    const std::filesystem::path& root() const { return m_root; }
    ~Index();
    Index(const Index&) = delete;
    Index& operator=(const Index&) = delete;

    // Starts the lanes and the background threads (not for read-only indexes).
    Expected<void> start();
    // Before start(): writes the full-text documents of a lane batch that a crash left between
    // its hot commit and its full-text commit (from the archive). Returns documents written.
    Expected<uint64_t> repairFts(const FrameTextFn& frame_text);
    // Before start(), when ftsBackfillPending(): fills the full-text files from the archive for
    // every stored event (full-text search was turned on over existing events). Returns documents.
    bool ftsBackfillPending() const;
    Expected<uint64_t> backfillFts(const FrameTextFn& frame_text);
    // Stops the lanes (after their queues drain) and the background threads, checkpoints.
    // Idempotent; the destructor calls it.
    void close();

    const std::filesystem::path& dir() const { return m_dir; }
    const IndexOptions& options() const { return m_opts; }
    bool readOnly() const { return m_opts.read_only; }
    uint32_t lanes() const { return m_lanes; }
    bool fts() const { return m_fts.load(); }
    SnapshotPtr snapshot() const;
    uint64_t snapshotVersion() const { return m_version.load(std::memory_order_acquire); }

    // ---- writer side (one writer thread at a time) ----
    // Sequence numbers for row keys; reserved in blocks in the catalog.
    Expected<uint64_t> allocateSeq(uint64_t n = 1);
    // The catalog's frame row (INSERT OR IGNORE); done before the lanes commit the frame's events.
    Expected<void> recordFrame(const archive::AppendedFrame& frame);
    // The frames of one commit group, in one catalog transaction.
    Expected<void> recordFrames(std::span<const archive::AppendedFrame> frames);
    Expected<uint32_t> sourceId(std::string_view name);
    // The source's id if this index has registered it, else 0 (never registers). Thread: any.
    Expected<uint32_t> knownSourceId(std::string_view name);
    Expected<void> markSegmentSealed(uint32_t segment, uint64_t bytes, int64_t sealed_at_s);
    // Queues each lane's share (batches.size() == lanes()); blocks while a lane queue is full.
    // The ticket completes once every lane has committed its share (completions()).
    Expected<void> submit(std::vector<LaneBatch> batches);
    // Tickets whose every lane committed, in order, waiting up to `wait` for the first one.
    // A lane that cannot commit retries (counted, lastError()) and blocks the ticket meanwhile.
    std::vector<uint64_t> completed(std::chrono::milliseconds wait);
    // The watermark every lane has committed (recovery replays frames after it).
    archive::Watermark watermark() const;
    uint64_t eventCount() const;  // events in hot files and parts (approximate while lanes commit)
    // Stop retrying failed lane commits (shutdown deadline).
    void abandonRetries();
    bool laneFailed() const { return m_laneFailed.load(); }
    // A lane is retrying a failed commit now (its last error: lastError(), lastErrorCode()).
    bool laneRetrying() const { return m_lanesRetrying.load() > 0; }
    std::string lastError() const;
    std::string lastErrorCode() const;  // "disk_full", "io", "locked", "sqlite", …; "" if none

    // ---- maintenance ----
    // Waits until no hot file is frozen and no merge is due (tests, `archivist reindex`).
    // false on timeout.
    bool waitIdle(std::chrono::milliseconds timeout);
    // Freezes every lane's hot file that holds events (so that a flush follows); returns once every
    // lane has done so.
    Expected<void> freezeAll();
    // Writes every lane's buffered full-text documents (lane.h: a bulk load buffers them for up to
    // a second); returns once every lane has. A search or count after it sees every committed row's
    // document.
    Expected<void> commitFullText();
    // Adds finished parts built outside the lanes (reindex, rebuild): one catalog transaction.
    // `files` are paths inside dir() built by PartBuilder with ids from reserveFileId().
    Expected<int64_t> reserveFileId(FileKind kind, uint32_t lane, Bucket bucket, int level);
    Expected<void> registerParts(const std::vector<int64_t>& ids);
    Expected<void> setLaneWatermarks(archive::Watermark wm);  // after a bulk build: every lane at wm
    // Merges every part of `bucket` into as few parts as the size cap allows (bulk builds; on the
    // calling thread).
    Expected<void> compactBucket(Bucket bucket);
    std::vector<Bucket> partBuckets() const;
    // Frames, sources and segments straight into the catalog (bulk builds).
    Db& catalogForBulk();  // only while no lane or background thread runs (bulk builds)
    std::mutex& catalogMutex() { return m_mutex; }

    IndexGauges gauges() const;
    // Full-text files: per lane.
    std::filesystem::path ftsPath(uint32_t lane) const;
    std::filesystem::path filePath(FileKind kind, int64_t id, uint32_t lane, Bucket bucket) const;

    // The index directory's files that the catalog does not know (verify). Excludes the catalog,
    // the full-text files and their journals.
    std::vector<std::filesystem::path> unknownFiles() const;

    // Called (on the background thread) after each flush or merge; for tests.
    void setCompactionListener(std::function<void(const std::string&)> fn);
    // Called (on the background thread) when a flush or merge has built its outputs and is about to
    // register them, with "flush" or "merge"; it may block (tests hold a merge half done with it).
    void setBeforeRegisterHook(std::function<void(const std::string&)> fn);

private:
    // The source's id in the catalog, 0 when it is not there. Caller holds m_mutex.
    Expected<uint32_t> findSourceLocked(std::string_view name);
    friend class Lane;
    // Asks every lane (`request` returns the request's number) and waits until each has acted on it
    // (`handled` reaches that number); an error once the index is abandoned or a lane failed.
    Expected<void> askEveryLane(uint64_t (Lane::*request)(), uint64_t (Lane::*handled)() const);
    friend class IndexWriterInternals;
    Index(std::filesystem::path root, std::filesystem::path dir, IndexOptions opts, observe::MetricsRegistry* metrics);
    static Expected<std::shared_ptr<Index>> openAt(const std::filesystem::path& root, const std::string& generation,
                                                   IndexOptions opts, observe::MetricsRegistry* metrics);
    void registerMetrics();
    // How this process opens hot and full-text files (WAL): read-write unless the index is
    // read-only — a read-only connection cannot recover a WAL file a crash left behind.
    Db::Mode walMode() const { return m_opts.read_only ? Db::Mode::ReadOnly : Db::Mode::ReadWrite; }
    Expected<void> openCatalog();
    Expected<void> loadFiles();
    Expected<void> applyFtsOption();
    void publishLocked();  // new snapshot from m_live (m_mutex held)
    void laneCommitted(uint32_t lane, uint64_t ticket);
    // Lane → index: freeze the active hot file of `lane` and give it a new one.
    Expected<FilePtr> rotateHot(uint32_t lane, const FilePtr& active, archive::Watermark wm, uint64_t fts_batch);
    void waitForFlushRoom(uint32_t lane);
    Expected<FilePtr> createHot(uint32_t lane, archive::Watermark wm, uint64_t fts_batch);
    void backgroundLoop(bool may_merge);
    bool runOneJob(bool may_merge);
    Expected<void> flush(const FilePtr& hot);
    Expected<void> merge(Bucket bucket, std::vector<FilePtr> inputs);
    std::optional<std::pair<Bucket, std::vector<FilePtr>>> pickMergeLocked(bool urgent_only) const;
    size_t mergeablePartsLocked(Bucket b) const;
    void forgetRemovedFiles();
    void abandonBuilding(const std::vector<int64_t>& ids);  // outputs that will not be registered
    void noteError(const std::string& where, const Error& e);

    const std::filesystem::path m_root;
    const std::filesystem::path m_dir;  // m_root / generation
    IndexOptions m_opts;
    mutable std::mutex m_replacedMutex;
    std::shared_ptr<Index> m_replacement;
    std::atomic<bool> m_superseded{false};
    observe::MetricsRegistry* m_metrics;
    uint32_t m_lanes = 1;
    std::atomic<bool> m_fts{false};

    mutable std::mutex m_mutex;  // the catalog connection and everything below
    Db m_catalog;
    std::map<int64_t, FilePtr> m_live;   // hot and part files in the current snapshot
    std::set<int64_t> m_busy;            // inputs of a running flush or merge
    SnapshotPtr m_snapshot;
    std::atomic<uint64_t> m_version{0};
    uint64_t m_seqNext = 1, m_seqReserved = 0;
    std::vector<FilePtr> m_activeHot;    // per lane
    std::vector<archive::Watermark> m_laneWatermark;  // committed, per lane
    std::condition_variable m_changed;   // file set changed (flush/merge done, frozen added)
    std::atomic<bool> m_stopping{false};

    // Files whose last reference went (their catalog rows are removed by a background thread).
    std::shared_ptr<std::mutex> m_removedMutex = std::make_shared<std::mutex>();
    std::shared_ptr<std::vector<int64_t>> m_removed = std::make_shared<std::vector<int64_t>>();

    std::vector<std::unique_ptr<Lane>> m_laneObjs;
    std::vector<std::thread> m_background;
    std::atomic<int> m_merging{0};

    // Completion of submitted tickets.
    mutable std::mutex m_doneMutex;
    std::condition_variable m_doneCv;
    std::deque<std::pair<uint64_t, uint32_t>> m_pendingTickets;  // ticket, lanes still to commit
    uint64_t m_nextTicketDone = 0;

    std::atomic<bool> m_laneFailed{false};
    std::atomic<int> m_lanesRetrying{0};
    std::atomic<bool> m_abandon{false};
    mutable std::mutex m_errorMutex;
    std::string m_lastError;
    std::string m_lastErrorCode;
    std::atomic<uint64_t> m_flushes{0}, m_merges{0};
    // Events written by flushes and by merges (merged / stored events = the merges' write
    // amplification), and the CPU time of those jobs (µs, the background thread's own clock).
    std::atomic<uint64_t> m_flushedEvents{0}, m_mergedEvents{0};
    std::atomic<uint64_t> m_flushCpuUs{0}, m_mergeCpuUs{0};
    std::atomic<bool> m_stalled{false};
    std::function<void(const std::string&)> m_compactionListener;
    std::function<void(const std::string&)> m_beforeRegister;
    observe::Counter* m_indexErrors = nullptr;
    bool m_closed = false;
};

}  // namespace archivist::index
