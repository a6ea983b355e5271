#include "core/sink/clickhouse_sink.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QThread>
#include <QTimer>
#include <QUrlQuery>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "core/archive/segment_format.h"
#include "core/archive/segment_writer.h"
#include "core/net/address_policy.h"
#include "core/net/checked_resolver.h"
#include "core/net/http_get.h"
#include "core/net/relay_url.h"
#include "core/observe/metrics.h"
#include "core/protocol/hex.h"
#include "core/protocol/sha256.h"
#include "core/sink/archive_batcher.h"
#include "core/sink/clickhouse_schema.h"
#include "core/sink/gzip.h"
#include "core/sink/sightings_batcher.h"

Q_LOGGING_CATEGORY(lcSink, "archivist.sink")

namespace archivist::sink {

namespace {

int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

std::string positionText(const SourcePosition& p) {
    return std::to_string(p.segment) + ":" + std::to_string(p.offset);
}

// The first line of a server answer, bounded: ClickHouse puts "Code: N, e.displayText() = …" there.
std::string serverMessage(const QByteArray& body) {
    QByteArray first = body.left(600);
    const qsizetype nl = first.indexOf('\n');
    if (nl >= 0) first.truncate(nl);
    return first.trimmed().toStdString();
}

uint64_t fileSize(const std::filesystem::path& p) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(p, ec);
    return ec ? 0 : uint64_t(n);
}

}  // namespace

const char* sinkPhaseName(SinkPhase p) {
    switch (p) {
    case SinkPhase::Starting: return "starting";
    case SinkPhase::Shipping: return "shipping";
    case SinkPhase::CaughtUp: return "caught_up";
    case SinkPhase::Checking: return "checking";
    case SinkPhase::Retrying: return "retrying";
    case SinkPhase::Stopped: return "stopped";
    }
    return "starting";
}

// ------------------------------------------------------------------ the worker (sink thread)

// Lives on the sink's thread; everything it owns (resolver, requests, timer) was created there.
class ShipWorker : public QObject {
public:
    ShipWorker(ClickHouseSink& owner, SinkState state, SourcePosition run_start)
        : m_owner(owner), m_opts(owner.m_opts), m_state(std::move(state)), m_runStart(run_start),
          m_batcher(m_opts.archive_dir, m_opts.node), m_sBatcher(m_opts.archive_dir, m_opts.sightings_dir, m_opts.node),
          m_tables{m_opts.database, m_opts.table_prefix} {}

    void begin();
    void wake();
    void shutdown();

private:
    using Done = std::function<void(int status, const QByteArray& body, const std::string& error, bool written)>;

    void pump();
    void schedule(int64_t delay_ms);
    void runSchema(size_t step);
    void buildNext(const SourcePosition& horizon);
    // While the server works on a full batch, the next one is built and compressed (backlog only).
    void prepareNext();
    void rebuildPending();
    void insert();
    void check();
    void ack();
    // The sightings stream.
    SourcePosition sightingsHorizon() const;
    bool sightingsBehind() const;
    void buildSightings();
    void rebuildSightingsPending();
    void insertSightings();
    void checkSightings();
    void ackSightings();
    void fail(const std::string& error, bool ambiguous, bool server_answered);
    bool savePosition();
    // Moves `c` past an acknowledged batch [start, end) of `rows` rows and saves the state. If the
    // save fails, the batch is put back as pending — the server has it, so the next attempt (or
    // the next start) confirms it with a check instead of sending it again — and false returned.
    bool commitCursor(StreamCursor& c, const SourcePosition& start, const SourcePosition& end, const std::string& id,
                      uint64_t rows);
    // max_query_size > 0: allow a query text that long (a check names every author of a batch).
    // on_sent: called once the whole request has gone to the kernel.
    void request(const QByteArray& body, const QString& query, bool gzip, size_t max_query_size, Done done,
                 std::function<void()> on_sent = {});
    void publish();  // copies the worker's view into the owner's status (under its mutex)
    SourcePosition horizon() const;
    uint64_t lagArchiveBytes(const SourcePosition& from, const SourcePosition& to);

    ClickHouseSink& m_owner;
    const ClickHouseSinkOptions& m_opts;
    SinkState m_state;
    SourcePosition m_runStart;
    ArchiveBatcher m_batcher;
    SightingsBatcher m_sBatcher;
    ClickHouseTables m_tables;
    std::optional<SightingsBatch> m_sBatch;
    QByteArray m_sBody;
    bool m_sMaybeCommitted = false;
    bool m_activeSightings = false;  // the request in flight (or failed last) is the sightings stream's
    net::CheckedResolver* m_resolver = nullptr;
    net::HttpGet* m_http = nullptr;
    QTimer* m_timer = nullptr;
    std::optional<ShipBatch> m_batch;
    QByteArray m_body;               // m_batch's rows, gzip-compressed (all partitions)
    std::optional<ShipBatch> m_next;  // built ahead while m_batch is in flight
    QByteArray m_nextBody;
    bool m_maybeCommitted = false;  // the current batch may be (partly) on the server
    bool m_schemaReady = false;
    bool m_busy = false;
    bool m_stopping = false;
    bool m_retrying = false;
    int64_t m_backoffMs = 0;
    int64_t m_lastSendMs = 0;
    int64_t m_backlogSinceMs = 0;  // archival time of the oldest unshipped frame, when it predates this run
    SinkStatus m_view;             // the worker's copy, published to the owner
    uint64_t m_wireAtAck = 0;      // m_view.wire_bytes at the previous acknowledgement
};

