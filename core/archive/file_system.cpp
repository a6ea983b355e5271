#include "core/archive/file_system.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <cstdio>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace archivist::archive {

WritableFile::~WritableFile() = default;
FileSystem::~FileSystem() = default;

Error fileError(const std::filesystem::path& path, const char* what, int err) {
    const bool full = err == ENOSPC || err == EDQUOT;
    return makeError(full ? "disk_full" : "io", std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

namespace {

Error ioError(const std::filesystem::path& path, const char* what, int err) { return fileError(path, what, err); }

class PosixWritableFile final : public WritableFile {
public:
    PosixWritableFile(int fd, std::filesystem::path path, uint64_t size)
        : m_fd(fd), m_path(std::move(path)), m_size(size) {}
    ~PosixWritableFile() override {
        if (m_fd >= 0) ::close(m_fd);
    }

    Expected<void> append(std::string_view data) override {
        if (m_fd < 0) return ioError(m_path, "append to closed file", EBADF);
        const char* p = data.data();
        size_t left = data.size();
        while (left > 0) {
            const ssize_t n = ::write(m_fd, p, left);
            if (n < 0) {
                if (errno == EINTR) continue;
                return ioError(m_path, "write", errno);
            }
            if (n == 0) return ioError(m_path, "write", EIO);
            p += n;
            left -= size_t(n);
            m_size += uint64_t(n);
        }
        return {};
    }

    Expected<void> sync() override {
        if (m_fd < 0) return ioError(m_path, "sync closed file", EBADF);
        while (::fdatasync(m_fd) != 0) {
            if (errno != EINTR) return ioError(m_path, "fdatasync", errno);
        }
        return {};
    }

    Expected<void> truncate(uint64_t size) override {
        if (m_fd < 0) return ioError(m_path, "truncate closed file", EBADF);
        while (::ftruncate(m_fd, off_t(size)) != 0) {
            if (errno != EINTR) return ioError(m_path, "ftruncate", errno);
        }
        m_size = size;
        return {};
    }

    uint64_t size() const override { return m_size; }

    Expected<void> close() override {
        if (m_fd < 0) return {};
        const int fd = m_fd;
        m_fd = -1;
        if (::close(fd) != 0 && errno != EINTR) return ioError(m_path, "close", errno);
        return {};
    }

private:
    int m_fd;
    std::filesystem::path m_path;
    uint64_t m_size;
};

class PosixFileSystem final : public FileSystem {
public:
    Expected<std::unique_ptr<WritableFile>> openAppend(const std::filesystem::path& path) override {
        int fd;
        do {
            fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) return ioError(path, "open", errno);
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const int err = errno;
            ::close(fd);
            return ioError(path, "fstat", err);
        }
        return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path, uint64_t(st.st_size)));
    }

    Expected<void> syncDir(const std::filesystem::path& dir) override {
        const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return ioError(dir, "open directory", errno);
        int rc;
        do {
            rc = ::fsync(fd);
        } while (rc != 0 && errno == EINTR);
        const int err = errno;
        ::close(fd);
        if (rc != 0) return ioError(dir, "fsync directory", err);
        return {};
    }

    Expected<void> truncateFile(const std::filesystem::path& path, uint64_t size) override {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return ioError(path, "open", errno);
        int rc;
        do {
            rc = ::ftruncate(fd, off_t(size));
        } while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            const int err = errno;
            ::close(fd);
            return ioError(path, "ftruncate", err);
        }
        do {
            rc = ::fdatasync(fd);
        } while (rc != 0 && errno == EINTR);
        const int err = errno;
        ::close(fd);
        if (rc != 0) return ioError(path, "fdatasync", err);
        return {};
    }

    Expected<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
        if (::rename(from.c_str(), to.c_str()) != 0) {
            const int err = errno;
            return ioError(to, ("rename " + from.string() + " to").c_str(), err);
        }
        return {};
    }

    Expected<uint64_t> availableBytes(const std::filesystem::path& path) override {
        struct statvfs st {};
        int rc;
        do {
            rc = ::statvfs(path.c_str(), &st);
        } while (rc != 0 && errno == EINTR);
        if (rc != 0) return ioError(path, "statvfs", errno);
        return uint64_t(st.f_bavail) * uint64_t(st.f_frsize);
    }
};

}  // namespace

FileSystem* defaultFileSystem() {
    static PosixFileSystem fs;
    return &fs;
}

}  // namespace archivist::archive
