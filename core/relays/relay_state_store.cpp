#include "core/relays/relay_state_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <iterator>
#include <unordered_map>

#include "core/observe/log.h"
#include "core/protocol/json.h"
#include "core/protocol/sha256.h"
#include "core/util/clock.h"

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
    // v2 (issue 5): directory scores and indexes, content-addressed NIP-11 documents with history,
    // probe/connect outcomes, hourly statistics, discovery counts. The legacy relays.nip11 column
    // is moved into the new tables by migrateLegacyNip11() in the same transaction.
    R"SQL(
ALTER TABLE relays ADD COLUMN score REAL;
ALTER TABLE relays ADD COLUMN score_json TEXT;
ALTER TABLE relays ADD COLUMN scored_ms INTEGER;
ALTER TABLE relays ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN last_attempt_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN blocked_until_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN last_probe_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN nip66_reported_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relays ADD COLUMN nip66_rtt_open_ms INTEGER NOT NULL DEFAULT -1;
ALTER TABLE relays ADD COLUMN nip66_requires_payment INTEGER NOT NULL DEFAULT -1;
ALTER TABLE relays ADD COLUMN nip66_requires_auth INTEGER NOT NULL DEFAULT -1;
CREATE INDEX relays_score ON relays(score);
CREATE INDEX relays_last_seen ON relays(last_seen);
CREATE INDEX relays_status ON relays(status);
CREATE TABLE nip11_documents(
  sha256 BLOB PRIMARY KEY,
  canonical_json TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE relay_nip11_history(
  relay INTEGER NOT NULL,
  fetched_ms INTEGER NOT NULL,
  sha256 BLOB NOT NULL,
  PRIMARY KEY(relay, fetched_ms)) WITHOUT ROWID;
CREATE INDEX relay_nip11_history_sha ON relay_nip11_history(sha256);
CREATE TABLE relay_outcomes(
  id INTEGER PRIMARY KEY,
  relay INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  ok INTEGER NOT NULL,
  open_rtt_ms INTEGER NOT NULL DEFAULT -1,
  read_rtt_ms INTEGER NOT NULL DEFAULT -1,
  error TEXT NOT NULL DEFAULT '');
CREATE INDEX relay_outcomes_relay ON relay_outcomes(relay, at_ms);
CREATE INDEX relay_outcomes_at ON relay_outcomes(at_ms);
CREATE TABLE relay_hourly(
  relay INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  received INTEGER NOT NULL DEFAULT 0,
  novel INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  rejected_json TEXT NOT NULL DEFAULT '{}',
  connected_s INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(relay, hour)) WITHOUT ROWID;
CREATE INDEX relay_hourly_hour ON relay_hourly(hour);
CREATE TABLE discovery_counts(
  source TEXT PRIMARY KEY,
  urls INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
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
    Stmt& bind(int i, double v) {
        sqlite3_bind_double(m_st, i, v);
        return *this;
    }
    Stmt& bindBlob(int i, const void* p, size_t n) {
        sqlite3_bind_blob(m_st, i, p, int(n), SQLITE_TRANSIENT);
        return *this;
    }
    void reset() {
        sqlite3_reset(m_st);
        sqlite3_clear_bindings(m_st);
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
    "last_connected, live_cursor, backfill_checkpoint, backfill_done, tries, last_attempt_ms, blocked_until_ms, "
    "last_probe_ms, nip66_reported_at, nip66_rtt_open_ms, nip66_requires_payment, nip66_requires_auth";

constexpr int kRecordColumnCount = 22;  // columns of kRecordColumns (readRecord reads 0 … 21)

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
    r.tries = sqlite3_column_int(st, 14);
    r.last_attempt_ms = sqlite3_column_int64(st, 15);
    r.blocked_until_ms = sqlite3_column_int64(st, 16);
    r.last_probe_ms = sqlite3_column_int64(st, 17);
    r.nip66_reported_at = sqlite3_column_int64(st, 18);
    r.nip66_rtt_open_ms = sqlite3_column_int64(st, 19);
    r.nip66_requires_payment = int8_t(sqlite3_column_int(st, 20));
    r.nip66_requires_auth = int8_t(sqlite3_column_int(st, 21));
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
        if (r && version + 1 == 2) r = s->migrateLegacyNip11();
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
    Stmt sel(m_db, "SELECT id FROM relays WHERE url = ?1");
    if (!sel.ok()) return sel.error("prepare relay information");
    sel.bind(1, url);
    const int rc = sel.step();
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW) return sel.error("find relay");
    return saveRelayInfoLocked(sqlite3_column_int64(sel.get(), 0), document, fetched_ms);
}

Expected<std::string> RelayStateStore::relayInfo(const std::string& url) {
    std::lock_guard lock(m_mutex);
    Stmt sel(m_db,
             "SELECT d.canonical_json FROM relays r JOIN relay_nip11_history h ON h.relay = r.id "
             "JOIN nip11_documents d ON d.sha256 = h.sha256 WHERE r.url = ?1 ORDER BY h.fetched_ms DESC LIMIT 1");
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

// ---------------------------------------------------------------------------------------------
// Directory (schema v2)

namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;

// Rolls back unless committed. Works inside an outer transaction (savepoints nest).
class Savepoint {
public:
    explicit Savepoint(sqlite3* db) : m_db(db) {
        m_ok = sqlite3_exec(db, "SAVEPOINT rs", nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    ~Savepoint() {
        if (m_ok && !m_done) {
            sqlite3_exec(m_db, "ROLLBACK TO rs", nullptr, nullptr, nullptr);
            sqlite3_exec(m_db, "RELEASE rs", nullptr, nullptr, nullptr);
        }
    }
    Savepoint(const Savepoint&) = delete;
    Savepoint& operator=(const Savepoint&) = delete;
    Expected<void> begun() const {
        if (!m_ok) return makeError("sqlite", std::string("begin: ") + sqlite3_errmsg(m_db));
        return {};
    }
    Expected<void> commit() {
        if (sqlite3_exec(m_db, "RELEASE rs", nullptr, nullptr, nullptr) != SQLITE_OK)
            return makeError("sqlite", std::string("commit: ") + sqlite3_errmsg(m_db));
        m_done = true;
        return {};
    }

private:
    sqlite3* m_db;
    bool m_ok = false;
    bool m_done = false;
};

void writeCanonical(const protocol::json::Value& v, std::string& out) {
    using protocol::json::Type;
    switch (v.type) {
    case Type::Null: out += "null"; return;
    case Type::Bool: out += v.boolean ? "true" : "false"; return;
    case Type::Number: out.append(v.raw); return;
    case Type::String: protocol::json::appendQuoted(out, v.str); return;
    case Type::Array:
        out.push_back('[');
        for (size_t i = 0; i < v.items.size(); ++i) {
            if (i) out.push_back(',');
            writeCanonical(v.items[i], out);
        }
        out.push_back(']');
        return;
    case Type::Object: {
        std::vector<size_t> order(v.members.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return v.members[a].first < v.members[b].first; });
        out.push_back('{');
        bool first = true;
        const std::string* prev = nullptr;
        for (size_t i : order) {
            const auto& [key, value] = v.members[i];
            if (prev && *prev == key) continue;  // duplicate key: the first in source order wins
            prev = &key;
            if (!first) out.push_back(',');
            first = false;
            protocol::json::appendQuoted(out, key);
            out.push_back(':');
            writeCanonical(value, out);
        }
        out.push_back('}');
        return;
    }
    }
}

std::string rejectedJson(const std::map<std::string, uint64_t>& m) {
    std::string out = "{";
    for (const auto& [k, n] : m) {
        if (out.size() > 1) out.push_back(',');
        protocol::json::appendQuoted(out, k);
        out += ":" + std::to_string(n);
    }
    out.push_back('}');
    return out;
}

void mergeRejectedJson(const std::string& json, std::map<std::string, uint64_t>& into) {
    protocol::json::Value v;
    if (!protocol::json::parse(json, v, nullptr, 4) || v.type != protocol::json::Type::Object) return;
    for (const auto& [k, n] : v.members) {
        uint64_t x = 0;
        if (n.type == protocol::json::Type::Number && protocol::json::parseUnsigned(n.raw, UINT64_MAX, x)) into[k] += x;
    }
}

double ratio(int64_t ok, int64_t all) { return all > 0 ? double(ok) / double(all) : -1.0; }

}  // namespace

Expected<std::string> RelayStateStore::canonicalJson(const std::string& json) {
    protocol::json::Value v;
    protocol::json::ParseError err;
    if (!protocol::json::parse(json, v, &err, 32)) {
        return makeError("json", "not JSON at byte " + std::to_string(err.offset) + ": " + err.message);
    }
    std::string out;
    out.reserve(json.size());
    writeCanonical(v, out);
    return out;
}

Nip11Summary RelayStateStore::summarizeNip11(const std::string& json) {
    Nip11Summary s;
    protocol::json::Value v;
    if (!protocol::json::parse(json, v, nullptr, 32) || v.type != protocol::json::Type::Object) return s;
    const auto str = [](const protocol::json::Value* x, size_t max) {
        if (!x || x->type != protocol::json::Type::String) return std::string();
        return x->str.substr(0, max);
    };
    s.name = str(v.find("name"), 100);
    s.software = str(v.find("software"), 120);
    const std::string version = str(v.find("version"), 40);
    if (!version.empty()) s.software += (s.software.empty() ? "" : " ") + version;
    std::vector<std::string> parts;
    if (const auto* nips = v.find("supported_nips"); nips && nips->type == protocol::json::Type::Array) {
        std::string list;
        size_t n = 0;
        for (const auto& item : nips->items) {
            if (item.type != protocol::json::Type::Number) continue;
            if (++n > 40) {
                list += ", …";
                break;
            }
            if (!list.empty()) list += ", ";
            list.append(item.raw);
        }
        if (!list.empty()) parts.push_back("NIPs " + list);
    }
    if (const auto* lim = v.find("limitation"); lim && lim->type == protocol::json::Type::Object) {
        const auto flag = [&](const char* key) {
            const auto* f = lim->find(key);
            return f && f->type == protocol::json::Type::Bool && f->boolean;
        };
        if (flag("auth_required")) parts.push_back("auth");
        if (flag("payment_required")) parts.push_back("paid");
        if (flag("restricted_writes")) parts.push_back("restricted writes");
        if (const auto* ml = lim->find("max_limit"); ml && ml->type == protocol::json::Type::Number)
            parts.push_back("max_limit " + std::string(ml->raw));
    }
    for (const auto& p : parts) s.summary += (s.summary.empty() ? "" : " · ") + p;
    return s;
}

Expected<void> RelayStateStore::saveRelayInfoLocked(int64_t relay_id, const std::string& document, int64_t fetched_ms) {
    if (document.size() > kMaxNip11Bytes)
        return makeError("too_large", "NIP-11 document of " + std::to_string(document.size()) + " bytes (limit " +
                                          std::to_string(kMaxNip11Bytes) + ")");
    protocol::json::Value probe;
    if (!protocol::json::parse(document, probe, nullptr, 32) || probe.type != protocol::json::Type::Object)
        return makeError("json", "NIP-11 document is not a JSON object");
    auto canonical = canonicalJson(document);
    if (!canonical) return canonical.error();
    const protocol::Bytes32 sha = protocol::sha256(*canonical);

    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b;
    Stmt doc(m_db, "INSERT OR IGNORE INTO nip11_documents(sha256, canonical_json) VALUES(?1, ?2)");
    doc.bindBlob(1, sha.data(), sha.size()).bind(2, *canonical);
    if (auto r = runUpdate(doc, "store NIP-11 document"); !r) return r;

    std::vector<std::vector<uint8_t>> doomed;
    const auto blobOf = [](sqlite3_stmt* st, int col) {
        const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st, col));
        return std::vector<uint8_t>(p, p + sqlite3_column_bytes(st, col));
    };
    Stmt newest(m_db, "SELECT fetched_ms, sha256 FROM relay_nip11_history WHERE relay = ?1 ORDER BY fetched_ms DESC LIMIT 1");
    if (!newest.ok()) return newest.error("prepare NIP-11 history");
    newest.bind(1, relay_id);
    int rc = newest.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return newest.error("read NIP-11 history");
    if (rc == SQLITE_ROW && blobOf(newest.get(), 1) == std::vector<uint8_t>(sha.begin(), sha.end())) {
        // Same document again: the history records changes; move its confirmation time.
        Stmt up(m_db, "UPDATE relay_nip11_history SET fetched_ms = ?3 WHERE relay = ?1 AND fetched_ms = ?2 AND ?3 > ?2");
        up.bind(1, relay_id).bind(2, int64_t(sqlite3_column_int64(newest.get(), 0))).bind(3, fetched_ms);
        if (auto r = runUpdate(up, "update NIP-11 history"); !r) return r;
        return sp.commit();
    }
    {
        Stmt same(m_db, "SELECT sha256 FROM relay_nip11_history WHERE relay = ?1 AND fetched_ms = ?2");
        if (!same.ok()) return same.error("prepare NIP-11 history");
        same.bind(1, relay_id).bind(2, fetched_ms);
        while ((rc = same.step()) == SQLITE_ROW) doomed.push_back(blobOf(same.get(), 0));
        if (rc != SQLITE_DONE) return same.error("read NIP-11 history");
    }
    Stmt ins(m_db, "INSERT OR REPLACE INTO relay_nip11_history(relay, fetched_ms, sha256) VALUES(?1, ?2, ?3)");
    ins.bind(1, relay_id).bind(2, fetched_ms).bindBlob(3, sha.data(), sha.size());
    if (auto r = runUpdate(ins, "record NIP-11 history"); !r) return r;
    {
        Stmt old(m_db, "SELECT fetched_ms, sha256 FROM relay_nip11_history WHERE relay = ?1 ORDER BY fetched_ms DESC "
                       "LIMIT -1 OFFSET ?2");
        if (!old.ok()) return old.error("prepare NIP-11 history");
        old.bind(1, relay_id).bind(2, int64_t(kNip11HistoryPerRelay));
        std::vector<int64_t> times;
        while ((rc = old.step()) == SQLITE_ROW) {
            times.push_back(sqlite3_column_int64(old.get(), 0));
            doomed.push_back(blobOf(old.get(), 1));
        }
        if (rc != SQLITE_DONE) return old.error("read NIP-11 history");
        Stmt del(m_db, "DELETE FROM relay_nip11_history WHERE relay = ?1 AND fetched_ms = ?2");
        for (int64_t t : times) {
            del.reset();
            del.bind(1, relay_id).bind(2, t);
            if (auto r = runUpdate(del, "trim NIP-11 history"); !r) return r;
        }
    }
    Stmt gc(m_db, "DELETE FROM nip11_documents WHERE sha256 = ?1 AND NOT EXISTS "
                  "(SELECT 1 FROM relay_nip11_history WHERE sha256 = ?1)");
    for (const auto& d : doomed) {
        gc.reset();
        gc.bindBlob(1, d.data(), d.size());
        if (auto r = runUpdate(gc, "delete unused NIP-11 document"); !r) return r;
    }
    return sp.commit();
}

