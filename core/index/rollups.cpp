#include "core/index/rollups.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <set>

#include "core/index/index.h"

namespace archivist::index {

int delayBin(int64_t d) {
    if (d > -1 && d < 1) return 0;
    const uint64_t a = d < 0 ? uint64_t(-(d + 1)) + 1 : uint64_t(d);
    const int k = 64 - std::countl_zero(a);  // 1 + floor(log2 a)
    return d < 0 ? -k : k;
}

std::pair<int64_t, int64_t> delayBinRange(int bin) {
    const int k = bin < 0 ? -bin : bin;
    if (k == 0) return {0, 1};
    const int64_t lo = int64_t(1) << (k - 1);
    const int64_t hi = k >= 63 ? INT64_MAX : (int64_t(1) << k);
    return {lo, hi};
}

namespace {
std::string human(int64_t s) {
    struct Unit {
        int64_t secs;
        const char* name;
    };
    static const Unit units[] = {{365 * 86400, "y"}, {86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
    for (const auto& u : units)
        if (s >= u.secs) {
            const double v = double(s) / double(u.secs);
            char buf[32];
            std::snprintf(buf, sizeof buf, v >= 10 || v == std::floor(v) ? "%.0f %s" : "%.1f %s", v, u.name);
            return buf;
        }
    return "0 s";
}
}  // namespace

std::string delayBinLabel(int bin) {
    if (bin == 0) return "<1 s";
    const auto [lo, hi] = delayBinRange(bin);
    return std::string(bin < 0 ? "future " : "") + human(lo) + ".." + human(hi);
}

// ---------------------------------------------------------------------------------------------

uint64_t AuthorSketch::hashOf(const protocol::Bytes32& pubkey) {
    // splitmix64 over the four words: a pubkey is not chosen to collide with another one's sketch
    // slot in any way that matters for a count.
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 4; ++i) {
        uint64_t w;
        std::memcpy(&w, pubkey.data() + 8 * i, 8);
        h ^= w;
        h += 0x9e3779b97f4a7c15ull;
        h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
        h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
        h ^= h >> 31;
    }
    return h;
}

void AuthorSketch::addDense(uint64_t hash) {
    const size_t idx = size_t(hash >> (64 - kP));
    const uint64_t w = hash << kP;
    const uint8_t rank = uint8_t(w == 0 ? 64 - kP + 1 : std::countl_zero(w) + 1);
    if (rank > m_dense[idx]) m_dense[idx] = rank;
}

void AuthorSketch::densify() {
    m_dense.assign(kRegisters, 0);
    for (uint64_t h : m_sparse) addDense(h);
    std::vector<uint64_t>().swap(m_sparse);
}

void AuthorSketch::add(uint64_t hash) {
    if (!m_dense.empty()) return addDense(hash);
    auto it = std::lower_bound(m_sparse.begin(), m_sparse.end(), hash);
    if (it != m_sparse.end() && *it == hash) return;
    m_sparse.insert(it, hash);
    if (m_sparse.size() > kSparseMax) densify();
}

void AuthorSketch::merge(const AuthorSketch& o) {
    if (o.m_dense.empty()) {
        if (m_dense.empty()) {
            std::vector<uint64_t> out;
            out.reserve(m_sparse.size() + o.m_sparse.size());
            std::set_union(m_sparse.begin(), m_sparse.end(), o.m_sparse.begin(), o.m_sparse.end(), std::back_inserter(out));
            m_sparse = std::move(out);
            if (m_sparse.size() > kSparseMax) densify();
        } else {
            for (uint64_t h : o.m_sparse) addDense(h);
        }
        return;
    }
    if (m_dense.empty()) densify();
    for (size_t i = 0; i < kRegisters; ++i) m_dense[i] = std::max(m_dense[i], o.m_dense[i]);
}

uint64_t AuthorSketch::count() const {
    if (m_dense.empty()) return m_sparse.size();
    const double m = double(kRegisters);
    double sum = 0;
    size_t zeros = 0;
    for (uint8_t r : m_dense) {
        sum += std::ldexp(1.0, -int(r));
        if (r == 0) ++zeros;
    }
    const double alpha = 0.7213 / (1.0 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * std::log(m / double(zeros));
    return uint64_t(std::llround(e));
}

std::string AuthorSketch::serialize() const {
    // 'S' + little-endian hashes, or 'D' + registers.
    std::string out;
    if (m_dense.empty()) {
        out.resize(1 + 8 * m_sparse.size());
        out[0] = 'S';
        if (!m_sparse.empty()) std::memcpy(out.data() + 1, m_sparse.data(), 8 * m_sparse.size());
    } else {
        out.resize(1 + kRegisters);
        out[0] = 'D';
        std::memcpy(out.data() + 1, m_dense.data(), kRegisters);
    }
    return out;
}

AuthorSketch AuthorSketch::deserialize(std::string_view b) {
    AuthorSketch s;
    if (b.size() == 1 + kRegisters && b[0] == 'D') {
        s.m_dense.assign(reinterpret_cast<const uint8_t*>(b.data()) + 1,
                         reinterpret_cast<const uint8_t*>(b.data()) + 1 + kRegisters);
    } else if (!b.empty() && b[0] == 'S' && (b.size() - 1) % 8 == 0) {
        s.m_sparse.resize((b.size() - 1) / 8);
        if (!s.m_sparse.empty()) std::memcpy(s.m_sparse.data(), b.data() + 1, b.size() - 1);
    }
    return s;
}

// ---------------------------------------------------------------------------------------------

void RollupDelta::addEvent(uint16_t k, const protocol::Bytes32& pubkey, int64_t created_at, int64_t first_seen_ms,
                           const std::vector<uint32_t>& sources) {
    const int64_t days[2] = {dayOf(created_at), dayOfMs(first_seen_ms)};
    const int bin = delayBin((first_seen_ms >= 0 ? first_seen_ms / 1000 : -((-first_seen_ms + 999) / 1000)) - created_at);
    const uint64_t h = AuthorSketch::hashOf(pubkey);
    for (int b = 0; b < 2; ++b) {
        ++kind[{b, days[b], int(k)}];
        authors[{b, days[b]}].add(h);
        ++delay[{b, days[b], bin}];
        ++repl[{b, days[b], int(sources.size())}];
        for (size_t i = 0; i < sources.size(); ++i) {
            auto& r = relay[{b, days[b], sources[i]}];
            ++r.first;
            if (i == 0) ++r.second;
        }
    }
}

void RollupDelta::addSource(int64_t created_at, int64_t first_seen_ms, uint32_t source, uint32_t had) {
    const int64_t days[2] = {dayOf(created_at), dayOfMs(first_seen_ms)};
    for (int b = 0; b < 2; ++b) {
        --repl[{b, days[b], int(had)}];
        ++repl[{b, days[b], int(had + 1)}];
        auto& r = relay[{b, days[b], source}];
        ++r.first;
        if (had == 0) ++r.second;  // its first source: novel
    }
}

void RollupDelta::merge(const RollupDelta& o) {
    for (const auto& [k, v] : o.kind) kind[k] += v;
    for (const auto& [k, v] : o.relay) {
        auto& r = relay[k];
        r.first += v.first;
        r.second += v.second;
    }
    for (const auto& [k, v] : o.authors) authors[k].merge(v);
    for (const auto& [k, v] : o.delay) delay[k] += v;
    for (const auto& [k, v] : o.repl) repl[k] += v;
}

Expected<void> applyRollupDelta(Db& db, const RollupDelta& d) {
    if (d.empty()) return {};
    auto run = [&](const char* sql, auto&& rows, auto&& bindRow) -> Expected<void> {
        if (rows.empty()) return {};
        auto st = db.prepare(sql, true);
        if (!st) return st.error();
        for (const auto& row : rows) {
            StmtReset reset(*st);
            bindRow(*st, row);
            if (st->step() != SQLITE_DONE) return db.error("rollups");
        }
        return {};
    };
    if (auto r = run("INSERT INTO r_kind(basis, day, kind, events) VALUES (?,?,?,?) "
                     "ON CONFLICT(basis, day, kind) DO UPDATE SET events = events + excluded.events",
                     d.kind,
                     [](Stmt& st, const auto& row) {
                         st.bind(1, std::get<0>(row.first)).bind(2, std::get<1>(row.first)).bind(3, std::get<2>(row.first))
                             .bind(4, row.second);
                     });
        !r)
        return r;
    if (auto r = run("INSERT INTO r_relay(basis, day, source, events, novel) VALUES (?,?,?,?,?) "
                     "ON CONFLICT(basis, day, source) DO UPDATE SET events = events + excluded.events, "
                     "novel = novel + excluded.novel",
                     d.relay,
                     [](Stmt& st, const auto& row) {
                         st.bind(1, std::get<0>(row.first)).bind(2, std::get<1>(row.first))
                             .bind(3, int64_t(std::get<2>(row.first))).bind(4, row.second.first).bind(5, row.second.second);
                     });
        !r)
        return r;
    for (auto [sql, map] : {std::pair{"INSERT INTO r_delay(basis, day, bin, events) VALUES (?,?,?,?) "
                                      "ON CONFLICT(basis, day, bin) DO UPDATE SET events = events + excluded.events",
                                      &d.delay},
                            std::pair{"INSERT INTO r_repl(basis, day, n, events) VALUES (?,?,?,?) "
                                      "ON CONFLICT(basis, day, n) DO UPDATE SET events = events + excluded.events",
                                      &d.repl}})
        if (auto r = run(sql, *map,
                         [](Stmt& st, const auto& row) {
                             st.bind(1, std::get<0>(row.first)).bind(2, std::get<1>(row.first))
                                 .bind(3, std::get<2>(row.first)).bind(4, row.second);
                         });
            !r)
            return r;
    if (!d.authors.empty()) {
        auto get = db.prepare("SELECT sketch FROM r_authors WHERE basis = ? AND day = ?", true);
        auto put = db.prepare("INSERT OR REPLACE INTO r_authors(basis, day, sketch) VALUES (?,?,?)", true);
        if (!get) return get.error();
        if (!put) return put.error();
        for (const auto& [key, sketch] : d.authors) {
            AuthorSketch s;
            {
                StmtReset reset(*get);
                get->bind(1, key.first).bind(2, key.second);
                const int rc = get->step();
                if (rc == SQLITE_ROW) s = AuthorSketch::deserialize(get->blob(0));
                else if (rc != SQLITE_DONE) return db.error("rollups: read authors");
            }
            s.merge(sketch);
            const std::string blob = s.serialize();
            StmtReset reset(*put);
            put->bind(1, key.first).bind(2, key.second).bindBlob(3, blob.data(), int(blob.size()));
            if (put->step() != SQLITE_DONE) return db.error("rollups: write authors");
        }
    }
    return {};
}

namespace {

void putVarint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(char(uint8_t(v) | 0x80));
        v >>= 7;
    }
    out.push_back(char(v));
}
void putSigned(std::string& out, int64_t v) { putVarint(out, (uint64_t(v) << 1) ^ uint64_t(v >> 63)); }

struct LogReader {
    std::string_view in;
    bool ok = true;
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (in.empty()) break;
            const uint8_t b = uint8_t(in.front());
            in.remove_prefix(1);
            v |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        ok = false;
        return 0;
    }
    int64_t sint() {
        const uint64_t v = varint();
        return int64_t(v >> 1) ^ -int64_t(v & 1);
    }
    std::string_view bytes(uint64_t n) {
        if (n > in.size()) {
            ok = false;
            return {};
        }
        const std::string_view b = in.substr(0, size_t(n));
        in.remove_prefix(size_t(n));
        return b;
    }
};

// Calls fn(delta) for every r_log row of `db` (none when the file has no r_log: written before it).
template <typename Fn>
Expected<void> forEachLogged(Db& db, Fn&& fn) {
    auto has = db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'r_log'");
    if (!has) return has.error();
    if (!has->value_or(0)) return {};
    auto st = db.prepare("SELECT delta FROM r_log ORDER BY n");
    if (!st) return st.error();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        auto d = deserializeRollupDelta(st->blob(0));
        if (!d) return d.error();
        fn(*d);
    }
    if (rc != SQLITE_DONE) return db.error("read the rollup log");
    return {};
}

}  // namespace

