#include "core/relays/alerts_table.h"

#include <algorithm>

namespace archivist::relays {

using sql::Savepoint;
using sql::Stmt;

StateResult<void> AlertsTable::save(const std::vector<observe::Incident>& rows) {
    if (rows.empty()) return {};
    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b;
    Stmt up(m_db,
            "INSERT INTO alerts(id, kind, severity, relay, first_ms, last_ms, resolved_ms, count, message, level, "
            "acknowledged, cleared) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
            "ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, severity = excluded.severity, relay = excluded.relay, "
            "first_ms = excluded.first_ms, last_ms = excluded.last_ms, resolved_ms = excluded.resolved_ms, "
            "count = excluded.count, message = excluded.message, level = excluded.level, "
            "acknowledged = excluded.acknowledged, cleared = excluded.cleared");
    if (!up.ok()) return up.error("prepare save alert");
    for (const auto& r : rows) {
        up.reset();
        up.bind(1, int64_t(r.id)).bind(2, std::string(observe::incidentKindName(r.kind))).bind(3, int64_t(r.severity));
        up.bind(4, r.relay).bind(5, r.first_ms).bind(6, r.last_ms).bind(7, r.resolved_ms).bind(8, int64_t(r.count));
        up.bind(9, r.message.substr(0, 2000)).bind(10, int64_t(r.level)).bind(11, int64_t(r.acknowledged));
        up.bind(12, int64_t(r.cleared));
        if (up.step() != SQLITE_DONE) return up.error("save alert");
    }
    Stmt prune(m_db, "DELETE FROM alerts WHERE id <= (SELECT id FROM alerts ORDER BY id DESC LIMIT 1 OFFSET ?1)");
    prune.bind(1, int64_t(kMaxRows));
    if (auto r = sql::run(prune, "prune alerts"); !r) return r;
    return sp.commit();
}

StateResult<std::vector<observe::Incident>> AlertsTable::recent(size_t limit) {
    Stmt st(m_db,
            "SELECT id, kind, severity, relay, first_ms, last_ms, resolved_ms, count, message, level, acknowledged, "
            "cleared FROM alerts ORDER BY id DESC LIMIT ?1");
    if (!st.ok()) return st.error("prepare read alerts");
    st.bind(1, int64_t(limit));
    std::vector<observe::Incident> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
        observe::Incident r;
        r.id = uint64_t(st.int64(0));
        r.kind = observe::incidentKindFromName(st.text(1));
        r.severity = observe::IncidentSeverity(std::clamp<int64_t>(st.int64(2), 0, int64_t(observe::IncidentSeverity::Critical)));
        r.relay = st.text(3);
        r.first_ms = st.int64(4);
        r.last_ms = st.int64(5);
        r.resolved_ms = st.int64(6);
        r.count = uint64_t(st.int64(7));
        r.message = st.text(8);
        r.level = st.int64(9) != 0;
        r.acknowledged = st.int64(10) != 0;
        r.cleared = st.int64(11) != 0;
        out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return st.error("read alerts");
    return out;
}

}  // namespace archivist::relays