Expected<void> RelayStateStore::migrateLegacyNip11() {
    Stmt sel(m_db, "SELECT id, nip11, coalesce(nip11_at, 0) FROM relays WHERE nip11 IS NOT NULL");
    if (!sel.ok()) return sel.error("prepare legacy NIP-11");
    int rc;
    uint64_t skipped = 0;
    while ((rc = sel.step()) == SQLITE_ROW) {
        auto r = saveRelayInfoLocked(sqlite3_column_int64(sel.get(), 0), text(sel.get(), 1), sqlite3_column_int64(sel.get(), 2));
        if (!r) {
            if (r.error().code == "sqlite") return r;
            ++skipped;  // not a JSON object / too large: such a document was never usable
        }
    }
    if (rc != SQLITE_DONE) return sel.error("read legacy NIP-11");
    if (skipped) qCWarning(lcRelays) << "relay state migration: dropped" << skipped << "unusable NIP-11 documents";
    return exec("UPDATE relays SET nip11 = NULL, nip11_at = NULL WHERE nip11 IS NOT NULL");
}

Expected<std::vector<std::pair<int64_t, std::string>>> RelayStateStore::relayInfoHistory(const std::string& url,
                                                                                         size_t limit) {
    std::lock_guard lock(m_mutex);
    Stmt sel(m_db,
             "SELECT h.fetched_ms, d.canonical_json FROM relays r JOIN relay_nip11_history h ON h.relay = r.id "
             "JOIN nip11_documents d ON d.sha256 = h.sha256 WHERE r.url = ?1 ORDER BY h.fetched_ms DESC LIMIT ?2");
    if (!sel.ok()) return sel.error("prepare NIP-11 history");
    sel.bind(1, url).bind(2, int64_t(limit));
    std::vector<std::pair<int64_t, std::string>> out;
    int rc;
    while ((rc = sel.step()) == SQLITE_ROW) out.emplace_back(sqlite3_column_int64(sel.get(), 0), text(sel.get(), 1));
    if (rc != SQLITE_DONE) return sel.error("read NIP-11 history");
    return out;
}