std::string serializeRollupDelta(const RollupDelta& d) {
    std::string out = "RL";
    out.push_back(char(1));
    out.reserve(16 + 8 * d.rows());
    auto key = [&](int basis, int64_t day) {
        out.push_back(char(basis));
        putSigned(out, day);
    };
    putVarint(out, d.kind.size());
    for (const auto& [k, v] : d.kind) {
        key(std::get<0>(k), std::get<1>(k));
        putSigned(out, std::get<2>(k));
        putSigned(out, v);
    }
    putVarint(out, d.relay.size());
    for (const auto& [k, v] : d.relay) {
        key(std::get<0>(k), std::get<1>(k));
        putVarint(out, std::get<2>(k));
        putSigned(out, v.first);
        putSigned(out, v.second);
    }
    putVarint(out, d.authors.size());
    for (const auto& [k, v] : d.authors) {
        key(k.first, k.second);
        const std::string sketch = v.serialize();
        putVarint(out, sketch.size());
        out += sketch;
    }
    for (const auto* map : {&d.delay, &d.repl}) {
        putVarint(out, map->size());
        for (const auto& [k, v] : *map) {
            key(std::get<0>(k), std::get<1>(k));
            putSigned(out, std::get<2>(k));
            putSigned(out, v);
        }
    }
    return out;
}