SourcePosition ShipWorker::horizon() const {
    std::lock_guard lock(m_owner.m_mutex);
    return m_owner.m_horizon;
}

uint64_t ShipWorker::lagArchiveBytes(const SourcePosition& from, const SourcePosition& to) {
    return frameBytesBetween(from, to, [this](uint32_t s) { return fileSize(archive::segmentPath(m_opts.archive_dir, s)); });
}

SourcePosition ShipWorker::sightingsHorizon() const {
    std::lock_guard lock(m_owner.m_mutex);
    return m_owner.m_sightingsHorizon;
}

bool ShipWorker::sightingsBehind() const {
    return !m_opts.sightings_dir.empty() && positionLess(m_state.sightings.position, sightingsHorizon());
}

void ShipWorker::publish() {
    const SourcePosition h = horizon();
    m_view.sightings_position = m_state.sightings.position;
    m_view.sightings_pending = m_state.sightings.pending.has_value();
    m_view.lag_sightings_bytes =
        m_opts.sightings_dir.empty() ? 0 : sightingsLagBytes(m_opts.sightings_dir, m_state.sightings.position, sightingsHorizon());
    m_view.position = m_state.events.position;
    m_view.horizon = h;
    m_view.pending = m_state.events.pending.has_value();
    m_view.lag_archive_bytes = lagArchiveBytes(m_state.events.position, h);
    m_view.buffer_bytes = (m_batch ? m_batch->memoryBytes() : 0) + (m_next ? m_next->memoryBytes() : 0) +
                          uint64_t(m_body.capacity() + m_nextBody.capacity()) +
                          (m_sBatch ? m_sBatch->memoryBytes() : 0) + uint64_t(m_sBody.capacity()) + m_sBatcher.cacheBytes();
    // The oldest unshipped frame: archived before this run → its segment's creation time (an upper
    // bound of its age); otherwise the owner's marks know when it became durable.
    m_backlogSinceMs = 0;
    if (positionLess(m_state.events.position, m_runStart)) {
        uint32_t seg = std::max<uint32_t>(m_state.events.position.segment, 1);
        const uint64_t size = fileSize(archive::segmentPath(m_opts.archive_dir, seg));
        if (m_state.events.position.offset >= size && seg < m_runStart.segment) ++seg;
        if (const int64_t t = m_batcher.segmentCreatedAt(seg); t > 0) m_backlogSinceMs = t * 1000;
    }
    std::lock_guard lock(m_owner.m_mutex);
    // Marks the position has passed are no longer needed.
    auto& marks = m_owner.m_marks;
    while (!marks.empty() && !positionLess(m_state.events.position, marks.front().end)) marks.pop_front();
    m_owner.m_backlogSinceMs = m_backlogSinceMs;
    m_owner.m_rowsBefore = m_state.events.rows_before;
    m_owner.m_status = m_view;
}

void ShipWorker::begin() {
    m_resolver = new net::CheckedResolver(m_opts.policy, net::CheckedResolverOptions{}, this);
    m_timer = new QTimer(this);
    m_timer->setSingleShot(true);
    connect(m_timer, &QTimer::timeout, this, [this] {
        m_retrying = false;
        pump();
    });
    m_view.target = ClickHouseSink::targetIdentity(m_opts);
    m_view.node = m_opts.node;
    // Two batches (the one in flight and the next), each at most batch_bytes plus one frame of
    // rows, plus their gzip bodies.
    m_view.buffer_capacity = uint64_t(m_opts.batch_bytes) * 4 + (16u << 20);
    // The sightings stream: one batch of about batch_bytes, its gzip body, the frame-id cache.
    if (!m_opts.sightings_dir.empty())
        m_view.buffer_capacity += uint64_t(m_opts.batch_bytes) * 2 + SightingsBatcher::kMaxCacheBytes;
    if (m_opts.replay_from) {
        const SourcePosition from = *m_opts.replay_from;
        const SourcePosition saved = m_state.events.position;
        if (positionLess(from, saved)) {
            // The lag in events needs the number of rows before the new position.
            auto before = m_batcher.countRows(from, saved);
            if (!before)  // shipping will meet the same damage and report it
                qCWarning(lcSink).noquote() << QString::fromStdString("replay: " + before.error().message);
            qCInfo(lcSink).noquote() << QString::fromStdString("replaying from " + positionText(from) + " (" +
                                                               std::to_string(before ? *before : 0) +
                                                               " events before the saved position " + positionText(saved) + ")");
            m_state.events.position = from;
            m_state.events.rows_before -= std::min(m_state.events.rows_before, before ? *before : 0);
            m_state.events.pending.reset();  // re-shipped by the replay anyway
            if (!savePosition()) return;
        } else {
            qCInfo(lcSink).noquote() << QString::fromStdString("nothing before the saved position " + positionText(saved) +
                                                               " to replay; shipping from there");
        }
    }
    if (m_opts.replay_sightings_from && !m_opts.sightings_dir.empty() &&
        positionLess(*m_opts.replay_sightings_from, m_state.sightings.position)) {
        qCInfo(lcSink).noquote() << QString::fromStdString("replaying sightings from log position " +
                                                           positionText(*m_opts.replay_sightings_from));
        m_state.sightings.position = *m_opts.replay_sightings_from;
        m_state.sightings.rows_before = 0;
        m_state.sightings.pending.reset();
        if (!savePosition()) return;
    }
    publish();
    pump();
}

void ShipWorker::wake() {
    if (!m_stopping && !m_busy && !m_retrying) pump();
    else if (!m_stopping) publish();
}