Expected<uint64_t> RelayStateStore::nip11DocumentCount() {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db, "SELECT count(*) FROM nip11_documents");
    if (!st.ok() || st.step() != SQLITE_ROW) return st.error("count NIP-11 documents");
    return uint64_t(sqlite3_column_int64(st.get(), 0));
}

Expected<uint64_t> RelayStateStore::upsertDiscovered(const std::vector<DiscoveredUrl>& urls, int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    if (urls.empty()) return uint64_t(0);
    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b.error();
    Stmt ins(m_db, "INSERT OR IGNORE INTO relays(url, source, first_seen, last_seen) VALUES(?1, ?2, ?3, ?3)");
    Stmt seen(m_db, "UPDATE relays SET last_seen = max(last_seen, ?2) WHERE url = ?1");
    if (!ins.ok()) return ins.error("prepare discovered insert");
    if (!seen.ok()) return seen.error("prepare discovered update");
    // A NIP-66 report is kept when it is newer than the one stored (a prefilter: the engine's own
    // probes and connections are the truth).
    Stmt report(m_db, "UPDATE relays SET nip66_reported_at = ?2, nip66_rtt_open_ms = ?3, nip66_requires_payment = ?4, "
                      "nip66_requires_auth = ?5 WHERE url = ?1 AND nip66_reported_at <= ?2");
    if (!report.ok()) return report.error("prepare NIP-66 report");
    std::map<std::string, uint64_t> added;
    uint64_t total = 0;
    for (const auto& d : urls) {
        ins.reset();
        ins.bind(1, d.url).bind(2, d.source).bind(3, now_ms);
        if (ins.step() != SQLITE_DONE) return ins.error("insert discovered relay");
        const bool inserted = sqlite3_changes(m_db) > 0;
        if (d.source == "nip66" && d.reported_at > 0) {
            report.reset();
            report.bind(1, d.url).bind(2, d.reported_at).bind(3, d.rtt_open_ms).bind(4, int64_t(d.requires_payment));
            report.bind(5, int64_t(d.requires_auth));
            if (report.step() != SQLITE_DONE) return report.error("store NIP-66 report");
        }
        if (inserted) {
            ++added[d.source];
            ++total;
            continue;
        }
        seen.reset();
        seen.bind(1, d.url).bind(2, now_ms);
        if (seen.step() != SQLITE_DONE) return seen.error("update discovered relay");
    }
    Stmt count(m_db, "INSERT INTO discovery_counts(source, urls) VALUES(?1, ?2) "
                     "ON CONFLICT(source) DO UPDATE SET urls = urls + excluded.urls");
    for (const auto& [source, n] : added) {
        count.reset();
        count.bind(1, source).bind(2, int64_t(n));
        if (auto r = runUpdate(count, "count discovered relays"); !r) return r.error();
    }
    if (auto c = sp.commit(); !c) return c.error();
    return total;
}

