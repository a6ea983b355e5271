#include "core/archive/fault_injecting_file_system.h"

#include <string>

namespace archivist::archive {

const char* faultOpName(FaultOp op) {
    switch (op) {
    case FaultOp::Append: return "append";
    case FaultOp::Sync: return "sync";
    case FaultOp::Truncate: return "truncate";
    case FaultOp::SyncDir: return "sync_dir";
    case FaultOp::Rename: return "rename";
    case FaultOp::Count: break;
    }
    return "?";
}

const char* faultKindName(FaultKind k) {
    switch (k) {
    case FaultKind::NoSpace: return "enospc";
    case FaultKind::IoError: return "eio";
    case FaultKind::ShortWrite: return "short_write";
    }
    return "?";
}

Error FaultInjectingFileSystem::injected(FaultKind kind, const char* what, const std::filesystem::path& path) {
    if (kind == FaultKind::IoError)
        return makeError("io", std::string(what) + " " + path.string() + ": Input/output error (injected)");
    return makeError("disk_full", std::string(what) + " " + path.string() + ": No space left on device (injected)");
}

class FaultWritableFile final : public WritableFile {
public:
    FaultWritableFile(std::unique_ptr<WritableFile> base, std::filesystem::path path, FaultInjectingFileSystem& fs)
        : m_base(std::move(base)), m_path(std::move(path)), m_fs(fs) {}

    Expected<void> append(std::string_view data) override {
        FaultKind kind{};
        if (m_fs.scheduledFault(FaultOp::Append, kind)) {
            ++m_fs.m_injAppend;
            if (kind == FaultKind::ShortWrite && data.size() > 1) {
                const uint64_t before = m_base->size();
                if (auto r = m_base->append(data.substr(0, data.size() / 2)); !r) return r.error();
                m_fs.m_appendedBytes += m_base->size() - before;
            }
            return FaultInjectingFileSystem::injected(kind, "write", m_path);
        }
        bool fail = false;
        const uint64_t allowed = m_fs.admitAppend(data.size(), fail);
        if (allowed > 0) {
            const uint64_t before = m_base->size();
            auto r = m_base->append(data.substr(0, size_t(allowed)));
            m_fs.m_appendedBytes += m_base->size() - before;
            if (!r) return r;
        }
        if (fail) {
            ++m_fs.m_injAppend;
            return FaultInjectingFileSystem::injected(FaultKind::NoSpace, "write", m_path);
        }
        return {};
    }

    Expected<void> sync() override {
        FaultKind kind{};
        const bool scheduled = m_fs.scheduledFault(FaultOp::Sync, kind);
        if (scheduled || m_fs.m_failSync.load()) {
            ++m_fs.m_injSync;
            return FaultInjectingFileSystem::injected(scheduled ? kind : FaultKind::IoError, "fdatasync", m_path);
        }
        return m_base->sync();
    }

    Expected<void> truncate(uint64_t size) override {
        FaultKind kind{};
        const bool scheduled = m_fs.scheduledFault(FaultOp::Truncate, kind);
        if (scheduled || m_fs.m_failTruncate.load()) {
            ++m_fs.m_injTruncate;
            return FaultInjectingFileSystem::injected(scheduled ? kind : FaultKind::IoError, "ftruncate", m_path);
        }
        return m_base->truncate(size);
    }

