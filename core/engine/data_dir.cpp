#include "core/engine/data_dir.h"

#include <QStandardPaths>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <unistd.h>

namespace archivist::engine {

DataDirPaths::DataDirPaths(std::filesystem::path dir)
    : root(std::move(dir)),
      archive(root / "archive"),
      sightings(root / "sightings"),
      index(root / "index"),
      legacy_index(root / "index.sqlite"),
      legacy_rebuild(root / "index.rebuild.sqlite"),
      lock(root / "LOCK"),
      relays(root / "relays.sqlite"),
      config(root / "config.json") {}

std::vector<std::filesystem::path> sqliteFileSet(const std::filesystem::path& db) {
    std::vector<std::filesystem::path> out{db};
    for (const char* suffix : {"-wal", "-shm", "-journal"}) out.emplace_back(db.string() + suffix);
    return out;
}

std::vector<std::filesystem::path> DataDirPaths::relayFiles() const { return sqliteFileSet(relays); }

std::filesystem::path defaultDataDir() {
    const QString base = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation);
    if (base.isEmpty()) return std::filesystem::path(".archivist");
    return std::filesystem::path(base.toStdString()) / "archivist";
}

Expected<DataDirLock> DataDirLock::acquire(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return makeError("io", "cannot create data directory " + dir.string() + ": " + ec.message());
    const auto lockPath = DataDirPaths(dir).lock;
    const int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return makeError("io", "cannot open lock file " + lockPath.string() + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char buf[32] = {};
        const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        ::close(fd);
        if (err == EWOULDBLOCK) {
            std::string holder = n > 0 ? std::string(buf, size_t(n)) : std::string("unknown");
            while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
            return makeError("locked", "data directory " + dir.string() +
                                           " is in use by another archivist process (pid " + holder +
                                           "); stop it or choose another --data-dir");
        }
        return makeError("io", "cannot lock " + lockPath.string() + ": " + std::strerror(err));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
        // The lock itself is held; the pid is only informational.
    }
    return DataDirLock(fd);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = other.m_fd;
        other.m_fd = -1;
    }
    return *this;
}

DataDirLock::~DataDirLock() {
    if (m_fd >= 0) ::close(m_fd);  // closing the descriptor releases the flock
}

}  // namespace archivist::engine