Expected<RollupDelta> deserializeRollupDelta(std::string_view blob) {
    auto bad = [] { return makeError("index_corrupt", "a hot file's rollup log holds a malformed delta"); };
    if (blob.size() < 3 || blob.substr(0, 2) != "RL" || blob[2] != char(1)) return bad();
    LogReader r{blob.substr(3)};
    RollupDelta d;
    auto basis = [&] {
        const std::string_view b = r.bytes(1);
        const int v = b.empty() ? -1 : int(uint8_t(b[0]));
        if (v != 0 && v != 1) r.ok = false;
        return v;
    };
    // A count is at most the bytes left (every entry takes more than one): no huge loop on garbage.
    auto count = [&] {
        const uint64_t n = r.varint();
        if (n > r.in.size()) r.ok = false;
        return r.ok ? n : 0;
    };
    for (uint64_t i = 0, n = count(); i < n && r.ok; ++i) {
        const int b = basis();
        const int64_t day = r.sint();
        const int64_t k = r.sint();
        d.kind[{b, day, int(k)}] += r.sint();
    }
    for (uint64_t i = 0, n = count(); i < n && r.ok; ++i) {
        const int b = basis();
        const int64_t day = r.sint();
        const uint32_t source = uint32_t(r.varint());
        auto& v = d.relay[{b, day, source}];
        v.first += r.sint();
        v.second += r.sint();
    }
    for (uint64_t i = 0, n = count(); i < n && r.ok; ++i) {
        const int b = basis();
        const int64_t day = r.sint();
        const std::string_view sketch = r.bytes(r.varint());
        if (r.ok) d.authors[{b, day}].merge(AuthorSketch::deserialize(sketch));
    }
    for (auto* map : {&d.delay, &d.repl})
        for (uint64_t i = 0, n = count(); i < n && r.ok; ++i) {
            const int b = basis();
            const int64_t day = r.sint();
            const int64_t k = r.sint();
            (*map)[{b, day, int(k)}] += r.sint();
        }
    if (!r.ok || !r.in.empty()) return bad();
    return d;
}

