#pragma once
// The index schema as ordered forward migrations (PRAGMA user_version = number applied).
// Migrations only ever append steps; an applied step is never edited.
#include <sqlite3.h>

#include "core/util/expected.h"

namespace archivist::index {

constexpr int kSchemaVersion = 2;

// Applies the missing migrations, one transaction each. Errors: "schema" when the database is
// newer than this build ("index was written by a newer Archivist"), "sqlite" otherwise.
// The optional FTS table is not part of the migrations: IndexWriter creates/drops it (meta 'fts').
Expected<void> migrate(sqlite3* db);

// The schema version stored in the file (PRAGMA user_version); -1 on error.
int storedSchemaVersion(sqlite3* db);

}  // namespace archivist::index
