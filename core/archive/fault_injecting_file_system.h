#pragma once
// FaultInjectingFileSystem: wraps another FileSystem (the real one by default) and fails on
// command, so tests and the engine's fault tests can simulate a full disk or a failing device.
//
// Knobs (take effect on the next call; safe to flip from any thread):
//  - failAppendAfterBytes(n): the next n bytes appended (over all files) succeed; the append that
//    crosses the budget writes only the part that fits (a short write) and returns an "io" error
//    "No space left on device"; every later append writes nothing and fails the same way, until
//    clearFaults() or failAppendAfterBytes(-1). n = 0 fails the next append outright.
//  - failSync(true): every sync() returns "io" EIO without syncing.
//  - failTruncate(true): WritableFile::truncate and truncateFile return "io" EIO.
//  - failSyncDir(true): syncDir returns "io" EIO.
// Counters count calls that reached this layer (failed or not) and injected failures.
// Thread: any; each WritableFile by one thread at a time. The wrapped FileSystem must outlive this.
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
    uint64_t injected_append_failures = 0;
    uint64_t injected_sync_failures = 0;
    uint64_t injected_truncate_failures = 0;
    uint64_t injected_dir_sync_failures = 0;
};

class FaultInjectingFileSystem final : public FileSystem {
public:
    explicit FaultInjectingFileSystem(FileSystem* base = defaultFileSystem());

    void failAppendAfterBytes(int64_t bytes);  // < 0: off
    void failSync(bool on);
    void failTruncate(bool on);
    void failSyncDir(bool on);
    void clearFaults();
    FaultCounters counters() const;

    Expected<std::unique_ptr<WritableFile>> openAppend(const std::filesystem::path& path) override;
    Expected<void> syncDir(const std::filesystem::path& dir) override;
    Expected<void> truncateFile(const std::filesystem::path& path, uint64_t size) override;

private:
    friend class FaultWritableFile;
    // Returns how many of `wanted` bytes may be written; sets `fail` when the append must fail.
    uint64_t admitAppend(uint64_t wanted, bool& fail);

    FileSystem* m_base;
    std::atomic<int64_t> m_appendBudget{-1};
    std::atomic<bool> m_failSync{false};
    std::atomic<bool> m_failTruncate{false};
    std::atomic<bool> m_failSyncDir{false};
    std::atomic<uint64_t> m_appends{0}, m_appendedBytes{0}, m_syncs{0}, m_truncates{0}, m_dirSyncs{0};
    std::atomic<uint64_t> m_injAppend{0}, m_injSync{0}, m_injTruncate{0}, m_injDirSync{0};
};

}  // namespace archivist::archive
