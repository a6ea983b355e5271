#include "core/engine/db_health.h"

#include <sqlite3.h>

#include <QLoggingCategory>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

#include "core/archive/file_system.h"
#include "core/observe/log.h"
#include "core/observe/sqlite_heap.h"
#include "core/relays/relay_state_store.h"

namespace archivist::engine {

namespace {

constexpr char kSqliteMagic[] = "SQLite format 3";  // 16 bytes with the NUL

uint32_t be(const unsigned char* p, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
    return v;
}

struct Deadline {
    std::chrono::steady_clock::time_point at;
};

int stopAtDeadline(void* arg) {
    return std::chrono::steady_clock::now() >= static_cast<Deadline*>(arg)->at ? 1 : 0;
}

std::string utcStamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

}  // namespace

Expected<DbCheck> checkSqliteDatabase(const std::filesystem::path& file, std::chrono::milliseconds budget) {
    DbCheck out;
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return out;
    const uint64_t size = std::filesystem::file_size(file, ec);
    if (ec) return makeError("io", "stat " + file.string() + ": " + ec.message());
    if (size == 0) return out;
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return archive::fileError(file, "open", errno);
    unsigned char header[100] = {};
    const ssize_t n = ::pread(fd, header, sizeof header, 0);
    const int err = errno;
    ::close(fd);
    if (n < 0) return archive::fileError(file, "read", err);
    if (n < ssize_t(sizeof header) || std::memcmp(header, kSqliteMagic, sizeof kSqliteMagic) != 0) {
        out.damaged = true;
        out.reason = "not a SQLite database (bad or incomplete header)";
        return out;
    }
    uint32_t pageSize = be(header + 16, 2);
    if (pageSize == 1) pageSize = 65536;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) != 0) {
        out.damaged = true;
        out.reason = "the header names an invalid page size " + std::to_string(pageSize);
        return out;
    }
    // The in-header page count is valid when the change counter matches "version valid for"; with
    // a non-empty WAL, pages may legitimately live there only.
    const uint64_t walBytes = std::filesystem::file_size(file.string() + "-wal", ec);
    const bool walPending = !ec && walBytes > 0;
    const uint32_t pages = be(header + 28, 4);
    if (!walPending && be(header + 24, 4) == be(header + 92, 4) && pages > 0 && size < uint64_t(pages) * pageSize) {
        out.damaged = true;
        out.reason = "truncated: " + std::to_string(size) + " bytes, the header declares " + std::to_string(pages) +
                     " pages of " + std::to_string(pageSize);
        return out;
    }

    observe::ensureSqliteHeapLimit();
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
        const int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_NOMEM;
        sqlite3_close_v2(db);
        if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return DbCheck{true, why};
        return makeError("io", "cannot open " + file.string() + ": " + why);
    }
    sqlite3_busy_timeout(db, 1000);
    Deadline deadline{std::chrono::steady_clock::now() + budget};
    sqlite3_progress_handler(db, 1000, stopAtDeadline, &deadline);
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &st, nullptr);
    std::string problems;
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            const std::string line = text ? text : "";
            if (line == "ok") continue;
            if (!problems.empty()) problems += "; ";
            problems += line;
        }
    }
    const std::string message = sqlite3_errmsg(db);
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
    const int primary = rc & 0xff;
    if (!problems.empty()) return DbCheck{true, "quick_check: " + problems};
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return DbCheck{true, message};
    // SQLITE_DONE (clean), SQLITE_INTERRUPT (budget spent), busy or I/O trouble: not proof of damage.
    return out;
}

bool isDamagedDatabaseError(const Error& e) {
    if (e.code == "index_corrupt") return true;
    const std::string& m = e.message;
    return m.find("malformed") != std::string::npos || m.find("not a database") != std::string::npos;
}

Expected<std::filesystem::path> setAsideFiles(const std::vector<std::filesystem::path>& files) {
    const std::string suffix = ".corrupt-" + utcStamp();
    std::filesystem::path first;
    std::filesystem::path dir;
    for (const auto& f : files) {
        std::error_code ec;
        if (!std::filesystem::exists(f, ec)) continue;
        std::filesystem::path target = f.string() + suffix;
        for (int i = 2; std::filesystem::exists(target, ec); ++i) target = f.string() + suffix + "-" + std::to_string(i);
        if (::rename(f.c_str(), target.c_str()) != 0)
            return archive::fileError(target, ("rename " + f.string() + " to").c_str(), errno);
        if (first.empty()) first = target;
        dir = f.parent_path();
    }
    if (!dir.empty())
        if (auto r = archive::defaultFileSystem()->syncDir(dir); !r) return r.error();
    return first;
}

Expected<std::unique_ptr<relays::RelayStateStore>> openRelayDirectory(const DataDirPaths& paths, std::string* note) {
    std::string why;
    auto check = checkSqliteDatabase(paths.relays, std::chrono::milliseconds(500));
    if (check && check->damaged) why = check->reason;
    if (why.empty()) {
        auto opened = relays::RelayStateStore::open(paths.relays);
        if (opened) return std::move(*opened);
        const Error e = toError(opened.error());
        if (!isDamagedDatabaseError(e)) return e;
        why = e.message;
    }
    auto moved = setAsideFiles(paths.relayFiles());
    if (!moved) return moved.error();
    const std::string text = "the relay directory " + paths.relays.string() + " is damaged (" + why +
                             "); it was moved to " + moved->string() +
                             " and a fresh one started (relay discovery fills it again)";
    qCWarning(lcEngine).noquote() << QString::fromStdString(text);
    if (note) *note = text;
    auto fresh = relays::RelayStateStore::open(paths.relays);
    if (!fresh) return toError(fresh.error());
    return std::move(*fresh);
}

}  // namespace archivist::engine