    uint64_t size() const override { return m_base->size(); }
    Expected<void> close() override { return m_base->close(); }

private:
    std::unique_ptr<WritableFile> m_base;
    std::filesystem::path m_path;
    FaultInjectingFileSystem& m_fs;
};

FaultInjectingFileSystem::FaultInjectingFileSystem(FileSystem* base) : m_base(base) {}

void FaultInjectingFileSystem::failAppendAfterBytes(int64_t bytes) { m_appendBudget = bytes < 0 ? -1 : bytes; }
void FaultInjectingFileSystem::failSync(bool on) { m_failSync = on; }
void FaultInjectingFileSystem::failTruncate(bool on) { m_failTruncate = on; }
void FaultInjectingFileSystem::failSyncDir(bool on) { m_failSyncDir = on; }
void FaultInjectingFileSystem::setAvailableBytes(int64_t bytes) { m_available = bytes < 0 ? -1 : bytes; }

void FaultInjectingFileSystem::failAt(FaultOp op, uint64_t nth, FaultKind kind, bool persistent) {
    Schedule& s = m_schedules[size_t(op)];
    s.kind = uint8_t(kind);
    s.persistent = persistent;
    s.failAt = nth == 0 ? 0 : s.calls.load() + nth;
}

void FaultInjectingFileSystem::clearFaults() {
    m_appendBudget = -1;
    m_failSync = false;
    m_failTruncate = false;
    m_failSyncDir = false;
    m_available = -1;
    for (auto& s : m_schedules) {
        s.failAt = 0;
        s.persistent = false;
    }
}

bool FaultInjectingFileSystem::scheduledFault(FaultOp op, FaultKind& kind) {
    Schedule& s = m_schedules[size_t(op)];
    const uint64_t call = ++s.calls;
    const uint64_t at = s.failAt.load();
    if (at == 0 || call < at || (call > at && !s.persistent.load())) return false;
    kind = FaultKind(s.kind.load());
    return true;
}

FaultCounters FaultInjectingFileSystem::counters() const {
    FaultCounters c;
    c.appends = m_schedules[size_t(FaultOp::Append)].calls;
    c.appended_bytes = m_appendedBytes;
    c.syncs = m_schedules[size_t(FaultOp::Sync)].calls;
    c.truncates = m_schedules[size_t(FaultOp::Truncate)].calls;
    c.dir_syncs = m_schedules[size_t(FaultOp::SyncDir)].calls;
    c.renames = m_schedules[size_t(FaultOp::Rename)].calls;
    c.injected_append_failures = m_injAppend;
    c.injected_sync_failures = m_injSync;
    c.injected_truncate_failures = m_injTruncate;
    c.injected_dir_sync_failures = m_injDirSync;
    c.injected_rename_failures = m_injRename;
    return c;
}

uint64_t FaultInjectingFileSystem::admitAppend(uint64_t wanted, bool& fail) {
    int64_t budget = m_appendBudget.load();
    while (true) {
        if (budget < 0) {
            fail = false;
            return wanted;
        }
        const uint64_t allowed = wanted <= uint64_t(budget) ? wanted : uint64_t(budget);
        if (m_appendBudget.compare_exchange_weak(budget, budget - int64_t(allowed))) {
            fail = allowed < wanted;
            return allowed;
        }
    }
}

Expected<std::unique_ptr<WritableFile>> FaultInjectingFileSystem::openAppend(const std::filesystem::path& path) {
    auto f = m_base->openAppend(path);
    if (!f) return f.error();
    return std::unique_ptr<WritableFile>(new FaultWritableFile(std::move(f.value()), path, *this));
}

Expected<void> FaultInjectingFileSystem::syncDir(const std::filesystem::path& dir) {
    FaultKind kind{};
    const bool scheduled = scheduledFault(FaultOp::SyncDir, kind);
    if (scheduled || m_failSyncDir.load()) {
        ++m_injDirSync;
        return injected(scheduled ? kind : FaultKind::IoError, "fsync directory", dir);
    }
    return m_base->syncDir(dir);
}

Expected<void> FaultInjectingFileSystem::truncateFile(const std::filesystem::path& path, uint64_t size) {
    FaultKind kind{};
    const bool scheduled = scheduledFault(FaultOp::Truncate, kind);
    if (scheduled || m_failTruncate.load()) {
        ++m_injTruncate;
        return injected(scheduled ? kind : FaultKind::IoError, "ftruncate", path);
    }
    return m_base->truncateFile(path, size);
}

Expected<void> FaultInjectingFileSystem::rename(const std::filesystem::path& from, const std::filesystem::path& to) {
    FaultKind kind{};
    if (scheduledFault(FaultOp::Rename, kind)) {
        ++m_injRename;
        return injected(kind, "rename", to);
    }
    return m_base->rename(from, to);
}

Expected<uint64_t> FaultInjectingFileSystem::availableBytes(const std::filesystem::path& path) {
    const int64_t fake = m_available.load();
    if (fake >= 0) return uint64_t(fake);
    return m_base->availableBytes(path);
}

}  // namespace archivist::archive