Expected<void> RelayStateStore::recordOutcome(const std::string& url, int64_t at_ms, const std::string& kind, bool ok,
                                              int64_t open_rtt_ms, int64_t read_rtt_ms, const std::string& error) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db,
            "INSERT INTO relay_outcomes(relay, at_ms, kind, ok, open_rtt_ms, read_rtt_ms, error) "
            "SELECT id, ?2, ?3, ?4, ?5, ?6, ?7 FROM relays WHERE url = ?1");
    st.bind(1, url).bind(2, at_ms).bind(3, kind).bind(4, int64_t(ok)).bind(5, open_rtt_ms).bind(6, read_rtt_ms);
    st.bind(7, error.substr(0, 500));
    if (auto r = runUpdate(st, "record relay outcome"); !r) return r;
    Stmt rel(m_db, kind == "connect" ? "UPDATE relays SET tries = tries + 1, last_attempt_ms = max(last_attempt_ms, ?2) WHERE url = ?1"
                                     : "UPDATE relays SET last_probe_ms = max(last_probe_ms, ?2) WHERE url = ?1");
    rel.bind(1, url).bind(2, at_ms);
    if (auto r = runUpdate(rel, "count relay attempt"); !r) return r;
    if (++m_outcomesSincePrune >= kPruneEveryOutcomes) {
        m_outcomesSincePrune = 0;
        return pruneLocked(at_ms);
    }
    return {};
}

