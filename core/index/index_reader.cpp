#include "core/index/index_reader.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

#include "core/index/schema.h"
#include "core/index/tag_key.h"

namespace archivist::index {

namespace {

constexpr const char* kRowColumns =
    "e.rowid, e.id, e.pubkey, e.kind, e.created_at, e.first_seen_at, e.flags, f.segment, f.offset, f.length, e.line";

EventRow readRow(sqlite3_stmt* st) {
    EventRow r;
    r.rowid = sqlite3_column_int64(st, 0);
    if (sqlite3_column_bytes(st, 1) == 32) std::memcpy(r.id.data(), sqlite3_column_blob(st, 1), 32);
    if (sqlite3_column_bytes(st, 2) == 32) std::memcpy(r.pubkey.data(), sqlite3_column_blob(st, 2), 32);
    r.kind = uint16_t(sqlite3_column_int(st, 3));
    r.created_at = sqlite3_column_int64(st, 4);
    r.first_seen_at_ms = sqlite3_column_int64(st, 5);
    r.flags = uint32_t(sqlite3_column_int64(st, 6));
    r.frame.segment = uint32_t(sqlite3_column_int64(st, 7));
    r.frame.offset = uint64_t(sqlite3_column_int64(st, 8));
    r.frame.length = uint32_t(sqlite3_column_int64(st, 9));
    r.line = uint32_t(sqlite3_column_int64(st, 10));
    return r;
}

bool isBusy(int code) {
    code &= 0xff;
    return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

Error sqlError(sqlite3* db, const std::string& what) {
    const int code = sqlite3_extended_errcode(db);
    const char* kind = isBusy(code) ? "locked" : (code & 0xff) == SQLITE_INTERRUPT ? "interrupted" : "sqlite";
    return makeError(kind, what + ": " + sqlite3_errmsg(db));
}

// Values bound to '?' placeholders in order.
struct Bind {
    enum { Int, Blob, Text } type;
    int64_t i = 0;
    std::string s;
};

// FTS5 query for the user's text: every whitespace-separated word becomes a quoted prefix term
// ("word"*), so no FTS5 operator or syntax in the input is interpreted; the terms are ANDed.
std::string ftsQuery(const std::string& text) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        if (i >= text.size()) break;
        if (!out.empty()) out += ' ';
        out += '"';
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
            if (text[i] == '"') out += '"';
            out += text[i++];
        }
        out += "\"*";
    }
    return out;
}

// WHERE clause for ORed filters; false when a filter can match nothing is not special-cased.
Expected<std::string> whereFor(const std::vector<protocol::Filter>& filters, bool fts, std::vector<Bind>& binds) {
    if (filters.empty()) return std::string("1");
    std::string out;
    for (size_t fi = 0; fi < filters.size(); ++fi) {
        const auto& f = filters[fi];
        std::string conds = "1";
        auto inList = [&](const char* column, const std::vector<protocol::Bytes32>& list) {
            conds += std::string(" AND ") + column + " IN (";
            for (size_t i = 0; i < list.size(); ++i) {
                conds += i ? ",?" : "?";
                binds.push_back({Bind::Blob, 0, std::string(reinterpret_cast<const char*>(list[i].data()), 32)});
            }
            conds += ")";
        };
        if (!f.ids.empty()) inList("e.id", f.ids);
        if (!f.authors.empty()) inList("e.pubkey", f.authors);
        if (!f.kinds.empty()) {
            conds += " AND e.kind IN (";
            for (size_t i = 0; i < f.kinds.size(); ++i) {
                conds += i ? ",?" : "?";
                binds.push_back({Bind::Int, f.kinds[i], {}});
            }
            conds += ")";
        }
        if (f.since) {
            conds += " AND e.created_at >= ?";
            binds.push_back({Bind::Int, *f.since, {}});
        }
        if (f.until) {
            conds += " AND e.created_at <= ?";
            binds.push_back({Bind::Int, *f.until, {}});
        }
        for (const auto& [name, values] : f.tags) {
            // Through the tag key (tag_key.h); values too long to be indexed match nothing.
            conds += " AND e.rowid IN (SELECT event FROM tags WHERE key IN (";
            size_t bound = 0;
            for (const auto& value : values) {
                if (value.size() > kMaxTagValueBytes) continue;
                conds += bound++ ? ",?" : "?";
                binds.push_back({Bind::Int, tagKey(name, value), {}});
            }
            if (!bound) conds += "NULL";
            conds += "))";
        }
        if (f.search) {
            const std::string q = ftsQuery(*f.search);
            if (!q.empty()) {
                // Content lives only in the archive and in the FTS table: without FTS there is
                // nothing to LIKE over, so say so rather than return a silently wrong empty page.
                if (!fts)
                    return makeError("fts_off", "full-text search is turned off for this index "
                                                "(enable it with the fts option; the index backfills from the archive)");
                conds += " AND e.rowid IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)";
                binds.push_back({Bind::Text, 0, q});
            }
        }
        out += fi ? " OR (" : "(";
        out += conds + ")";
    }
    return out;
}

