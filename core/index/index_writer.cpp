#include "core/index/index_writer.h"

#include <sqlite3.h>

#include <algorithm>
#include <string_view>

#include "core/index/schema.h"
#include "core/index/tag_key.h"
#include "core/observe/log.h"
#include "core/protocol/event_codec.h"

namespace archivist::index {

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kBackfillFramesPerTx = 64;

// Resets a cached statement when the scope ends, so it never holds a read transaction open.
// Bindings are not cleared: every call rebinds every parameter.
class StmtScope {
public:
    explicit StmtScope(sqlite3_stmt* s) : m_s(s) {}
    ~StmtScope() { sqlite3_reset(m_s); }
    StmtScope(const StmtScope&) = delete;
    StmtScope& operator=(const StmtScope&) = delete;

private:
    sqlite3_stmt* m_s;
};

bool isBusy(int code) {
    code &= 0xff;
    return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

// The error code for a SQLite result: "locked" (busy), "index_corrupt" (the file is damaged: the
// store sets it aside and rebuilds), "disk_full", "io", else "sqlite".
const char* errorCode(int code) {
    if (isBusy(code)) return "locked";
    switch (code & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return "index_corrupt";
    case SQLITE_FULL: return "disk_full";
    case SQLITE_IOERR: return "io";
    default: return "sqlite";
    }
}

std::optional<int64_t> readMetaInt(sqlite3* db, const char* key) {
    sqlite3_stmt* st = nullptr;
    std::optional<int64_t> v;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, nullptr) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

bool tableExists(sqlite3* db, const char* name) {
    sqlite3_stmt* st = nullptr;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = ?", -1, &st, nullptr) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

}  // namespace

Error IndexWriter::sqliteError(const std::string& what) const {
    const int code = sqlite3_extended_errcode(m_db);
    return makeError(errorCode(code), what + ": " + sqlite3_errmsg(m_db));
}

// A failed transaction's ROLLBACK: the caller reports the first error; a failed rollback (SQLite
// is back in autocommit anyway) is logged, not dropped unseen.
void IndexWriter::rollbackAfterError() {
    if (auto r = exec("ROLLBACK"); !r)
        qCWarning(lcIndex).noquote() << "rollback after an error failed:" << QString::fromStdString(r.error().message);
}

Expected<void> IndexWriter::exec(const char* sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
        std::string m = msg ? msg : sqlite3_errstr(rc);
        sqlite3_free(msg);
        std::string what(sql);
        if (what.size() > 60) what = what.substr(0, 60) + "…";
        return makeError(errorCode(rc), what + ": " + m);
    }
    return {};
}

Expected<void> IndexWriter::requireWritable() const {
    if (m_readOnly) return makeError("read_only", "the index was opened read-only");
    return {};
}

Expected<std::vector<int64_t>> IndexWriter::rollbackWith(Error e) {
    m_readTxn = false;
    rollbackAfterError();  // the original error is the one worth reporting
    return e;
}

Expected<std::unique_ptr<IndexWriter>> IndexWriter::open(const std::filesystem::path& db_file, IndexOptions opts) {
    std::unique_ptr<IndexWriter> w(new IndexWriter());
    w->m_readOnly = opts.read_only;
    const int flags = (opts.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(db_file.c_str(), &w->m_db, flags, nullptr) != SQLITE_OK)
        return makeError("sqlite", "cannot open " + db_file.string() + ": " +
                                       (w->m_db ? sqlite3_errmsg(w->m_db) : "out of memory"));
    sqlite3_busy_timeout(w->m_db, kBusyTimeoutMs);
    const int cacheKib = std::max(1, opts.cache_mib) * 1024;
    if (opts.read_only) {
        const std::string pragmas = "PRAGMA cache_size=-" + std::to_string(cacheKib) + ";";
        if (auto r = w->exec(pragmas.c_str()); !r) return r.error();
        const int version = storedSchemaVersion(w->m_db);
        if (version < 0) return w->sqliteError("read user_version of " + db_file.string());
        if (version > kSchemaVersion)
            return makeError("schema", "index was written by a newer Archivist (schema version " +
                                           std::to_string(version) + ", this build knows up to " +
                                           std::to_string(kSchemaVersion) + ")");
        if (version < kSchemaVersion)
            return makeError("schema", "index " + db_file.string() + " needs a migration: open it writable once");
    } else {
        const std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; "
                                    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-" +
                                    std::to_string(cacheKib) + ";";
        if (auto r = w->exec(pragmas.c_str()); !r) return r.error();
        if (auto r = migrate(w->m_db); !r) return r.error();
        // Keep the stored choice; an index without events yet takes the default (on).
        const bool stored = readMetaInt(w->m_db, "fts").value_or(0) != 0 ||
                            readMetaInt(w->m_db, "event_count").value_or(0) == 0;
        if (auto r = w->applyFts(opts.fts.value_or(stored)); !r) return r.error();
    }
    w->loadState();
    if (auto r = w->prepareStatements(); !r) return r.error();
    return w;
}

void IndexWriter::loadState() {
    m_fts = tableExists(m_db, "events_fts");
    m_ftsBackfillPending = m_fts && readMetaInt(m_db, "fts_backfill_pending").value_or(0) != 0;
    m_watermark.segment = uint32_t(readMetaInt(m_db, "watermark_segment").value_or(0));
    m_watermark.offset = uint64_t(readMetaInt(m_db, "watermark_offset").value_or(0));
    m_eventCount = uint64_t(readMetaInt(m_db, "event_count").value_or(0));
    m_sources.clear();
}

Expected<void> IndexWriter::applyFts(bool want) {
    const bool has = tableExists(m_db, "events_fts");
    std::string sql;
    if (want && !has) {
        // Content is not stored in the index: events already indexed can only be added from the
        // archive (backfillFts). Frames committed from now on fill FTS themselves.
        sql = "BEGIN IMMEDIATE;"
              "CREATE VIRTUAL TABLE events_fts USING fts5(content, content='', "
              "tokenize='unicode61 remove_diacritics 2');"
              "INSERT OR REPLACE INTO meta(key, value) VALUES ('fts', 1);"
              "INSERT OR REPLACE INTO meta(key, value) VALUES ('fts_backfill_pending', "
              "EXISTS(SELECT 1 FROM events));"
              "INSERT OR REPLACE INTO meta(key, value) VALUES ('fts_backfill_frame', 0);"
              "INSERT OR REPLACE INTO meta(key, value) VALUES ('fts_backfill_until', "
              "(SELECT coalesce(max(id), 0) FROM frames));"
              "COMMIT;";
    } else if (!want && has) {
        sql = "BEGIN IMMEDIATE; DROP TABLE events_fts;"
              "INSERT OR REPLACE INTO meta(key, value) VALUES ('fts', 0);"
              "INSERT OR REPLACE INTO meta(key, value) VALUES ('fts_backfill_pending', 0);"
              "COMMIT;";
    } else {
        return {};
    }
    if (auto r = exec(sql.c_str()); !r) {
        rollbackAfterError();
        return r;
    }
    return {};
}

Expected<void> IndexWriter::prepareStatements() {
    struct {
        sqlite3_stmt** slot;
        const char* sql;
    } stmts[] = {
        {&m_findEvent, "SELECT rowid FROM events WHERE id = ?"},
        {&m_insertEvent,
         "INSERT INTO events(id, pubkey, kind, created_at, first_seen_at, frame, line, flags) VALUES (?,?,?,?,?,?,?,?)"},
        {&m_insertTag, "INSERT OR IGNORE INTO tags(key, event) VALUES (?,?)"},
        {&m_insertFrame, "INSERT INTO frames(segment, offset, length, events, raw_bytes, checksum) VALUES (?,?,?,?,?,?)"},
        {&m_insertSighting,
         "INSERT INTO sightings(event, source, seen_at) VALUES (?1, ?2, ?3) "
         "ON CONFLICT(event, source) DO UPDATE SET seen_at = min(seen_at, excluded.seen_at)"},
        {&m_sightingById,
         "INSERT INTO sightings(event, source, seen_at) SELECT rowid, ?2, ?3 FROM events WHERE id = ?1 "
         "ON CONFLICT(event, source) DO UPDATE SET seen_at = min(seen_at, excluded.seen_at)"},
        {&m_kindCount,
         "INSERT INTO kind_counts(kind, count) VALUES (?1, ?2) ON CONFLICT(kind) DO UPDATE SET count = count + ?2"},
        {&m_setMeta, "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
        {&m_findSource, "SELECT id FROM sources WHERE name = ?"},
        {&m_insertSource, "INSERT INTO sources(name) VALUES (?)"},
        {&m_sealSegment, "INSERT OR REPLACE INTO segments(segment, sealed_at, bytes) VALUES (?,?,?)"},
    };
    for (auto& s : stmts) {
        if (sqlite3_prepare_v3(m_db, s.sql, -1, SQLITE_PREPARE_PERSISTENT, s.slot, nullptr) != SQLITE_OK)
            return sqliteError(std::string("prepare ") + s.sql);
    }
    if (m_fts) {
        if (sqlite3_prepare_v3(m_db, "INSERT INTO events_fts(rowid, content) VALUES (?, ?)", -1,
                               SQLITE_PREPARE_PERSISTENT, &m_insertFts, nullptr) != SQLITE_OK)
            return sqliteError("prepare fts insert");
    }
    return {};
}

IndexWriter::~IndexWriter() {
    if (m_db) endRead();
    for (sqlite3_stmt* s : {m_findEvent, m_insertEvent, m_insertTag, m_insertFts, m_insertFrame, m_insertSighting,
                            m_sightingById, m_kindCount, m_setMeta, m_findSource, m_insertSource, m_sealSegment,
                            m_provenance})
        if (s) sqlite3_finalize(s);
    if (m_db) sqlite3_close_v2(m_db);
}

void IndexWriter::beginRead() {
    // One deferred transaction spans all lookups between commits: without it every lookup takes
    // and drops the WAL read lock (two fcntl calls per event). This connection is the only
    // writer, so the snapshot is always current and commit() upgrades it to a write transaction.
    if (!m_readTxn && sqlite3_exec(m_db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK) m_readTxn = true;
}

void IndexWriter::endRead() {
    if (m_readTxn) {
        sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr);
        m_readTxn = false;
    }
}

std::optional<int64_t> IndexWriter::findEvent(const protocol::Bytes32& id) {
    beginRead();
    StmtScope scope(m_findEvent);
    sqlite3_bind_blob(m_findEvent, 1, id.data(), 32, SQLITE_STATIC);
    if (sqlite3_step(m_findEvent) == SQLITE_ROW) return sqlite3_column_int64(m_findEvent, 0);
    return std::nullopt;
}

Expected<uint32_t> IndexWriter::sourceId(std::string_view name) {
    endRead();
    std::string key(name);
    if (auto it = m_sources.find(key); it != m_sources.end()) return it->second;
    uint32_t id = 0;
    {
        StmtScope scope(m_findSource);
        sqlite3_bind_text(m_findSource, 1, key.data(), int(key.size()), SQLITE_STATIC);
        const int rc = sqlite3_step(m_findSource);
        if (rc == SQLITE_ROW) id = uint32_t(sqlite3_column_int64(m_findSource, 0));
        else if (rc != SQLITE_DONE) return sqliteError("find source");
    }
    if (!id) {
        if (auto r = requireWritable(); !r) return r.error();
        StmtScope scope(m_insertSource);
        sqlite3_bind_text(m_insertSource, 1, key.data(), int(key.size()), SQLITE_STATIC);
        if (sqlite3_step(m_insertSource) != SQLITE_DONE) return sqliteError("insert source " + key);
        id = uint32_t(sqlite3_last_insert_rowid(m_db));
    }
    if (m_sources.size() >= kSourceCacheMax) m_sources.clear();
    m_sources.emplace(std::move(key), id);
    return id;
}

Expected<std::vector<int64_t>> IndexWriter::commit(const archive::AppendedFrame* frame,
                                                   std::span<const NewEvent> events,
                                                   std::span<const Sighting> sightings) {
    if (auto r = requireWritable(); !r) return r.error();
    if (!m_readTxn) {
        if (auto r = exec("BEGIN IMMEDIATE"); !r) return r.error();
        m_readTxn = true;  // ended by COMMIT or rollbackWith()
    }
    // Rows go in sorted by id and tags sorted by key: inserting a group in key order
    // touches each B-tree page once instead of jumping around (measured in docs/benchmarks.md).
    std::vector<int64_t> rowids(events.size());
    m_order.resize(events.size());
    for (size_t i = 0; i < events.size(); ++i) m_order[i] = uint32_t(i);
    std::sort(m_order.begin(), m_order.end(),
              [&](uint32_t a, uint32_t b) { return events[a].event.id < events[b].event.id; });
    m_tagRows.clear();
    // On failure: capture the message, reset the failed statement, roll back everything.
    auto fail = [&](sqlite3_stmt* st, const std::string& what) {
        Error e = sqliteError(what);
        sqlite3_reset(st);
        return rollbackWith(std::move(e));
    };
    int64_t frameId = 0;
    if (frame) {
        StmtScope scope(m_insertFrame);
        sqlite3_bind_int64(m_insertFrame, 1, frame->ref.segment);
        sqlite3_bind_int64(m_insertFrame, 2, int64_t(frame->ref.offset));
        sqlite3_bind_int64(m_insertFrame, 3, frame->ref.length);
        sqlite3_bind_int64(m_insertFrame, 4, frame->events);
        sqlite3_bind_int64(m_insertFrame, 5, int64_t(frame->raw_bytes));
        sqlite3_bind_int64(m_insertFrame, 6, int64_t(frame->checksum));
        if (sqlite3_step(m_insertFrame) != SQLITE_DONE) return fail(m_insertFrame, "insert frame");
        frameId = sqlite3_last_insert_rowid(m_db);
    }
    m_kindDelta.clear();
    for (const uint32_t idx : m_order) {
        const NewEvent& ne = events[idx];
        const protocol::Event& e = ne.event;
        {
            StmtScope scope(m_insertEvent);
            sqlite3_bind_blob(m_insertEvent, 1, e.id.data(), 32, SQLITE_STATIC);
            sqlite3_bind_blob(m_insertEvent, 2, e.pubkey.data(), 32, SQLITE_STATIC);
            sqlite3_bind_int(m_insertEvent, 3, e.kind);
            sqlite3_bind_int64(m_insertEvent, 4, e.created_at);
            sqlite3_bind_int64(m_insertEvent, 5, ne.first_seen_at_ms);
            sqlite3_bind_int64(m_insertEvent, 6, frameId);
            sqlite3_bind_int64(m_insertEvent, 7, ne.line);
            sqlite3_bind_int64(m_insertEvent, 8, ne.flags);
            if (sqlite3_step(m_insertEvent) != SQLITE_DONE) return fail(m_insertEvent, "insert event");
        }
        const int64_t rowid = sqlite3_last_insert_rowid(m_db);
        rowids[idx] = rowid;
        bool counted = false;
        for (auto& [kind, n] : m_kindDelta)
            if (kind == e.kind) {
                ++n;
                counted = true;
                break;
            }
        if (!counted) m_kindDelta.emplace_back(e.kind, 1);
        for (const auto& tag : e.tags) {
            if (tag.size() < 2 || tag[0].size() != 1 || tag[1].size() > kMaxTagValueBytes) continue;
            m_tagRows.push_back(TagRow{tagKey(tag[0][0], tag[1]), rowid});
        }
        if (m_insertFts && !e.content.empty()) {
            StmtScope scope(m_insertFts);
            sqlite3_bind_int64(m_insertFts, 1, rowid);
            sqlite3_bind_text(m_insertFts, 2, e.content.data(), int(e.content.size()), SQLITE_STATIC);
            if (sqlite3_step(m_insertFts) != SQLITE_DONE) return fail(m_insertFts, "insert fts");
        }
        if (ne.source) {
            StmtScope scope(m_insertSighting);
            sqlite3_bind_int64(m_insertSighting, 1, rowid);
            sqlite3_bind_int64(m_insertSighting, 2, ne.source);
            sqlite3_bind_int64(m_insertSighting, 3, ne.first_seen_at_ms);
            if (sqlite3_step(m_insertSighting) != SQLITE_DONE) return fail(m_insertSighting, "insert sighting");
        }
    }
    std::sort(m_tagRows.begin(), m_tagRows.end(), [](const TagRow& a, const TagRow& b) {
        return a.key != b.key ? a.key < b.key : a.event < b.event;
    });
    for (const TagRow& t : m_tagRows) {
        StmtScope scope(m_insertTag);
        sqlite3_bind_int64(m_insertTag, 1, t.key);
        sqlite3_bind_int64(m_insertTag, 2, t.event);
        if (sqlite3_step(m_insertTag) != SQLITE_DONE) return fail(m_insertTag, "insert tag");
    }
    for (const Sighting& s : sightings) {
        if (!s.source) continue;
        StmtScope scope(m_sightingById);
        sqlite3_bind_blob(m_sightingById, 1, s.id.data(), 32, SQLITE_STATIC);
        sqlite3_bind_int64(m_sightingById, 2, s.source);
        sqlite3_bind_int64(m_sightingById, 3, s.seen_at_ms);
        if (sqlite3_step(m_sightingById) != SQLITE_DONE) return fail(m_sightingById, "insert sighting");
    }
    for (const auto& [kind, n] : m_kindDelta) {
        StmtScope scope(m_kindCount);
        sqlite3_bind_int(m_kindCount, 1, kind);
        sqlite3_bind_int64(m_kindCount, 2, n);
        if (sqlite3_step(m_kindCount) != SQLITE_DONE) return fail(m_kindCount, "kind count");
    }
    archive::Watermark wm = m_watermark;
    if (frame) wm = archive::Watermark{frame->ref.segment, frame->ref.offset + frame->ref.length};
    const uint64_t count = m_eventCount + events.size();
    auto setMeta = [&](const char* key, int64_t value) {
        StmtScope scope(m_setMeta);
        sqlite3_bind_text(m_setMeta, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(m_setMeta, 2, value);
        return sqlite3_step(m_setMeta) == SQLITE_DONE;
    };
    if (frame && (!setMeta("watermark_segment", wm.segment) || !setMeta("watermark_offset", int64_t(wm.offset))))
        return fail(m_setMeta, "watermark");
    if (!events.empty() && !setMeta("event_count", int64_t(count))) return fail(m_setMeta, "event count");
    if (auto r = exec("COMMIT"); !r) return rollbackWith(r.error());
    m_readTxn = false;
    m_watermark = wm;
    m_eventCount = count;
    return rowids;
}

Expected<void> IndexWriter::markSegmentSealed(uint32_t segment, uint64_t bytes, int64_t sealed_at_s) {
    endRead();
    if (auto r = requireWritable(); !r) return r;
    StmtScope scope(m_sealSegment);
    sqlite3_bind_int64(m_sealSegment, 1, segment);
    sqlite3_bind_int64(m_sealSegment, 2, sealed_at_s);
    sqlite3_bind_int64(m_sealSegment, 3, int64_t(bytes));
    if (sqlite3_step(m_sealSegment) != SQLITE_DONE) return sqliteError("mark segment sealed");
    return {};
}

Expected<void> IndexWriter::resetForReindex() {
    endRead();
    if (auto r = requireWritable(); !r) return r;
    std::string sql =
        "BEGIN IMMEDIATE; DELETE FROM events; DELETE FROM tags; DELETE FROM frames; DELETE FROM sightings; "
        "DELETE FROM kind_counts; "
        "UPDATE meta SET value = 0 WHERE key IN ('watermark_segment','watermark_offset','event_count',"
        "'fts_backfill_pending','fts_backfill_frame','fts_backfill_until'); ";
    if (m_fts) sql += "INSERT INTO events_fts(events_fts) VALUES('delete-all'); ";
    sql += "COMMIT;";
    if (auto r = exec(sql.c_str()); !r) {
        rollbackAfterError();
        return r;
    }
    m_watermark = {};
    m_eventCount = 0;
    m_ftsBackfillPending = false;
    return {};
}

Expected<uint64_t> IndexWriter::backfillFts(const FrameTextFn& frame_text) {
    endRead();
    if (auto r = requireWritable(); !r) return r.error();
    if (!m_fts) return makeError("fts_off", "full-text search is turned off for this index");
    if (!m_ftsBackfillPending) return uint64_t(0);
    const int64_t until = readMetaInt(m_db, "fts_backfill_until").value_or(0);
    int64_t cursor = readMetaInt(m_db, "fts_backfill_frame").value_or(0);
    sqlite3_stmt* framesSt = nullptr;
    sqlite3_stmt* eventsSt = nullptr;
    struct Finalize {
        sqlite3_stmt*& a;
        sqlite3_stmt*& b;
        ~Finalize() {
            sqlite3_finalize(a);
            sqlite3_finalize(b);
        }
    } finalize{framesSt, eventsSt};
    if (sqlite3_prepare_v2(m_db, "SELECT id, segment, offset, length FROM frames WHERE id > ? AND id <= ? "
                                 "ORDER BY id LIMIT ?", -1, &framesSt, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(m_db, "SELECT rowid, line FROM events WHERE frame = ? ORDER BY line", -1, &eventsSt,
                           nullptr) != SQLITE_OK)
        return sqliteError("prepare fts backfill");
    uint64_t added = 0;
    for (;;) {
        std::vector<std::pair<int64_t, archive::FrameRef>> batch;
        sqlite3_bind_int64(framesSt, 1, cursor);
        sqlite3_bind_int64(framesSt, 2, until);
        sqlite3_bind_int(framesSt, 3, kBackfillFramesPerTx);
        int rc;
        while ((rc = sqlite3_step(framesSt)) == SQLITE_ROW)
            batch.emplace_back(sqlite3_column_int64(framesSt, 0),
                               archive::FrameRef{uint32_t(sqlite3_column_int64(framesSt, 1)),
                                                 uint64_t(sqlite3_column_int64(framesSt, 2)),
                                                 uint32_t(sqlite3_column_int64(framesSt, 3))});
        sqlite3_reset(framesSt);
        if (rc != SQLITE_DONE) return sqliteError("fts backfill: frames");
        if (auto r = exec("BEGIN IMMEDIATE"); !r) return r.error();
        auto abort = [&](Error e) -> Expected<uint64_t> {
            sqlite3_reset(eventsSt);
            rollbackAfterError();
            return e;
        };
        for (const auto& [id, ref] : batch) {
            auto text = frame_text(ref);
            if (!text) return abort(text.error());
            // Line start offsets of the frame.
            std::vector<std::string_view> lines;
            std::string_view rest(*text);
            while (!rest.empty()) {
                const size_t nl = rest.find('\n');
                lines.push_back(rest.substr(0, nl));
                if (nl == std::string_view::npos) break;
                rest.remove_prefix(nl + 1);
            }
            sqlite3_bind_int64(eventsSt, 1, id);
            protocol::Event e;
            while ((rc = sqlite3_step(eventsSt)) == SQLITE_ROW) {
                const int64_t rowid = sqlite3_column_int64(eventsSt, 0);
                const int64_t line = sqlite3_column_int64(eventsSt, 1);
                if (line < 0 || size_t(line) >= lines.size() ||
                    protocol::parseEvent(lines[size_t(line)], e) != protocol::Reject::None)
                    return abort(makeError("corrupt", "fts backfill: event line " + std::to_string(line) +
                                                          " of the frame at segment " + std::to_string(ref.segment) +
                                                          " offset " + std::to_string(ref.offset) +
                                                          " is missing or unreadable (run `archivist verify`)"));
                if (e.content.empty()) continue;
                StmtScope scope(m_insertFts);
                sqlite3_bind_int64(m_insertFts, 1, rowid);
                sqlite3_bind_text(m_insertFts, 2, e.content.data(), int(e.content.size()), SQLITE_STATIC);
                if (sqlite3_step(m_insertFts) != SQLITE_DONE) return abort(sqliteError("fts backfill: insert"));
                ++added;
            }
            if (rc != SQLITE_DONE) return abort(sqliteError("fts backfill: events"));
            sqlite3_reset(eventsSt);
            cursor = id;
        }
        const bool done = batch.size() < size_t(kBackfillFramesPerTx);
        auto setMeta = [&](const char* key, int64_t value) {
            StmtScope scope(m_setMeta);
            sqlite3_bind_text(m_setMeta, 1, key, -1, SQLITE_STATIC);
            sqlite3_bind_int64(m_setMeta, 2, value);
            return sqlite3_step(m_setMeta) == SQLITE_DONE;
        };
        if (!setMeta("fts_backfill_frame", cursor) || (done && !setMeta("fts_backfill_pending", 0)))
            return abort(sqliteError("fts backfill: progress"));
        if (auto r = exec("COMMIT"); !r) return abort(r.error());
        if (done) break;
    }
    m_ftsBackfillPending = false;
    return added;
}

Expected<void> IndexWriter::checkpoint() {
    endRead();
    if (m_readOnly) return {};
    return exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

Expected<void> IndexWriter::detachWal() {
    if (auto r = checkpoint(); !r) return r;
    if (auto r = requireWritable(); !r) return r;
    return exec("PRAGMA journal_mode=DELETE");
}

Expected<uint64_t> IndexWriter::countEventRows() {
    beginRead();
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db, "SELECT count(*) FROM events", -1, &st, nullptr) != SQLITE_OK)
        return sqliteError("prepare count");
    const bool ok = sqlite3_step(st) == SQLITE_ROW;
    const uint64_t n = ok ? uint64_t(sqlite3_column_int64(st, 0)) : 0;
    sqlite3_finalize(st);
    if (!ok) return sqliteError("count events");
    return n;
}

Expected<std::vector<SealedSegment>> IndexWriter::sealedSegments() {
    endRead();
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db, "SELECT segment, sealed_at, bytes FROM segments ORDER BY segment", -1, &st,
                           nullptr) != SQLITE_OK)
        return sqliteError("prepare segments");
    std::vector<SealedSegment> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        out.push_back(SealedSegment{uint32_t(sqlite3_column_int64(st, 0)), sqlite3_column_int64(st, 1),
                                    uint64_t(sqlite3_column_int64(st, 2))});
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return sqliteError("read segments");
    return out;
}

Expected<std::optional<Provenance>> IndexWriter::provenance(const protocol::Bytes32& id, size_t max_sightings) {
    beginRead();
    if (!m_provenance &&
        sqlite3_prepare_v3(m_db,
                           "SELECT e.first_seen_at, s.seen_at, src.name FROM events e "
                           "LEFT JOIN sightings s ON s.event = e.rowid LEFT JOIN sources src ON src.id = s.source "
                           "WHERE e.id = ? ORDER BY s.seen_at",
                           -1, SQLITE_PREPARE_PERSISTENT, &m_provenance, nullptr) != SQLITE_OK)
        return sqliteError("prepare provenance");
    StmtScope scope(m_provenance);
    sqlite3_bind_blob(m_provenance, 1, id.data(), 32, SQLITE_STATIC);
    std::optional<Provenance> out;
    int rc;
    while ((rc = sqlite3_step(m_provenance)) == SQLITE_ROW) {
        if (!out) out.emplace().first_seen_at_ms = sqlite3_column_int64(m_provenance, 0);
        if (sqlite3_column_type(m_provenance, 2) == SQLITE_NULL) continue;  // no sighting (or its source is gone)
        if (out->sightings.size() >= max_sightings) return out;
        const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(m_provenance, 2));
        out->sightings.emplace_back(std::string(name, size_t(sqlite3_column_bytes(m_provenance, 2))),
                                    sqlite3_column_int64(m_provenance, 1));
    }
    if (rc != SQLITE_DONE) return sqliteError("read provenance");
    return out;
}