Expected<void> RelayStateStore::prune(int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    return pruneLocked(now_ms);
}

Expected<void> RelayStateStore::pruneLocked(int64_t now_ms) {
    const int64_t cutoff = now_ms - kRetentionMs;
    Stmt o(m_db, "DELETE FROM relay_outcomes WHERE at_ms < ?1");
    o.bind(1, cutoff);
    if (auto r = runUpdate(o, "prune outcomes"); !r) return r;
    Stmt h(m_db, "DELETE FROM relay_hourly WHERE hour < ?1");
    h.bind(1, cutoff / kHourMs);
    return runUpdate(h, "prune hourly statistics");
}

Expected<size_t> RelayStateStore::addHourly(const std::vector<HourlyRow>& rows) {
    std::lock_guard lock(m_mutex);
    if (rows.empty()) return size_t(0);
    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b.error();
    size_t stored = 0;
    Stmt id(m_db, "SELECT id FROM relays WHERE url = ?1");
    Stmt old(m_db, "SELECT rejected_json FROM relay_hourly WHERE relay = ?1 AND hour = ?2");
    Stmt up(m_db,
            "INSERT INTO relay_hourly(relay, hour, received, novel, duplicates, rejected, rejected_json, connected_s, "
            "failures, bytes) VALUES(?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, '{}'), ?8, ?9, ?10) "
            "ON CONFLICT(relay, hour) DO UPDATE SET received = received + excluded.received, "
            "novel = novel + excluded.novel, duplicates = duplicates + excluded.duplicates, "
            "rejected = rejected + excluded.rejected, "
            "rejected_json = CASE WHEN ?7 IS NULL THEN rejected_json ELSE excluded.rejected_json END, "
            "connected_s = connected_s + excluded.connected_s, failures = failures + excluded.failures, "
            "bytes = bytes + excluded.bytes");
    if (!id.ok()) return id.error("prepare hourly");
    if (!old.ok()) return old.error("prepare hourly");
    if (!up.ok()) return up.error("prepare hourly");
    int64_t max_hour = 0;
    for (const auto& row : rows) {
        id.reset();
        id.bind(1, row.url);
        int rc = id.step();
        if (rc == SQLITE_DONE) continue;  // not in the directory: nothing to attach the row to
        if (rc != SQLITE_ROW) return id.error("find relay");
        const int64_t relay = sqlite3_column_int64(id.get(), 0);
        std::map<std::string, uint64_t> rejected = row.rejected_by_reason;
        if (!rejected.empty()) {
            old.reset();
            old.bind(1, relay).bind(2, row.hour);
            rc = old.step();
            if (rc == SQLITE_ROW) mergeRejectedJson(text(old.get(), 0), rejected);
            else if (rc != SQLITE_DONE) return old.error("read hourly");
        }
        up.reset();
        up.bind(1, relay).bind(2, row.hour).bind(3, int64_t(row.received)).bind(4, int64_t(row.novel));
        up.bind(5, int64_t(row.duplicates)).bind(6, int64_t(row.rejected));
        if (rejected.empty()) {
            // Keep what is stored: "{}" for a new row, the stored map on conflict.
            sqlite3_bind_null(up.get(), 7);
        } else {
            up.bind(7, rejectedJson(rejected));
        }
        up.bind(8, row.connected_s).bind(9, int64_t(row.failures)).bind(10, int64_t(row.bytes));
        if (up.step() != SQLITE_DONE) return up.error("add hourly statistics");
        ++stored;
        max_hour = std::max(max_hour, row.hour);
    }
    if (max_hour > 0) {
        Stmt h(m_db, "DELETE FROM relay_hourly WHERE hour < ?1");
        h.bind(1, max_hour - kRetentionMs / kHourMs);
        if (auto r = runUpdate(h, "prune hourly statistics"); !r) return r.error();
    }
    if (auto c = sp.commit(); !c) return c.error();
    return stored;
}

Expected<void> RelayStateStore::saveScores(const std::vector<ScoreUpdate>& scores, int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b;
    Stmt st(m_db, "UPDATE relays SET score = ?2, score_json = ?3, scored_ms = ?4 WHERE url = ?1");
    if (!st.ok()) return st.error("prepare scores");
    for (const auto& s : scores) {
        st.reset();
        st.bind(1, s.url).bind(2, s.score).bind(3, s.json).bind(4, now_ms);
        if (st.step() != SQLITE_DONE) return st.error("save score");
    }
    return sp.commit();
}

