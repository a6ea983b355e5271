#pragma once
// Engine: the facade the console and the headless front end talk to. The UI never sees the
// Store, sockets, SQLite or zstd — only this interface, value snapshots and queued signals.
//
// Contract
// - snapshotReady() is emitted about 4 times a second with a self-contained value (no pointers
//   into the engine), so a receiver on another thread can keep it.
// - Long work (import) runs on an engine-owned thread that is joined on completion or shutdown;
//   jobProgress()/jobFinished() report it. One job at a time.
// - shutdown(): stop intake, commit everything verified, close; bounded by a deadline.
// Thread: the object lives on the thread that created it (the GUI thread in the console); its
// methods are called there. Work happens on the engine's own threads.
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>
#include <cstdint>

#include "core/engine/config.h"
#include "core/engine/query_types.h"
#include "core/engine/relay_directory_types.h"
#include "core/engine/relay_row.h"
#include "core/engine/relay_url_check.h"
#include "core/observe/incidents.h"

namespace archivist::engine {

struct NewestEvent {
    QString id_hex;
    QString pubkey_hex;
    qint64 created_at = 0;
    int kind = 0;
    QString content_preview;
    QString source;
    qint64 first_seen_at_ms = 0;
};

struct QueueGauge {
    QString name;
    qint64 depth = 0;
    qint64 capacity = 0;
};

// The ClickHouse sink as the console sees it: a value copy of core/sink's status
// (docs/clickhouse.md). configured == false: no sink.
struct SinkView {
    bool configured = false;
    QString target;               // URL, database and table prefix (no credentials)
    QString node;
    QString phase;                // starting, shipping, caught_up, checking, retrying, stopped
    quint64 lag_events = 0;       // archived events not acknowledged by the server yet
    double lag_seconds = 0;       // age of the oldest of them
    quint64 lag_archive_bytes = 0;
    bool pending = false;         // a batch is out, not acknowledged yet
    quint64 lag_sightings_bytes = 0;  // sightings log bytes not acknowledged yet (their own stream)
    quint64 shipped_sightings = 0;    // this run
    quint64 shipped_events = 0;   // this run
    double events_per_s = 0;
    double wire_bytes_per_s = 0;
    quint64 wire_bytes = 0;       // compressed request bodies this run
    quint64 archive_bytes = 0;    // archive bytes of the frames shipped this run
    quint64 errors = 0;
    quint64 consecutive_failures = 0;
    QString last_error;
    qint64 last_error_at_ms = 0;
    qint64 last_ack_at_ms = 0;
};

struct EngineSnapshot {
    qint64 taken_at_ms = 0;
    QString data_dir;
    quint64 events_total = 0;      // in the index (at open + stored since)
    quint64 archive_bytes = 0;     // compressed segment bytes
    quint64 stored_total = 0;      // since start
    quint64 duplicate_total = 0;
    quint64 rejected_total = 0;
    double stored_per_s = 0;
    double duplicate_per_s = 0;
    double rejected_per_s = 0;
    quint64 rss_bytes = 0;
    quint64 heap_bytes = 0;
    // SQLite's heap, every connection together (observe::SqliteHeap): in use, its peak since
    // start and the soft limit that bounds it (config.json sqlite_heap_limit_bytes; 0 = none).
    quint64 sqlite_heap_bytes = 0;
    quint64 sqlite_heap_peak_bytes = 0;
    quint64 sqlite_heap_limit_bytes = 0;
    QVector<QueueGauge> queues;
    QVector<NewestEvent> newest;   // newest first, at most kNewestCapacity
    bool writer_paused = false;
    QString last_error;
    bool job_running = false;
    // Relays (value copies; sorted by URL).
    QVector<RelayRow> relays;
    int relays_open = 0;
    int relays_known = 0;
    bool sync_idle = false;          // every relay's backfill and catch-up done (or the relay unreachable)
    qint64 last_stored_at_ms = 0;    // wall clock of the last commit that stored a new event
    quint64 address_refusals = 0;
    // The owner of relay state (relays.sqlite): failed writes since start (each raises the
    // relay_state_write_errors incident) and the last one's reason. Its inbox is a queue above.
    quint64 relay_state_write_errors_total = 0;
    QString relay_state_last_error;
    static constexpr int kNewestCapacity = 200;
    // Incident inputs and output (see docs/incidents.md).
    quint64 commits_total = 0;           // commit groups since start (archivist_commit_seconds count)
    double commit_seconds_total = 0;     // their summed duration
    quint64 write_errors_total = 0;      // failed commit attempts since start (retried)
    quint64 quarantine_pending = 0;      // quarantined archive regions awaiting salvage (archive_damage)
    qint64 disk_free_bytes = -1;         // space available to us in the data directory; -1 unknown
    qint64 disk_capacity_bytes = -1;     // size of that file system; -1 unknown
    QVector<observe::Incident> incidents;  // open (not cleared), newest first, at most kIncidentsCapacity
    static constexpr int kIncidentsCapacity = 200;
    // Relay intelligence (issue 5): scores, optimizer swaps, discovery counts.
    RelayIntelligenceView intelligence;
    SinkView sink;                       // the ClickHouse sink (docs/clickhouse.md)
};

class Engine : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    ~Engine() override = default;