Expected<void> IndexWriter::replaceWith(const std::filesystem::path& source, const std::atomic<bool>* cancel,
                                        const std::function<void(uint64_t, uint64_t)>& progress,
                                        int pages_per_step) {
    endRead();
    if (auto r = requireWritable(); !r) return r;
    sqlite3* src = nullptr;
    if (sqlite3_open_v2(source.c_str(), &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        Error e = makeError("sqlite", "cannot open " + source.string() + ": " + (src ? sqlite3_errmsg(src) : "out of memory"));
        sqlite3_close_v2(src);
        return e;
    }
    if (const int version = storedSchemaVersion(src); version != kSchemaVersion) {
        sqlite3_close_v2(src);
        return makeError("schema", source.string() + " has schema version " + std::to_string(version) +
                                       ", expected " + std::to_string(kSchemaVersion));
    }
    sqlite3_backup* backup = sqlite3_backup_init(m_db, "main", src, "main");
    if (!backup) {
        Error e = sqliteError("start copying " + source.string());
        sqlite3_close_v2(src);
        return e;
    }
    // The destination's write transaction stays open across steps and commits with the last one,
    // so readers never see a half-copied index.
    int rc = SQLITE_OK;
    bool cancelled = false;
    while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (cancel && cancel->load()) {
            cancelled = true;
            break;
        }
        rc = sqlite3_backup_step(backup, pages_per_step);
        if (progress) {
            const int total = sqlite3_backup_pagecount(backup);
            progress(uint64_t(total - sqlite3_backup_remaining(backup)), uint64_t(total));
        }
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(20);
    }
    sqlite3_backup_finish(backup);  // rolls the destination back unless the copy was complete
    const std::string srcError = sqlite3_errmsg(src);
    sqlite3_close_v2(src);
    loadState();  // whatever happened: the cached state must describe what the file now holds
    if (cancelled) return makeError("cancelled", "replacing the index was cancelled");
    if (rc != SQLITE_DONE)
        return makeError(isBusy(rc) ? "locked" : "sqlite",
                         "copy " + source.string() + " into the index: " + sqlite3_errstr(rc) + " (" + srcError + ")");
    return {};
}

}  // namespace archivist::index
