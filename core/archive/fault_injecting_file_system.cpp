#include "core/archive/fault_injecting_file_system.h"

#include <string>

namespace archivist::archive {

class FaultWritableFile final : public WritableFile {
public:
    FaultWritableFile(std::unique_ptr<WritableFile> base, std::filesystem::path path, FaultInjectingFileSystem& fs)
        : m_base(std::move(base)), m_path(std::move(path)), m_fs(fs) {}

    Expected<void> append(std::string_view data) override {
        ++m_fs.m_appends;
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
            return makeError("io", "write " + m_path.string() + ": No space left on device (injected)");
        }
        return {};
    }

    Expected<void> sync() override {
        ++m_fs.m_syncs;
        if (m_fs.m_failSync.load()) {
            ++m_fs.m_injSync;
            return makeError("io", "fdatasync " + m_path.string() + ": Input/output error (injected)");
        }
        return m_base->sync();
    }

    Expected<void> truncate(uint64_t size) override {
        ++m_fs.m_truncates;
        if (m_fs.m_failTruncate.load()) {
            ++m_fs.m_injTruncate;
            return makeError("io", "ftruncate " + m_path.string() + ": Input/output error (injected)");
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

void FaultInjectingFileSystem::clearFaults() {
    m_appendBudget = -1;
    m_failSync = false;
    m_failTruncate = false;
    m_failSyncDir = false;
}

FaultCounters FaultInjectingFileSystem::counters() const {
    FaultCounters c;
    c.appends = m_appends;
    c.appended_bytes = m_appendedBytes;
    c.syncs = m_syncs;
    c.truncates = m_truncates;
    c.dir_syncs = m_dirSyncs;
    c.injected_append_failures = m_injAppend;
    c.injected_sync_failures = m_injSync;
    c.injected_truncate_failures = m_injTruncate;
    c.injected_dir_sync_failures = m_injDirSync;
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
    ++m_dirSyncs;
    if (m_failSyncDir.load()) {
        ++m_injDirSync;
        return makeError("io", "fsync directory " + dir.string() + ": Input/output error (injected)");
    }
    return m_base->syncDir(dir);
}

Expected<void> FaultInjectingFileSystem::truncateFile(const std::filesystem::path& path, uint64_t size) {
    ++m_truncates;
    if (m_failTruncate.load()) {
        ++m_injTruncate;
        return makeError("io", "ftruncate " + path.string() + ": Input/output error (injected)");
    }
    return m_base->truncateFile(path, size);
}

}  // namespace archivist::archive
