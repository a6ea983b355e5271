#include "core/relays/relay_state_store.h"

#include <sqlite3.h>

#include "core/observe/log.h"
#include "core/observe/sqlite_heap.h"
#include "core/relays/schema.h"

namespace archivist::relays {

RelayStateStore::RelayStateStore(sqlite3* db)
    : m_db(db), m_directory(db), m_sync(db), m_observations(db), m_nip11(db), m_alerts(db) {}

RelayStateStore::~RelayStateStore() { sqlite3_close_v2(m_db); }

StateResult<std::unique_ptr<RelayStateStore>> RelayStateStore::open(const std::filesystem::path& file,
                                                                    const StoreOpenOptions& options) {
    observe::ensureSqliteHeapLimit();
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   options.vfs.empty() ? nullptr : options.vfs.c_str());
    std::unique_ptr<RelayStateStore> s(new RelayStateStore(db));  // closes db on every return below
    if (rc != SQLITE_OK)
        return stateError(StateErrorCode::Sqlite, "cannot open " + file.string() + ": " + sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    if (auto r = sql::exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"); !r)
        return stateError(StateErrorCode::Sqlite, file.string() + ": " + r.error().message);
    if (auto r = migrateRelaySchema(db, file.string()); !r) return r.error();
    return s;
}

StateResult<void> RelayStateStore::transaction(const std::function<StateResult<void>()>& fn) {
    if (auto b = sql::exec(m_db, "BEGIN IMMEDIATE"); !b) return b;
    auto r = fn();
    if (r) r = sql::exec(m_db, "COMMIT");
    if (!r && !sqlite3_get_autocommit(m_db)) {
        if (auto rb = sql::exec(m_db, "ROLLBACK"); !rb)
            qCWarning(lcRelays) << "relay state: rollback failed:" << rb.error().message.c_str();
    }
    return r;
}

}  // namespace archivist::relays
