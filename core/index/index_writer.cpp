#include "core/index/index_writer.h"

#include <sqlite3.h>

#include <map>

#include "core/index/schema.h"

namespace archivist::index {

namespace {
constexpr size_t kMaxTagValueBytes = 512;

class Stmt {
public:
    explicit Stmt(sqlite3_stmt* s) : m_s(s) {}
    ~Stmt() {
        sqlite3_reset(m_s);
        sqlite3_clear_bindings(m_s);
    }
    sqlite3_stmt* get() const { return m_s; }

private:
    sqlite3_stmt* m_s;
};

int64_t readMetaInt(sqlite3* db, const char* key) {
    sqlite3_stmt* st = nullptr;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, nullptr) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}
}  // namespace

Error IndexWriter::sqliteError(const std::string& what) const {
    const int code = sqlite3_errcode(m_db);
    return makeError(code == SQLITE_BUSY || code == SQLITE_LOCKED ? "locked" : "sqlite",
                     what + ": " + sqlite3_errmsg(m_db));
}

Expected<void> IndexWriter::exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string m = msg ? msg : "error";
        sqlite3_free(msg);
        return makeError("sqlite", std::string(sql).substr(0, 40) + ": " + m);
    }
    return {};
}

Expected<sqlite3_stmt*> IndexWriter::prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK)
        return sqliteError(std::string("prepare ") + sql);
    return st;
}

