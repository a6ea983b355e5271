#include "core/index/sqlite_util.h"

#include <QLoggingCategory>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/observe/log.h"
#include "core/observe/sqlite_heap.h"

namespace archivist::index {

namespace {
constexpr int kBusyTimeoutMs = 5000;
}

const char* errorCodeFor(int code) {
    switch (code & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return "index_corrupt";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "locked";
    case SQLITE_INTERRUPT: return "interrupted";
    case SQLITE_FULL: return "disk_full";
    default: return "sqlite";
    }
}

Error sqliteError(sqlite3* db, const std::string& what) {
    if (!db) return makeError("sqlite", what + ": out of memory");
    const int code = sqlite3_extended_errcode(db);
    return makeError(errorCodeFor(code), what + ": " + sqlite3_errmsg(db));
}

std::string fileUri(const std::filesystem::path& path, bool immutable) {
    std::string uri = "file:";
    for (unsigned char c : path.string()) {
        if (c == '%' || c == '?' || c == '#' || c < 0x20) {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            uri += buf;
        } else {
            uri.push_back(char(c));
        }
    }
    if (immutable) uri += "?immutable=1";
    return uri;
}

Expected<Db> Db::open(const std::filesystem::path& path, Mode mode, bool immutable) {
    Db db;
    db.m_path = path;
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    flags |= mode == Mode::ReadOnly ? SQLITE_OPEN_READONLY
             : mode == Mode::ReadWrite ? SQLITE_OPEN_READWRITE
                                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    // A URI so that `immutable` can be passed.
    const std::string uri = fileUri(path, immutable);
    observe::ensureSqliteHeapLimit();  // every connection's cache counts against the process's bound
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(uri.c_str(), &raw, flags, nullptr);
    db.m_db = raw;
    if (rc != SQLITE_OK) {
        const int sys = raw ? sqlite3_system_errno(raw) : 0;
        const char* code = (sys == EMFILE || sys == ENFILE) ? "no_descriptors" : errorCodeFor(rc);
        Error e = makeError(code, "cannot open " + path.string() + ": " +
                                      (raw ? sqlite3_errmsg(raw) : "out of memory") +
                                      (sys ? std::string(" (") + std::strerror(sys) + ")" : std::string()));
        return e;
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    return db;
}

void Db::close() {
    if (m_db) sqlite3_close_v2(m_db);
    m_db = nullptr;
}

Expected<void> Db::exec(std::string_view sql) {
    char* msg = nullptr;
    const std::string s(sql);
    const int rc = sqlite3_exec(m_db, s.c_str(), nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
        std::string m = msg ? msg : sqlite3_errstr(rc);
        sqlite3_free(msg);
        std::string what = s.size() > 60 ? s.substr(0, 60) + "…" : s;
        return makeError(errorCodeFor(sqlite3_extended_errcode(m_db)), what + ": " + m + " (" + m_path.string() + ")");
    }
    return {};
}

Expected<Stmt> Db::prepare(std::string_view sql, bool persistent) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(m_db, sql.data(), int(sql.size()), persistent ? SQLITE_PREPARE_PERSISTENT : 0, &st,
                           nullptr) != SQLITE_OK) {
        sqlite3_finalize(st);
        std::string what(sql.substr(0, 60));
        return error("prepare " + what + " (" + m_path.string() + ")");
    }
    return Stmt(st);
}

Expected<std::optional<int64_t>> Db::scalar(std::string_view sql) {
    auto st = prepare(sql);
    if (!st) return st.error();
    const int rc = st->step();
    if (rc == SQLITE_ROW) return std::optional<int64_t>(st->i64(0));
    if (rc == SQLITE_DONE) return std::optional<int64_t>();
    return error(std::string(sql.substr(0, 60)) + " (" + m_path.string() + ")");
}

Expected<void> Db::quickCheck(int max_errors) {
    auto st = prepare("PRAGMA quick_check(" + std::to_string(max_errors) + ")");
    if (!st) return st.error();
    std::string problems;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        const std::string_view line = st->text(0);
        if (line != "ok") problems += std::string(problems.empty() ? "" : "; ") + std::string(line);
    }
    if (rc != SQLITE_DONE) return error("quick_check of " + m_path.string());
    if (!problems.empty()) return makeError("index_corrupt", m_path.string() + " is damaged: " + problems);
    return {};
}

Expected<Txn> Txn::begin(Db& db, bool immediate) {
    if (auto r = db.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"); !r) return r.error();
    return Txn(&db);
}

Txn::~Txn() {
    if (m_db) warnIfFailed(m_db->exec("ROLLBACK"), "rollback of an unfinished transaction");
}

Expected<void> Txn::commit() {
    Db* db = std::exchange(m_db, nullptr);
    if (auto r = db->exec("COMMIT"); !r) {
        warnIfFailed(db->exec("ROLLBACK"), "rollback after a failed commit");  // the commit's error is reported
        return r;
    }
    return {};
}

Expected<void> syncPath(const std::filesystem::path& path, bool directory) {
    const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) return makeError("io", "cannot open " + path.string() + " to sync it: " + std::strerror(errno));
    const int rc = directory ? ::fsync(fd) : ::fdatasync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return makeError("io", "cannot sync " + path.string() + ": " + std::strerror(err));
    return {};
}

void warnIfFailed(const Expected<void>& result, const char* what) {
    if (!result)
        qCWarning(lcIndex).noquote() << what << "failed:" << QString::fromStdString(result.error().message);
}

}  // namespace archivist::index
