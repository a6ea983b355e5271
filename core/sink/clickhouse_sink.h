#pragma once
// ClickHouseSink: ships the archive's committed frames into ClickHouse over its HTTP interface,
// exactly once across crashes and retries. Design and operator guide: docs/clickhouse.md and
// docs/decisions/0015-clickhouse-sink.md.
//
// How it works
// - The sink reads frames from the archive (never from the writer): everything before the durable
//   end the engine reports (notifyDurable) is committed and immutable. It never holds the archive
//   back; when it cannot keep up it lags, and says so in status().
// - Batches (ArchiveBatcher) of about one second of frames, or up to batch_bytes when a backlog
//   waits (then batches go back to back: the backlog drains at full speed, one request at a time,
//   which is the backpressure), are sent gzip-compressed as `INSERT INTO … FORMAT JSONEachRow`.
// - Exactly once: the position (archive segment/offset) advances, durably (sink_state.h), only
//   after the server acknowledged the batch. Before a batch's first byte leaves, the batch's
//   extent is recorded as pending. After any failure that may have reached the server (and after
//   a restart with a pending batch), the sink asks the server how many rows of that batch each
//   partition holds (every row carries node and batch identity; a part is committed atomically per
//   partition) and sends only the partitions that are missing. The table (ReplacingMergeTree,
//   copies identical) absorbs what remains possible: a partition that arrived partially through a
//   Distributed table, or a replay (`archivist ship --since`).
// - Sightings (the durable sightings log) go to the sightings table the same way, as a second
//   stream with its own cursor and pending record: a batch is whole log frames; after an ambiguous
//   failure the sink counts the batch's rows on the server (node, batch) and resends the batch
//   unless all arrived (copies collapse in the ReplacingMergeTree). Events go first; sightings
//   ship while the events stream is caught up or waiting for its interval.
// - Network: the URL's host is resolved through the CheckedResolver and the address policy (a
//   loopback or private server must be allowed, e.g. --allow-address 127.0.0.1/32), and the
//   connection goes to exactly the checked address with the URL host for TLS SNI/verification.
//   Failures are retried with exponential backoff (retry_initial_ms … retry_max_ms), forever;
//   nothing is dropped.
//
// Contract
// - create() validates the options and loads (or starts) the state file; errors: "config", "io",
//   "corrupt". start() spawns the sink thread (joined by stop() and the destructor).
// - notifyDurable() and status() may be called from any thread and never block on the network.
// - Bounded memory: one batch (≤ batch_bytes + one frame, its gzip copy and its check query) and a
//   ring of at most kMaxDurableMarks (position, time) marks for the lag in seconds.
// - Metrics (with a registry): archivist_sink_* series, labelled sink="clickhouse" (see
//   docs/clickhouse.md); removed by stop().
// Thread: create/start/stop on the owner thread; the work happens on the sink's own thread.
#include <QUrl>

#include <atomic>
#include <deque>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/sink/sink_state.h"
#include "core/util/expected.h"

class QThread;

namespace archivist::net {
class AddressPolicy;
}
namespace archivist::observe {
class MetricsRegistry;
}