void bindAll(sqlite3_stmt* st, const std::vector<Bind>& binds) {
    int i = 1;
    for (const auto& b : binds) {
        if (b.type == Bind::Int) sqlite3_bind_int64(st, i, b.i);
        else if (b.type == Bind::Blob) sqlite3_bind_blob(st, i, b.s.data(), int(b.s.size()), SQLITE_TRANSIENT);
        else sqlite3_bind_text(st, i, b.s.data(), int(b.s.size()), SQLITE_TRANSIENT);
        ++i;
    }
}

uint64_t fileSize(const std::filesystem::path& p) {
    std::error_code ec;
    const auto s = std::filesystem::file_size(p, ec);
    return ec ? 0 : s;
}

}  // namespace

Expected<std::unique_ptr<IndexReader>> IndexReader::open(const std::filesystem::path& db_file) {
    std::unique_ptr<IndexReader> r(new IndexReader());
    r->m_path = db_file;
    if (sqlite3_open_v2(db_file.c_str(), &r->m_db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
        return makeError("sqlite", "cannot open " + db_file.string() + ": " +
                                       (r->m_db ? sqlite3_errmsg(r->m_db) : "out of memory"));
    sqlite3_busy_timeout(r->m_db, 5000);
    const int version = storedSchemaVersion(r->m_db);
    if (version < 0) return sqlError(r->m_db, "read schema version of " + db_file.string());
    if (version > kSchemaVersion)
        return makeError("schema", "index was written by a newer Archivist (schema version " + std::to_string(version) +
                                       ", this build knows up to " + std::to_string(kSchemaVersion) + ")");
    if (version < kSchemaVersion)
        return makeError("schema", "index " + db_file.string() + " is not initialised or needs a migration "
                                   "(open the store writable first)");
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(r->m_db, "SELECT 1 FROM sqlite_master WHERE name = 'events_fts'", -1, &st, nullptr);
    r->m_fts = st && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    const std::string sql = std::string("SELECT ") + kRowColumns +
                            " FROM events e LEFT JOIN frames f ON f.id = e.frame WHERE e.id = ?";
    if (sqlite3_prepare_v3(r->m_db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &r->m_findById, nullptr) != SQLITE_OK)
        return sqlError(r->m_db, "prepare");
    return r;
}

void IndexReader::interrupt() {
    if (m_db) sqlite3_interrupt(m_db);
}

IndexReader::~IndexReader() {
    if (m_findById) sqlite3_finalize(m_findById);
    if (m_db) sqlite3_close_v2(m_db);
}

Expected<std::vector<EventRow>> IndexReader::query(const std::vector<protocol::Filter>& filters,
                                                   std::optional<Cursor> after, size_t limit, Order order) {
    return queryImpl(filters, nullptr, after, limit, order);
}

Expected<std::vector<EventRow>> IndexReader::querySeenBy(const std::vector<protocol::Filter>& filters,
                                                         const std::string& source, std::optional<Cursor> after,
                                                         size_t limit, Order order) {
    return queryImpl(filters, &source, after, limit, order);
}

Expected<uint64_t> IndexReader::count(const std::vector<protocol::Filter>& filters) {
    return countImpl(filters, nullptr);
}

Expected<uint64_t> IndexReader::countSeenBy(const std::vector<protocol::Filter>& filters, const std::string& source) {
    return countImpl(filters, &source);
}

namespace {
// Sightings join: probes the (event, source) primary key per candidate row, so the ordering index
// still drives the scan.
constexpr const char* kSeenBy =
    " AND EXISTS (SELECT 1 FROM sightings g WHERE g.event = e.rowid AND g.source = "
    "(SELECT id FROM sources WHERE name = ?))";
}  // namespace

Expected<std::vector<EventRow>> IndexReader::queryImpl(const std::vector<protocol::Filter>& filters,
                                                       const std::string* source, std::optional<Cursor> after,
                                                       size_t limit, Order order) {
    std::vector<Bind> binds;
    auto where = whereFor(filters, m_fts, binds);
    if (!where) return where.error();
    std::string sql = std::string("SELECT ") + kRowColumns + " FROM events e LEFT JOIN frames f ON f.id = e.frame WHERE (" +
                      *where + ")";
    if (source) {
        sql += kSeenBy;
        binds.push_back({Bind::Text, 0, *source});
    }
    const bool newest = order == Order::NewestFirst;
    if (after) {
        // Written as a range on created_at plus a tie-break so the (created_at, id) index bounds the scan.
        sql += newest ? " AND e.created_at <= ? AND (e.created_at < ? OR e.id > ?)"
                      : " AND e.created_at >= ? AND (e.created_at > ? OR e.id > ?)";
        binds.push_back({Bind::Int, after->created_at, {}});
        binds.push_back({Bind::Int, after->created_at, {}});
        binds.push_back({Bind::Blob, 0, std::string(reinterpret_cast<const char*>(after->id.data()), 32)});
    }
    sql += newest ? " ORDER BY e.created_at DESC, e.id ASC" : " ORDER BY e.created_at ASC, e.id ASC";
    sql += " LIMIT " + std::to_string(limit);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
        return sqlError(m_db, "query");
    bindAll(st, binds);
    std::vector<EventRow> rows;
    rows.reserve(std::min<size_t>(limit, 4096));
    int rc = SQLITE_DONE;
    while (rows.size() < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) rows.push_back(readRow(st));
    if (rows.size() < limit && rc != SQLITE_DONE) {
        Error e = sqlError(m_db, "query");
        sqlite3_finalize(st);
        return e;
    }
    sqlite3_finalize(st);
    return rows;
}

Expected<uint64_t> IndexReader::countImpl(const std::vector<protocol::Filter>& filters, const std::string* source) {
    std::vector<Bind> binds;
    auto where = whereFor(filters, m_fts, binds);
    if (!where) return where.error();
    std::string sql = "SELECT count(*) FROM events e WHERE (" + *where + ")";
    if (source) {
        sql += kSeenBy;
        binds.push_back({Bind::Text, 0, *source});
    }
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
        return sqlError(m_db, "count");
    bindAll(st, binds);
    const int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        Error e = sqlError(m_db, "count");
        sqlite3_finalize(st);
        return e;
    }
    const uint64_t n = uint64_t(sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    return n;
}

Expected<IndexStats> IndexReader::stats() {
    IndexStats s;
    s.fts = m_fts;
    auto scalar = [&](const char* sql) -> int64_t {
        sqlite3_stmt* st = nullptr;
        int64_t v = 0;
        if (sqlite3_prepare_v2(m_db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
    };
    s.events = uint64_t(scalar("SELECT value FROM meta WHERE key = 'event_count'"));
    s.frames = uint64_t(scalar("SELECT count(*) FROM frames"));
    s.segments = uint32_t(scalar("SELECT count(DISTINCT segment) FROM frames"));
    s.sealed_segments = uint64_t(scalar("SELECT count(*) FROM segments"));
    s.watermark.segment = uint32_t(scalar("SELECT value FROM meta WHERE key = 'watermark_segment'"));
    s.watermark.offset = uint64_t(scalar("SELECT value FROM meta WHERE key = 'watermark_offset'"));
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db, "SELECT kind, count FROM kind_counts ORDER BY kind", -1, &st, nullptr) != SQLITE_OK)
        return sqlError(m_db, "stats");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        s.kinds.emplace_back(uint16_t(sqlite3_column_int(st, 0)), uint64_t(sqlite3_column_int64(st, 1)));
    if (rc != SQLITE_DONE) {
        Error e = sqlError(m_db, "stats");
        sqlite3_finalize(st);
        return e;
    }
    sqlite3_finalize(st);
    s.index_bytes = fileSize(m_path) + fileSize(m_path.string() + "-wal") + fileSize(m_path.string() + "-shm");
    return s;
}

Expected<std::vector<SightingRow>> IndexReader::sightings(int64_t rowid) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db,
                           "SELECT s.name, g.seen_at FROM sightings g JOIN sources s ON s.id = g.source "
                           "WHERE g.event = ? ORDER BY g.seen_at",
                           -1, &st, nullptr) != SQLITE_OK)
        return sqlError(m_db, "sightings");
    sqlite3_bind_int64(st, 1, rowid);
    std::vector<SightingRow> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        out.push_back({reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), sqlite3_column_int64(st, 1)});
    if (rc != SQLITE_DONE) {
        Error e = sqlError(m_db, "sightings");
        sqlite3_finalize(st);
        return e;
    }
    sqlite3_finalize(st);
    return out;
}

