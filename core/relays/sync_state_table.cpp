#include "core/relays/sync_state_table.h"

namespace archivist::relays {

using sql::Stmt;

StateResult<void> SyncStateTable::saveLiveCursor(const std::string& url, int64_t cursor) {
    Stmt st(m_db, "UPDATE relays SET live_cursor = max(coalesce(live_cursor, ?2), ?2) WHERE url = ?1");
    st.bind(1, url).bind(2, cursor);
    return sql::run(st, "save live cursor");
}

StateResult<void> SyncStateTable::saveBackfill(const std::string& url, const std::string& checkpoint, bool done) {
    Stmt st(m_db, "UPDATE relays SET backfill_checkpoint = ?2, backfill_done = ?3 WHERE url = ?1");
    st.bind(1, url).bind(2, checkpoint).bind(3, int64_t(done));
    return sql::run(st, "save backfill checkpoint");
}

StateResult<void> SyncStateTable::saveNegentropy(const std::string& url, const sync::NegentropyVerdict& v) {
    Stmt st(m_db, "UPDATE relays SET neg_support = ?2, neg_reason = ?3, neg_retry_after_ms = ?4 WHERE url = ?1");
    st.bind(1, url).bind(2, std::string(observe::negentropySupportName(v.support))).bind(3, v.reason).bind(4, v.retry_after_ms);
    return sql::run(st, "save negentropy support");
}

StateResult<void> SyncStateTable::saveReconciled(const std::string& url, std::optional<int64_t> reconciled_ms,
                                                 uint64_t late_events) {
    Stmt st(m_db,
            "UPDATE relays SET reconciled_ms = max(reconciled_ms, coalesce(?2, 0)), late_events = late_events + ?3 "
            "WHERE url = ?1");
    st.bind(1, url).bind(2, reconciled_ms.value_or(0)).bind(3, int64_t(late_events));
    return sql::run(st, "save reconciliation");
}

StateResult<void> SyncStateTable::addGap(const GapRecord& gap) {
    Stmt st(m_db,
            "INSERT OR IGNORE INTO backfill_gaps(relay, since, until, kinds, reason, recorded_at) "
            "SELECT id, ?2, ?3, ?4, ?5, ?6 FROM relays WHERE url = ?1");
    st.bind(1, gap.url).bind(2, gap.since).bind(3, gap.until).bind(4, gap.kinds).bind(5, gap.reason).bind(6, gap.recorded_ms);
    return sql::run(st, "record backfill gap");
}

StateResult<uint64_t> SyncStateTable::gapCount(const std::string& url) {
    Stmt st(m_db, "SELECT count(*) FROM backfill_gaps g JOIN relays r ON r.id = g.relay WHERE r.url = ?1");
    if (!st.ok()) return st.error("prepare gap count");
    st.bind(1, url);
    if (st.step() != SQLITE_ROW) return st.error("count gaps");
    return uint64_t(st.int64(0));
}

StateResult<std::vector<GapRecord>> SyncStateTable::gaps(const std::string& url, size_t limit) {
    Stmt st(m_db,
            "SELECT r.url, g.since, g.until, g.kinds, g.reason, g.recorded_at FROM backfill_gaps g "
            "JOIN relays r ON r.id = g.relay WHERE (?1 = '' OR r.url = ?1) ORDER BY g.id DESC LIMIT ?2");
    if (!st.ok()) return st.error("prepare gaps");
    st.bind(1, url).bind(2, int64_t(limit));
    std::vector<GapRecord> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
        GapRecord g;
        g.url = st.text(0);
        g.since = st.int64(1);
        g.until = st.int64(2);
        g.kinds = st.text(3);
        g.reason = st.text(4);
        g.recorded_ms = st.int64(5);
        out.push_back(std::move(g));
    }
    if (rc != SQLITE_DONE) return st.error("read gaps");
    return out;
}

StateResult<std::optional<sync::SyncResume>> SyncStateTable::resume(const std::string& url) {
    Stmt st(m_db, "SELECT live_cursor, backfill_checkpoint, backfill_done, neg_support, neg_reason, neg_retry_after_ms, "
                  "reconciled_ms, late_events FROM relays WHERE url = ?1");
    if (!st.ok()) return st.error("prepare sync state");
    st.bind(1, url);
    const int rc = st.step();
    if (rc == SQLITE_DONE) return std::optional<sync::SyncResume>();
    if (rc != SQLITE_ROW) return st.error("read sync state");
    sync::SyncResume r;
    r.live_cursor = st.optInt(0);
    r.backfill_checkpoint = st.text(1);
    r.backfill_done = st.int64(2) != 0;
    r.negentropy.support = observe::negentropySupportFromName(st.text(3));
    r.negentropy.reason = st.text(4);
    r.negentropy.retry_after_ms = st.int64(5);
    r.reconciled_ms = st.int64(6);
    r.late_events = uint64_t(st.int64(7));
    return std::optional<sync::SyncResume>(std::move(r));
}

}  // namespace archivist::relays