    virtual void startImport(const QStringList& files) = 0;
    virtual void cancelJob() = 0;
    virtual bool jobRunning() const = 0;
    virtual EngineSnapshot snapshot() const = 0;

    // Relay URLs as the engine would take them: each normalised and, for a literal address,
    // checked against the address policy (with the engine's allow list). Pure and quick (no DNS,
    // no database); the Add relays dialog shows the result as the operator types.
    virtual QVector<RelayUrlCheck> checkRelayUrls(const QStringList& urls) const = 0;

    // "Allow this address" takes effect at once: adds `cidr` ("127.0.0.1/32", "10.0.0.0/8") to the
    // running engine's address policy (connections, the ClickHouse sink, checkRelayUrls/addRelay)
    // and retries the relays the policy refused. Applied on the engine's thread (the policy's
    // owner); connection threads see the new rule at their next check. It does not save anything:
    // config.json is the caller's (ui/allow_address.h saves it first). False with *error for a
    // malformed rule or a full allow list.
    virtual bool allowAddress(const QString& cidr, QString* error) = 0;

    enum class RelayAction { Connect, Disconnect, Block, Unblock, BackfillNow, Remove, Pin, Unpin };
    // Pin: the optimizer never drops the relay (and connects it if there is room); also adds an
    // unknown relay to the directory. Unpin: the optimizer may drop it again.
    // Adds a relay the operator typed (source "user"): normalised and checked once (as
    // checkRelayUrls does), then handed in one hop to the owner of relay state, which writes the
    // directory and adds it to the pool. Both calls return at once: false with a reason known
    // without waiting (invalid URL, refused address, already present, too many actions waiting);
    // a failure found when the work is carried out (pool full, directory error) arrives as
    // relayActionFailed(). DNS answers are checked against the address policy at connect time.
    virtual bool addRelay(const QString& url, QString* normalized, QString* error) = 0;
    virtual bool relayAction(const QString& url, RelayAction action, QString* error) = 0;
    // The relay's newest stored NIP-11 document, answered by relayInfoReady() with the same id
    // (looked up on an engine thread: the caller never waits; "" when none is stored or the relay
    // is unknown). A newer request supersedes an unanswered one. 0 = this engine has no directory.
    virtual quint64 requestRelayInfo(const QString& url) = 0;
    // A page of the persisted relay directory, answered by directoryReady() with the same id (the
    // query runs on an engine thread; a newer request supersedes an unanswered one). 0 = no directory.
    virtual quint64 requestDirectory(const archivist::engine::DirectoryRequest& request) = 0;

    // Incidents (see core/observe/incidents.h). acknowledgeIncident(0) acknowledges every open
    // incident; clearIncidents(false) clears the acknowledged ones, clearIncidents(true) all.
    // The next snapshot shows the result.
    virtual void acknowledgeIncident(quint64 id) = 0;
    virtual void clearIncidents(bool all) = 0;

