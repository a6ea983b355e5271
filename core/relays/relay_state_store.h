#pragma once
// RelayStateStore: what the engine knows about relays that cannot be rebuilt from the archive, in
// its own SQLite database <data dir>/relays.sqlite (docs/decisions/0006-relay-state-database.md),
// split by table family:
//   directory()     the relays known, their status, pins, blocks, scores   (directory_table.h)
//   sync()          live cursors, backfill checkpoints, recorded gaps       (sync_state_table.h)
//   observations()  probe/connect outcomes, hourly traffic statistics       (observations_table.h)
//   nip11()         NIP-11 documents and their history per relay            (nip11_table.h)
//   alerts()        the engine's alerts and their history                   (alerts_table.h)
// Schema and migrations: schema.cpp. Statements: statement.h.
//
// Contract
// - One owner: in the engine, RelayStateOwner's thread is the only one that touches it (no
//   mutex: the owner serialises everything; docs/threads.md). Command-line tools open their own.
// - Durability: WAL, synchronous=NORMAL. Cursors and checkpoints are written only after the
//   events they cover settled in the pipeline, so a lost last write means an older cursor, i.e.
//   re-downloading events that deduplication then drops.
// - transaction(fn) runs fn in one write transaction (the tables' own savepoints nest in it).
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/relays/alerts_table.h"
#include "core/relays/directory_table.h"
#include "core/relays/nip11_table.h"
#include "core/relays/observations_table.h"
#include "core/relays/statement.h"
#include "core/relays/sync_state_table.h"

struct sqlite3;

namespace archivist::relays {

struct StoreOpenOptions {
    std::string vfs;  // SQLite VFS name; "" = the default (tests register fault-injecting ones)
};

class RelayStateStore {
public:
    static StateResult<std::unique_ptr<RelayStateStore>> open(const std::filesystem::path& file,
                                                              const StoreOpenOptions& options = {});
    ~RelayStateStore();
    RelayStateStore(const RelayStateStore&) = delete;
    RelayStateStore& operator=(const RelayStateStore&) = delete;

    DirectoryTable& directory() { return m_directory; }
    SyncStateTable& sync() { return m_sync; }
    ObservationsTable& observations() { return m_observations; }
    Nip11Table& nip11() { return m_nip11; }
    AlertsTable& alerts() { return m_alerts; }

    // BEGIN IMMEDIATE; fn; COMMIT — or ROLLBACK and fn's (or the commit's) error.
    StateResult<void> transaction(const std::function<StateResult<void>()>& fn);

private:
    explicit RelayStateStore(sqlite3* db);
    sqlite3* m_db;
    DirectoryTable m_directory;
    SyncStateTable m_sync;
    ObservationsTable m_observations;
    Nip11Table m_nip11;
    AlertsTable m_alerts;
};

}  // namespace archivist::relays