void ShipWorker::shutdown() {
    m_stopping = true;
    if (m_timer) m_timer->stop();
    if (m_http) {
        m_http->blockSignals(true);
        m_http->abort();
        m_http->deleteLater();
        m_http = nullptr;
    }
    m_view.phase = SinkPhase::Stopped;
    m_batch.reset();
    m_next.reset();
    m_body.clear();
    m_nextBody.clear();
    m_sBatch.reset();
    m_sBody.clear();
    publish();
    delete m_resolver;  // answers pending lookups with "cancelled"; m_stopping ignores them
    m_resolver = nullptr;
}

void ShipWorker::schedule(int64_t delay_ms) {
    m_timer->start(std::chrono::milliseconds(std::max<int64_t>(0, delay_ms)));
}

void ShipWorker::pump() {
    if (m_stopping || m_busy || m_retrying) return;
    if (!m_schemaReady) {
        runSchema(0);
        return;
    }
    if (m_batch) {
        if (m_maybeCommitted) check();
        else insert();
        return;
    }
    if (m_state.events.pending) {
        rebuildPending();
        return;
    }
    if (m_sBatch) {
        if (m_sMaybeCommitted) checkSightings();
        else insertSightings();
        return;
    }
    if (m_state.sightings.pending && !m_opts.sightings_dir.empty()) {
        rebuildSightingsPending();
        return;
    }
    const SourcePosition h = horizon();
    if (!positionLess(m_state.events.position, h)) {
        if (sightingsBehind()) {
            buildSightings();
            return;
        }
        m_view.phase = SinkPhase::CaughtUp;
        publish();
        return;
    }
    const int64_t wait = m_lastSendMs + m_opts.batch_interval_ms - nowMs();
    // A backlog (more than a batch in the archive) goes at once; otherwise ≈ one request per interval.
    if (wait > 0 && lagArchiveBytes(m_state.events.position, h) < m_opts.batch_bytes / 4) {
        if (!m_timer->isActive()) schedule(wait);
        if (sightingsBehind()) {  // the wait is the sightings stream's turn
            buildSightings();
            return;
        }
        m_view.phase = SinkPhase::Shipping;
        publish();
        return;
    }
    buildNext(h);
}

void ShipWorker::prepareNext() {
    if (!m_batch || !m_batch->full || m_next || m_stopping) return;
    BatchLimits limits;
    limits.max_bytes = m_opts.batch_bytes;
    limits.max_rows = m_opts.batch_rows;
    auto b = m_batcher.build(m_batch->end, horizon(), limits);
    if (!b || b->row_count == 0) return;  // the regular path builds (and reports) it
    auto gz = gzipCompress(b->rows, m_opts.gzip_level);
    if (!gz) return;
    m_nextBody = QByteArray::fromStdString(*gz);
    m_next = std::move(*b);
}

void ShipWorker::buildNext(const SourcePosition& h) {
    BatchLimits limits;
    limits.max_bytes = m_opts.batch_bytes;
    limits.max_rows = m_opts.batch_rows;
    Expected<ShipBatch> b = makeError("none", "");
    QByteArray body;
    if (m_next && m_next->start == m_state.events.position) {
        b = std::move(*m_next);
        body = std::move(m_nextBody);
    } else {
        b = m_batcher.build(m_state.events.position, h, limits);
    }
    m_next.reset();
    m_nextBody.clear();
    if (!b) {
        fail("archive: " + b.error().message, false, false);
        return;
    }
    if (b->skipped_lines) {
        m_view.skipped_lines += b->skipped_lines;
        qCWarning(lcSink).noquote() << QString::fromStdString("not shipped: " + std::to_string(b->skipped_lines) +
                                                              " archived line(s) that are not events; first: " +
                                                              b->skipped_example);
    }
    if (b->row_count == 0) {
        // Nothing to send (no frames, or only lines that are not events): move on.
        const bool moved = b->end != m_state.events.position;
        m_state.events.position = b->end;
        m_state.events.rows_before += b->skipped_lines;
        if (moved && !savePosition()) return;
        publish();
        if (moved) QMetaObject::invokeMethod(this, [this] { pump(); }, Qt::QueuedConnection);
        return;
    }
    m_state.events.pending = PendingBatch{b->end, b->id, b->row_count + b->skipped_lines};
    if (!savePosition()) {
        m_state.events.pending.reset();
        return;
    }
    m_batch = std::move(*b);
    m_body = std::move(body);
    m_maybeCommitted = false;
    insert();
}

void ShipWorker::rebuildPending() {
    const PendingBatch p = *m_state.events.pending;
    auto b = m_batcher.build(m_state.events.position, horizon(), BatchLimits{}, p.end);
    if (!b) {
        fail("archive (rebuilding the pending batch " + p.batch + "): " + b.error().message, false, false);
        return;
    }
    if (b->id != p.batch) {
        // The frames differ from those shipped under the recorded identity (the archive was
        // restored from another copy?): nothing can be confirmed; ship them under the new identity
        // (the table absorbs copies of rows that did arrive).
        qCWarning(lcSink).noquote() << QString::fromStdString("pending batch " + p.batch + " rebuilt as " + b->id +
                                                              ": the archive changed; sending it again");
        m_state.events.pending = PendingBatch{b->end, b->id, b->row_count + b->skipped_lines};
        if (!savePosition()) return;
        m_maybeCommitted = false;
    } else {
        m_maybeCommitted = true;  // sent before the restart: ask the server first
    }
    m_batch = std::move(*b);
    m_body.clear();
    pump();
}