    // Archive browser queries (contract: core/engine/query_service.h). Each returns a request id
    // (never 0) answered later by pageReady()/detailReady()/countReady() with the same id, queued
    // to this object's thread; a request superseded by a newer one on its channel (a new filter,
    // another event selected) gets no answer. 0 = this engine cannot query (no answer follows).
    virtual quint64 requestPage(const archivist::engine::PageRequest& request) = 0;
    virtual quint64 requestDetail(const QString& id_hex) = 0;
    virtual quint64 requestCount(const archivist::engine::QueryFilter& query) = 0;
    // The Statistics dock's tables for a range (channel "statistics": a newer request supersedes
    // an older one), answered by statisticsReady() with the same id. Read from the index's
    // rollups on the query thread, by the code `archivist stats --by …` runs.
    virtual quint64 requestStatistics(const archivist::engine::StatisticsRequest& request) = 0;
    // Coverage of the ids referenced in e/q tags (engine/coverage.h) over a range, answered at once
    // by coverageReady() from the months a paced background job keeps (core/engine/coverage_monitor.h),
    // each month with the time it was computed; months changed since are counted as pending.
    virtual quint64 requestCoverage(const archivist::engine::CoverageRequest& request) = 0;
    // Exports the events matching `query`, oldest first, as canonical JSONL to the file `path`
    // (written as path + ".part", renamed on success, removed on failure or cancel). A job: one at
    // a time; jobProgress("export", …)/jobFinished("export", …); cancelJob() cancels it.
    virtual void startExport(const archivist::engine::QueryFilter& query, const QString& path) = 0;

    // Settings: the data directory's config.json ("" = this engine has none) and what it holds now
    // (read from the file; the running engine keeps the values it started with until restart).
    virtual QString configPath() const = 0;
    virtual archivist::engine::EngineConfig currentConfig() const = 0;
    // The values the running engine uses: config.json as read at start merged with the command
    // line (--allow-address, --relay, --no-seed-relays, --no-backfill, --metrics-listen, …).
    virtual archivist::engine::EngineConfig runningConfig() const = 0;

    // Verifies archive ↔ index agreement on the running store. A job (jobProgress("verify", …),
    // jobFinished("verify", ok, report)); relay intake is held (relays pause reading, nothing is
    // dropped) and the pipeline drained while it runs, then resumes. cancelJob() cancels it.
    virtual void startVerify() = 0;
    // Rebuilds the index from the archive while intake continues (core/engine/index_rebuild.h):
    // a job (jobProgress("reindex", …), jobFinished("reindex", ok, report)); the old index serves
    // until the new one replaces it. cancelJob() cancels it and leaves the index unchanged.
    virtual void startReindex() = 0;
    // Salvage (core/engine/salvage.h): finds damaged archive bytes, quarantines them, and stores
    // again every event they still hold; the index is rebuilt if it held events there. A job
    // (jobProgress("salvage", …), jobFinished("salvage", ok, report)); relay intake is held while
    // it runs. accept_loss marks quarantine entries that cannot be read as accepted losses.
    virtual void startSalvage(bool accept_loss) = 0;
    // Fetches exactly the events whose ids the file at `path` lists (one 64-hex id per line, as
    // `archivist coverage --missing` writes them) from the open relays (core/engine/fetch_ids.h):
    // a job (jobProgress("fetch-ids", …), jobFinished("fetch-ids", ok, report with the count found
    // and one line per relay)); cancelJob() stops it after the current batch's requests.
    virtual void startFetchIds(const QString& path) = 0;

signals:
    void snapshotReady(const archivist::engine::EngineSnapshot& snapshot);
    void pageReady(quint64 id, const archivist::engine::PageResult& result);
    void detailReady(quint64 id, const archivist::engine::EventDetail& detail);
    void countReady(quint64 id, const archivist::engine::CountResult& result);
    void statisticsReady(quint64 id, const archivist::engine::StatisticsResult& result);
    void coverageReady(quint64 id, const archivist::engine::CoverageResult& result);
    void directoryReady(quint64 id, const archivist::engine::DirectoryPage& page);
    void relayInfoReady(quint64 id, const QString& url, const QString& document);
    void jobProgress(const QString& kind, double fraction, const QString& text);
    void jobFinished(const QString& kind, bool ok, const QString& summary);
    // An accepted addRelay()/relayAction() that failed when it was carried out.
    void relayActionFailed(const QString& url, const QString& message);
};

}  // namespace archivist::engine

Q_DECLARE_METATYPE(archivist::engine::EngineSnapshot)
