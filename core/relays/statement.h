#pragma once
// The relay database's one statement helper: a prepared statement with chained binds, a
// savepoint that rolls back unless committed, and the errors both produce. Used by every table
// family of relays.sqlite (directory, sync state, observations, NIP-11) and by the schema.
// Thread: whichever thread owns the connection (RelayStateStore's contract).
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/util/expected.h"

namespace archivist::relays {

// What went wrong in the relay database. Callers branch on it (a document the store refuses is
// the relay's problem; an SQLite failure is ours and becomes an incident).
enum class StateErrorCode : uint8_t {
    Sqlite,    // "sqlite": the database failed (I/O, full disk, corruption, locked)
    Schema,    // "schema": the file was written by a newer version, or a migration failed
    Json,      // "json": a document that is not the JSON object it must be
    TooLarge,  // "too_large": a document above the stored bound
};
const char* errorCodeName(StateErrorCode code);
using StateError = CodedError<StateErrorCode>;
template <typename T>
using StateResult = Expected<T, StateError>;

inline StateError stateError(StateErrorCode code, std::string message) { return makeCodedError(code, std::move(message)); }

inline constexpr int64_t kHourMs = 3'600'000;
inline constexpr int64_t kDayMs = 24 * kHourMs;
// ok / all as a share (uptime); -1 when there is no outcome at all.
inline double shareOf(int64_t ok, int64_t all) { return all > 0 ? double(ok) / double(all) : -1.0; }

namespace sql {

class Stmt {
public:
    Stmt(sqlite3* db, const char* sql);
    Stmt(sqlite3* db, const std::string& sql) : Stmt(db, sql.c_str()) {}
    ~Stmt();
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    bool ok() const { return m_ok; }
    Stmt& bind(int i, const std::string& s);
    Stmt& bind(int i, int64_t v);
    Stmt& bind(int i, double v);
    Stmt& bindBlob(int i, const void* p, size_t n);
    Stmt& bindNull(int i);
    Stmt& bindOpt(int i, std::optional<int64_t> v);
    void reset();  // also clears the bindings
    int step();
    sqlite3_stmt* get() { return m_st; }
    StateError error(const std::string& what) const;

    // Column readers of the current row.
    std::string text(int col);
    int64_t int64(int col) { return sqlite3_column_int64(m_st, col); }
    std::optional<int64_t> optInt(int col);
    std::vector<uint8_t> blob(int col);
    bool isNull(int col) { return sqlite3_column_type(m_st, col) == SQLITE_NULL; }

private:
    sqlite3* m_db;
    sqlite3_stmt* m_st = nullptr;
    bool m_ok = false;
};

// Runs a statement that returns no rows (checks the prepare too).
StateResult<void> run(Stmt& st, const char* what);
// Runs SQL text (several statements allowed, no parameters).
StateResult<void> exec(sqlite3* db, const char* sql);
// SELECT text, integer pairs.
StateResult<std::vector<std::pair<std::string, uint64_t>>> readPairs(sqlite3* db, const char* sql, const char* what);

// Rolls back unless committed. Nests inside an outer transaction (savepoints nest).
class Savepoint {
public:
    explicit Savepoint(sqlite3* db);
    ~Savepoint();
    Savepoint(const Savepoint&) = delete;
    Savepoint& operator=(const Savepoint&) = delete;
    StateResult<void> begun() const;
    StateResult<void> commit();

private:
    sqlite3* m_db;
    bool m_ok = false;
    bool m_done = false;
};

}  // namespace sql
}  // namespace archivist::relays