Expected<void> appendRollupLog(Db& db, const RollupDelta& d) {
    if (d.empty()) return {};
    auto st = db.prepare("INSERT INTO r_log(delta) VALUES (?)", true);
    if (!st) return st.error();
    const std::string blob = serializeRollupDelta(d);
    StmtReset reset(*st);
    st->bindBlob(1, blob.data(), int(blob.size()));
    if (st->step() != SQLITE_DONE) return db.error("rollup log");
    return {};
}

Expected<RollupDelta> readRollupDelta(Db& db) {
    RollupDelta d;
    auto each = [&](const char* sql, auto&& fn) -> Expected<void> {
        auto st = db.prepare(sql);
        if (!st) return st.error();
        int rc;
        while ((rc = st->step()) == SQLITE_ROW) fn(*st);
        if (rc != SQLITE_DONE) return db.error("read rollups");
        return {};
    };
    if (auto r = each("SELECT basis, day, kind, events FROM r_kind",
                      [&](Stmt& s) { d.kind[{int(s.i64(0)), s.i64(1), int(s.i64(2))}] += s.i64(3); });
        !r)
        return r.error();
    if (auto r = each("SELECT basis, day, source, events, novel FROM r_relay",
                      [&](Stmt& s) {
                          auto& v = d.relay[{int(s.i64(0)), s.i64(1), uint32_t(s.i64(2))}];
                          v.first += s.i64(3);
                          v.second += s.i64(4);
                      });
        !r)
        return r.error();
    if (auto r = each("SELECT basis, day, sketch FROM r_authors",
                      [&](Stmt& s) { d.authors[{int(s.i64(0)), s.i64(1)}].merge(AuthorSketch::deserialize(s.blob(2))); });
        !r)
        return r.error();
    if (auto r = each("SELECT basis, day, bin, events FROM r_delay",
                      [&](Stmt& s) { d.delay[{int(s.i64(0)), s.i64(1), int(s.i64(2))}] += s.i64(3); });
        !r)
        return r.error();
    if (auto r = each("SELECT basis, day, n, events FROM r_repl",
                      [&](Stmt& s) { d.repl[{int(s.i64(0)), s.i64(1), int(s.i64(2))}] += s.i64(3); });
        !r)
        return r.error();
    if (auto r = forEachLogged(db, [&](const RollupDelta& logged) { d.merge(logged); }); !r) return r.error();
    return d;
}

