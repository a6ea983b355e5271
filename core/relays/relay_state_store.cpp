#include "core/relays/relay_state_store.h"

#include <sqlite3.h>

#include <iterator>

namespace archivist::relays {

namespace {

// Never edit a released step; append new ones.
constexpr const char* kMigrations[] = {
    R"SQL(
CREATE TABLE relays(
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'candidate',
  pinned INTEGER NOT NULL DEFAULT 0,
  blocked INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  last_connected INTEGER,
  live_cursor INTEGER,
  backfill_checkpoint TEXT NOT NULL DEFAULT '',
  backfill_done INTEGER NOT NULL DEFAULT 0,
  nip11 TEXT,
  nip11_at INTEGER);
CREATE TABLE backfill_gaps(
  id INTEGER PRIMARY KEY,
  relay INTEGER NOT NULL,
  since INTEGER NOT NULL,
  until INTEGER NOT NULL,
  kinds TEXT NOT NULL,
  reason TEXT NOT NULL,
  recorded_at INTEGER NOT NULL);
CREATE UNIQUE INDEX backfill_gaps_key ON backfill_gaps(relay, since, until, kinds, reason);
)SQL",
};
constexpr int kVersion = int(std::size(kMigrations));

class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) : m_db(db) { m_ok = sqlite3_prepare_v2(db, sql, -1, &m_st, nullptr) == SQLITE_OK; }
    ~Stmt() { sqlite3_finalize(m_st); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    bool ok() const { return m_ok; }
    Stmt& bind(int i, const std::string& s) {
        sqlite3_bind_text(m_st, i, s.data(), int(s.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, int64_t v) {
        sqlite3_bind_int64(m_st, i, v);
        return *this;
    }
    Stmt& bindOpt(int i, std::optional<int64_t> v) {
        if (v) sqlite3_bind_int64(m_st, i, *v);
        else sqlite3_bind_null(m_st, i);
        return *this;
    }
    int step() { return sqlite3_step(m_st); }
    sqlite3_stmt* get() { return m_st; }
    Error error(const std::string& what) const { return makeError("sqlite", what + ": " + sqlite3_errmsg(m_db)); }

private:
    sqlite3* m_db;
    sqlite3_stmt* m_st = nullptr;
    bool m_ok = false;
};

std::string text(sqlite3_stmt* st, int col) {
    const auto* p = sqlite3_column_text(st, col);
    return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(st, col))) : std::string();
}

std::optional<int64_t> optInt(sqlite3_stmt* st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(st, col);
}

constexpr const char* kRecordColumns =
    "id, url, source, status, pinned, blocked, consecutive_failures, last_error, first_seen, last_seen, "
    "last_connected, live_cursor, backfill_checkpoint, backfill_done";

RelayRecord readRecord(sqlite3_stmt* st) {
    RelayRecord r;
    r.id = sqlite3_column_int64(st, 0);
    r.url = text(st, 1);
    r.source = text(st, 2);
    r.status = text(st, 3);
    r.pinned = sqlite3_column_int(st, 4) != 0;
    r.blocked = sqlite3_column_int(st, 5) != 0;
    r.consecutive_failures = sqlite3_column_int(st, 6);
    r.last_error = text(st, 7);
    r.first_seen_ms = sqlite3_column_int64(st, 8);
    r.last_seen_ms = sqlite3_column_int64(st, 9);
    r.last_connected_ms = optInt(st, 10);
    r.live_cursor = optInt(st, 11);
    r.backfill_checkpoint = text(st, 12);
    r.backfill_done = sqlite3_column_int(st, 13) != 0;
    return r;
}

}  // namespace

RelayStateStore::~RelayStateStore() {
    if (m_db) sqlite3_close_v2(m_db);
}

Expected<void> RelayStateStore::exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string m = msg ? msg : "unknown error";
        sqlite3_free(msg);
        return makeError("sqlite", m);
    }
    return {};
}