namespace archivist::sink {

class ShipWorker;

struct ClickHouseSinkOptions {
    QUrl url;                        // http:// or https://host[:port][/path]; no user info
    std::string database = "archivist";
    std::string table_prefix;
    std::string user;                // "" = the server's default user, no Authorization header
    std::string password;
    std::string node;                // this Archivist node's name in the shared tables
    std::filesystem::path archive_dir;
    std::filesystem::path state_dir;  // <data-dir>/sinks
    // The durable sightings log (<data-dir>/sightings): shipped as the sightings table with its
    // own cursor. Empty: sightings are not shipped.
    std::filesystem::path sightings_dir;
    size_t batch_bytes = 8u << 20;
    size_t batch_rows = 100000;
    int batch_interval_ms = 1000;
    int request_timeout_ms = 120000;
    int retry_initial_ms = 500;
    int retry_max_ms = 30000;
    int gzip_level = 1;
    // `archivist ship --since`: start from this position instead of the saved one, if it is earlier
    // (a replay never skips what was not shipped yet).
    std::optional<SourcePosition> replay_from;
    // The same for the sightings stream (a log position: file, offset).
    std::optional<SourcePosition> replay_sightings_from;
    std::shared_ptr<const net::AddressPolicy> policy;
};

enum class SinkPhase : uint8_t { Starting, Shipping, CaughtUp, Checking, Retrying, Stopped };
const char* sinkPhaseName(SinkPhase p);  // "starting", "shipping", "caught_up", "checking", "retrying", "stopped"

struct SinkStatus {
    SinkPhase phase = SinkPhase::Starting;
    std::string target;              // URL (no credentials), database and prefix
    std::string node;
    SourcePosition position;         // acknowledged up to here
    SourcePosition horizon;          // the archive's durable end
    bool pending = false;            // a batch is out and not acknowledged
    uint64_t lag_events = 0;         // archived rows not yet acknowledged
    double lag_seconds = 0;          // age of the oldest of them (0 when caught up)
    uint64_t lag_archive_bytes = 0;  // archive (zstd frame) bytes not yet acknowledged
    uint64_t shipped_events = 0;     // acknowledged this run
    uint64_t shipped_batches = 0;
    uint64_t requests = 0;           // HTTP requests this run (inserts, checks, schema)
    uint64_t errors = 0;             // failed requests this run
    uint64_t consecutive_failures = 0;
    uint64_t ambiguous = 0;          // failures after the batch may have reached the server
    uint64_t parts_confirmed = 0;    // partitions a check found already on the server (not resent)
    uint64_t parts_resent = 0;       // partitions sent again after a check
    uint64_t skipped_lines = 0;      // archived lines that are not events (not shipped)
    uint64_t wire_bytes = 0;         // compressed request bodies of inserts this run
    uint64_t body_bytes = 0;         // their uncompressed size
    uint64_t archive_bytes = 0;      // archive (zstd) bytes of the frames acknowledged this run
    double events_per_s = 0;         // acknowledged over the last 10 s
    double wire_bytes_per_s = 0;
    std::string last_error;
    int64_t last_error_at_ms = 0;
    int64_t last_ack_at_ms = 0;
    uint64_t buffer_bytes = 0;       // memory held by the current batch
    uint64_t buffer_capacity = 0;    // its bound
    uint64_t durable_marks = 0;      // (position, time) marks kept for lag_seconds; at most kMaxDurableMarks
    // The sightings stream (its own cursor in the sightings log: file, offset).
    SourcePosition sightings_position;  // acknowledged up to here
    SourcePosition sightings_horizon;   // the log's durable end
    bool sightings_pending = false;
    uint64_t lag_sightings_bytes = 0;   // log bytes not yet acknowledged
    uint64_t shipped_sightings = 0;     // acknowledged this run
    uint64_t skipped_sightings = 0;     // records whose event could not be read (quarantined archive bytes)
};

class ClickHouseSink {
public:
    static constexpr size_t kMaxDurableMarks = 4096;
    static constexpr int64_t kRateWindowMs = 10000;  // events_per_s: acknowledged over the last 10 s

    static Expected<std::unique_ptr<ClickHouseSink>> create(ClickHouseSinkOptions options,
                                                            observe::MetricsRegistry* metrics = nullptr);
    ~ClickHouseSink();
    ClickHouseSink(const ClickHouseSink&) = delete;
    ClickHouseSink& operator=(const ClickHouseSink&) = delete;

    // The archive's durable end and its number of events when the sink starts, and the sightings
    // log's durable end.
    void start(SourcePosition horizon, uint64_t archive_events, SourcePosition sightings_horizon = {});
    // Any thread: a commit made everything before `end` durable; the archive now holds
    // `archive_events` events. Cheap (a mutex and at most one queued wake-up).
    void notifyDurable(SourcePosition end, uint64_t archive_events);
    // Any thread: the sightings log is durable up to `end` (file, offset).
    void notifySightings(SourcePosition end);
    SinkStatus status() const;
    // Stops shipping (a request in flight is abandoned: its batch stays pending and is checked at
    // the next start) and joins the thread. Idempotent.
    void stop();

    // "<url> database=<db> prefix=<prefix>": what a state file is valid for.
    static std::string targetIdentity(const ClickHouseSinkOptions& o);
    // <state_dir>/clickhouse-<16 hex of SHA-256(targetIdentity)>.json
    static std::filesystem::path stateFile(const ClickHouseSinkOptions& o);

private:
    friend class ShipWorker;
    explicit ClickHouseSink(ClickHouseSinkOptions options, observe::MetricsRegistry* metrics);
    void registerMetrics();
    void wakeLocked();  // posts one wake-up to the worker (m_mutex held)

    ClickHouseSinkOptions m_opts;
    observe::MetricsRegistry* m_metrics;
    QThread* m_thread = nullptr;
    ShipWorker* m_worker = nullptr;  // lives on m_thread; deleted there when it finishes
    std::atomic<bool> m_wakePosted{false};
    bool m_started = false;  // written under m_mutex (notifyDurable reads it from other threads)
    bool m_stopped = false;

    SinkState m_initial;  // the loaded state, handed to the worker by start()

    // Shared with the worker (m_mutex).
    struct DurableMark {
        SourcePosition end;  // everything before it became durable …
        int64_t at_ms = 0;   // … at (or before) this wall-clock time
    };
    mutable std::mutex m_mutex;
    SinkStatus m_status;
    SourcePosition m_horizon;
    SourcePosition m_sightingsHorizon;
    uint64_t m_archiveEvents = 0;
    uint64_t m_rowsBefore = 0;       // rows before the acknowledged position
    int64_t m_backlogSinceMs = 0;    // set when the oldest unshipped frame predates this run
    std::deque<DurableMark> m_marks;  // bounded: kMaxDurableMarks
    struct Ack {
        int64_t at_ms = 0;
        uint64_t events = 0;
        uint64_t wire_bytes = 0;
    };
    std::deque<Ack> m_acks;  // the last kRateWindowMs of acknowledgements; at most kMaxDurableMarks
};

}  // namespace archivist::sink
