#pragma once
// A small file-system seam (after LevelDB's Env) so that tests can inject faults into the archive's
// writes. Only the operations the archive writer and recovery need; reads use plain POSIX.
//
// Errors: code "disk_full" for ENOSPC/EDQUOT (the disk or the quota is full: the caller pauses and
// retries when space returns), "io" for everything else; the message names the file and carries
// the errno text.
// Thread: a FileSystem may be used from any thread; a WritableFile by one thread at a time.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "core/util/expected.h"

namespace archivist::archive {

class WritableFile {
public:
    virtual ~WritableFile();
    // Appends all of `data` at the end of the file. On error some prefix may have been written;
    // size() then includes it, so truncate(size_before) removes the partial write.
    virtual Expected<void> append(std::string_view data) = 0;
    virtual Expected<void> sync() = 0;  // fdatasync
    // Cuts the file to `size` bytes; later appends continue there.
    virtual Expected<void> truncate(uint64_t size) = 0;
    // Bytes in the file as far as this handle knows (size at open + appended - truncated).
    virtual uint64_t size() const = 0;
    // Closes the descriptor (no sync). Idempotent. The destructor closes too, ignoring errors.
    virtual Expected<void> close() = 0;
};

class FileSystem {
public:
    virtual ~FileSystem();
    // Opens `path` for appending, creating it (mode 0644) if missing; positioned at the end.
    virtual Expected<std::unique_ptr<WritableFile>> openAppend(const std::filesystem::path& path) = 0;
    // fsyncs a directory so that created/renamed entries are durable.
    virtual Expected<void> syncDir(const std::filesystem::path& dir) = 0;
    // Cuts an existing file (not open through this interface) to `size` bytes and fdatasyncs it.
    virtual Expected<void> truncateFile(const std::filesystem::path& path, uint64_t size) = 0;
    // rename(2): atomically replaces `to` (same directory). Durable only after syncDir().
    virtual Expected<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
    // Bytes available to this (unprivileged) process on the file system holding `path` (statvfs
    // f_bavail × f_frsize). For the low-disk threshold.
    virtual Expected<uint64_t> availableBytes(const std::filesystem::path& path) = 0;
};

// The error for a failed system call `what` on `path` with errno `err`: "disk_full" for
// ENOSPC/EDQUOT, "io" otherwise.
Error fileError(const std::filesystem::path& path, const char* what, int err);

// The real POSIX file system: open(O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC), write loop handling
// EINTR and short writes, fdatasync, ftruncate. Lives for the whole program; never delete it.
FileSystem* defaultFileSystem();

}  // namespace archivist::archive
