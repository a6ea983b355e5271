#include "core/relays/statement.h"

namespace archivist::relays {

const char* errorCodeName(StateErrorCode code) {
    switch (code) {
    case StateErrorCode::Sqlite: return "sqlite";
    case StateErrorCode::Schema: return "schema";
    case StateErrorCode::Json: return "json";
    case StateErrorCode::TooLarge: return "too_large";
    }
    return "sqlite";
}

namespace sql {

Stmt::Stmt(sqlite3* db, const char* text) : m_db(db) {
    m_ok = sqlite3_prepare_v2(db, text, -1, &m_st, nullptr) == SQLITE_OK;
}

Stmt::~Stmt() { sqlite3_finalize(m_st); }

Stmt& Stmt::bind(int i, const std::string& s) {
    sqlite3_bind_text(m_st, i, s.data(), int(s.size()), SQLITE_TRANSIENT);
    return *this;
}

Stmt& Stmt::bind(int i, int64_t v) {
    sqlite3_bind_int64(m_st, i, v);
    return *this;
}

Stmt& Stmt::bind(int i, double v) {
    sqlite3_bind_double(m_st, i, v);
    return *this;
}

Stmt& Stmt::bindBlob(int i, const void* p, size_t n) {
    sqlite3_bind_blob(m_st, i, p, int(n), SQLITE_TRANSIENT);
    return *this;
}

Stmt& Stmt::bindNull(int i) {
    sqlite3_bind_null(m_st, i);
    return *this;
}

Stmt& Stmt::bindOpt(int i, std::optional<int64_t> v) {
    return v ? bind(i, *v) : bindNull(i);
}

void Stmt::reset() {
    sqlite3_reset(m_st);
    sqlite3_clear_bindings(m_st);
}

int Stmt::step() { return sqlite3_step(m_st); }

StateError Stmt::error(const std::string& what) const {
    return stateError(StateErrorCode::Sqlite, what + ": " + sqlite3_errmsg(m_db));
}

std::string Stmt::text(int col) {
    const auto* p = sqlite3_column_text(m_st, col);
    return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(m_st, col))) : std::string();
}

std::optional<int64_t> Stmt::optInt(int col) {
    if (isNull(col)) return std::nullopt;
    return sqlite3_column_int64(m_st, col);
}

std::vector<uint8_t> Stmt::blob(int col) {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(m_st, col));
    return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(m_st, col)) : std::vector<uint8_t>();
}

StateResult<void> run(Stmt& st, const char* what) {
    if (!st.ok()) return st.error(std::string("prepare ") + what);
    if (st.step() != SQLITE_DONE) return st.error(what);
    return {};
}

StateResult<void> exec(sqlite3* db, const char* text) {
    char* msg = nullptr;
    if (sqlite3_exec(db, text, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string m = msg ? msg : sqlite3_errmsg(db);
        sqlite3_free(msg);
        return stateError(StateErrorCode::Sqlite, m);
    }
    return {};
}

StateResult<std::vector<std::pair<std::string, uint64_t>>> readPairs(sqlite3* db, const char* text, const char* what) {
    Stmt st(db, text);
    if (!st.ok()) return st.error(std::string("prepare ") + what);
    std::vector<std::pair<std::string, uint64_t>> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.emplace_back(st.text(0), uint64_t(st.int64(1)));
    if (rc != SQLITE_DONE) return st.error(what);
    return out;
}

Savepoint::Savepoint(sqlite3* db) : m_db(db) {
    m_ok = sqlite3_exec(db, "SAVEPOINT rs", nullptr, nullptr, nullptr) == SQLITE_OK;
}

Savepoint::~Savepoint() {
    if (m_ok && !m_done) {
        sqlite3_exec(m_db, "ROLLBACK TO rs", nullptr, nullptr, nullptr);
        sqlite3_exec(m_db, "RELEASE rs", nullptr, nullptr, nullptr);
    }
}

StateResult<void> Savepoint::begun() const {
    if (!m_ok) return stateError(StateErrorCode::Sqlite, std::string("begin: ") + sqlite3_errmsg(m_db));
    return {};
}

StateResult<void> Savepoint::commit() {
    if (sqlite3_exec(m_db, "RELEASE rs", nullptr, nullptr, nullptr) != SQLITE_OK)
        return stateError(StateErrorCode::Sqlite, std::string("commit: ") + sqlite3_errmsg(m_db));
    m_done = true;
    return {};
}

}  // namespace sql
}  // namespace archivist::relays
