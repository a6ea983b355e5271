#pragma once
// FaultInjectingFileSystem: wraps another FileSystem (the real one by default) and fails on
// command, so tests and the engine's fault tests can simulate a full disk or a failing device.
//
// Knobs (take effect on the next call; safe to flip from any thread):
//  - failAppendAfterBytes(n): the next n bytes appended (over all files) succeed; the append that
//    crosses the budget writes only the part that fits (a short write) and returns a "disk_full"
//    error "No space left on device"; every later append writes nothing and fails the same way,
//    until clearFaults() or failAppendAfterBytes(-1). n = 0 fails the next append outright.
//  - failSync(true): every sync() returns "io" EIO without syncing.
//  - failTruncate(true): WritableFile::truncate and truncateFile return "io" EIO.
//  - failSyncDir(true): syncDir returns "io" EIO.
//  - failAt(op, n, kind, persistent): the n-th call of `op` from now (n ≥ 1) fails with `kind`
//    (NoSpace → "disk_full" ENOSPC, IoError → "io" EIO, ShortWrite → an append that writes half
//    its bytes, then fails with ENOSPC; for other ops like NoSpace); with `persistent` every later
//    call of `op` fails the same way too (a disk that stays full), until clearFaults(). One
//    schedule per op; a new failAt for the same op replaces it. The fault-injection sweep
//    (tests/tools/fault_sweep.cpp) walks n over every call site of one import.
//  - setAvailableBytes(n): availableBytes() answers n (< 0: the real value), to test the
//    low-disk threshold without filling a disk.
// Counters count calls that reached this layer (failed or not) and injected failures.
// Thread: any; each WritableFile by one thread at a time. The wrapped FileSystem must outlive this.
#include <array>
#include <atomic>
#include <cstdint>

#include "core/archive/file_system.h"

namespace archivist::archive {

struct FaultCounters {
    uint64_t appends = 0;
    uint64_t appended_bytes = 0;   // bytes that really reached the wrapped file
    uint64_t syncs = 0;
    uint64_t truncates = 0;        // WritableFile::truncate + truncateFile
    uint64_t dir_syncs = 0;
    uint64_t renames = 0;
    uint64_t injected_append_failures = 0;
    uint64_t injected_sync_failures = 0;
    uint64_t injected_truncate_failures = 0;
    uint64_t injected_dir_sync_failures = 0;
    uint64_t injected_rename_failures = 0;
};

enum class FaultOp : uint8_t { Append, Sync, Truncate, SyncDir, Rename, Count };
enum class FaultKind : uint8_t { NoSpace, IoError, ShortWrite };
const char* faultOpName(FaultOp op);      // "append", "sync", "truncate", "sync_dir", "rename"
const char* faultKindName(FaultKind k);   // "enospc", "eio", "short_write"

class FaultInjectingFileSystem final : public FileSystem {
public:
    explicit FaultInjectingFileSystem(FileSystem* base = defaultFileSystem());

    void failAppendAfterBytes(int64_t bytes);  // < 0: off
    void failSync(bool on);
    void failTruncate(bool on);
    void failSyncDir(bool on);
    void failAt(FaultOp op, uint64_t nth, FaultKind kind, bool persistent);
    void setAvailableBytes(int64_t bytes);  // < 0: real
    void clearFaults();
    FaultCounters counters() const;

    Expected<std::unique_ptr<WritableFile>> openAppend(const std::filesystem::path& path) override;
    Expected<void> syncDir(const std::filesystem::path& dir) override;
    Expected<void> truncateFile(const std::filesystem::path& path, uint64_t size) override;
    Expected<void> rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
    Expected<uint64_t> availableBytes(const std::filesystem::path& path) override;

private:
    friend class FaultWritableFile;
    // Returns how many of `wanted` bytes may be written; sets `fail` when the append must fail.
    uint64_t admitAppend(uint64_t wanted, bool& fail);
    // Counts a call of `op`; returns the scheduled fault for it, if this call must fail.
    bool scheduledFault(FaultOp op, FaultKind& kind);
    static Error injected(FaultKind kind, const char* what, const std::filesystem::path& path);

    struct Schedule {
        std::atomic<uint64_t> calls{0};     // calls of this op so far
        std::atomic<uint64_t> failAt{0};    // call number that fails (0: none)
        std::atomic<bool> persistent{false};
        std::atomic<uint8_t> kind{0};
    };

    FileSystem* m_base;
    std::atomic<int64_t> m_appendBudget{-1};
    std::atomic<bool> m_failSync{false};
    std::atomic<bool> m_failTruncate{false};
    std::atomic<bool> m_failSyncDir{false};
    std::atomic<int64_t> m_available{-1};
    std::array<Schedule, size_t(FaultOp::Count)> m_schedules;
    std::atomic<uint64_t> m_appendedBytes{0};
    std::atomic<uint64_t> m_injAppend{0}, m_injSync{0}, m_injTruncate{0}, m_injDirSync{0}, m_injRename{0};
};

}  // namespace archivist::archive