void ShipWorker::runSchema(size_t step) {
    const auto statements = schemaStatements(m_tables);
    if (step >= statements.size()) {
        m_schemaReady = true;
        pump();
        return;
    }
    m_view.phase = SinkPhase::Starting;
    publish();
    request(QByteArray::fromStdString(statements[step]), QString(), false, 0,
            [this, step](int status, const QByteArray& body, const std::string& error, bool) {
                if (!error.empty()) return fail("schema: " + error, false, false);
                if (status != 200) return fail("schema: HTTP " + std::to_string(status) + ": " + serverMessage(body), false, true);
                runSchema(step + 1);
            });
}

void ShipWorker::insert() {
    m_activeSightings = false;
    ShipBatch& b = *m_batch;
    const bool whole = b.unconfirmedRowCount() == b.row_count;
    uint64_t raw = 0;
    QByteArray body;
    if (whole && !m_body.isEmpty()) {
        body = m_body;  // shared, not copied
        raw = b.rows.size();
    } else {
        const std::string rows = whole ? b.rows : b.unconfirmedRows();
        auto gz = gzipCompress(rows, m_opts.gzip_level);
        if (!gz) {
            fail("gzip: " + gz.error().message, false, false);
            return;
        }
        body = QByteArray::fromStdString(*gz);
        raw = rows.size();
        if (whole) m_body = body;  // kept for a retry
    }
    const uint64_t wire = uint64_t(body.size());
    m_view.phase = SinkPhase::Shipping;
    m_lastSendMs = nowMs();
    // insert_distributed_sync: through a Distributed table, acknowledge only once the shards have
    // the rows (ignored by other tables).
    const QString query = QString::fromStdString("INSERT INTO " + m_tables.events() + " FORMAT JSONEachRow");
    publish();
    request(body, query, true, 0, [this, wire, raw](int status, const QByteArray& answer, const std::string& error, bool written) {
        m_view.wire_bytes += wire;
        m_view.body_bytes += raw;
        if (!error.empty()) return fail("insert: " + error, written, false);
        if (status != 200)
            return fail("insert: HTTP " + std::to_string(status) + ": " + serverMessage(answer), true, true);
        for (auto& [p, part] : m_batch->parts) part.confirmed = true;
        ack();
    }, [this] { prepareNext(); });
}

void ShipWorker::check() {
    m_activeSightings = false;
    ShipBatch& b = *m_batch;
    m_view.phase = SinkPhase::Checking;
    publish();
    std::set<std::string> pubkeys;
    for (const auto& [p, part] : b.parts)
        if (!part.confirmed) pubkeys.insert(part.pubkeys.begin(), part.pubkeys.end());
    if (pubkeys.empty()) {  // nothing left to ask about
        m_maybeCommitted = false;
        ack();
        return;
    }
    std::string sql = "SELECT " + std::string(kEventsPartitionSql) + " AS p, count() FROM " + m_tables.events() +
                      " WHERE node = " + sqlQuote(m_opts.node) + " AND batch = " + sqlQuote(b.id) + " AND pubkey IN (";
    bool first = true;
    for (const auto& k : pubkeys) {
        if (!first) sql += ',';
        first = false;
        sql += sqlQuote(k);
    }
    sql += ") GROUP BY p FORMAT TabSeparated";
    auto gz = gzipCompress(sql, m_opts.gzip_level);
    if (!gz) {
        fail("gzip: " + gz.error().message, false, false);
        return;
    }
    request(QByteArray::fromStdString(*gz), QString(), true, sql.size() + 1024,
            [this](int status, const QByteArray& answer, const std::string& error, bool) {
                if (!error.empty()) return fail("check: " + error, false, false);
                if (status != 200)
                    return fail("check: HTTP " + std::to_string(status) + ": " + serverMessage(answer), false, true);
                std::map<uint32_t, uint64_t> found;
                for (const QByteArray& line : answer.split('\n')) {
                    const QList<QByteArray> f = line.trimmed().split('\t');
                    if (f.size() != 2) continue;
                    found[f[0].toUInt()] = f[1].toULongLong();
                }
                uint64_t confirmed = 0, resend = 0;
                for (auto& [p, part] : m_batch->parts) {
                    if (part.confirmed) continue;
                    const auto it = found.find(p);
                    if (it != found.end() && it->second >= part.rows) {
                        part.confirmed = true;
                        ++confirmed;
                    } else {
                        ++resend;
                    }
                }
                m_view.parts_confirmed += confirmed;
                m_view.parts_resent += resend;
                qCInfo(lcSink).noquote() << QString::fromStdString(
                    "batch " + m_batch->id + ": " + std::to_string(confirmed) + " partition(s) already on the server, " +
                    std::to_string(resend) + " to send");
                m_maybeCommitted = false;
                if (resend == 0) ack();
                else insert();
            });
}

bool ShipWorker::savePosition() {
    m_state.updated_at_ms = nowMs();
    auto r = saveSinkState(ClickHouseSink::stateFile(m_opts), m_state);
    if (!r) {
        fail("state: " + r.error().message, false, false);
        return false;
    }
    return true;
}

bool ShipWorker::commitCursor(StreamCursor& c, const SourcePosition& start, const SourcePosition& end,
                              const std::string& id, uint64_t rows) {
    c.position = end;
    c.rows_before += rows;
    c.pending.reset();
    if (savePosition()) return true;
    c.position = start;
    c.rows_before -= rows;
    c.pending = PendingBatch{end, id, rows};
    return false;
}