Expected<std::unique_ptr<RelayStateStore>> RelayStateStore::open(const std::filesystem::path& file) {
    std::unique_ptr<RelayStateStore> s(new RelayStateStore());
    if (sqlite3_open_v2(file.c_str(), &s->m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK)
        return makeError("sqlite", "cannot open " + file.string() + ": " + sqlite3_errmsg(s->m_db));
    sqlite3_busy_timeout(s->m_db, 5000);
    if (auto r = s->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"); !r)
        return makeError("sqlite", file.string() + ": " + r.error().message);
    int version = 0;
    {
        Stmt st(s->m_db, "PRAGMA user_version");
        if (!st.ok() || st.step() != SQLITE_ROW) return st.error("read user_version");
        version = sqlite3_column_int(st.get(), 0);
    }
    if (version > kVersion)
        return makeError("schema", file.string() + " was written by a newer Archivist (relay schema version " +
                                       std::to_string(version) + ")");
    while (version < kVersion) {
        if (auto r = s->exec("BEGIN IMMEDIATE"); !r) return r.error();
        auto r = s->exec(kMigrations[version]);
        if (r) r = s->exec(("PRAGMA user_version = " + std::to_string(version + 1)).c_str());
        if (!r) {
            (void)s->exec("ROLLBACK");
            return makeError("schema", "relay state migration to version " + std::to_string(version + 1) + ": " +
                                           r.error().message);
        }
        if (auto c = s->exec("COMMIT"); !c) return c.error();
        ++version;
    }
    return s;
}

Expected<RelayRecord> RelayStateStore::upsert(const std::string& url, const std::string& source, int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    Stmt ins(m_db,
             "INSERT INTO relays(url, source, first_seen, last_seen) VALUES(?1, ?2, ?3, ?3) "
             "ON CONFLICT(url) DO UPDATE SET last_seen = excluded.last_seen");
    if (!ins.ok()) return ins.error("prepare upsert");
    ins.bind(1, url).bind(2, source).bind(3, now_ms);
    if (ins.step() != SQLITE_DONE) return ins.error("upsert relay");
    Stmt sel(m_db, (std::string("SELECT ") + kRecordColumns + " FROM relays WHERE url = ?1").c_str());
    if (!sel.ok()) return sel.error("prepare find");
    sel.bind(1, url);
    if (sel.step() != SQLITE_ROW) return sel.error("read relay");
    return readRecord(sel.get());
}

Expected<std::optional<RelayRecord>> RelayStateStore::find(const std::string& url) {
    std::lock_guard lock(m_mutex);
    Stmt sel(m_db, (std::string("SELECT ") + kRecordColumns + " FROM relays WHERE url = ?1").c_str());
    if (!sel.ok()) return sel.error("prepare find");
    sel.bind(1, url);
    const int rc = sel.step();
    if (rc == SQLITE_DONE) return std::optional<RelayRecord>();
    if (rc != SQLITE_ROW) return sel.error("find relay");
    return std::optional<RelayRecord>(readRecord(sel.get()));
}

Expected<std::vector<RelayRecord>> RelayStateStore::list(size_t limit, bool include_blocked) {
    std::lock_guard lock(m_mutex);
    std::string sql = std::string("SELECT ") + kRecordColumns + " FROM relays" +
                      (include_blocked ? "" : " WHERE blocked = 0") +
                      " ORDER BY pinned DESC, source IN ('user','cli','config') DESC, last_connected IS NULL, "
                      "consecutive_failures, id LIMIT ?1";
    Stmt sel(m_db, sql.c_str());
    if (!sel.ok()) return sel.error("prepare list");
    sel.bind(1, int64_t(limit));
    std::vector<RelayRecord> out;
    int rc;
    while ((rc = sel.step()) == SQLITE_ROW) out.push_back(readRecord(sel.get()));
    if (rc != SQLITE_DONE) return sel.error("list relays");
    return out;
}

Expected<uint64_t> RelayStateStore::count() {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db, "SELECT count(*) FROM relays");
    if (!st.ok() || st.step() != SQLITE_ROW) return st.error("count relays");
    return uint64_t(sqlite3_column_int64(st.get(), 0));
}

namespace {
Expected<void> runUpdate(Stmt& st, const char* what) {
    if (!st.ok()) return st.error(std::string("prepare ") + what);
    if (st.step() != SQLITE_DONE) return st.error(what);
    return {};
}
}  // namespace

Expected<void> RelayStateStore::setPinned(const std::string& url, bool pinned) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db, "UPDATE relays SET pinned = ?2 WHERE url = ?1");
    st.bind(1, url).bind(2, int64_t(pinned));
    return runUpdate(st, "pin relay");
}