// ---------------------------------------------------------------------------------------------

namespace {

// Reads the rows of `q`'s range from one database into the accumulators.
struct Acc {
    std::map<std::pair<int64_t, uint16_t>, int64_t> kinds;
    std::map<std::pair<int64_t, uint32_t>, std::pair<int64_t, int64_t>> relays;
    std::map<int64_t, AuthorSketch> authors;
    std::map<std::pair<int64_t, int>, int64_t> delay, repl;
};

Expected<void> readRange(Db& db, const RollupQuery& q, Acc& a) {
    const std::string where = " WHERE basis = ? AND day BETWEEN ? AND ?";
    auto each = [&](const std::string& sql, auto&& fn) -> Expected<void> {
        auto st = db.prepare(sql);
        if (!st) return st.error();
        st->bind(1, int64_t(q.basis)).bind(2, q.since_day.value_or(INT64_MIN)).bind(3, q.until_day.value_or(INT64_MAX));
        int rc;
        while ((rc = st->step()) == SQLITE_ROW) fn(*st);
        if (rc != SQLITE_DONE) return db.error("read rollups");
        return {};
    };
    if (auto r = each("SELECT day, kind, events FROM r_kind" + where,
                      [&](Stmt& s) { a.kinds[{s.i64(0), uint16_t(s.i64(1))}] += s.i64(2); });
        !r)
        return r;
    if (auto r = each("SELECT day, source, events, novel FROM r_relay" + where,
                      [&](Stmt& s) {
                          auto& v = a.relays[{s.i64(0), uint32_t(s.i64(1))}];
                          v.first += s.i64(2);
                          v.second += s.i64(3);
                      });
        !r)
        return r;
    if (auto r = each("SELECT day, sketch FROM r_authors" + where,
                      [&](Stmt& s) { a.authors[s.i64(0)].merge(AuthorSketch::deserialize(s.blob(1))); });
        !r)
        return r;
    if (auto r = each("SELECT day, bin, events FROM r_delay" + where,
                      [&](Stmt& s) { a.delay[{s.i64(0), int(s.i64(1))}] += s.i64(2); });
        !r)
        return r;
    if (auto r = each("SELECT day, n, events FROM r_repl" + where,
                      [&](Stmt& s) { a.repl[{s.i64(0), int(s.i64(1))}] += s.i64(2); });
        !r)
        return r;
    // A hot file's log (the catalog has none).
    const int basis = int(q.basis);
    const int64_t lo = q.since_day.value_or(INT64_MIN), hi = q.until_day.value_or(INT64_MAX);
    auto in = [&](int b, int64_t day) { return b == basis && day >= lo && day <= hi; };
    return forEachLogged(db, [&](const RollupDelta& d) {
        for (const auto& [k, v] : d.kind)
            if (in(std::get<0>(k), std::get<1>(k))) a.kinds[{std::get<1>(k), uint16_t(std::get<2>(k))}] += v;
        for (const auto& [k, v] : d.relay)
            if (in(std::get<0>(k), std::get<1>(k))) {
                auto& x = a.relays[{std::get<1>(k), std::get<2>(k)}];
                x.first += v.first;
                x.second += v.second;
            }
        for (const auto& [k, v] : d.authors)
            if (in(k.first, k.second)) a.authors[k.second].merge(v);
        for (const auto& [k, v] : d.delay)
            if (in(std::get<0>(k), std::get<1>(k))) a.delay[{std::get<1>(k), std::get<2>(k)}] += v;
        for (const auto& [k, v] : d.repl)
            if (in(std::get<0>(k), std::get<1>(k))) a.repl[{std::get<1>(k), std::get<2>(k)}] += v;
    });
}

}  // namespace