void ShipWorker::ack() {
    ShipBatch& b = *m_batch;
    if (!commitCursor(m_state.events, b.start, b.end, b.id, b.row_count + b.skipped_lines)) {
        m_maybeCommitted = true;
        for (auto& [p, part] : b.parts) part.confirmed = false;
        return;
    }
    const bool more = b.full;
    m_view.shipped_events += b.row_count;
    ++m_view.shipped_batches;
    m_view.archive_bytes += b.archive_bytes;
    m_view.consecutive_failures = 0;
    m_view.last_ack_at_ms = nowMs();
    m_backoffMs = 0;
    {
        std::lock_guard lock(m_owner.m_mutex);
        auto& acks = m_owner.m_acks;
        while (!acks.empty() && (acks.size() >= ClickHouseSink::kMaxDurableMarks ||
                                 m_view.last_ack_at_ms - acks.front().at_ms > ClickHouseSink::kRateWindowMs))
            acks.pop_front();
        acks.push_back({m_view.last_ack_at_ms, b.row_count, m_view.wire_bytes - m_wireAtAck});
    }
    m_wireAtAck = m_view.wire_bytes;
    m_batch.reset();
    m_body.clear();
    m_view.phase = SinkPhase::Shipping;
    publish();
    if (more) QMetaObject::invokeMethod(this, [this] { pump(); }, Qt::QueuedConnection);
    else pump();
}

void ShipWorker::fail(const std::string& error, bool ambiguous, bool server_answered) {
    ++m_view.errors;
    ++m_view.consecutive_failures;
    if (ambiguous) {
        ++m_view.ambiguous;
        if (m_activeSightings) {
            if (m_sBatch) m_sMaybeCommitted = true;
        } else if (m_batch) {
            m_maybeCommitted = true;
        }
    }
    // The server answered with an error: its tables may be gone (a new server, a DROP); the next
    // attempt makes sure they exist first.
    if (server_answered) m_schemaReady = false;
    m_view.last_error = error;
    m_view.last_error_at_ms = nowMs();
    m_backoffMs = m_backoffMs == 0 ? m_opts.retry_initial_ms : std::min<int64_t>(m_backoffMs * 2, m_opts.retry_max_ms);
    qCWarning(lcSink).noquote() << QString::fromStdString("ClickHouse sink: " + error + " (retrying in " +
                                                          std::to_string(m_backoffMs) + " ms)");
    m_view.phase = SinkPhase::Retrying;
    m_retrying = true;
    publish();
    schedule(m_backoffMs);
}

void ShipWorker::request(const QByteArray& body, const QString& query, bool gzip, size_t max_query_size, Done done,
                         std::function<void()> on_sent) {
    m_busy = true;
    ++m_view.requests;
    QUrl url = m_opts.url;
    QUrlQuery q(url);
    if (!query.isEmpty()) q.addQueryItem("query", QString::fromLatin1(QUrl::toPercentEncoding(query)));
    if (max_query_size > 0) q.addQueryItem("max_query_size", QString::number(std::max<size_t>(262144, max_query_size)));
    if (query.startsWith("INSERT")) q.addQueryItem("insert_distributed_sync", "1");
    url.setQuery(q);
    if (url.path().isEmpty()) url.setPath("/");
    net::HttpHeaders headers;
    headers.append(qMakePair(QByteArray("Content-Type"), QByteArray("text/plain; charset=UTF-8")));
    if (gzip) headers.append(qMakePair(QByteArray("Content-Encoding"), QByteArray("gzip")));
    if (!m_opts.user.empty())
        headers.append(qMakePair(QByteArray("Authorization"),
                                 "Basic " + QByteArray::fromStdString(m_opts.user + ":" + m_opts.password).toBase64()));
    net::RelayUrl target;
    target.text = m_opts.url.toString(QUrl::RemoveUserInfo).toStdString();
    target.scheme = m_opts.url.scheme().toLower().toStdString();
    target.host = m_opts.url.host(QUrl::FullyEncoded).toStdString();
    target.tls = target.scheme == "https";
    target.port = quint16(m_opts.url.port(target.tls ? 443 : 80));
    if (QHostAddress literal; literal.setAddress(QString::fromStdString(target.host))) target.literal = literal;
    auto finish = [this, done](int status, const QByteArray& answer, const std::string& error, bool written) {
        m_busy = false;
        if (m_stopping) return;
        done(status, answer, error, written);
    };
    m_resolver->resolve(target, [this, url, body, headers, finish, on_sent](net::Resolved address) {
        if (m_stopping) return;
        if (!address) {
            finish(0, {}, std::string(net::errorCodeName(address.error().code)) + ": " + address.error().message, false);
            return;
        }
        net::HttpGetOptions ho;
        ho.timeout_ms = m_opts.request_timeout_ms;
        ho.max_body_bytes = 1 << 20;
        auto* http = new net::HttpGet(ho, this);
        m_http = http;
        connect(http, &net::HttpGet::finished, this,
                [this, http, finish](int status, const QByteArray& answer, const QString& error) {
                    const bool written = http->requestWritten();
                    if (m_http == http) m_http = nullptr;
                    http->deleteLater();
                    finish(status, answer, error.toStdString(), written);
                });
        if (on_sent) connect(http, &net::HttpGet::requestSent, this, on_sent);
        http->post(url, *address, body, headers);
    });
}

// ------------------------------------------------------------------ the sightings stream

