#pragma once
// The data directory's SQLite files at open: finding a damaged one, and setting it aside.
//
// The index is derived from the archive: a damaged index is set aside (renamed, never deleted)
// and rebuilt (Store::open). The relay directory (relays.sqlite) is not derived: a damaged one is
// set aside for the operator and a fresh one is started; discovery fills it again.
// Thread: the caller's; call with the data-directory lock held (the files are renamed).
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/engine/data_dir.h"
#include "core/util/expected.h"

namespace archivist::relays {
class RelayStateStore;
}

namespace archivist::engine {

struct DbCheck {
    bool damaged = false;
    std::string reason;  // why, when damaged
};

// Looks at `file` without changing it: absent or empty is healthy (SQLite creates it); otherwise
// its header must be a SQLite header, its size must hold the pages the header declares (unless a
// WAL may hold them), and PRAGMA quick_check must find nothing within `budget` — a check that does
// not finish in time counts as healthy (the error path still catches what it missed).
// Errors: "io" when the file cannot be read at all (e.g. permissions), so nothing is set aside.
Expected<DbCheck> checkSqliteDatabase(const std::filesystem::path& file, std::chrono::milliseconds budget);

// Whether an error opening or using a database means the file is damaged: code "index_corrupt",
// or SQLite's "malformed" / "not a database" messages.
bool isDamagedDatabaseError(const Error& e);

// Renames each existing file of `files` to <file>.corrupt-<UTC time> and syncs the directory.
// Returns the new name of the first one that existed (the database). Errors: "io".
Expected<std::filesystem::path> setAsideFiles(const std::vector<std::filesystem::path>& files);

// Opens the relay directory. A damaged relays.sqlite (by checkSqliteDatabase or by the error
// opening it) is set aside and a fresh one opened; `note` (if given) then says what happened and
// where the old file is. Other errors are returned.
Expected<std::unique_ptr<relays::RelayStateStore>> openRelayDirectory(const DataDirPaths& paths, std::string* note);

}  // namespace archivist::engine