Expected<void> RelayStateStore::setBlocked(const std::string& url, bool blocked) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db, "UPDATE relays SET blocked = ?2, status = CASE WHEN ?2 THEN 'blocked' ELSE 'candidate' END WHERE url = ?1");
    st.bind(1, url).bind(2, int64_t(blocked));
    return runUpdate(st, "block relay");
}

Expected<void> RelayStateStore::saveStatus(const std::string& url, const std::string& status, int consecutive_failures,
                                           const std::string& last_error, std::optional<int64_t> last_connected_ms) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db,
            "UPDATE relays SET status = ?2, consecutive_failures = ?3, last_error = ?4, "
            "last_connected = coalesce(?5, last_connected) WHERE url = ?1");
    st.bind(1, url).bind(2, status).bind(3, int64_t(consecutive_failures)).bind(4, last_error).bindOpt(5, last_connected_ms);
    return runUpdate(st, "save relay status");
}

Expected<void> RelayStateStore::saveLiveCursor(const std::string& url, int64_t cursor) {
    std::lock_guard lock(m_mutex);
    // Never moves backwards: a late, older checkpoint must not undo a newer one.
    Stmt st(m_db, "UPDATE relays SET live_cursor = max(coalesce(live_cursor, ?2), ?2) WHERE url = ?1");
    st.bind(1, url).bind(2, cursor);
    return runUpdate(st, "save live cursor");
}

Expected<void> RelayStateStore::saveBackfill(const std::string& url, const std::string& checkpoint, bool done) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db, "UPDATE relays SET backfill_checkpoint = ?2, backfill_done = ?3 WHERE url = ?1");
    st.bind(1, url).bind(2, checkpoint).bind(3, int64_t(done));
    return runUpdate(st, "save backfill checkpoint");
}

Expected<void> RelayStateStore::saveRelayInfo(const std::string& url, const std::string& document, int64_t fetched_ms) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db, "UPDATE relays SET nip11 = ?2, nip11_at = ?3 WHERE url = ?1");
    st.bind(1, url).bind(2, document).bind(3, fetched_ms);
    return runUpdate(st, "save relay information");
}

Expected<std::string> RelayStateStore::relayInfo(const std::string& url) {
    std::lock_guard lock(m_mutex);
    Stmt sel(m_db, "SELECT nip11 FROM relays WHERE url = ?1");
    if (!sel.ok()) return sel.error("prepare relay information");
    sel.bind(1, url);
    const int rc = sel.step();
    if (rc == SQLITE_DONE) return std::string();
    if (rc != SQLITE_ROW) return sel.error("read relay information");
    return text(sel.get(), 0);
}

Expected<void> RelayStateStore::addGap(const GapRecord& gap) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db,
            "INSERT OR IGNORE INTO backfill_gaps(relay, since, until, kinds, reason, recorded_at) "
            "SELECT id, ?2, ?3, ?4, ?5, ?6 FROM relays WHERE url = ?1");
    st.bind(1, gap.url).bind(2, gap.since).bind(3, gap.until).bind(4, gap.kinds).bind(5, gap.reason).bind(6, gap.recorded_ms);
    return runUpdate(st, "record backfill gap");
}

Expected<std::vector<GapRecord>> RelayStateStore::gaps(const std::string& url, size_t limit) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db,
            "SELECT r.url, g.since, g.until, g.kinds, g.reason, g.recorded_at FROM backfill_gaps g "
            "JOIN relays r ON r.id = g.relay WHERE (?1 = '' OR r.url = ?1) ORDER BY g.id DESC LIMIT ?2");
    if (!st.ok()) return st.error("prepare gaps");
    st.bind(1, url).bind(2, int64_t(limit));
    std::vector<GapRecord> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
        GapRecord g;
        g.url = text(st.get(), 0);
        g.since = sqlite3_column_int64(st.get(), 1);
        g.until = sqlite3_column_int64(st.get(), 2);
        g.kinds = text(st.get(), 3);
        g.reason = text(st.get(), 4);
        g.recorded_ms = sqlite3_column_int64(st.get(), 5);
        out.push_back(std::move(g));
    }
    if (rc != SQLITE_DONE) return st.error("read gaps");
    return out;
}

Expected<uint64_t> RelayStateStore::gapCount() {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db, "SELECT count(*) FROM backfill_gaps");
    if (!st.ok() || st.step() != SQLITE_ROW) return st.error("count gaps");
    return uint64_t(sqlite3_column_int64(st.get(), 0));
}

}  // namespace archivist::relays