void ShipWorker::buildSightings() {
    // A row is ~170 bytes: batches of about batch_bytes, as for events.
    const size_t maxRows = std::clamp<size_t>(m_opts.batch_bytes / 170, 1, m_opts.batch_rows);
    auto b = m_sBatcher.build(m_state.sightings.position, sightingsHorizon(), maxRows);
    if (!b) {
        m_activeSightings = true;
        fail("sightings log: " + b.error().message, false, false);
        return;
    }
    if (b->skipped) {
        m_view.skipped_sightings += b->skipped;
        qCWarning(lcSink).noquote() << QString::fromStdString("sightings not shipped: " + std::to_string(b->skipped) +
                                                              " whose event cannot be read; first: " + b->skipped_example);
    }
    if (b->row_count == 0) {
        const bool moved = b->end != m_state.sightings.position;
        m_state.sightings.position = b->end;
        m_state.sightings.rows_before += b->skipped;
        if (moved && !savePosition()) return;
        if (!moved) {  // nothing durable to read yet
            m_view.phase = positionLess(m_state.events.position, horizon()) ? SinkPhase::Shipping : SinkPhase::CaughtUp;
            publish();
            return;
        }
        publish();
        QMetaObject::invokeMethod(this, [this] { pump(); }, Qt::QueuedConnection);
        return;
    }
    m_state.sightings.pending = PendingBatch{b->end, b->id, b->row_count + b->skipped};
    if (!savePosition()) {
        m_state.sightings.pending.reset();
        return;
    }
    m_sBatch = std::move(*b);
    m_sBody.clear();
    m_sMaybeCommitted = false;
    insertSightings();
}

void ShipWorker::rebuildSightingsPending() {
    const PendingBatch p = *m_state.sightings.pending;
    auto b = m_sBatcher.build(m_state.sightings.position, sightingsHorizon(), 0, p.end);
    if (!b) {
        m_activeSightings = true;
        fail("sightings log (rebuilding the pending batch " + p.batch + "): " + b.error().message, false, false);
        return;
    }
    if (b->id != p.batch) {
        qCWarning(lcSink).noquote() << QString::fromStdString("pending sightings batch " + p.batch + " rebuilt as " +
                                                              b->id + ": sending it again");
        m_state.sightings.pending = PendingBatch{b->end, b->id, b->row_count + b->skipped};
        if (!savePosition()) return;
        m_sMaybeCommitted = false;
    } else {
        m_sMaybeCommitted = true;  // sent before the restart: ask the server first
    }
    m_sBatch = std::move(*b);
    m_sBody.clear();
    pump();
}

void ShipWorker::insertSightings() {
    m_activeSightings = true;
    if (m_sBody.isEmpty()) {
        auto gz = gzipCompress(m_sBatch->rows, m_opts.gzip_level);
        if (!gz) {
            fail("gzip: " + gz.error().message, false, false);
            return;
        }
        m_sBody = QByteArray::fromStdString(*gz);
    }
    const uint64_t wire = uint64_t(m_sBody.size());
    const uint64_t raw = m_sBatch->rows.size();
    m_view.phase = SinkPhase::Shipping;
    m_lastSendMs = nowMs();
    publish();
    const QString query = QString::fromStdString("INSERT INTO " + m_tables.sightings() + " FORMAT JSONEachRow");
    request(m_sBody, query, true, 0, [this, wire, raw](int status, const QByteArray& answer, const std::string& error, bool written) {
        m_view.wire_bytes += wire;
        m_view.body_bytes += raw;
        if (!error.empty()) return fail("sightings insert: " + error, written, false);
        if (status != 200)
            return fail("sightings insert: HTTP " + std::to_string(status) + ": " + serverMessage(answer), true, true);
        ackSightings();
    });
}

void ShipWorker::checkSightings() {
    m_activeSightings = true;
    m_view.phase = SinkPhase::Checking;
    publish();
    const std::string sql = "SELECT count() FROM " + m_tables.sightings() + " WHERE node = " + sqlQuote(m_opts.node) +
                            " AND batch = " + sqlQuote(m_sBatch->id) + " FORMAT TabSeparated";
    request(QByteArray::fromStdString(sql), QString(), false, 0,
            [this](int status, const QByteArray& answer, const std::string& error, bool) {
                if (!error.empty()) return fail("sightings check: " + error, false, false);
                if (status != 200)
                    return fail("sightings check: HTTP " + std::to_string(status) + ": " + serverMessage(answer), false, true);
                const uint64_t found = answer.trimmed().toULongLong();
                m_sMaybeCommitted = false;
                qCInfo(lcSink).noquote() << QString::fromStdString(
                    "sightings batch " + m_sBatch->id + ": " + std::to_string(found) + " of " +
                    std::to_string(m_sBatch->row_count) + " rows already on the server");
                if (found >= m_sBatch->row_count) {
                    ++m_view.parts_confirmed;
                    ackSightings();
                } else {
                    ++m_view.parts_resent;  // the rows that did arrive collapse with their copies
                    insertSightings();
                }
            });
}

void ShipWorker::ackSightings() {
    SightingsBatch& b = *m_sBatch;
    if (!commitCursor(m_state.sightings, b.start, b.end, b.id, b.row_count + b.skipped)) {
        m_sMaybeCommitted = true;
        return;
    }
    const bool more = b.full;
    m_view.shipped_sightings += b.row_count;
    m_view.consecutive_failures = 0;
    m_view.last_ack_at_ms = nowMs();
    m_backoffMs = 0;
    m_sBatch.reset();
    m_sBody.clear();
    m_view.phase = SinkPhase::Shipping;
    publish();
    if (more) QMetaObject::invokeMethod(this, [this] { pump(); }, Qt::QueuedConnection);
    else pump();
}

// ------------------------------------------------------------------ ClickHouseSink (owner thread)

