#pragma once
// The index schema as ordered forward migrations (PRAGMA user_version = number applied).
// Migrations only ever append steps; an applied step is never edited.
#include <sqlite3.h>

#include "core/util/expected.h"

namespace archivist::index {

constexpr int kSchemaVersion = 1;

// Applies the missing migrations in one transaction each. Error "schema" when the database is
// newer than this build.
Expected<void> migrate(sqlite3* db, bool fts);

}  // namespace archivist::index
