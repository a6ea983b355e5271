#pragma once
// The data directory and its exclusive lock.
//
// Layout (docs/data-directory.md):
//   <dir>/LOCK                  flock()ed by the one process using the directory; holds its pid
//   <dir>/archive/              segment-NNNNNN.jsonl.zst (the source of truth)
//   <dir>/sightings/            sightings-NNNNNN.log.zst: the durable sightings log (which source
//                               carried each event, when; core/archive/sightings_log.h)
//   <dir>/index/                the derived index (core/index/index.h): CURRENT names the
//                               generation in use, g<N>/ holds its catalog, hot files, parts and
//                               full-text files; a rebuild builds g<N+1> beside it
//   <dir>/index.sqlite          the single-file index of schema 1/2 (migrated at the first open)
//   <dir>/relays.sqlite         the relay directory (not derived: kept across index rebuilds)
//   <dir>/<name>.corrupt-<UTC>  a damaged index (directory) or relay directory set aside
//                               (core/engine/db_health.h)
//
// The lock is an advisory flock on LOCK: the kernel releases it when the process dies, so a lock
// left by a killed process never blocks the next start, and a second live process gets a clear
// error naming the holder's pid instead of corrupting anything.
#include <filesystem>
#include <vector>

#include "core/util/expected.h"

namespace archivist::engine {

struct DataDirPaths {
    std::filesystem::path root;
    std::filesystem::path archive;  // root/archive
    std::filesystem::path sightings;  // root/sightings (the durable sightings log)
    std::filesystem::path index;          // root/index (the index directory)
    std::filesystem::path legacy_index;   // root/index.sqlite (schema 1/2; migrated at the first open)
    std::filesystem::path legacy_rebuild; // root/index.rebuild.sqlite (a schema-2 rebuild's work file)
    std::filesystem::path lock;     // root/LOCK
    std::filesystem::path relays;   // root/relays.sqlite (relay directory, cursors, gaps: not derived from the archive)
    std::filesystem::path config;   // root/config.json (optional)
    explicit DataDirPaths(std::filesystem::path dir);

    // The relay directory's database and its companion files.
    std::vector<std::filesystem::path> relayFiles() const;
};

// A SQLite database file with its -wal, -shm and -journal companions.
std::vector<std::filesystem::path> sqliteFileSet(const std::filesystem::path& db);

// The platform default: $XDG_DATA_HOME/archivist (QStandardPaths::GenericDataLocation + "archivist").
std::filesystem::path defaultDataDir();

class DataDirLock {
public:
    // Creates the directory if missing and takes the lock without waiting.
    // Errors: "locked" (another process holds it; the message names its pid), "io".
    static Expected<DataDirLock> acquire(const std::filesystem::path& dir);
    DataDirLock(DataDirLock&& other) noexcept;
    DataDirLock& operator=(DataDirLock&& other) noexcept;
    DataDirLock(const DataDirLock&) = delete;
    DataDirLock& operator=(const DataDirLock&) = delete;
    ~DataDirLock();

private:
    explicit DataDirLock(int fd) : m_fd(fd) {}
    int m_fd = -1;
};

}  // namespace archivist::engine
