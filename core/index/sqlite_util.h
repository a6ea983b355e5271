#pragma once
// Small RAII wrappers over SQLite's C API for the index (decision 0012: the index talks to SQLite
// directly). Errors map SQLite's codes to the index's error codes:
//   "index_corrupt"  SQLITE_CORRUPT / SQLITE_NOTADB (a damaged file: Store::open moves the index
//                    aside and rebuilds it from the archive);
//   "locked"         SQLITE_BUSY / SQLITE_LOCKED beyond the busy timeout;
//   "interrupted"    sqlite3_interrupt() stopped the statement;
//   "disk_full"      SQLITE_FULL;
//   "no_descriptors" Db::open could not open the file: the process (EMFILE) or the system
//                    (ENFILE) is out of file descriptors;
//   "sqlite"         anything else.
// Thread: a Db and its statements belong to one thread at a time.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/util/expected.h"

namespace archivist::index {

const char* errorCodeFor(int sqlite_code);
Error sqliteError(sqlite3* db, const std::string& what);
// `path` as a SQLite URI filename (percent-encoded where it must be), with `?immutable=1` for a
// file nothing writes any more. Connections of Db::open accept URIs, in ATTACH too.
std::string fileUri(const std::filesystem::path& path, bool immutable);

class Stmt {
public:
    Stmt() = default;
    explicit Stmt(sqlite3_stmt* s) : m_s(s) {}
    ~Stmt() { sqlite3_finalize(m_s); }
    Stmt(Stmt&& o) noexcept : m_s(std::exchange(o.m_s, nullptr)) {}
    Stmt& operator=(Stmt&& o) noexcept {
        if (this != &o) {
            sqlite3_finalize(m_s);
            m_s = std::exchange(o.m_s, nullptr);
        }
        return *this;
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    sqlite3_stmt* get() const { return m_s; }
    explicit operator bool() const { return m_s != nullptr; }
    void reset() const { sqlite3_reset(m_s); }
    Stmt& bind(int i, int64_t v) {
        sqlite3_bind_int64(m_s, i, v);
        return *this;
    }
    Stmt& bindBlob(int i, const void* p, int n) {  // not copied: must outlive the step
        sqlite3_bind_blob(m_s, i, p, n, SQLITE_STATIC);
        return *this;
    }
    Stmt& bindText(int i, std::string_view t) {  // not copied
        sqlite3_bind_text(m_s, i, t.data(), int(t.size()), SQLITE_STATIC);
        return *this;
    }
    int step() const { return sqlite3_step(m_s); }
    int64_t i64(int c) const { return sqlite3_column_int64(m_s, c); }
    std::string_view text(int c) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_s, c));
        return p ? std::string_view(p, size_t(sqlite3_column_bytes(m_s, c))) : std::string_view();
    }
    std::string_view blob(int c) const {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(m_s, c));
        return p ? std::string_view(p, size_t(sqlite3_column_bytes(m_s, c))) : std::string_view();
    }

private:
    sqlite3_stmt* m_s = nullptr;
};

// Resets a statement when the scope ends (so it never holds a read transaction open).
class StmtReset {
public:
    explicit StmtReset(const Stmt& s) : m_s(s) {}
    ~StmtReset() { m_s.reset(); }
    StmtReset(const StmtReset&) = delete;
    StmtReset& operator=(const StmtReset&) = delete;

private:
    const Stmt& m_s;
};

class Db {
public:
    enum class Mode { ReadOnly, ReadWrite, Create };
    Db() = default;
    ~Db() { close(); }
    Db(Db&& o) noexcept : m_db(std::exchange(o.m_db, nullptr)), m_path(std::move(o.m_path)) {}
    Db& operator=(Db&& o) noexcept {
        if (this != &o) {
            close();
            m_db = std::exchange(o.m_db, nullptr);
            m_path = std::move(o.m_path);
        }
        return *this;
    }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    // `immutable`: a read-only file nothing will change while it is open (parts): no locking.
    static Expected<Db> open(const std::filesystem::path& path, Mode mode, bool immutable = false);
    void close();
    sqlite3* get() const { return m_db; }
    explicit operator bool() const { return m_db != nullptr; }
    const std::filesystem::path& path() const { return m_path; }

    Expected<void> exec(std::string_view sql);
    Expected<Stmt> prepare(std::string_view sql, bool persistent = false);
    // The single integer a query returns (nullopt: no row). Errors as above.
    Expected<std::optional<int64_t>> scalar(std::string_view sql);
    Error error(const std::string& what) const { return sqliteError(m_db, what); }
    // PRAGMA quick_check limited to `max_errors` reported problems; "index_corrupt" if it finds any.
    Expected<void> quickCheck(int max_errors = 1);

private:
    sqlite3* m_db = nullptr;
    std::filesystem::path m_path;
};

// BEGIN IMMEDIATE … COMMIT; rolls back in the destructor unless committed.
class Txn {
public:
    static Expected<Txn> begin(Db& db, bool immediate = true);
    Txn(Txn&& o) noexcept : m_db(std::exchange(o.m_db, nullptr)) {}
    Txn& operator=(Txn&&) = delete;
    Txn(const Txn&) = delete;
    ~Txn();
    Expected<void> commit();

private:
    explicit Txn(Db* db) : m_db(db) {}
    Db* m_db = nullptr;
};

// fsync of a file or a directory ("io" on failure).
Expected<void> syncPath(const std::filesystem::path& path, bool directory = false);

// For clean-up and best-effort statements whose failure changes nothing the caller can act on (a
// rollback after an error, a checkpoint, a read transaction's end): the failure is logged as a
// warning naming `what`, never dropped unseen.
void warnIfFailed(const Expected<void>& result, const char* what);

}  // namespace archivist::index
