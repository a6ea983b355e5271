#pragma once
// The alerts family of relays.sqlite: the engine's alerts (observe::Incident rows: firing,
// resolved, acknowledged, dismissed) so their history survives a restart. The engine's
// IncidentLog is the working copy; it hands its changed rows to the owner of relay state, which
// saves them here (docs/incidents.md, docs/decisions/0018-alert-lifecycle.md).
//
// Contract
// - save() upserts by id (the log's ids are unique across runs: it continues after the highest
//   restored one). Kinds are stored by their stable name; rows of unknown kinds read back as
//   IncidentKind::Count (the log skips them).
// - Bounded: save() keeps the newest kMaxRows rows (by id) and deletes older ones.
// - recent(limit): the newest `limit` rows, any state.
// Thread: the owner of the RelayStateStore (one thread).
#include <sqlite3.h>

#include <cstddef>
#include <vector>

#include "core/observe/incidents.h"
#include "core/relays/statement.h"

namespace archivist::relays {

class AlertsTable {
public:
    static constexpr size_t kMaxRows = 10000;

    explicit AlertsTable(sqlite3* db) : m_db(db) {}

    StateResult<void> save(const std::vector<observe::Incident>& rows);
    StateResult<std::vector<observe::Incident>> recent(size_t limit);

private:
    sqlite3* m_db;
};

}  // namespace archivist::relays