Expected<Rollups> readRollups(const std::shared_ptr<Index>& index_in, const RollupQuery& q) {
    std::shared_ptr<Index> index = index_in;
    while (auto next = index->replacement()) index = next;
    // The snapshot first: its hot files stay on disk, and a hot file the catalog (read after)
    // has folded counts once, from the catalog.
    const SnapshotPtr snap = index->snapshot();
    auto cat = Db::open(index->dir() / "catalog.sqlite", Db::Mode::ReadOnly);
    if (!cat) return cat.error();
    if (auto r = cat->exec("BEGIN"); !r) return r.error();
    auto version = cat->scalar("SELECT value FROM meta WHERE key = 'rollups'");
    if (!version) return version.error();
    if (version->value_or(0) < kRollupVersion)
        return makeError("rollups_missing",
                         "this index was built before statistics were kept: run `archivist reindex` to build them");
    Acc a;
    if (auto r = readRange(*cat, q, a); !r) return r.error();
    std::set<int64_t> unfolded;
    {
        auto st = cat->prepare("SELECT id FROM files WHERE kind = 'hot' AND state IN ('active','frozen')");
        if (!st) return st.error();
        while (st->step() == SQLITE_ROW) unfolded.insert(st->i64(0));
    }
    std::map<uint32_t, std::string> names;
    {
        auto st = cat->prepare("SELECT id, name FROM sources");
        if (!st) return st.error();
        while (st->step() == SQLITE_ROW) names[uint32_t(st->i64(0))] = std::string(st->text(1));
    }
    warnIfFailed(cat->exec("COMMIT"), "end of the rollups' read transaction");
    for (const FilePtr& f : snap->hot) {
        if (!unfolded.count(f->id)) continue;
        auto db = Db::open(f->path, Db::Mode::ReadOnly);
        if (!db) return db.error();
        if (auto r = readRange(*db, q, a); !r) return r.error();
    }
    Rollups out;
    for (const auto& [k, v] : a.kinds)
        if (v) out.kinds.push_back({k.first, k.second, uint64_t(v)});
    for (const auto& [k, v] : a.relays) {
        if (!v.first) continue;
        auto it = names.find(k.second);
        out.relays.push_back({k.first, it != names.end() ? it->second : "source " + std::to_string(k.second),
                              uint64_t(v.first), uint64_t(v.second)});
    }
    for (auto& [d, s] : a.authors)
        if (!s.empty()) out.authors.emplace(d, std::move(s));
    for (const auto& [k, v] : a.delay)
        if (v) out.delay[k] = uint64_t(v);
    for (const auto& [k, v] : a.repl)
        if (v) out.repl[k] = uint64_t(v);
    return out;
}

}  // namespace archivist::index