std::string ClickHouseSink::targetIdentity(const ClickHouseSinkOptions& o) {
    return o.url.toString(QUrl::RemoveUserInfo | QUrl::StripTrailingSlash).toStdString() + " database=" + o.database +
           " prefix=" + o.table_prefix;
}

std::filesystem::path ClickHouseSink::stateFile(const ClickHouseSinkOptions& o) {
    const auto digest = protocol::sha256(targetIdentity(o));
    return o.state_dir / ("clickhouse-" + protocol::toHex(digest.data(), 8) + ".json");
}

Expected<std::unique_ptr<ClickHouseSink>> ClickHouseSink::create(ClickHouseSinkOptions o,
                                                                  observe::MetricsRegistry* metrics) {
    const QString scheme = o.url.scheme().toLower();
    if (!o.url.isValid() || (scheme != "http" && scheme != "https") || o.url.host().isEmpty())
        return makeError("config", "clickhouse url must be http://HOST[:PORT] or https://…, got '" +
                                       o.url.toString().toStdString() + "'");
    if (!o.url.userInfo().isEmpty())
        return makeError("config", "clickhouse url must not carry a user or password (use user and password_file)");
    if (o.url.hasQuery() || o.url.hasFragment())
        return makeError("config", "clickhouse url must not have a query or fragment");
    if (!isSqlIdentifier(o.database)) return makeError("config", "clickhouse database must be an identifier ([A-Za-z_][A-Za-z0-9_]*)");
    if (!isSqlIdentifier(o.table_prefix, true))
        return makeError("config", "clickhouse table_prefix must be empty or an identifier ([A-Za-z_][A-Za-z0-9_]*)");
    if (o.node.empty() || o.node.size() > 128) return makeError("config", "clickhouse node must be 1 to 128 characters");
    if (!o.policy) return makeError("config", "clickhouse sink without an address policy");
    o.batch_bytes = std::max<size_t>(o.batch_bytes, 64 * 1024);
    o.batch_rows = std::clamp<size_t>(o.batch_rows, 1, 500000);  // one insert block (max_insert_block_size)
    auto loaded = loadSinkState(stateFile(o));
    if (!loaded) return loaded.error();
    std::unique_ptr<ClickHouseSink> sink(new ClickHouseSink(std::move(o), metrics));
    SinkState state;
    if (*loaded) {
        state = std::move(**loaded);
        if (state.target != targetIdentity(sink->m_opts))
            return makeError("corrupt", stateFile(sink->m_opts).string() + " belongs to " + state.target);
    } else {
        state.target = targetIdentity(sink->m_opts);
    }
    if (state.node != sink->m_opts.node && !state.node.empty())
        qCInfo(lcSink).noquote() << QString::fromStdString("node renamed from " + state.node + " to " + sink->m_opts.node);
    state.node = sink->m_opts.node;
    sink->m_initial = std::move(state);
    sink->m_status.target = targetIdentity(sink->m_opts);
    sink->m_status.node = sink->m_opts.node;
    sink->m_status.position = sink->m_initial.events.position;
    sink->m_status.pending = sink->m_initial.events.pending.has_value();
    sink->m_rowsBefore = sink->m_initial.events.rows_before;
    return sink;
}

ClickHouseSink::ClickHouseSink(ClickHouseSinkOptions options, observe::MetricsRegistry* metrics)
    : m_opts(std::move(options)), m_metrics(metrics) {}

ClickHouseSink::~ClickHouseSink() { stop(); }

void ClickHouseSink::start(SourcePosition horizon, uint64_t archive_events, SourcePosition sightings_horizon) {
    if (m_thread || m_stopped) return;
    m_thread = new QThread();
    m_thread->setObjectName("archivist-sink");
    m_worker = new ShipWorker(*this, m_initial, horizon);
    m_worker->moveToThread(m_thread);
    QObject::connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    {
        std::lock_guard lock(m_mutex);
        m_horizon = horizon;
        m_sightingsHorizon = sightings_horizon;
        m_archiveEvents = archive_events;
        m_started = true;
    }
    registerMetrics();
    m_thread->start();
    ShipWorker* w = m_worker;
    QMetaObject::invokeMethod(w, [w] { w->begin(); }, Qt::QueuedConnection);
}

void ClickHouseSink::notifyDurable(SourcePosition end, uint64_t archive_events) {
    std::lock_guard lock(m_mutex);
    if (m_stopped) return;
    if (positionLess(m_horizon, end)) {
        m_horizon = end;
        if (m_marks.size() >= kMaxDurableMarks) {
            // Full: merge the two oldest marks, keeping the older time (the lag is never understated).
            m_marks[1].at_ms = m_marks[0].at_ms;
            m_marks.pop_front();
        }
        m_marks.push_back({end, nowMs()});
    }
    m_archiveEvents = archive_events;
    wakeLocked();
}

void ClickHouseSink::notifySightings(SourcePosition end) {
    std::lock_guard lock(m_mutex);
    if (m_stopped || !positionLess(m_sightingsHorizon, end)) return;
    m_sightingsHorizon = end;
    wakeLocked();
}

void ClickHouseSink::wakeLocked() {
    if (!m_started || m_wakePosted.exchange(true)) return;
    // Posted under the mutex: stop() sets m_stopped under it before the worker goes, so the
    // worker still exists here (a wake-up left in its queue at shutdown is discarded with it).
    ShipWorker* w = m_worker;
    QMetaObject::invokeMethod(
        w,
        [this, w] {
            m_wakePosted.store(false);
            w->wake();
        },
        Qt::QueuedConnection);
}

