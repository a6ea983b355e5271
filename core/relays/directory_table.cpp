#include "core/relays/directory_table.h"

#include <algorithm>

#include "core/relays/nip11_table.h"
#include "core/relays/observations_table.h"
#include "core/util/clock.h"

namespace archivist::relays {

using sql::Savepoint;
using sql::Stmt;

namespace {

constexpr const char* kRecordColumns =
    "id, url, source, status, pinned, blocked, consecutive_failures, last_error, first_seen, last_seen, "
    "last_connected, live_cursor, backfill_checkpoint, backfill_done, tries, last_attempt_ms, blocked_until_ms, "
    "last_probe_ms, nip66_reported_at, nip66_rtt_open_ms, nip66_requires_payment, nip66_requires_auth, "
    "neg_support, neg_reason, neg_retry_after_ms, reconciled_ms, late_events";

constexpr int kRecordColumnCount = 27;  // columns of kRecordColumns (readRecord reads 0 … 26)

RelayRecord readRecord(Stmt& st) {
    RelayRecord r;
    r.id = st.int64(0);
    r.url = st.text(1);
    r.source = st.text(2);
    r.status = observe::relayStateFromName(st.text(3));
    if (r.status == observe::RelayState::Count) r.status = observe::RelayState::Candidate;
    r.pinned = st.int64(4) != 0;
    r.blocked = st.int64(5) != 0;
    r.consecutive_failures = int(st.int64(6));
    r.last_error = st.text(7);
    r.first_seen_ms = st.int64(8);
    r.last_seen_ms = st.int64(9);
    r.last_connected_ms = st.optInt(10);
    r.live_cursor = st.optInt(11);
    r.backfill_checkpoint = st.text(12);
    r.backfill_done = st.int64(13) != 0;
    r.tries = int(st.int64(14));
    r.last_attempt_ms = st.int64(15);
    r.blocked_until_ms = st.int64(16);
    r.last_probe_ms = st.int64(17);
    r.nip66_reported_at = st.int64(18);
    r.nip66_rtt_open_ms = st.int64(19);
    r.nip66_requires_payment = int8_t(st.int64(20));
    r.nip66_requires_auth = int8_t(st.int64(21));
    r.negentropy.support = observe::negentropySupportFromName(st.text(22));
    r.negentropy.reason = st.text(23);
    r.negentropy.retry_after_ms = st.int64(24);
    r.reconciled_ms = st.int64(25);
    r.late_events = uint64_t(st.int64(26));
    return r;
}


}  // namespace

StateResult<RelayRecord> DirectoryTable::upsert(const std::string& url, const std::string& source, int64_t now_ms) {
    Stmt ins(m_db,
             "INSERT INTO relays(url, source, first_seen, last_seen) VALUES(?1, ?2, ?3, ?3) "
             "ON CONFLICT(url) DO UPDATE SET last_seen = excluded.last_seen");
    if (!ins.ok()) return ins.error("prepare upsert");
    ins.bind(1, url).bind(2, source).bind(3, now_ms);
    if (ins.step() != SQLITE_DONE) return ins.error("upsert relay");
    Stmt sel(m_db, (std::string("SELECT ") + kRecordColumns + " FROM relays WHERE url = ?1").c_str());
    if (!sel.ok()) return sel.error("prepare find");
    sel.bind(1, url);
    if (sel.step() != SQLITE_ROW) return sel.error("read relay");
    return readRecord(sel);
}

StateResult<std::optional<RelayRecord>> DirectoryTable::find(const std::string& url) {
    Stmt sel(m_db, (std::string("SELECT ") + kRecordColumns + " FROM relays WHERE url = ?1").c_str());
    if (!sel.ok()) return sel.error("prepare find");
    sel.bind(1, url);
    const int rc = sel.step();
    if (rc == SQLITE_DONE) return std::optional<RelayRecord>();
    if (rc != SQLITE_ROW) return sel.error("find relay");
    return std::optional<RelayRecord>(readRecord(sel));
}

StateResult<std::vector<RelayRecord>> DirectoryTable::list(size_t limit, bool include_blocked) {
    std::string sql = std::string("SELECT ") + kRecordColumns + " FROM relays" +
                      (include_blocked ? "" : " WHERE blocked = 0") +
                      " ORDER BY pinned DESC, source IN ('user','cli','config') DESC, last_connected IS NULL, "
                      "consecutive_failures, id LIMIT ?1";
    Stmt sel(m_db, sql.c_str());
    if (!sel.ok()) return sel.error("prepare list");
    sel.bind(1, int64_t(limit));
    std::vector<RelayRecord> out;
    int rc;
    while ((rc = sel.step()) == SQLITE_ROW) out.push_back(readRecord(sel));
    if (rc != SQLITE_DONE) return sel.error("list relays");
    return out;
}

StateResult<uint64_t> DirectoryTable::count() {
    Stmt st(m_db, "SELECT count(*) FROM relays");
    if (!st.ok() || st.step() != SQLITE_ROW) return st.error("count relays");
    return uint64_t(st.int64(0));
}

StateResult<void> DirectoryTable::setPinned(const std::string& url, bool pinned) {
    Stmt st(m_db, "UPDATE relays SET pinned = ?2 WHERE url = ?1");
    st.bind(1, url).bind(2, int64_t(pinned));
    return sql::run(st, "pin relay");
}

StateResult<void> DirectoryTable::markRemoved(const std::string& url) {
    Stmt st(m_db, "UPDATE relays SET pinned = 0, status = 'stopped', "
                  "source = CASE WHEN source IN ('user', 'cli') THEN 'removed' ELSE source END WHERE url = ?1");
    st.bind(1, url);
    return sql::run(st, "mark relay removed");
}

StateResult<void> DirectoryTable::setBlocked(const std::string& url, bool blocked) {
    Stmt st(m_db, "UPDATE relays SET blocked = ?2, status = CASE WHEN ?2 THEN 'blocked' ELSE 'candidate' END WHERE url = ?1");
    st.bind(1, url).bind(2, int64_t(blocked));
    return sql::run(st, "block relay");
}

StateResult<void> DirectoryTable::saveStatus(const std::string& url, observe::RelayState status, int consecutive_failures,
                                           const std::string& last_error, std::optional<int64_t> last_connected_ms) {
    Stmt st(m_db,
            "UPDATE relays SET status = ?2, consecutive_failures = ?3, last_error = ?4, "
            "last_connected = coalesce(?5, last_connected) WHERE url = ?1");
    st.bind(1, url).bind(2, std::string(observe::relayStateName(status))).bind(3, int64_t(consecutive_failures)).bind(4, last_error).bindOpt(5, last_connected_ms);
    return sql::run(st, "save relay status");
}

StateResult<uint64_t> DirectoryTable::upsertDiscovered(const std::vector<DiscoveredUrl>& urls, int64_t now_ms) {
    if (urls.empty()) return uint64_t(0);
    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b.error();
    Stmt ins(m_db, "INSERT OR IGNORE INTO relays(url, source, first_seen, last_seen) VALUES(?1, ?2, ?3, ?3)");
    Stmt seen(m_db, "UPDATE relays SET last_seen = max(last_seen, ?2) WHERE url = ?1");
    if (!ins.ok()) return ins.error("prepare discovered insert");
    if (!seen.ok()) return seen.error("prepare discovered update");
    // A NIP-66 report is kept when it is newer than the one stored (a prefilter: the engine's own
    // probes and connections are the truth).
    Stmt report(m_db, "UPDATE relays SET nip66_reported_at = ?2, nip66_rtt_open_ms = ?3, nip66_requires_payment = ?4, "
                      "nip66_requires_auth = ?5 WHERE url = ?1 AND nip66_reported_at <= ?2");
    if (!report.ok()) return report.error("prepare NIP-66 report");
    std::map<std::string, uint64_t> added;
    uint64_t total = 0;
    for (const auto& d : urls) {
        ins.reset();
        ins.bind(1, d.url).bind(2, d.source).bind(3, now_ms);
        if (ins.step() != SQLITE_DONE) return ins.error("insert discovered relay");
        const bool inserted = sqlite3_changes(m_db) > 0;
        if (d.source == "nip66" && d.reported_at > 0) {
            report.reset();
            report.bind(1, d.url).bind(2, d.reported_at).bind(3, d.rtt_open_ms).bind(4, int64_t(d.requires_payment));
            report.bind(5, int64_t(d.requires_auth));
            if (report.step() != SQLITE_DONE) return report.error("store NIP-66 report");
        }
        if (inserted) {
            ++added[d.source];
            ++total;
            continue;
        }
        seen.reset();
        seen.bind(1, d.url).bind(2, now_ms);
        if (seen.step() != SQLITE_DONE) return seen.error("update discovered relay");
    }
    Stmt count(m_db, "INSERT INTO discovery_counts(source, urls) VALUES(?1, ?2) "
                     "ON CONFLICT(source) DO UPDATE SET urls = urls + excluded.urls");
    for (const auto& [source, n] : added) {
        count.reset();
        count.bind(1, source).bind(2, int64_t(n));
        if (auto r = sql::run(count, "count discovered relays"); !r) return r.error();
    }
    if (auto c = sp.commit(); !c) return c.error();
    return total;
}

StateResult<void> DirectoryTable::saveScores(const std::vector<ScoreUpdate>& scores, int64_t now_ms) {
    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b;
    Stmt st(m_db, "UPDATE relays SET score = ?2, score_json = ?3, scored_ms = ?4 WHERE url = ?1");
    if (!st.ok()) return st.error("prepare scores");
    for (const auto& s : scores) {
        st.reset();
        st.bind(1, s.url).bind(2, s.score).bind(3, s.json).bind(4, now_ms);
        if (st.step() != SQLITE_DONE) return st.error("save score");
    }
    return sp.commit();
}

StateResult<DirectoryPageResult> DirectoryTable::page(const DirectoryQuery& q) {
    std::string where = " WHERE 1";
    if (!q.text.empty()) where += " AND instr(url, ?1) > 0";
    if (!q.source.empty()) where += " AND source = ?2";
    if (q.status) where += " AND status = ?3";
    if (!q.include_blocked) where += " AND blocked = 0";
    const auto bindWhere = [&](Stmt& st) {
        if (!q.text.empty()) st.bind(1, q.text);
        if (!q.source.empty()) st.bind(2, q.source);
        if (q.status) st.bind(3, std::string(observe::relayStateName(*q.status)));
    };
    const int64_t now_ms = q.now_ms ? q.now_ms : wallMs();
    Savepoint sp(m_db);  // one read snapshot for the count and the rows
    if (auto b = sp.begun(); !b) return b.error();
    DirectoryPageResult out;
    {
        Stmt c(m_db, ("SELECT count(*) FROM relays" + where).c_str());
        if (!c.ok()) return c.error("prepare directory count");
        bindWhere(c);
        if (c.step() != SQLITE_ROW) return c.error("count directory");
        out.total_matching = uint64_t(c.int64(0));
    }
    const char* order = q.order == DirectoryQuery::Order::Url        ? " ORDER BY url"
                        : q.order == DirectoryQuery::Order::LastSeen ? " ORDER BY last_seen DESC, id"
                                                                     : " ORDER BY score DESC, id";  // NULL sorts last
    const size_t limit = std::clamp<size_t>(q.limit, 1, kMaxPageRows);
    Stmt sel(m_db, (std::string("SELECT ") + kRecordColumns + ", score, coalesce(scored_ms, 0) FROM relays" + where +
                    order + " LIMIT ?4 OFFSET ?5")
                       .c_str());
    if (!sel.ok()) return sel.error("prepare directory page");
    bindWhere(sel);
    sel.bind(4, int64_t(limit)).bind(5, int64_t(std::min<size_t>(q.offset, size_t(INT64_MAX))));
    Stmt up(m_db, "SELECT coalesce(sum(ok AND at_ms >= ?2), 0), coalesce(sum(at_ms >= ?2), 0), coalesce(sum(ok), 0), "
                  "count(*) FROM relay_outcomes WHERE relay = ?1 AND at_ms >= ?3 AND at_ms <= ?4");
    Stmt probe(m_db, "SELECT at_ms, ok, open_rtt_ms, read_rtt_ms FROM relay_outcomes WHERE relay = ?1 AND kind = 'probe' "
                     "ORDER BY at_ms DESC LIMIT 1");
    Stmt info(m_db, "SELECT d.canonical_json FROM relay_nip11_history h JOIN nip11_documents d ON d.sha256 = h.sha256 "
                    "WHERE h.relay = ?1 ORDER BY h.fetched_ms DESC LIMIT 1");
    Stmt rejected(m_db, "SELECT rejected_json FROM relay_hourly WHERE relay = ?1 AND rejected > 0");
    if (!up.ok() || !probe.ok() || !info.ok() || !rejected.ok()) return up.error("prepare directory details");
    int rc;
    while ((rc = sel.step()) == SQLITE_ROW) {
        DirectoryRow row;
        row.record = readRecord(sel);
        if (!sel.isNull(kRecordColumnCount)) row.score = sqlite3_column_double(sel.get(), kRecordColumnCount);
        row.scored_ms = sel.int64(kRecordColumnCount + 1);
        const int64_t rid = row.record.id;
        up.reset();
        up.bind(1, rid).bind(2, now_ms - kDayMs).bind(3, now_ms - 7 * kDayMs).bind(4, now_ms);
        if (up.step() != SQLITE_ROW) return up.error("read uptime");
        row.uptime_24h = shareOf(up.int64(0), up.int64(1));
        row.uptime_7d = shareOf(up.int64(2), up.int64(3));
        probe.reset();
        probe.bind(1, rid);
        int prc = probe.step();
        if (prc == SQLITE_ROW) {
            row.last_probe.at_ms = probe.int64(0);
            row.last_probe.ok = probe.int64(1) != 0;
            row.last_probe.open_rtt_ms = probe.int64(2);
            row.last_probe.read_rtt_ms = probe.int64(3);
        } else if (prc != SQLITE_DONE) {
            return probe.error("read last probe");
        }
        info.reset();
        info.bind(1, rid);
        prc = info.step();
        if (prc == SQLITE_ROW) row.nip11 = Nip11Table::summarize(info.text(0));
        else if (prc != SQLITE_DONE) return info.error("read NIP-11 document");
        rejected.reset();
        rejected.bind(1, rid);
        while ((prc = rejected.step()) == SQLITE_ROW) ObservationsTable::mergeRejectedJson(rejected.text(0), row.rejected);
        if (prc != SQLITE_DONE) return rejected.error("read rejections");
        out.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return sel.error("read directory page");
    if (auto c = sp.commit(); !c) return c.error();
    return out;
}

StateResult<std::vector<RelayRecord>> DirectoryTable::bestCandidates(size_t limit, const std::set<std::string>& exclude,
                                                                 int64_t now_ms) {
    const int64_t fetch = int64_t(std::min<size_t>(limit + exclude.size(), size_t(INT32_MAX)));
    const auto load = [&](const char* tail, std::vector<RelayRecord>& into) -> StateResult<void> {
        Stmt st(m_db, (std::string("SELECT ") + kRecordColumns +
                       " FROM relays WHERE blocked = 0 AND status != 'connected' AND blocked_until_ms <= ?2 AND " + tail +
                       " LIMIT ?1")
                          .c_str());
        if (!st.ok()) return st.error("prepare candidates");
        st.bind(1, fetch).bind(2, now_ms);
        int rc;
        while ((rc = st.step()) == SQLITE_ROW) {
            RelayRecord r = readRecord(st);
            if (!exclude.count(r.url)) into.push_back(std::move(r));
        }
        if (rc != SQLITE_DONE) return st.error("read candidates");
        return {};
    };
    std::vector<RelayRecord> scored, untried, expired;
    if (auto r = load("score IS NOT NULL ORDER BY score DESC, id", scored); !r) return r.error();
    if (auto r = load("score IS NULL ORDER BY pinned DESC, source IN ('user','cli','config','seed') DESC, first_seen, id",
                      untried);
        !r)
        return r.error();
    // Relays whose failure block has expired: retried by exploration, oldest attempt first.
    if (auto r = load("blocked_until_ms > 0 ORDER BY last_attempt_ms, id", expired); !r) return r.error();
    std::vector<RelayRecord> out;
    std::set<std::string> taken;
    out.reserve(std::min(limit, scored.size() + untried.size() + expired.size()));
    auto take = [&](std::vector<RelayRecord>& from, size_t& i) {
        while (i < from.size() && taken.count(from[i].url)) ++i;
        if (i < from.size() && out.size() < limit) {
            taken.insert(from[i].url);
            out.push_back(std::move(from[i++]));
        }
    };
    size_t i = 0, j = 0, k = 0;
    while (out.size() < limit && (i < scored.size() || j < untried.size() || k < expired.size())) {
        take(scored, i);
        take(untried, j);
        take(expired, k);
    }
    return out;
}

StateResult<void> DirectoryTable::setFailureBlock(const std::string& url, int64_t until_ms) {
    Stmt st(m_db, "UPDATE relays SET blocked_until_ms = ?2 WHERE url = ?1");
    st.bind(1, url).bind(2, until_ms);
    return sql::run(st, "set failure block");
}

StateResult<void> DirectoryTable::resetLiveStatuses() {
    std::string names;
    for (size_t i = 0; i < observe::kRelayStateCount; ++i) {
        const auto s = observe::RelayState(i);
        if (!observe::isLiveState(s) && s != observe::RelayState::Stopped) continue;
        names += std::string(names.empty() ? "'" : ", '") + observe::relayStateName(s) + "'";
    }
    return sql::exec(m_db, ("UPDATE relays SET status = 'candidate' WHERE status IN (" + names + ")").c_str());
}

StateResult<std::vector<RelayRecord>> DirectoryTable::pinnedRelays(size_t limit) {
    Stmt st(m_db, (std::string("SELECT ") + kRecordColumns + " FROM relays WHERE pinned = 1 ORDER BY id LIMIT ?1").c_str());
    if (!st.ok()) return st.error("prepare pinned");
    st.bind(1, int64_t(limit));
    std::vector<RelayRecord> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back(readRecord(st));
    if (rc != SQLITE_DONE) return st.error("read pinned");
    return out;
}

StateResult<std::vector<std::pair<std::string, uint64_t>>> DirectoryTable::discoveryCounts() {
    return sql::readPairs(m_db, "SELECT source, urls FROM discovery_counts ORDER BY source LIMIT 64", "discovery counts");
}

StateResult<std::vector<std::pair<std::string, uint64_t>>> DirectoryTable::statusCounts() {
    return sql::readPairs(m_db, "SELECT status, count(*) FROM relays GROUP BY status ORDER BY status LIMIT 64", "status counts");
}

}  // namespace archivist::relays
