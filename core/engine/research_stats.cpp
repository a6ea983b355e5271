#include "core/engine/research_stats.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>
#include <unordered_map>

#include "core/engine/query_types.h"
#include "core/index/index.h"
#include "core/util/clock.h"
#include "core/protocol/hex.h"

namespace archivist::engine {

namespace {

const std::pair<StatsBy, const char*> kNames[] = {
    {StatsBy::Day, "day"},       {StatsBy::Week, "week"},   {StatsBy::Kind, "kind"},
    {StatsBy::Relay, "relay"},   {StatsBy::Author, "author"}, {StatsBy::Delay, "delay"},
    {StatsBy::Replication, "replication"}, {StatsBy::DayKind, "day-kind"},
};

int64_t weekStart(int64_t day) {
    // 1970-01-01 was a Thursday: weeks start on Monday (ISO 8601).
    int64_t m = (day + 3) % 7;
    if (m < 0) m += 7;
    return day - m;
}

bool inKinds(const StatsRequest& r, uint16_t kind) {
    return r.kinds.empty() || std::find(r.kinds.begin(), r.kinds.end(), kind) != r.kinds.end();
}

void keepTop(StatsTable& t, size_t top) {
    // Rows sorted by their first column, largest first (ties: key).
    std::stable_sort(t.rows.begin(), t.rows.end(), [](const StatsTable::Row& a, const StatsTable::Row& b) {
        return a.values[0].value_or(0) > b.values[0].value_or(0);
    });
    if (top && t.rows.size() > top) t.rows.resize(top);
}

std::string jsonEscape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (uint8_t(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::optional<StatsBy> statsByFromName(const std::string& name) {
    for (const auto& [by, n] : kNames)
        if (name == n) return by;
    return std::nullopt;
}

std::string statsByName(StatsBy by) {
    for (const auto& [b, n] : kNames)
        if (b == by) return n;
    return "?";
}

std::pair<std::optional<int64_t>, std::optional<int64_t>> dayRange(const StatsRequest& r) {
    std::optional<int64_t> a, b;
    if (r.since) a = index::dayOf(*r.since);
    if (r.until) b = index::dayOf(*r.until);
    return {a, b};
}

std::string dayName(int64_t day) {
    const std::time_t t = std::time_t(day * 86400);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

StatsTable statsFromRollups(const index::Rollups& r, const StatsRequest& q) {
    StatsTable t;
    for (const auto& k : r.kinds)
        if (inKinds(q, k.kind)) t.events += k.events;
    const bool allKinds = q.kinds.empty();
    const char* basis = q.basis == index::DayBasis::CreatedAt ? "created_at" : "first seen";
    t.notes.push_back(std::string("days are UTC days of each event's ") + basis);
    auto authorsNote = [&] {
        if (allKinds)
            t.notes.push_back("authors: distinct pubkeys, exact up to " + std::to_string(index::AuthorSketch::kSparseMax) +
                              " a day, beyond that a HyperLogLog estimate (≈, standard error 1.6 %)");
        else
            t.notes.push_back("authors are kept for every kind together: not shown with --kinds");
    };
    switch (q.by) {
    case StatsBy::Day:
    case StatsBy::Week: {
        const bool week = q.by == StatsBy::Week;
        t.key = week ? "week" : "day";
        t.columns = {"events", "authors"};
        std::map<int64_t, int64_t> events;
        for (const auto& k : r.kinds)
            if (inKinds(q, k.kind)) events[week ? weekStart(k.day) : k.day] += int64_t(k.events);
        std::map<int64_t, index::AuthorSketch> authors;
        for (const auto& [d, s] : r.authors) authors[week ? weekStart(d) : d].merge(s);
        for (const auto& [d, n] : events) {
            StatsTable::Row row;
            row.key = dayName(d);
            row.day = d;
            row.values.push_back(n);
            if (allKinds && authors.count(d)) {
                const auto& s = authors[d];
                row.values.push_back(int64_t(s.count()));
                row.approximate = !s.exact();
            } else {
                row.values.push_back(std::nullopt);
            }
            t.rows.push_back(std::move(row));
        }
        if (week) t.notes.push_back("weeks start on Monday; a week's authors are distinct over the whole week");
        authorsNote();
        break;
    }
    case StatsBy::Kind: {
        t.key = "kind";
        t.columns = {"events"};
        std::map<uint16_t, int64_t> m;
        for (const auto& k : r.kinds)
            if (inKinds(q, k.kind)) m[k.kind] += int64_t(k.events);
        for (const auto& [kind, n] : m) {
            StatsTable::Row row;
            row.key = std::to_string(kind);
            row.code = kind;
            row.values.push_back(n);
            t.rows.push_back(std::move(row));
        }
        keepTop(t, q.top);
        break;
    }
    case StatsBy::Relay: {
        t.key = "relay";
        t.columns = {"events", "novel", "duplicate"};
        std::map<std::string, std::pair<int64_t, int64_t>> m;
        for (const auto& x : r.relays) {
            auto& v = m[x.source];
            v.first += int64_t(x.events);
            v.second += int64_t(x.novel);
        }
        for (const auto& [src, v] : m) {
            StatsTable::Row row;
            row.key = src;
            row.values = {v.first, v.second, v.first - v.second};
            t.rows.push_back(std::move(row));
        }
        keepTop(t, q.top);
        t.notes.push_back("events: distinct events the source carried; novel: events it was the first to deliver; "
                          "duplicate: the rest");
        break;
    }
    case StatsBy::Delay: {
        t.key = "delay";
        t.columns = {"events"};
        std::map<int, int64_t> m;
        for (const auto& [k, n] : r.delay) m[k.second] += int64_t(n);
        for (const auto& [bin, n] : m) {
            StatsTable::Row row;
            row.key = index::delayBinLabel(bin);
            row.code = bin;
            row.values.push_back(n);
            t.rows.push_back(std::move(row));
        }
        t.notes.push_back("delay = first seen − created_at, in powers of two of seconds; "
                          "\"future\": created_at lies after the first sighting");
        break;
    }
    case StatsBy::Replication: {
        t.key = "sources";
        t.columns = {"events"};
        std::map<int, int64_t> m;
        for (const auto& [k, n] : r.repl) m[k.second] += int64_t(n);
        for (const auto& [n, ev] : m) {
            StatsTable::Row row;
            row.key = std::to_string(n);
            row.code = n;
            row.values.push_back(ev);
            t.rows.push_back(std::move(row));
        }
        t.notes.push_back("events by the number of distinct sources (relays, imports) that carried them");
        break;
    }
    case StatsBy::DayKind: {
        t.key = "day";
        std::map<uint16_t, int64_t> totals;
        for (const auto& k : r.kinds)
            if (inKinds(q, k.kind)) totals[k.kind] += int64_t(k.events);
        std::vector<std::pair<int64_t, uint16_t>> order;
        for (const auto& [kind, n] : totals) order.emplace_back(-n, kind);
        std::sort(order.begin(), order.end());
        const size_t keep = q.top ? std::min(q.top, order.size()) : order.size();
        std::map<uint16_t, size_t> col;
        for (size_t i = 0; i < keep; ++i) {
            col[order[i].second] = i;
            t.columns.push_back("kind " + std::to_string(order[i].second));
        }
        const bool other = keep < order.size();
        if (other) t.columns.push_back("other");
        std::map<int64_t, std::vector<std::optional<int64_t>>> rows;
        for (const auto& k : r.kinds) {
            if (!inKinds(q, k.kind)) continue;
            auto& v = rows[k.day];
            if (v.empty()) v.assign(t.columns.size(), int64_t(0));
            auto it = col.find(k.kind);
            const size_t c = it != col.end() ? it->second : t.columns.size() - 1;
            v[c] = *v[c] + int64_t(k.events);
        }
        for (auto& [d, v] : rows) {
            StatsTable::Row row;
            row.key = dayName(d);
            row.day = d;
            row.values = std::move(v);
            t.rows.push_back(std::move(row));
        }
        break;
    }
    case StatsBy::Author:
        break;  // not from rollups
    }
    return t;
}

namespace {

Expected<StatsTable> authorScan(const std::shared_ptr<index::Index>& idx, const StatsRequest& q,
                                const StatsProgress& progress, const std::atomic<bool>* cancel) {
    constexpr size_t kMaxAuthors = 4'000'000;  // ≈ 250 MB of counts: narrow the range beyond
    std::shared_ptr<index::Index> index = idx;
    while (auto next = index->replacement()) index = next;
    const auto snap = index->snapshot();
    const auto [lo, hi] = dayRange(q);
    const bool created = q.basis == index::DayBasis::CreatedAt;
    const int64_t tlo = lo ? *lo * 86400 : INT64_MIN;
    const int64_t thi = hi ? *hi * 86400 + 86399 : INT64_MAX;
    std::vector<index::FilePtr> files;
    for (const auto& [b, v] : snap->parts)
        if (!created || (index::bucketHi(b) >= tlo && index::bucketLo(b) <= thi)) files.insert(files.end(), v.begin(), v.end());
    files.insert(files.end(), snap->hot.begin(), snap->hot.end());
    std::string sql = "SELECT pubkey, count(*) FROM events WHERE ";
    sql += created ? "created_at BETWEEN ?1 AND ?2" : "first_seen_at BETWEEN ?1 * 1000 AND ?2 * 1000 + 999";
    if (!q.kinds.empty()) {
        sql += " AND kind IN (";
        for (size_t i = 0; i < q.kinds.size(); ++i) sql += (i ? "," : "") + std::to_string(q.kinds[i]);
        sql += ")";
    }
    sql += " GROUP BY pubkey";
    std::unordered_map<std::string, int64_t> counts;
    StatsTable t;
    t.key = "author";
    t.columns = {"events"};
    for (size_t i = 0; i < files.size(); ++i) {
        if (cancel && cancel->load()) return makeError("cancelled", "cancelled");
        if (progress) progress(i, files.size());
        auto db = index::Db::open(files[i]->path, index::Db::Mode::ReadOnly, files[i]->kind == index::FileKind::Part);
        if (!db) return db.error();
        auto st = db->prepare(sql);
        if (!st) return st.error();
        st->bind(1, tlo).bind(2, thi);
        int rc;
        while ((rc = st->step()) == SQLITE_ROW) {
            counts[std::string(st->blob(0))] += st->i64(1);
            t.events += uint64_t(st->i64(1));
            if (counts.size() > kMaxAuthors)
                return makeError("usage", "more than " + std::to_string(kMaxAuthors) +
                                              " distinct authors in range: narrow it with --since/--until or --kinds");
        }
        if (rc != SQLITE_DONE) return db->error("count authors");
    }
    if (progress) progress(files.size(), files.size());
    for (const auto& [pk, n] : counts) {
        StatsTable::Row row;
        row.key = protocol::toHex(reinterpret_cast<const uint8_t*>(pk.data()), pk.size());
        row.values.push_back(n);
        t.rows.push_back(std::move(row));
    }
    std::sort(t.rows.begin(), t.rows.end(), [](const auto& a, const auto& b) {
        return a.values[0] != b.values[0] ? a.values[0].value_or(0) > b.values[0].value_or(0) : a.key < b.key;
    });
    if (q.top && t.rows.size() > q.top) t.rows.resize(q.top);
    t.notes.push_back("authors by events, an exact scan of the range (" + std::to_string(counts.size()) +
                      " distinct authors)");
    return t;
}

}  // namespace

Expected<StatsTable> researchStats(const std::shared_ptr<index::Index>& index, const StatsRequest& q,
                                   const StatsProgress& progress, const std::atomic<bool>* cancel) {
    if (!q.kinds.empty() && (q.by == StatsBy::Relay || q.by == StatsBy::Delay || q.by == StatsBy::Replication))
        return makeError("usage", "--by " + statsByName(q.by) +
                                      " is kept for every kind together; --kinds applies to day, week, kind, author "
                                      "and day-kind");
    if (q.by == StatsBy::Author) return authorScan(index, q, progress, cancel);
    const auto [lo, hi] = dayRange(q);
    auto r = index::readRollups(index, index::RollupQuery{q.basis, lo, hi});
    if (!r) return r.error();
    return statsFromRollups(*r, q);
}

namespace {
StatsRequest rangeOf(const StatisticsRequest& sr) {
    StatsRequest q;
    q.since = sr.since;
    q.until = sr.until;
    q.basis = sr.first_seen_days ? index::DayBasis::FirstSeen : index::DayBasis::CreatedAt;
    return q;
}
}  // namespace

StatisticsResult statisticsFromRollups(const index::Rollups& r, const StatisticsRequest& sr) {
    StatisticsResult out;
    out.request = sr;
    const StatsRequest q = rangeOf(sr);
    auto table = [&](StatsBy by, size_t top) {
        StatsRequest x = q;
        x.by = by;
        x.top = top;
        return statsFromRollups(r, x);
    };
    out.day_kind = table(StatsBy::DayKind, size_t(std::max(1, sr.top_kinds)));
    out.day = table(StatsBy::Day, 0);
    out.kind = table(StatsBy::Kind, 0);
    out.relay = table(StatsBy::Relay, size_t(std::max(1, sr.top_relays)));
    out.delay = table(StatsBy::Delay, 0);
    out.replication = table(StatsBy::Replication, 0);
    out.computed_ms = wallMs();
    return out;
}

StatisticsResult statisticsFor(const std::shared_ptr<index::Index>& index, const StatisticsRequest& sr) {
    const auto t0 = std::chrono::steady_clock::now();
    const StatsRequest q = rangeOf(sr);
    const auto [lo, hi] = dayRange(q);
    auto r = index::readRollups(index, index::RollupQuery{q.basis, lo, hi});
    if (!r) {
        StatisticsResult out;
        out.request = sr;
        out.ok = false;
        out.error = QString::fromStdString(r.error().message);
        return out;
    }
    StatisticsResult out = statisticsFromRollups(*r, sr);
    out.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

std::string statsTableText(const StatsTable& t) {
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> head{t.key};
    head.insert(head.end(), t.columns.begin(), t.columns.end());
    cells.push_back(head);
    for (const auto& row : t.rows) {
        std::vector<std::string> c{row.key};
        for (size_t i = 0; i < row.values.size(); ++i) {
            const auto& v = row.values[i];
            std::string s = v ? std::to_string(*v) : "-";
            if (v && row.approximate && t.columns[i] == "authors") s = "≈" + s;
            c.push_back(s);
        }
        cells.push_back(std::move(c));
    }
    std::vector<size_t> width(head.size(), 0);
    auto len = [](const std::string& s) {  // display width: UTF-8 continuation bytes do not count
        size_t n = 0;
        for (char ch : s) n += (uint8_t(ch) & 0xc0) != 0x80;
        return n;
    };
    for (const auto& c : cells)
        for (size_t i = 0; i < c.size() && i < width.size(); ++i) width[i] = std::max(width[i], len(c[i]));
    std::string out;
    for (const auto& c : cells) {
        for (size_t i = 0; i < c.size(); ++i) {
            const size_t pad = width[i] - len(c[i]);
            if (i == 0) out += c[i] + std::string(pad, ' ');
            else out += "  " + std::string(pad, ' ') + c[i];
        }
        out += '\n';
    }
    for (const auto& n : t.notes) out += "# " + n + '\n';
    return out;
}

std::string statsTableCsv(const StatsTable& t) {
    const bool approx = std::find(t.columns.begin(), t.columns.end(), "authors") != t.columns.end();
    std::string out = csvField(t.key);
    for (const auto& c : t.columns) out += "," + csvField(c);
    if (approx) out += ",authors_approximate";
    out += '\n';
    for (const auto& row : t.rows) {
        out += csvField(row.key);
        for (const auto& v : row.values) out += "," + (v ? std::to_string(*v) : std::string());
        if (approx) out += row.approximate ? ",1" : ",0";
        out += '\n';
    }
    return out;
}

std::string statsTableJson(const StatsTable& t, const StatsRequest& q) {
    const auto [lo, hi] = dayRange(q);
    std::string out = "{\"by\":\"" + statsByName(q.by) + "\",\"basis\":\"" +
                      (q.basis == index::DayBasis::CreatedAt ? "created_at" : "first_seen") + "\"";
    out += ",\"since\":" + (lo ? "\"" + dayName(*lo) + "\"" : std::string("null"));
    out += ",\"until\":" + (hi ? "\"" + dayName(*hi) + "\"" : std::string("null"));
    out += ",\"kinds\":[";
    for (size_t i = 0; i < q.kinds.size(); ++i) out += (i ? "," : "") + std::to_string(q.kinds[i]);
    out += "],\"events\":" + std::to_string(t.events) + ",\"rows\":[";
    for (size_t r = 0; r < t.rows.size(); ++r) {
        const auto& row = t.rows[r];
        out += r ? ",{" : "{";
        out += "\"" + jsonEscape(t.key) + "\":\"" + jsonEscape(row.key) + "\"";
        for (size_t i = 0; i < row.values.size() && i < t.columns.size(); ++i)
            out += ",\"" + jsonEscape(t.columns[i]) + "\":" + (row.values[i] ? std::to_string(*row.values[i]) : "null");
        if (std::find(t.columns.begin(), t.columns.end(), "authors") != t.columns.end())
            out += std::string(",\"authors_approximate\":") + (row.approximate ? "true" : "false");
        out += "}";
    }
    out += "],\"notes\":[";
    for (size_t i = 0; i < t.notes.size(); ++i) out += (i ? ",\"" : "\"") + jsonEscape(t.notes[i]) + "\"";
    out += "]}";
    return out;
}

}  // namespace archivist::engine