Expected<std::unique_ptr<IndexWriter>> IndexWriter::open(const std::filesystem::path& db_file, IndexOptions opts) {
    std::unique_ptr<IndexWriter> w(new IndexWriter());
    if (sqlite3_open_v2(db_file.c_str(), &w->m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK)
        return makeError("sqlite", "cannot open " + db_file.string() + ": " +
                                       (w->m_db ? sqlite3_errmsg(w->m_db) : "out of memory"));
    sqlite3_busy_timeout(w->m_db, 5000);
    const std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; "
                                "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-" +
                                std::to_string(opts.cache_mib * 1024) + ";";
    if (auto r = w->exec(pragmas.c_str()); !r) return r.error();
    if (auto r = migrate(w->m_db, opts.fts); !r) return r.error();
    {
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(w->m_db, "SELECT 1 FROM sqlite_master WHERE name = 'events_fts'", -1, &st, nullptr);
        w->m_fts = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    w->m_watermark.segment = uint32_t(readMetaInt(w->m_db, "watermark_segment"));
    w->m_watermark.offset = uint64_t(readMetaInt(w->m_db, "watermark_offset"));
    w->m_eventCount = uint64_t(readMetaInt(w->m_db, "event_count"));

    struct {
        sqlite3_stmt** slot;
        const char* sql;
    } stmts[] = {
        {&w->m_findEvent, "SELECT rowid FROM events WHERE id = ?"},
        {&w->m_insertEvent,
         "INSERT INTO events(id, pubkey, kind, created_at, first_seen_at, frame, line, flags) VALUES (?,?,?,?,?,?,?,?)"},
        {&w->m_insertTag, "INSERT OR IGNORE INTO tags(name, value, event) VALUES (?,?,?)"},
        {&w->m_insertFrame,
         "INSERT INTO frames(segment, offset, length, events, raw_bytes, checksum) VALUES (?,?,?,?,?,?)"},
        {&w->m_insertSighting, "INSERT OR IGNORE INTO sightings(event, source, seen_at) VALUES (?,?,?)"},
        {&w->m_sightingById,
         "INSERT INTO sightings(event, source, seen_at) SELECT rowid, ?2, ?3 FROM events WHERE id = ?1 "
         "ON CONFLICT(event, source) DO UPDATE SET seen_at = min(seen_at, excluded.seen_at)"},
        {&w->m_kindCount,
         "INSERT INTO kind_counts(kind, count) VALUES (?1, ?2) ON CONFLICT(kind) DO UPDATE SET count = count + ?2"},
        {&w->m_setMeta, "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
        {&w->m_findSource, "SELECT id FROM sources WHERE name = ?"},
        {&w->m_insertSource, "INSERT INTO sources(name) VALUES (?)"},
    };
    for (auto& s : stmts) {
        auto st = w->prepare(s.sql);
        if (!st) return st.error();
        *s.slot = *st;
    }
    if (w->m_fts) {
        auto st = w->prepare("INSERT INTO events_fts(rowid, content) VALUES (?, ?)");
        if (!st) return st.error();
        w->m_insertFts = *st;
    }
    return w;
}

IndexWriter::~IndexWriter() {
    for (sqlite3_stmt* s : {m_findEvent, m_insertEvent, m_insertTag, m_insertFts, m_insertFrame, m_insertSighting,
                            m_sightingById, m_kindCount, m_setMeta, m_findSource, m_insertSource})
        if (s) sqlite3_finalize(s);
    if (m_db) sqlite3_close_v2(m_db);
}

std::optional<int64_t> IndexWriter::findEvent(const protocol::Bytes32& id) {
    Stmt st(m_findEvent);
    sqlite3_bind_blob(m_findEvent, 1, id.data(), 32, SQLITE_STATIC);
    if (sqlite3_step(m_findEvent) == SQLITE_ROW) return sqlite3_column_int64(m_findEvent, 0);
    return std::nullopt;
}

Expected<uint32_t> IndexWriter::sourceId(std::string_view name) {
    const std::string key(name);
    if (auto it = m_sources.find(key); it != m_sources.end()) return it->second;
    uint32_t id = 0;
    {
        Stmt st(m_findSource);
        sqlite3_bind_text(m_findSource, 1, key.data(), int(key.size()), SQLITE_STATIC);
        if (sqlite3_step(m_findSource) == SQLITE_ROW) id = uint32_t(sqlite3_column_int64(m_findSource, 0));
    }
    if (!id) {
        Stmt st(m_insertSource);
        sqlite3_bind_text(m_insertSource, 1, key.data(), int(key.size()), SQLITE_STATIC);
        if (sqlite3_step(m_insertSource) != SQLITE_DONE) return sqliteError("insert source");
        id = uint32_t(sqlite3_last_insert_rowid(m_db));
    }
    if (m_sources.size() >= kSourceCacheMax) m_sources.clear();
    m_sources.emplace(key, id);
    return id;
}

Expected<std::vector<int64_t>> IndexWriter::commit(const archive::AppendedFrame* frame,
                                                   std::span<const NewEvent> events,
                                                   std::span<const Sighting> sightings) {
    if (auto r = exec("BEGIN IMMEDIATE"); !r) return r.error();
    std::vector<int64_t> rowids;
    rowids.reserve(events.size());
    auto fail = [&](const std::string& what) -> Expected<std::vector<int64_t>> {
        Error e = sqliteError(what);
        auto rb = exec("ROLLBACK");
        (void)rb;
        return e;
    };
    int64_t frameId = 0;
    if (frame) {
        Stmt st(m_insertFrame);
        sqlite3_bind_int64(m_insertFrame, 1, frame->ref.segment);
        sqlite3_bind_int64(m_insertFrame, 2, int64_t(frame->ref.offset));
        sqlite3_bind_int64(m_insertFrame, 3, frame->ref.length);
        sqlite3_bind_int64(m_insertFrame, 4, frame->events);
        sqlite3_bind_int64(m_insertFrame, 5, int64_t(frame->raw_bytes));
        sqlite3_bind_int64(m_insertFrame, 6, int64_t(frame->checksum));
        if (sqlite3_step(m_insertFrame) != SQLITE_DONE) return fail("insert frame");
        frameId = sqlite3_last_insert_rowid(m_db);
    }
    std::map<uint16_t, int64_t> kinds;
    for (const NewEvent& ne : events) {
        const protocol::Event& e = ne.event;
        {
            Stmt st(m_insertEvent);
            sqlite3_bind_blob(m_insertEvent, 1, e.id.data(), 32, SQLITE_STATIC);
            sqlite3_bind_blob(m_insertEvent, 2, e.pubkey.data(), 32, SQLITE_STATIC);
            sqlite3_bind_int(m_insertEvent, 3, e.kind);
            sqlite3_bind_int64(m_insertEvent, 4, e.created_at);
            sqlite3_bind_int64(m_insertEvent, 5, ne.first_seen_at_ms);
            sqlite3_bind_int64(m_insertEvent, 6, frameId);
            sqlite3_bind_int64(m_insertEvent, 7, ne.line);
            sqlite3_bind_int64(m_insertEvent, 8, ne.flags);
            if (sqlite3_step(m_insertEvent) != SQLITE_DONE) return fail("insert event");
        }
        const int64_t rowid = sqlite3_last_insert_rowid(m_db);
        rowids.push_back(rowid);
        ++kinds[e.kind];
        for (const auto& tag : e.tags) {
            if (tag.size() < 2 || tag[0].size() != 1 || tag[1].size() > kMaxTagValueBytes) continue;
            Stmt st(m_insertTag);
            sqlite3_bind_text(m_insertTag, 1, tag[0].data(), 1, SQLITE_STATIC);
            sqlite3_bind_text(m_insertTag, 2, tag[1].data(), int(tag[1].size()), SQLITE_STATIC);
            sqlite3_bind_int64(m_insertTag, 3, rowid);
            if (sqlite3_step(m_insertTag) != SQLITE_DONE) return fail("insert tag");
        }
        if (m_insertFts && !e.content.empty()) {
            Stmt st(m_insertFts);
            sqlite3_bind_int64(m_insertFts, 1, rowid);
            sqlite3_bind_text(m_insertFts, 2, e.content.data(), int(e.content.size()), SQLITE_STATIC);
            if (sqlite3_step(m_insertFts) != SQLITE_DONE) return fail("insert fts");
        }
        if (ne.source) {
            Stmt st(m_insertSighting);
            sqlite3_bind_int64(m_insertSighting, 1, rowid);
            sqlite3_bind_int64(m_insertSighting, 2, ne.source);
            sqlite3_bind_int64(m_insertSighting, 3, ne.first_seen_at_ms);
            if (sqlite3_step(m_insertSighting) != SQLITE_DONE) return fail("insert sighting");
        }
    }
    for (const Sighting& s : sightings) {
        if (!s.source) continue;
        Stmt st(m_sightingById);
        sqlite3_bind_blob(m_sightingById, 1, s.id.data(), 32, SQLITE_STATIC);
        sqlite3_bind_int64(m_sightingById, 2, s.source);
        sqlite3_bind_int64(m_sightingById, 3, s.seen_at_ms);
        if (sqlite3_step(m_sightingById) != SQLITE_DONE) return fail("insert sighting");
    }
    for (const auto& [kind, n] : kinds) {
        Stmt st(m_kindCount);
        sqlite3_bind_int(m_kindCount, 1, kind);
        sqlite3_bind_int64(m_kindCount, 2, n);
        if (sqlite3_step(m_kindCount) != SQLITE_DONE) return fail("kind count");
    }
    archive::Watermark wm = m_watermark;
    if (frame) wm = archive::Watermark{frame->ref.segment, frame->ref.offset + frame->ref.length};
    const uint64_t count = m_eventCount + events.size();
    auto setMeta = [&](const char* key, int64_t value) {
        Stmt st(m_setMeta);
        sqlite3_bind_text(m_setMeta, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(m_setMeta, 2, value);
        return sqlite3_step(m_setMeta) == SQLITE_DONE;
    };
    if (frame && (!setMeta("watermark_segment", wm.segment) || !setMeta("watermark_offset", int64_t(wm.offset))))
        return fail("watermark");
    if (!events.empty() && !setMeta("event_count", int64_t(count))) return fail("event count");
    if (sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("commit");
    m_watermark = wm;
    m_eventCount = count;
    return rowids;
}

Expected<void> IndexWriter::markSegmentSealed(uint32_t segment, uint64_t bytes, int64_t sealed_at_s) {
    const std::string sql = "INSERT OR REPLACE INTO segments(segment, sealed_at, bytes) VALUES (" +
                            std::to_string(segment) + "," + std::to_string(sealed_at_s) + "," + std::to_string(bytes) + ")";
    return exec(sql.c_str());
}

Expected<void> IndexWriter::resetForReindex() {
    std::string sql =
        "BEGIN IMMEDIATE; DELETE FROM events; DELETE FROM tags; DELETE FROM frames; DELETE FROM sightings; "
        "DELETE FROM kind_counts; DELETE FROM segments; "
        "UPDATE meta SET value = 0 WHERE key IN ('watermark_segment','watermark_offset','event_count'); ";
    if (m_fts) sql += "INSERT INTO events_fts(events_fts) VALUES('delete-all'); ";
    sql += "COMMIT;";
    if (auto r = exec(sql.c_str()); !r) {
        auto rb = exec("ROLLBACK");
        (void)rb;
        return r;
    }
    m_watermark = {};
    m_eventCount = 0;
    return {};
}

Expected<void> IndexWriter::checkpoint() { return exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

}  // namespace archivist::index