Expected<DirectoryPageResult> RelayStateStore::page(const DirectoryQuery& q) {
    std::lock_guard lock(m_mutex);
    std::string where = " WHERE 1";
    if (!q.text.empty()) where += " AND instr(url, ?1) > 0";
    if (!q.source.empty()) where += " AND source = ?2";
    if (!q.status.empty()) where += " AND status = ?3";
    if (!q.include_blocked) where += " AND blocked = 0";
    const auto bindWhere = [&](Stmt& st) {
        if (!q.text.empty()) st.bind(1, q.text);
        if (!q.source.empty()) st.bind(2, q.source);
        if (!q.status.empty()) st.bind(3, q.status);
    };
    const int64_t now_ms = q.now_ms ? q.now_ms : wallMs();
    Savepoint sp(m_db);  // one read snapshot for the count and the rows
    if (auto b = sp.begun(); !b) return b.error();
    DirectoryPageResult out;
    {
        Stmt c(m_db, ("SELECT count(*) FROM relays" + where).c_str());
        if (!c.ok()) return c.error("prepare directory count");
        bindWhere(c);
        if (c.step() != SQLITE_ROW) return c.error("count directory");
        out.total_matching = uint64_t(sqlite3_column_int64(c.get(), 0));
    }
    const char* order = q.order == DirectoryQuery::Order::Url        ? " ORDER BY url"
                        : q.order == DirectoryQuery::Order::LastSeen ? " ORDER BY last_seen DESC, id"
                                                                     : " ORDER BY score DESC, id";  // NULL sorts last
    const size_t limit = std::clamp<size_t>(q.limit, 1, kMaxPageRows);
    Stmt sel(m_db, (std::string("SELECT ") + kRecordColumns + ", score, coalesce(scored_ms, 0) FROM relays" + where +
                    order + " LIMIT ?4 OFFSET ?5")
                       .c_str());
    if (!sel.ok()) return sel.error("prepare directory page");
    bindWhere(sel);
    sel.bind(4, int64_t(limit)).bind(5, int64_t(std::min<size_t>(q.offset, size_t(INT64_MAX))));
    Stmt up(m_db, "SELECT coalesce(sum(ok AND at_ms >= ?2), 0), coalesce(sum(at_ms >= ?2), 0), coalesce(sum(ok), 0), "
                  "count(*) FROM relay_outcomes WHERE relay = ?1 AND at_ms >= ?3 AND at_ms <= ?4");
    Stmt probe(m_db, "SELECT at_ms, ok, open_rtt_ms, read_rtt_ms FROM relay_outcomes WHERE relay = ?1 AND kind = 'probe' "
                     "ORDER BY at_ms DESC LIMIT 1");
    Stmt info(m_db, "SELECT d.canonical_json FROM relay_nip11_history h JOIN nip11_documents d ON d.sha256 = h.sha256 "
                    "WHERE h.relay = ?1 ORDER BY h.fetched_ms DESC LIMIT 1");
    if (!up.ok() || !probe.ok() || !info.ok()) return up.error("prepare directory details");
    int rc;
    while ((rc = sel.step()) == SQLITE_ROW) {
        DirectoryRow row;
        row.record = readRecord(sel.get());
        if (sqlite3_column_type(sel.get(), kRecordColumnCount) != SQLITE_NULL)
            row.score = sqlite3_column_double(sel.get(), kRecordColumnCount);
        row.scored_ms = sqlite3_column_int64(sel.get(), kRecordColumnCount + 1);
        const int64_t rid = row.record.id;
        up.reset();
        up.bind(1, rid).bind(2, now_ms - kDayMs).bind(3, now_ms - 7 * kDayMs).bind(4, now_ms);
        if (up.step() != SQLITE_ROW) return up.error("read uptime");
        row.uptime_24h = ratio(sqlite3_column_int64(up.get(), 0), sqlite3_column_int64(up.get(), 1));
        row.uptime_7d = ratio(sqlite3_column_int64(up.get(), 2), sqlite3_column_int64(up.get(), 3));
        probe.reset();
        probe.bind(1, rid);
        int prc = probe.step();
        if (prc == SQLITE_ROW) {
            row.last_probe.at_ms = sqlite3_column_int64(probe.get(), 0);
            row.last_probe.ok = sqlite3_column_int(probe.get(), 1) != 0;
            row.last_probe.open_rtt_ms = sqlite3_column_int64(probe.get(), 2);
            row.last_probe.read_rtt_ms = sqlite3_column_int64(probe.get(), 3);
        } else if (prc != SQLITE_DONE) {
            return probe.error("read last probe");
        }
        info.reset();
        info.bind(1, rid);
        prc = info.step();
        if (prc == SQLITE_ROW) row.nip11 = summarizeNip11(text(info.get(), 0));
        else if (prc != SQLITE_DONE) return info.error("read NIP-11 document");
        out.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return sel.error("read directory page");
    if (auto c = sp.commit(); !c) return c.error();
    return out;
}

Expected<std::vector<RelayAggregate>> RelayStateStore::aggregates(const std::vector<std::string>& urls, int64_t now_ms,
                                                                  int window_hours, size_t limit) {
    std::lock_guard lock(m_mutex);
    const int64_t now_hour = now_ms / kHourMs;
    const int64_t from_hour = now_hour - std::max(window_hours, 1) + 1;
    const int64_t day_ago = now_ms - kDayMs;
    const int64_t week_ago = now_ms - 7 * kDayMs;
    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b.error();

    std::vector<RelayAggregate> out;
    std::unordered_map<int64_t, size_t> index;  // relay id → position in out
    const auto readTraffic = [](sqlite3_stmt* st, int c, RelayAggregate& a) {
        a.received = uint64_t(sqlite3_column_int64(st, c));
        a.novel = uint64_t(sqlite3_column_int64(st, c + 1));
        a.duplicates = uint64_t(sqlite3_column_int64(st, c + 2));
        a.rejected = uint64_t(sqlite3_column_int64(st, c + 3));
        a.connected_s = sqlite3_column_int64(st, c + 4);
        a.failures = uint64_t(sqlite3_column_int64(st, c + 5));
        a.bytes = uint64_t(sqlite3_column_int64(st, c + 6));
        a.hours_with_data = sqlite3_column_int64(st, c + 7);
    };
    constexpr const char* kSums = "coalesce(sum(received), 0), coalesce(sum(novel), 0), coalesce(sum(duplicates), 0), "
                                  "coalesce(sum(rejected), 0), coalesce(sum(connected_s), 0), coalesce(sum(failures), 0), "
                                  "coalesce(sum(bytes), 0), count(*)";
    int rc;
    if (urls.empty()) {
        // Every relay with data: one GROUP BY pass over each windowed table.
        Stmt h(m_db, (std::string("SELECT h.relay, r.url, ") + kSums +
                      " FROM relay_hourly h JOIN relays r ON r.id = h.relay WHERE h.hour >= ?1 AND h.hour <= ?3 "
                      "GROUP BY h.relay LIMIT ?2")
                         .c_str());
        if (!h.ok()) return h.error("prepare aggregates");
        h.bind(1, from_hour).bind(2, int64_t(limit)).bind(3, now_hour);
        while ((rc = h.step()) == SQLITE_ROW) {
            RelayAggregate a;
            a.url = text(h.get(), 1);
            readTraffic(h.get(), 2, a);
            index.emplace(sqlite3_column_int64(h.get(), 0), out.size());
            out.push_back(std::move(a));
        }
        if (rc != SQLITE_DONE) return h.error("read aggregates");
        Stmt o(m_db, "SELECT o.relay, r.url, coalesce(sum(o.ok AND o.at_ms >= ?2), 0), coalesce(sum(o.at_ms >= ?2), 0), "
                     "coalesce(sum(o.ok), 0), count(*) FROM relay_outcomes o JOIN relays r ON r.id = o.relay "
                     "WHERE o.at_ms >= ?1 AND o.at_ms <= ?3 GROUP BY o.relay");
        if (!o.ok()) return o.error("prepare uptime aggregates");
        o.bind(1, week_ago).bind(2, day_ago).bind(3, now_ms);
        while ((rc = o.step()) == SQLITE_ROW) {
            const int64_t rid = sqlite3_column_int64(o.get(), 0);
            auto it = index.find(rid);
            if (it == index.end()) {
                if (out.size() >= limit) continue;
                RelayAggregate a;
                a.url = text(o.get(), 1);
                it = index.emplace(rid, out.size()).first;
                out.push_back(std::move(a));
            }
            auto& a = out[it->second];
            a.uptime_24h = ratio(sqlite3_column_int64(o.get(), 2), sqlite3_column_int64(o.get(), 3));
            a.uptime_7d = ratio(sqlite3_column_int64(o.get(), 4), sqlite3_column_int64(o.get(), 5));
        }
        if (rc != SQLITE_DONE) return o.error("read uptime aggregates");
        // Lower median of successful open RTTs per relay, in one windowed pass.
        Stmt m(m_db, "SELECT relay, open_rtt_ms FROM (SELECT relay, open_rtt_ms, "
                     "row_number() OVER (PARTITION BY relay ORDER BY open_rtt_ms) AS rn, "
                     "count(*) OVER (PARTITION BY relay) AS n FROM relay_outcomes "
                     "WHERE at_ms >= ?1 AND at_ms <= ?2 AND ok AND open_rtt_ms >= 0) WHERE rn = (n + 1) / 2");
        if (!m.ok()) return m.error("prepare rtt aggregates");
        m.bind(1, week_ago).bind(2, now_ms);
        while ((rc = m.step()) == SQLITE_ROW) {
            auto it = index.find(sqlite3_column_int64(m.get(), 0));
            if (it != index.end()) out[it->second].median_open_rtt_ms = sqlite3_column_int64(m.get(), 1);
        }
        if (rc != SQLITE_DONE) return m.error("read rtt aggregates");
    } else {
        Stmt id(m_db, "SELECT id FROM relays WHERE url = ?1");
        Stmt h(m_db, (std::string("SELECT ") + kSums + " FROM relay_hourly WHERE relay = ?1 AND hour >= ?2 AND hour <= ?3").c_str());
        Stmt o(m_db, "SELECT at_ms, ok, open_rtt_ms FROM relay_outcomes WHERE relay = ?1 AND at_ms >= ?2 AND at_ms <= ?3 "
                     "ORDER BY at_ms DESC");
        if (!id.ok() || !h.ok() || !o.ok()) return id.error("prepare aggregates");
        std::vector<int64_t> rtts;
        for (const auto& url : urls) {
            if (out.size() >= limit) break;
            id.reset();
            id.bind(1, url);
            rc = id.step();
            if (rc == SQLITE_DONE) continue;
            if (rc != SQLITE_ROW) return id.error("find relay");
            const int64_t rid = sqlite3_column_int64(id.get(), 0);
            if (index.count(rid)) continue;
            RelayAggregate a;
            a.url = url;
            h.reset();
            h.bind(1, rid).bind(2, from_hour).bind(3, now_hour);
            if (h.step() != SQLITE_ROW) return h.error("read aggregates");
            readTraffic(h.get(), 0, a);
            o.reset();
            o.bind(1, rid).bind(2, week_ago).bind(3, now_ms);
            int64_t ok24 = 0, all24 = 0, ok7 = 0, all7 = 0;
            rtts.clear();
            while ((rc = o.step()) == SQLITE_ROW) {
                const bool ok = sqlite3_column_int(o.get(), 1) != 0;
                const int64_t at = sqlite3_column_int64(o.get(), 0);
                ++all7;
                ok7 += ok;
                if (at >= day_ago) {
                    ++all24;
                    ok24 += ok;
                }
                const int64_t rtt = sqlite3_column_int64(o.get(), 2);
                if (ok && rtt >= 0 && rtts.size() < kMaxRttSamples) rtts.push_back(rtt);
            }
            if (rc != SQLITE_DONE) return o.error("read outcomes");
            a.uptime_24h = ratio(ok24, all24);
            a.uptime_7d = ratio(ok7, all7);
            if (!rtts.empty()) {
                const size_t mid = (rtts.size() - 1) / 2;  // lower median, as in the GROUP BY path
                std::nth_element(rtts.begin(), rtts.begin() + ptrdiff_t(mid), rtts.end());
                a.median_open_rtt_ms = rtts[mid];
            }
            index.emplace(rid, out.size());
            out.push_back(std::move(a));
        }
    }
    if (auto c = sp.commit(); !c) return c.error();
    return out;
}

Expected<std::vector<RelayRecord>> RelayStateStore::bestCandidates(size_t limit, const std::set<std::string>& exclude,
                                                                 int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    const int64_t fetch = int64_t(std::min<size_t>(limit + exclude.size(), size_t(INT32_MAX)));
    const auto load = [&](const char* tail, std::vector<RelayRecord>& into) -> Expected<void> {
        Stmt st(m_db, (std::string("SELECT ") + kRecordColumns +
                       " FROM relays WHERE blocked = 0 AND status != 'connected' AND blocked_until_ms <= ?2 AND " + tail +
                       " LIMIT ?1")
                          .c_str());
        if (!st.ok()) return st.error("prepare candidates");
        st.bind(1, fetch).bind(2, now_ms);
        int rc;
        while ((rc = st.step()) == SQLITE_ROW) {
            RelayRecord r = readRecord(st.get());
            if (!exclude.count(r.url)) into.push_back(std::move(r));
        }
        if (rc != SQLITE_DONE) return st.error("read candidates");
        return {};
    };
    std::vector<RelayRecord> scored, untried, expired;
    if (auto r = load("score IS NOT NULL ORDER BY score DESC, id", scored); !r) return r.error();
    if (auto r = load("score IS NULL ORDER BY pinned DESC, source IN ('user','cli','config','seed') DESC, first_seen, id",
                      untried);
        !r)
        return r.error();
    // Relays whose failure block has expired: retried by exploration, oldest attempt first.
    if (auto r = load("blocked_until_ms > 0 ORDER BY last_attempt_ms, id", expired); !r) return r.error();
    std::vector<RelayRecord> out;
    std::set<std::string> taken;
    out.reserve(std::min(limit, scored.size() + untried.size() + expired.size()));
    auto take = [&](std::vector<RelayRecord>& from, size_t& i) {
        while (i < from.size() && taken.count(from[i].url)) ++i;
        if (i < from.size() && out.size() < limit) {
            taken.insert(from[i].url);
            out.push_back(std::move(from[i++]));
        }
    };
    size_t i = 0, j = 0, k = 0;
    while (out.size() < limit && (i < scored.size() || j < untried.size() || k < expired.size())) {
        take(scored, i);
        take(untried, j);
        take(expired, k);
    }
    return out;
}

Expected<void> RelayStateStore::setFailureBlock(const std::string& url, int64_t until_ms) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db, "UPDATE relays SET blocked_until_ms = ?2 WHERE url = ?1");
    st.bind(1, url).bind(2, until_ms);
    return runUpdate(st, "set failure block");
}