Expected<void> IndexReader::forEachEvent(const std::function<bool(const EventRow&)>& fn) {
    const std::string sql = std::string("SELECT ") + kRowColumns +
                            " FROM events e LEFT JOIN frames f ON f.id = e.frame ORDER BY e.frame, e.line";
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
        return sqlError(m_db, "events");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!fn(readRow(st))) {
            rc = SQLITE_DONE;
            break;
        }
    if (rc != SQLITE_DONE) {
        Error e = sqlError(m_db, "events");
        sqlite3_finalize(st);
        return e;
    }
    sqlite3_finalize(st);
    return {};
}

Expected<void> IndexReader::forEachFrame(const std::function<bool(const FrameRow&)>& fn) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db,
                           "SELECT id, segment, offset, length, events, raw_bytes, checksum FROM frames "
                           "ORDER BY segment, offset",
                           -1, &st, nullptr) != SQLITE_OK)
        return sqlError(m_db, "frames");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        FrameRow r;
        r.id = sqlite3_column_int64(st, 0);
        r.frame.ref.segment = uint32_t(sqlite3_column_int64(st, 1));
        r.frame.ref.offset = uint64_t(sqlite3_column_int64(st, 2));
        r.frame.ref.length = uint32_t(sqlite3_column_int64(st, 3));
        r.frame.events = uint32_t(sqlite3_column_int64(st, 4));
        r.frame.raw_bytes = uint64_t(sqlite3_column_int64(st, 5));
        r.frame.checksum = uint64_t(sqlite3_column_int64(st, 6));
        if (!fn(r)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        Error e = sqlError(m_db, "frames");
        sqlite3_finalize(st);
        return e;
    }
    sqlite3_finalize(st);
    return {};
}

Expected<std::optional<EventRow>> IndexReader::findById(const protocol::Bytes32& id) {
    sqlite3_reset(m_findById);
    sqlite3_bind_blob(m_findById, 1, id.data(), 32, SQLITE_STATIC);
    const int rc = sqlite3_step(m_findById);
    std::optional<EventRow> out;
    if (rc == SQLITE_ROW) out = readRow(m_findById);
    else if (rc != SQLITE_DONE) {
        Error e = sqlError(m_db, "find");
        sqlite3_reset(m_findById);
        return e;
    }
    sqlite3_reset(m_findById);
    return out;
}

}  // namespace archivist::index
