#include "core/relays/observations_table.h"

#include <algorithm>
#include <unordered_map>

#include "core/protocol/json.h"

namespace archivist::relays {

using sql::Savepoint;
using sql::Stmt;

namespace {

std::string rejectedJson(const std::map<std::string, uint64_t>& m) {
    std::string out = "{";
    for (const auto& [k, n] : m) {
        if (out.size() > 1) out.push_back(',');
        protocol::json::appendQuoted(out, k);
        out += ":" + std::to_string(n);
    }
    out.push_back('}');
    return out;
}


}  // namespace

StateResult<void> ObservationsTable::recordOutcome(const std::string& url, int64_t at_ms, OutcomeKind kind, bool ok,
                                                  int64_t open_rtt_ms, int64_t read_rtt_ms, const std::string& error) {
    const bool connect = kind == OutcomeKind::Connect;
    Stmt st(m_db,
            "INSERT INTO relay_outcomes(relay, at_ms, kind, ok, open_rtt_ms, read_rtt_ms, error) "
            "SELECT id, ?2, ?3, ?4, ?5, ?6, ?7 FROM relays WHERE url = ?1");
    st.bind(1, url).bind(2, at_ms).bind(3, std::string(connect ? "connect" : "probe")).bind(4, int64_t(ok));
    st.bind(5, open_rtt_ms).bind(6, read_rtt_ms).bind(7, error.substr(0, 500));
    if (auto r = sql::run(st, "record relay outcome"); !r) return r;
    Stmt rel(m_db, connect ? "UPDATE relays SET tries = tries + 1, last_attempt_ms = max(last_attempt_ms, ?2) WHERE url = ?1"
                           : "UPDATE relays SET last_probe_ms = max(last_probe_ms, ?2) WHERE url = ?1");
    rel.bind(1, url).bind(2, at_ms);
    if (auto r = sql::run(rel, "count relay attempt"); !r) return r;
    if (++m_outcomesSincePrune >= kPruneEveryOutcomes) {
        m_outcomesSincePrune = 0;
        return prune(at_ms);
    }
    return {};
}

StateResult<void> ObservationsTable::prune(int64_t now_ms) { return pruneOlderThan(now_ms - kRetentionMs); }

StateResult<void> ObservationsTable::pruneOlderThan(int64_t cutoff) {
    Stmt o(m_db, "DELETE FROM relay_outcomes WHERE at_ms < ?1");
    o.bind(1, cutoff);
    if (auto r = sql::run(o, "prune outcomes"); !r) return r;
    Stmt h(m_db, "DELETE FROM relay_hourly WHERE hour < ?1");
    h.bind(1, cutoff / kHourMs);
    return sql::run(h, "prune hourly statistics");
}

void ObservationsTable::mergeRejectedJson(const std::string& json, std::map<std::string, uint64_t>& into) {
    protocol::json::Value v;
    if (!protocol::json::parse(json, v, nullptr, 4) || v.type != protocol::json::Type::Object) return;
    for (const auto& [k, n] : v.members) {
        uint64_t x = 0;
        if (n.type == protocol::json::Type::Number && protocol::json::parseUnsigned(n.raw, UINT64_MAX, x)) into[k] += x;
    }
}

StateResult<size_t> ObservationsTable::addHourly(const std::vector<HourlyRow>& rows) {
    if (rows.empty()) return size_t(0);
    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b.error();
    size_t stored = 0;
    Stmt id(m_db, "SELECT id FROM relays WHERE url = ?1");
    Stmt old(m_db, "SELECT rejected_json FROM relay_hourly WHERE relay = ?1 AND hour = ?2");
    Stmt up(m_db,
            "INSERT INTO relay_hourly(relay, hour, received, novel, duplicates, rejected, rejected_json, connected_s, "
            "failures, bytes) VALUES(?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, '{}'), ?8, ?9, ?10) "
            "ON CONFLICT(relay, hour) DO UPDATE SET received = received + excluded.received, "
            "novel = novel + excluded.novel, duplicates = duplicates + excluded.duplicates, "
            "rejected = rejected + excluded.rejected, "
            "rejected_json = CASE WHEN ?7 IS NULL THEN rejected_json ELSE excluded.rejected_json END, "
            "connected_s = connected_s + excluded.connected_s, failures = failures + excluded.failures, "
            "bytes = bytes + excluded.bytes");
    if (!id.ok()) return id.error("prepare hourly");
    if (!old.ok()) return old.error("prepare hourly");
    if (!up.ok()) return up.error("prepare hourly");
    int64_t max_hour = 0;
    for (const auto& row : rows) {
        id.reset();
        id.bind(1, row.url);
        int rc = id.step();
        if (rc == SQLITE_DONE) continue;  // not in the directory: nothing to attach the row to
        if (rc != SQLITE_ROW) return id.error("find relay");
        const int64_t relay = id.int64(0);
        std::map<std::string, uint64_t> rejected = row.rejected_by_reason;
        if (!rejected.empty()) {
            old.reset();
            old.bind(1, relay).bind(2, row.hour);
            rc = old.step();
            if (rc == SQLITE_ROW) mergeRejectedJson(old.text(0), rejected);
            else if (rc != SQLITE_DONE) return old.error("read hourly");
        }
        up.reset();
        up.bind(1, relay).bind(2, row.hour).bind(3, int64_t(row.received)).bind(4, int64_t(row.novel));
        up.bind(5, int64_t(row.duplicates)).bind(6, int64_t(row.rejected));
        if (rejected.empty()) {
            // Keep what is stored: "{}" for a new row, the stored map on conflict.
            up.bindNull(7);
        } else {
            up.bind(7, rejectedJson(rejected));
        }
        up.bind(8, row.connected_s).bind(9, int64_t(row.failures)).bind(10, int64_t(row.bytes));
        if (up.step() != SQLITE_DONE) return up.error("add hourly statistics");
        ++stored;
        max_hour = std::max(max_hour, row.hour);
    }
    if (max_hour > 0) {
        Stmt h(m_db, "DELETE FROM relay_hourly WHERE hour < ?1");
        h.bind(1, max_hour - kRetentionMs / kHourMs);
        if (auto r = sql::run(h, "prune hourly statistics"); !r) return r.error();
    }
    if (auto c = sp.commit(); !c) return c.error();
    return stored;
}

StateResult<std::vector<RelayAggregate>> ObservationsTable::aggregates(const std::vector<std::string>& urls, int64_t now_ms,
                                                                  int window_hours, size_t limit) {
    const int64_t now_hour = now_ms / kHourMs;
    const int64_t from_hour = now_hour - std::max(window_hours, 1) + 1;
    const int64_t day_ago = now_ms - kDayMs;
    const int64_t week_ago = now_ms - 7 * kDayMs;
    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b.error();

    std::vector<RelayAggregate> out;
    std::unordered_map<int64_t, size_t> index;  // relay id → position in out
    const auto readTraffic = [](Stmt& st, int c, RelayAggregate& a) {
        a.received = uint64_t(st.int64(c));
        a.novel = uint64_t(st.int64(c + 1));
        a.duplicates = uint64_t(st.int64(c + 2));
        a.rejected = uint64_t(st.int64(c + 3));
        a.connected_s = st.int64(c + 4);
        a.failures = uint64_t(st.int64(c + 5));
        a.bytes = uint64_t(st.int64(c + 6));
        a.hours_with_data = st.int64(c + 7);
    };
    constexpr const char* kSums = "coalesce(sum(received), 0), coalesce(sum(novel), 0), coalesce(sum(duplicates), 0), "
                                  "coalesce(sum(rejected), 0), coalesce(sum(connected_s), 0), coalesce(sum(failures), 0), "
                                  "coalesce(sum(bytes), 0), count(*)";
    int rc;
    if (urls.empty()) {
        // Every relay with data: one GROUP BY pass over each windowed table.
        Stmt h(m_db, (std::string("SELECT h.relay, r.url, ") + kSums +
                      " FROM relay_hourly h JOIN relays r ON r.id = h.relay WHERE h.hour >= ?1 AND h.hour <= ?3 "
                      "GROUP BY h.relay LIMIT ?2")
                         .c_str());
        if (!h.ok()) return h.error("prepare aggregates");
        h.bind(1, from_hour).bind(2, int64_t(limit)).bind(3, now_hour);
        while ((rc = h.step()) == SQLITE_ROW) {
            RelayAggregate a;
            a.url = h.text(1);
            readTraffic(h, 2, a);
            index.emplace(h.int64(0), out.size());
            out.push_back(std::move(a));
        }
        if (rc != SQLITE_DONE) return h.error("read aggregates");
        Stmt o(m_db, "SELECT o.relay, r.url, coalesce(sum(o.ok AND o.at_ms >= ?2), 0), coalesce(sum(o.at_ms >= ?2), 0), "
                     "coalesce(sum(o.ok), 0), count(*) FROM relay_outcomes o JOIN relays r ON r.id = o.relay "
                     "WHERE o.at_ms >= ?1 AND o.at_ms <= ?3 GROUP BY o.relay");
        if (!o.ok()) return o.error("prepare uptime aggregates");
        o.bind(1, week_ago).bind(2, day_ago).bind(3, now_ms);
        while ((rc = o.step()) == SQLITE_ROW) {
            const int64_t rid = o.int64(0);
            auto it = index.find(rid);
            if (it == index.end()) {
                if (out.size() >= limit) continue;
                RelayAggregate a;
                a.url = o.text(1);
                it = index.emplace(rid, out.size()).first;
                out.push_back(std::move(a));
            }
            auto& a = out[it->second];
            a.uptime_24h = shareOf(o.int64(2), o.int64(3));
            a.uptime_7d = shareOf(o.int64(4), o.int64(5));
        }
        if (rc != SQLITE_DONE) return o.error("read uptime aggregates");
        // Lower median of successful open RTTs per relay, in one windowed pass.
        Stmt m(m_db, "SELECT relay, open_rtt_ms FROM (SELECT relay, open_rtt_ms, "
                     "row_number() OVER (PARTITION BY relay ORDER BY open_rtt_ms) AS rn, "
                     "count(*) OVER (PARTITION BY relay) AS n FROM relay_outcomes "
                     "WHERE at_ms >= ?1 AND at_ms <= ?2 AND ok AND open_rtt_ms >= 0) WHERE rn = (n + 1) / 2");
        if (!m.ok()) return m.error("prepare rtt aggregates");
        m.bind(1, week_ago).bind(2, now_ms);
        while ((rc = m.step()) == SQLITE_ROW) {
            auto it = index.find(m.int64(0));
            if (it != index.end()) out[it->second].median_open_rtt_ms = m.int64(1);
        }
        if (rc != SQLITE_DONE) return m.error("read rtt aggregates");
    } else {
        Stmt id(m_db, "SELECT id FROM relays WHERE url = ?1");
        Stmt h(m_db, (std::string("SELECT ") + kSums + " FROM relay_hourly WHERE relay = ?1 AND hour >= ?2 AND hour <= ?3").c_str());
        Stmt o(m_db, "SELECT at_ms, ok, open_rtt_ms FROM relay_outcomes WHERE relay = ?1 AND at_ms >= ?2 AND at_ms <= ?3 "
                     "ORDER BY at_ms DESC");
        if (!id.ok() || !h.ok() || !o.ok()) return id.error("prepare aggregates");
        std::vector<int64_t> rtts;
        for (const auto& url : urls) {
            if (out.size() >= limit) break;
            id.reset();
            id.bind(1, url);
            rc = id.step();
            if (rc == SQLITE_DONE) continue;
            if (rc != SQLITE_ROW) return id.error("find relay");
            const int64_t rid = id.int64(0);
            if (index.count(rid)) continue;
            RelayAggregate a;
            a.url = url;
            h.reset();
            h.bind(1, rid).bind(2, from_hour).bind(3, now_hour);
            if (h.step() != SQLITE_ROW) return h.error("read aggregates");
            readTraffic(h, 0, a);
            o.reset();
            o.bind(1, rid).bind(2, week_ago).bind(3, now_ms);
            int64_t ok24 = 0, all24 = 0, ok7 = 0, all7 = 0;
            rtts.clear();
            while ((rc = o.step()) == SQLITE_ROW) {
                const bool ok = o.int64(1) != 0;
                const int64_t at = o.int64(0);
                ++all7;
                ok7 += ok;
                if (at >= day_ago) {
                    ++all24;
                    ok24 += ok;
                }
                const int64_t rtt = o.int64(2);
                if (ok && rtt >= 0 && rtts.size() < kMaxRttSamples) rtts.push_back(rtt);
            }
            if (rc != SQLITE_DONE) return o.error("read outcomes");
            a.uptime_24h = shareOf(ok24, all24);
            a.uptime_7d = shareOf(ok7, all7);
            if (!rtts.empty()) {
                const size_t mid = (rtts.size() - 1) / 2;  // lower median, as in the GROUP BY path
                std::nth_element(rtts.begin(), rtts.begin() + ptrdiff_t(mid), rtts.end());
                a.median_open_rtt_ms = rtts[mid];
            }
            index.emplace(rid, out.size());
            out.push_back(std::move(a));
        }
    }
    if (auto c = sp.commit(); !c) return c.error();
    return out;
}

}  // namespace archivist::relays