SinkStatus ClickHouseSink::status() const {
    std::lock_guard lock(m_mutex);
    SinkStatus s = m_status;
    s.horizon = m_horizon;
    s.sightings_horizon = m_sightingsHorizon;
    const int64_t now = nowMs();
    s.events_per_s = s.wire_bytes_per_s = 0;
    for (const auto& a : m_acks) {
        if (now - a.at_ms > kRateWindowMs) continue;
        s.events_per_s += double(a.events) * 1000.0 / kRateWindowMs;
        s.wire_bytes_per_s += double(a.wire_bytes) * 1000.0 / kRateWindowMs;
    }
    s.lag_events = m_archiveEvents > m_rowsBefore ? m_archiveEvents - m_rowsBefore : 0;
    s.durable_marks = m_marks.size();
    const bool behind = positionLess(s.position, s.horizon) || s.pending;
    if (behind) {
        int64_t since = m_backlogSinceMs;
        if (since == 0) {
            for (const auto& m : m_marks) {
                if (positionLess(s.position, m.end)) {
                    since = m.at_ms;
                    break;
                }
            }
        }
        s.lag_seconds = since > 0 ? std::max<double>(0, double(now - since) / 1000.0) : 0;
    } else {
        s.lag_seconds = 0;
        s.lag_events = 0;
    }
    return s;
}

void ClickHouseSink::stop() {
    if (m_stopped) return;
    {
        std::lock_guard lock(m_mutex);
        m_stopped = true;
    }
    if (m_metrics) m_metrics->removeGaugeFns(this);
    if (!m_thread) return;
    ShipWorker* w = m_worker;
    QThread* t = m_thread;
    QMetaObject::invokeMethod(
        w,
        [w, t] {
            w->shutdown();
            t->quit();
        },
        Qt::QueuedConnection);
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    m_worker = nullptr;
}

void ClickHouseSink::registerMetrics() {
    if (!m_metrics) return;
    const observe::Labels l{{"sink", "clickhouse"}};
    auto add = [&](const char* name, const char* help, double (*get)(const SinkStatus&)) {
        m_metrics->gaugeFn(name, help, l, [this, get] { return get(status()); }, this);
    };
    add("archivist_sink_lag_events", "Archived events the sink has not had acknowledged yet",
        [](const SinkStatus& s) { return double(s.lag_events); });
    add("archivist_sink_lag_seconds", "Age of the oldest archived event not acknowledged yet (0 when caught up)",
        [](const SinkStatus& s) { return s.lag_seconds; });
    add("archivist_sink_lag_sightings_bytes", "Sightings log bytes the sink has not had acknowledged yet",
        [](const SinkStatus& s) { return double(s.lag_sightings_bytes); });
    add("archivist_sink_shipped_sightings_total", "Sightings acknowledged by the server this run",
        [](const SinkStatus& s) { return double(s.shipped_sightings); });
    add("archivist_sink_skipped_sightings_total", "Logged sightings whose event could not be read (not shipped)",
        [](const SinkStatus& s) { return double(s.skipped_sightings); });
    add("archivist_sink_lag_archive_bytes", "Archive bytes the sink has not shipped yet",
        [](const SinkStatus& s) { return double(s.lag_archive_bytes); });
    add("archivist_sink_shipped_events_total", "Events acknowledged by the server this run",
        [](const SinkStatus& s) { return double(s.shipped_events); });
    add("archivist_sink_batches_total", "Batches acknowledged this run", [](const SinkStatus& s) { return double(s.shipped_batches); });
    add("archivist_sink_requests_total", "HTTP requests to the server this run", [](const SinkStatus& s) { return double(s.requests); });
    add("archivist_sink_errors_total", "Failed sink steps this run (each retried)", [](const SinkStatus& s) { return double(s.errors); });
    add("archivist_sink_consecutive_failures", "Failures since the last success", [](const SinkStatus& s) { return double(s.consecutive_failures); });
    add("archivist_sink_ambiguous_total", "Failures after which the batch may have reached the server",
        [](const SinkStatus& s) { return double(s.ambiguous); });
    add("archivist_sink_parts_confirmed_total", "Partitions of an unacknowledged batch found on the server (not resent)",
        [](const SinkStatus& s) { return double(s.parts_confirmed); });
    add("archivist_sink_parts_resent_total", "Partitions sent again after a check", [](const SinkStatus& s) { return double(s.parts_resent); });
    add("archivist_sink_skipped_lines_total", "Archived lines that are not events (not shipped)",
        [](const SinkStatus& s) { return double(s.skipped_lines); });
    add("archivist_sink_wire_bytes_total", "Compressed insert bodies sent this run", [](const SinkStatus& s) { return double(s.wire_bytes); });
    add("archivist_sink_body_bytes_total", "Uncompressed insert bodies sent this run", [](const SinkStatus& s) { return double(s.body_bytes); });
    add("archivist_sink_events_per_second", "Events acknowledged per second (10 s window)",
        [](const SinkStatus& s) { return s.events_per_s; });
    add("archivist_sink_buffer_bytes", "Memory held by the batch in progress", [](const SinkStatus& s) { return double(s.buffer_bytes); });
    add("archivist_sink_buffer_capacity_bytes", "Bound of the batch memory", [](const SinkStatus& s) { return double(s.buffer_capacity); });
    add("archivist_sink_durable_marks", "Commit marks kept for the lag in seconds (bounded)",
        [](const SinkStatus& s) { return double(s.durable_marks); });
    add("archivist_sink_up", "1 when the last request succeeded (or none failed since)",
        [](const SinkStatus& s) { return s.consecutive_failures == 0 ? 1.0 : 0.0; });
}

}  // namespace archivist::sink