Expected<void> RelayStateStore::resetLiveStatuses() {
    std::lock_guard lock(m_mutex);
    return exec("UPDATE relays SET status = 'candidate' WHERE status IN ('connected', 'backing off', 'failing')");
}

Expected<std::vector<RelayRecord>> RelayStateStore::pinnedRelays(size_t limit) {
    std::lock_guard lock(m_mutex);
    Stmt st(m_db, (std::string("SELECT ") + kRecordColumns + " FROM relays WHERE pinned = 1 ORDER BY id LIMIT ?1").c_str());
    if (!st.ok()) return st.error("prepare pinned");
    st.bind(1, int64_t(limit));
    std::vector<RelayRecord> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back(readRecord(st.get()));
    if (rc != SQLITE_DONE) return st.error("read pinned");
    return out;
}

namespace {
Expected<std::vector<std::pair<std::string, uint64_t>>> readPairs(sqlite3* db, const char* sql, const char* what) {
    Stmt st(db, sql);
    if (!st.ok()) return st.error(std::string("prepare ") + what);
    std::vector<std::pair<std::string, uint64_t>> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.emplace_back(text(st.get(), 0), uint64_t(sqlite3_column_int64(st.get(), 1)));
    if (rc != SQLITE_DONE) return st.error(what);
    return out;
}
}  // namespace

Expected<std::vector<std::pair<std::string, uint64_t>>> RelayStateStore::discoveryCounts() {
    std::lock_guard lock(m_mutex);
    return readPairs(m_db, "SELECT source, urls FROM discovery_counts ORDER BY source LIMIT 64", "discovery counts");
}

Expected<std::vector<std::pair<std::string, uint64_t>>> RelayStateStore::statusCounts() {
    std::lock_guard lock(m_mutex);
    return readPairs(m_db, "SELECT status, count(*) FROM relays GROUP BY status ORDER BY status LIMIT 64", "status counts");
}

}  // namespace archivist::relays
