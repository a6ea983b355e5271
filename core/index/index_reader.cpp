#include "core/index/index_reader.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <set>

#include "core/index/fts.h"
#include "core/index/lookup.h"
#include "core/index/schema.h"
#include "core/index/tag_key.h"

namespace archivist::index {

namespace fs = std::filesystem;

namespace {

// Rows the full-text walk may resolve before it considers the other conditions too selective
// for it and walks their rows instead.
constexpr uint64_t kFtsBudget = 4096;
constexpr size_t kFtsBatch = 256;

EventRow readRow(const Stmt& st) {
    EventRow r;
    r.rowid = st.i64(0);
    if (auto b = st.blob(1); b.size() == 32) std::memcpy(r.id.data(), b.data(), 32);
    if (auto b = st.blob(2); b.size() == 32) std::memcpy(r.pubkey.data(), b.data(), 32);
    r.kind = uint16_t(st.i64(3));
    r.created_at = st.i64(4);
    r.first_seen_at_ms = st.i64(5);
    r.flags = uint32_t(st.i64(6));
    r.frame.segment = uint32_t(st.i64(7));
    r.frame.offset = uint64_t(st.i64(8));
    r.frame.length = uint32_t(st.i64(9));
    r.line = uint32_t(st.i64(10));
    return r;
}

struct Bind {
    enum { Int, Blob } type;
    int64_t i = 0;
    std::string s;
};

void bindAll(Stmt& st, const std::vector<Bind>& binds, int first = 1) {
    int i = first;
    for (const auto& b : binds) {
        if (b.type == Bind::Int) sqlite3_bind_int64(st.get(), i, b.i);
        else sqlite3_bind_blob(st.get(), i, b.s.data(), int(b.s.size()), SQLITE_TRANSIENT);
        ++i;
    }
}

// One filter's conditions other than `search` (and other than the `#skip_tag` condition, when the
// rows are read through it), over `events e`.
std::string conditions(const protocol::Filter& f, std::vector<Bind>& binds, char skip_tag = 0) {
    std::string conds = "1";
    auto inList = [&](const char* column, const std::vector<protocol::Bytes32>& list) {
        conds += std::string(" AND ") + column + " IN (";
        for (size_t i = 0; i < list.size(); ++i) {
            conds += i ? ",?" : "?";
            binds.push_back({Bind::Blob, 0, std::string(reinterpret_cast<const char*>(list[i].data()), 32)});
        }
        conds += ")";
    };
    if (!f.ids.empty()) inList("e.id", f.ids);
    if (!f.authors.empty()) inList("e.pubkey", f.authors);
    if (!f.kinds.empty()) {
        conds += " AND e.kind IN (";
        for (size_t i = 0; i < f.kinds.size(); ++i) {
            conds += i ? ",?" : "?";
            binds.push_back({Bind::Int, f.kinds[i], {}});
        }
        conds += ")";
    }
    if (f.since) {
        conds += " AND e.created_at >= ?";
        binds.push_back({Bind::Int, *f.since, {}});
    }
    if (f.until) {
        conds += " AND e.created_at <= ?";
        binds.push_back({Bind::Int, *f.until, {}});
    }
    for (const auto& [name, values] : f.tags) {
        if (name == skip_tag) continue;
        conds += " AND e.rk IN (SELECT rk FROM tags WHERE key IN (";
        size_t bound = 0;
        for (const auto& value : values) {
            if (value.size() > kMaxTagValueBytes) continue;
            conds += bound++ ? ",?" : "?";
            binds.push_back({Bind::Int, tagKey(name, value), {}});
        }
        if (!bound) conds += "NULL";
        conds += "))";
    }
    return conds;
}

bool hasSearch(const protocol::Filter& f) {
    return f.search && f.search->find_first_not_of(" \t\r\n\f\v") != std::string::npos;
}

struct Key {
    int64_t created_at;
    protocol::Bytes32 id;
};

// True when a comes before b in `order`.
bool before(const Key& a, const Key& b, Order order) {
    if (a.created_at != b.created_at)
        return order == Order::NewestFirst ? a.created_at > b.created_at : a.created_at < b.created_at;
    return a.id < b.id;
}

Key keyOf(const EventRow& r) { return Key{r.created_at, r.id}; }

bool sameKey(const Key& a, const Key& b) { return a.created_at == b.created_at && a.id == b.id; }

}  // namespace

// ---------------------------------------------------------------------------------------------

class IndexReader::Impl {
public:
    explicit Impl(std::shared_ptr<Index> idx) : index(std::move(idx)), conns(index->options().query_connections, kQueryCacheKib) {}
    static constexpr int kQueryCacheKib = 128;

    std::shared_ptr<Index> index;
    SnapshotPtr snap;
    FileConnections conns;
    Db catalog;
    std::vector<Db> fts;  // per lane, lazily
    std::map<Bucket, std::vector<FilePtr>> hotByBucket;  // per call

    std::mutex imu;
    bool running = false;
    bool interruptFlag = false;
    sqlite3* current = nullptr;  // the connection a statement runs on now (for interrupt())

    // ---- per call ----
    Expected<void> begin() {
        {
            std::lock_guard lock(imu);
            running = true;
            interruptFlag = false;
        }
        while (auto next = index->replacement()) {
            // A rebuild replaced the index: continue on the new one.
            index = std::move(next);
            snap.reset();
            conns.clear();
            fts.clear();
            catalog.close();
        }
        auto s = index->snapshot();
        if (!snap || s->version != snap->version) {
            snap = s;
            conns.retain(*snap);
            if (fts.size() != snap->fts_files.size()) fts.clear();
        }
        conns.beginPass();
        hotByBucket.clear();
        for (const auto& f : snap->hot) {
            auto c = conns.get(f);
            if (!c) return c.error();
            auto st = (*c)->stmt("SELECT bucket FROM buckets");
            if (!st) return st.error();
            int rc;
            while ((rc = (*st)->step()) == SQLITE_ROW) hotByBucket[Bucket((*st)->i64(0))].push_back(f);
            (*st)->reset();
            if (rc != SQLITE_DONE) return (*c)->db.error("read hot buckets");
        }
        return {};
    }
    void end() {
        std::lock_guard lock(imu);
        running = false;
        interruptFlag = false;
        current = nullptr;
    }
    // Marks `db` as running a statement (nullptr: none). False when the call was interrupted.
    bool setCurrent(sqlite3* db) {
        std::lock_guard lock(imu);
        current = db;
        return !interruptFlag;
    }
    bool interrupted() {
        std::lock_guard lock(imu);
        return interruptFlag;
    }
    Error interruptedError() const { return makeError("interrupted", "the query was interrupted"); }
    void interrupt() {
        std::lock_guard lock(imu);
        if (!running) return;
        interruptFlag = true;
        // The connection in use stays open while it is `current` (only this reader's thread
        // closes connections, and not while a statement runs).
        if (current) sqlite3_interrupt(current);
    }

    Expected<Db*> catalogDb() {
        if (!catalog) {
            auto db = Db::open(index->dir() / "catalog.sqlite", Db::Mode::ReadOnly);
            if (!db) return db.error();
            catalog = std::move(*db);
        }
        return &catalog;
    }
    Expected<Db*> ftsDb(uint32_t lane) {
        if (snap->fts_files.empty())
            return makeError("fts_off", "full-text search is turned off for this index "
                                        "(enable it with the fts option; the index backfills from the archive)");
        if (fts.size() != snap->fts_files.size()) fts.resize(snap->fts_files.size());
        if (!fts[lane]) {
            auto db = Db::open(snap->fts_files[lane], Db::Mode::ReadOnly);
            if (!db) return db.error();
            if (auto r = registerTokenizer(db->get()); !r) return r.error();
            fts[lane] = std::move(*db);
        }
        return &fts[lane];
    }

    // Candidate buckets for [lo, hi] created_at, in `order`.
    std::vector<Bucket> buckets(int64_t lo, int64_t hi, Order order) const {
        std::set<Bucket> set;
        const Bucket blo = bucketOf(std::max<int64_t>(0, lo)), bhi = bucketOf(std::max<int64_t>(0, hi));
        for (const auto& [b, v] : snap->parts)
            if (b >= blo && b <= bhi) set.insert(b);
        for (const auto& [b, v] : hotByBucket)
            if (b >= blo && b <= bhi) set.insert(b);
        std::vector<Bucket> out(set.begin(), set.end());
        if (order == Order::NewestFirst) std::reverse(out.begin(), out.end());
        return out;
    }
    std::vector<FilePtr> filesOf(Bucket b) const {
        std::vector<FilePtr> out;
        if (auto it = snap->parts.find(b); it != snap->parts.end()) out = it->second;
        if (auto it = hotByBucket.find(b); it != hotByBucket.end()) out.insert(out.end(), it->second.begin(), it->second.end());
        return out;
    }

    // Runs `sql` (binds) on `file`, calling fn(stmt) per row; false from fn stops.
    template <typename Fn>
    Expected<void> run(const FilePtr& file, const std::string& sql, const std::vector<Bind>& binds, Fn&& fn) {
        if (interrupted()) return interruptedError();
        auto c = conns.get(file);
        if (!c) return c.error();
        auto st = (*c)->stmt(sql);
        if (!st) return st.error();
        bindAll(**st, binds);
        if (!setCurrent((*c)->db.get())) return interruptedError();
        int rc;
        while ((rc = (*st)->step()) == SQLITE_ROW)
            if (!fn(**st)) {
                rc = SQLITE_DONE;
                break;
            }
        setCurrent(nullptr);
        (*st)->reset();
        if (rc != SQLITE_DONE) {
            if ((rc & 0xff) == SQLITE_INTERRUPT || interrupted()) return interruptedError();
            return (*c)->db.error("query " + file->path.filename().string());
        }
        return {};
    }

    // ---- post-filters ----
    // Has `source` (index id) carried the event with row key rk?
    Expected<bool> seenBy(int64_t rk, uint32_t source) {
        static const std::string sql = "SELECT 1 FROM sightings WHERE rk = ? AND source = ?";
        std::vector<Bind> binds{{Bind::Int, rk, {}}, {Bind::Int, source, {}}};
        bool found = false;
        auto check = [&](const FilePtr& f) -> Expected<void> {
            return run(f, sql, binds, [&](const Stmt&) {
                found = true;
                return false;
            });
        };
        if (auto it = snap->parts.find(bucketOfRk(rk)); it != snap->parts.end())
            for (const auto& f : it->second) {
                if (auto r = check(f); !r) return r.error();
                if (found) return true;
            }
        for (const auto& f : snap->hot) {
            if (auto r = check(f); !r) return r.error();
            if (found) return true;
        }
        return false;
    }

    // Match expressions per lane for one filter's search ("" for a lane: nothing matches there).
    Expected<std::vector<std::string>> matchExpressions(const std::string& text) {
        std::vector<std::string> out;
        for (uint32_t l = 0; l < snap->lanes; ++l) {
            auto db = ftsDb(l);
            if (!db) return db.error();
            auto words = parseSearch((*db)->get(), text);
            if (!words) return words.error();
            if (words->empty()) return std::vector<std::string>();  // nothing to search for: no condition
            auto expr = matchExpression((*db)->get(), *words);
            if (!expr) return expr.error();
            out.push_back(std::move(*expr));
        }
        return out;
    }
    Expected<bool> ftsHas(uint32_t lane, const std::string& expr, int64_t rk) {
        if (expr.empty()) return false;
        auto db = ftsDb(lane);
        if (!db) return db.error();
        if (interrupted()) return interruptedError();
        auto st = (*db)->prepare("SELECT 1 FROM fts WHERE fts MATCH ? AND rowid = ?", true);
        if (!st) return st.error();
        st->bindText(1, expr).bind(2, rk);
        if (!setCurrent((*db)->get())) return interruptedError();
        const int rc = st->step();
        setCurrent(nullptr);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        if ((rc & 0xff) == SQLITE_INTERRUPT) return interruptedError();
        return (*db)->error("full-text probe");
    }
};

// ---------------------------------------------------------------------------------------------
// Streams: rows in the page's order, lazily.

namespace {

class Stream {
public:
    virtual ~Stream() = default;
    // Fills `out` with the next row; false at the end.
    virtual Expected<bool> next(EventRow& out) = 0;
};

using RowFilter = std::function<Expected<bool>(const EventRow&)>;

// Appends the rows `sql` returns from the source's file to its queue; how many.
template <typename Source>
Expected<size_t> readRowsInto(IndexReader::Impl& impl, Source& s, const std::string& sql, const std::vector<Bind>& binds) {
    size_t n = 0;
    auto r = impl.run(s.file, sql, binds, [&](const Stmt& st) {
        s.rows.push_back(readRow(st));
        ++n;
        return true;
    });
    if (!r) return r.error();
    return n;
}

// One step of a stream's merge of its files: takes the first row of the source whose first row
// comes first (`less`), refilling that source when it runs dry. nullopt: every source is empty.
template <typename Source, typename Less, typename Fill>
Expected<std::optional<EventRow>> popFirst(std::vector<Source>& sources, Less less, Fill fill) {
    int best = -1;
    for (size_t i = 0; i < sources.size(); ++i) {
        if (sources[i].rows.empty()) continue;
        if (best < 0 || less(sources[i].rows.front(), sources[size_t(best)].rows.front())) best = int(i);
    }
    if (best < 0) return std::optional<EventRow>();
    Source& src = sources[size_t(best)];
    std::optional<EventRow> row(std::move(src.rows.front()));
    src.rows.pop_front();
    if (src.rows.empty() && !src.done)
        if (auto r = fill(src); !r) return r.error();
    return row;
}

// The rows of one filter's SQL conditions, month by month, each month's files merged.
class RowStream final : public Stream {
public:
    // `drive`: the keys of one `#x` condition of the filter; the rows are then read through the tags
    // table in row-key order (created_at order: a page stops early) instead of sorting every match.
    // `ids`: the filter's ids, whose keys each part's id filter is asked about first.
    RowStream(IndexReader::Impl& impl, std::string conds, std::vector<Bind> binds, int64_t lo, int64_t hi,
              std::optional<Key> after, Order order, RowFilter post, size_t first_chunk,
              std::vector<int64_t> drive = {}, std::string drive_conds = {}, std::vector<Bind> drive_binds = {},
              std::vector<uint64_t> ids = {})
        : m_impl(impl), m_conds(std::move(conds)), m_binds(std::move(binds)), m_lo(lo), m_hi(hi), m_after(after),
          m_order(order), m_post(std::move(post)), m_chunk(std::max<size_t>(16, first_chunk)), m_drive(std::move(drive)),
          m_driveConds(std::move(drive_conds)), m_driveBinds(std::move(drive_binds)), m_ids(std::move(ids)) {
        if (after) {
            if (order == Order::NewestFirst) m_hi = std::min(m_hi, after->created_at);
            else m_lo = std::max(m_lo, after->created_at);
        }
        if (m_lo <= m_hi) m_buckets = impl.buckets(m_lo, m_hi, order);
    }

    Expected<bool> next(EventRow& out) override {
        for (;;) {
            if (m_sources.empty()) {
                if (m_bucket >= m_buckets.size()) return false;
                const Bucket b = m_buckets[m_bucket++];
                for (auto& f : m_impl.filesOf(b)) {
                    if (!f->mayHoldCreated(m_lo, m_hi)) continue;  // no row of it in the time range
                    if (f->kind == FileKind::Part && !m_ids.empty() && f->filter &&
                        std::none_of(m_ids.begin(), m_ids.end(), [&](uint64_t k) { return f->filter->mayContain(k); }))
                        continue;  // none of the ids can be in this part
                    Source s;
                    s.file = f;
                    s.lo = std::max(m_lo, bucketLo(b));
                    s.hi = std::min(m_hi, bucketHi(b));
                    // A hot file has no created_at index: its rows are walked by row key, as the
                    // tag-driven reads of parts are. Beyond the row key's exact range its order is
                    // not created_at's (such rows are read and sorted).
                    s.byRk = (!m_drive.empty() || f->kind == FileKind::Hot) && s.hi < kRkTimeMax;
                    m_sources.push_back(std::move(s));
                }
                for (size_t i = 0; i < m_sources.size(); ++i)
                    if (auto r = fill(m_sources[i]); !r) return r.error();
            }
            // The first head in order.
            auto next = popFirst(
                m_sources, [this](const EventRow& a, const EventRow& b) { return before(keyOf(a), keyOf(b), m_order); },
                [this](Source& src) { return fill(src); });
            if (!next) return next.error();
            if (!*next) {
                m_sources.clear();
                continue;
            }
            const EventRow& row = **next;
            if (m_post) {
                auto keep = m_post(row);
                if (!keep) return keep.error();
                if (!*keep) continue;
            }
            out = row;
            return true;
        }
    }

private:
    struct Source {
        FilePtr file;
        int64_t lo = 0, hi = 0;
        std::optional<Key> last;
        std::deque<EventRow> rows;
        bool done = false;
        size_t chunk = 0;
        bool byRk = false;
        std::optional<int64_t> lastRk;     // byRk: where the next chunk continues
        std::vector<EventRow> held;        // byRk: rows of the last second read (more may follow)
    };

    // In row-key order — a part's rows through its tags table (the driving `#x` keys), a hot
    // file's through its events table with every condition (with a driving `#x` condition: by the
    // row keys its tags table holds for it, read once per stream); rows of one second are
    // released sorted by id once the second is complete.
    Expected<void> fillByRk(Source& s) {
        const bool newest = m_order == Order::NewestFirst;
        const bool hot = s.file->kind == FileKind::Hot;
        while (s.rows.empty() && !s.done) {
            int64_t lo = rkFloor(s.lo), hi = rkCeil(s.hi);
            if (s.lastRk) (newest ? hi : lo) = newest ? *s.lastRk - 1 : *s.lastRk + 1;
            std::string sql = std::string("SELECT ") + kEventColumns;
            std::vector<Bind> binds;
            if (hot) {
                sql += " FROM events e WHERE (" + m_conds + ") AND e.rk >= ? AND e.rk <= ? ORDER BY e.rk ";
                binds = m_binds;
                binds.push_back({Bind::Int, lo, {}});
                binds.push_back({Bind::Int, hi, {}});
            } else {
                sql += " FROM tags t CROSS JOIN events e ON e.rk = t.rk WHERE t.key IN (";
                for (size_t i = 0; i < m_drive.size(); ++i) {
                    sql += i ? ",?" : "?";
                    binds.push_back({Bind::Int, m_drive[i], {}});
                }
                sql += ") AND t.rk >= ? AND t.rk <= ? AND (" + m_driveConds + ") ORDER BY t.rk ";
                binds.push_back({Bind::Int, lo, {}});
                binds.push_back({Bind::Int, hi, {}});
                binds.insert(binds.end(), m_driveBinds.begin(), m_driveBinds.end());
            }
            sql += std::string(newest ? "DESC" : "ASC") + " LIMIT ?";
            if (!s.chunk) s.chunk = m_chunk;
            binds.push_back({Bind::Int, int64_t(s.chunk), {}});
            size_t got = 0;
            auto take = [&](const Stmt& st) {
                EventRow row = readRow(st);
                s.lastRk = row.rowid;
                ++got;
                if (!m_after || before(*m_after, keyOf(row), m_order)) s.held.push_back(std::move(row));
                return true;
            };
            if (hot && !m_drive.empty()) {
                // A hot file has no index on its tags: the `#x` condition's subquery would scan
                // every tag row of the file once per month the stream visits (a backfill's hot
                // file holds every month: 37 scans of ≈ 200,000 rows for a `#p` page). The
                // file's matching row keys are read once per stream instead, and the rows of
                // this range are read by row key.
                auto rks = hotRowKeys(s.file);
                if (!rks) return rks.error();
                const std::vector<int64_t>& keys = **rks;
                const auto from = std::lower_bound(keys.begin(), keys.end(), lo);
                const auto to = std::upper_bound(from, keys.end(), hi);
                const size_t n = std::min<size_t>(size_t(to - from), s.chunk);
                const std::string one =
                    std::string("SELECT ") + kEventColumns + " FROM events e WHERE e.rk = ? AND (" + m_driveConds + ")";
                std::vector<Bind> oneBinds{{Bind::Int, 0, {}}};
                oneBinds.insert(oneBinds.end(), m_driveBinds.begin(), m_driveBinds.end());
                for (size_t i = 0; i < n; ++i) {
                    const int64_t rk = newest ? *(to - 1 - long(i)) : *(from + long(i));
                    oneBinds[0].i = rk;
                    const size_t had = got;
                    if (auto r = m_impl.run(s.file, one, oneBinds, take); !r) return r;
                    got = had + 1;  // a key of the range examined, a row or not
                    s.lastRk = rk;
                }
            } else if (auto r = m_impl.run(s.file, sql, binds, take); !r) {
                return r;
            }
            if (got < s.chunk) s.done = true;
            s.chunk = std::min<size_t>(s.chunk * 2, 8192);
            // Release every complete second; the last one read may continue in the next chunk.
            std::sort(s.held.begin(), s.held.end(),
                      [&](const EventRow& a, const EventRow& b) { return before(keyOf(a), keyOf(b), m_order); });
            size_t keep = s.held.size();
            if (!s.done && s.lastRk) {
                const int64_t open = rkCreatedAt(*s.lastRk);
                while (keep > 0 && s.held[keep - 1].created_at == open) --keep;
            }
            for (size_t i = 0; i < keep; ++i) s.rows.push_back(std::move(s.held[i]));
            s.held.erase(s.held.begin(), s.held.begin() + long(keep));
        }
        return {};
    }

    Expected<void> fill(Source& s) {
        if (s.byRk) return fillByRk(s);
        if (s.done) return {};
        const bool newest = m_order == Order::NewestFirst;
        std::string sql = std::string("SELECT ") + kEventColumns + " FROM events e WHERE (" + m_conds +
                          ") AND e.created_at >= ? AND e.created_at <= ?";
        std::vector<Bind> binds = m_binds;
        binds.push_back({Bind::Int, s.lo, {}});
        binds.push_back({Bind::Int, s.hi, {}});
        std::optional<Key> from = s.last ? s.last : m_after;
        if (from) {
            sql += newest ? " AND e.created_at <= ? AND (e.created_at < ? OR e.id > ?)"
                          : " AND e.created_at >= ? AND (e.created_at > ? OR e.id > ?)";
            binds.push_back({Bind::Int, from->created_at, {}});
            binds.push_back({Bind::Int, from->created_at, {}});
            binds.push_back({Bind::Blob, 0, std::string(reinterpret_cast<const char*>(from->id.data()), 32)});
        }
        sql += newest ? " ORDER BY e.created_at DESC, e.id ASC" : " ORDER BY e.created_at ASC, e.id ASC";
        sql += " LIMIT ?";
        if (!s.chunk) s.chunk = m_chunk;
        binds.push_back({Bind::Int, int64_t(s.chunk), {}});
        auto read = readRowsInto(m_impl, s, sql, binds);
        if (!read) return read.error();
        const size_t got = *read;
        if (got < s.chunk) s.done = true;
        if (got) s.last = keyOf(s.rows.back());
        s.chunk = std::min<size_t>(s.chunk * 2, 8192);
        return {};
    }

    IndexReader::Impl& m_impl;
    std::string m_conds;
    std::vector<Bind> m_binds;
    int64_t m_lo, m_hi;
    std::optional<Key> m_after;
    Order m_order;
    RowFilter m_post;
    size_t m_chunk;
    std::vector<int64_t> m_drive;
    std::string m_driveConds;      // the conditions but the driving `#x` one
    std::vector<Bind> m_driveBinds;
    std::vector<uint64_t> m_ids;
    std::vector<Bucket> m_buckets;
    size_t m_bucket = 0;
    std::vector<Source> m_sources;
    // Per hot file (by file id), the row keys its tags table holds for m_drive, sorted: read once
    // per stream. Bounded by the hot files (a few per lane), each by its rows (hot_max_events).
    std::map<int64_t, std::vector<int64_t>> m_hotRks;

    Expected<const std::vector<int64_t>*> hotRowKeys(const FilePtr& file) {
        auto it = m_hotRks.find(file->id);
        if (it != m_hotRks.end()) return &it->second;
        std::string sql = "SELECT rk FROM tags WHERE key IN (";
        std::vector<Bind> binds;
        for (size_t i = 0; i < m_drive.size(); ++i) {
            sql += i ? ",?" : "?";
            binds.push_back({Bind::Int, m_drive[i], {}});
        }
        sql += ")";
        std::vector<int64_t> rks;
        auto r = m_impl.run(file, sql, binds, [&](const Stmt& st) {
            rks.push_back(st.i64(0));
            return true;
        });
        if (!r) return r.error();
        std::sort(rks.begin(), rks.end());
        rks.erase(std::unique(rks.begin(), rks.end()), rks.end());
        return &m_hotRks.emplace(file->id, std::move(rks)).first->second;
    }
};

// The rows of one filter with a search, walking the full-text postings in row-key (created_at)
// order and resolving each hit to its row. Covers created_at < 2^32 − 1 (the row key's range).
class FtsStream final : public Stream {
public:
    FtsStream(IndexReader::Impl& impl, std::vector<std::string> exprs, std::string conds, std::vector<Bind> binds,
              int64_t lo, int64_t hi, std::optional<Key> after, Order order, RowFilter post)
        : m_impl(impl), m_exprs(std::move(exprs)), m_conds(std::move(conds)), m_binds(std::move(binds)), m_after(after),
          m_order(order), m_post(std::move(post)) {
        const int64_t tlo = std::max<int64_t>(0, lo);
        const int64_t thi = std::min<int64_t>(hi, kRkTimeMax - 1);
        m_rkLo = tlo <= thi ? rkFloor(tlo) : 1;
        m_rkHi = tlo <= thi ? rkCeil(thi) : 0;
        if (after && after->created_at < kRkTimeMax) {
            if (order == Order::NewestFirst) m_rkHi = std::min(m_rkHi, rkCeil(after->created_at));
            else m_rkLo = std::max(m_rkLo, rkFloor(after->created_at));
        }
        m_lanes.resize(m_exprs.size());
        for (auto& l : m_lanes) l.done = false;
    }

    uint64_t resolved() const { return m_resolved; }
    uint64_t emitted() const { return m_emitted; }

    Expected<bool> next(EventRow& out) override {
        while (m_out.empty()) {
            if (m_rkLo > m_rkHi) return false;
            auto more = resolveBatch();
            if (!more) return more.error();
            if (!*more && m_out.empty()) return false;
        }
        out = m_out.front();
        m_out.pop_front();
        ++m_emitted;
        return true;
    }

private:
    struct LaneHits {
        std::deque<int64_t> hits;
        std::optional<int64_t> last;
        bool done = false;
    };

    Expected<void> fillLane(uint32_t lane) {
        LaneHits& l = m_lanes[lane];
        if (l.done || m_exprs[lane].empty()) {
            l.done = true;
            return {};
        }
        auto db = m_impl.ftsDb(lane);
        if (!db) return db.error();
        if (m_impl.interrupted()) return m_impl.interruptedError();
        const bool newest = m_order == Order::NewestFirst;
        int64_t lo = m_rkLo, hi = m_rkHi;
        if (l.last) (newest ? hi : lo) = newest ? *l.last - 1 : *l.last + 1;
        auto st = (*db)->prepare(std::string("SELECT rowid FROM fts WHERE fts MATCH ? AND rowid >= ? AND rowid <= ? ORDER BY rowid ") +
                                     (newest ? "DESC" : "ASC") + " LIMIT ?",
                                 true);
        if (!st) return st.error();
        st->bindText(1, m_exprs[lane]).bind(2, lo).bind(3, hi).bind(4, int64_t(kFtsBatch));
        size_t got = 0;
        if (!m_impl.setCurrent((*db)->get())) return m_impl.interruptedError();
        int rc;
        while ((rc = st->step()) == SQLITE_ROW) {
            l.hits.push_back(st->i64(0));
            ++got;
        }
        m_impl.setCurrent(nullptr);
        if (rc != SQLITE_DONE) {
            if ((rc & 0xff) == SQLITE_INTERRUPT) return m_impl.interruptedError();
            return (*db)->error("full-text search");
        }
        if (got) l.last = l.hits.back();
        if (got < kFtsBatch) l.done = true;
        return {};
    }

    // Next hit in order across lanes (lane, rk); nullopt when none is left.
    Expected<std::optional<std::pair<uint32_t, int64_t>>> nextHit() {
        std::optional<std::pair<uint32_t, int64_t>> best;
        for (uint32_t lane = 0; lane < m_lanes.size(); ++lane) {
            if (m_lanes[lane].hits.empty() && !m_lanes[lane].done)
                if (auto r = fillLane(lane); !r) return r.error();
            if (m_lanes[lane].hits.empty()) continue;
            const int64_t rk = m_lanes[lane].hits.front();
            if (!best || (m_order == Order::NewestFirst ? rk > best->second : rk < best->second)) best = {lane, rk};
        }
        if (best) m_lanes[best->first].hits.pop_front();
        return best;
    }

    Expected<bool> resolveBatch() {
        std::vector<std::pair<uint32_t, int64_t>> batch;
        std::optional<std::pair<uint32_t, int64_t>> peek = m_pending;
        m_pending.reset();
        for (;;) {
            if (!peek) {
                auto h = nextHit();
                if (!h) return h.error();
                peek = *h;
            }
            if (!peek) break;
            // Never split a second: rows of one created_at are ordered by id, not by row key.
            if (batch.size() >= kFtsBatch && rkCreatedAt(peek->second) != rkCreatedAt(batch.back().second)) {
                m_pending = peek;
                break;
            }
            batch.push_back(*peek);
            peek.reset();
        }
        if (batch.empty()) {
            m_rkLo = 1;
            m_rkHi = 0;
            return false;
        }
        m_resolved += batch.size();
        // Group the hits by the files that can hold them: the lane's hot files, the bucket's parts.
        std::map<int64_t, std::pair<FilePtr, std::vector<int64_t>>> byFile;
        for (const auto& [lane, rk] : batch) {
            for (const auto& f : m_impl.snap->hot)
                if (f->lane == lane) {
                    auto& e = byFile[f->id];
                    e.first = f;
                    e.second.push_back(rk);
                }
            if (auto it = m_impl.snap->parts.find(bucketOfRk(rk)); it != m_impl.snap->parts.end())
                for (const auto& f : it->second) {
                    auto& e = byFile[f->id];
                    e.first = f;
                    e.second.push_back(rk);
                }
        }
        std::vector<EventRow> rows;
        for (auto& [id, entry] : byFile) {
            std::string sql = std::string("SELECT ") + kEventColumns + " FROM events e WHERE e.rk IN (";
            std::vector<Bind> binds;
            for (size_t i = 0; i < entry.second.size(); ++i) {
                sql += i ? ",?" : "?";
                binds.push_back({Bind::Int, entry.second[i], {}});
            }
            sql += ") AND (" + m_conds + ")";
            binds.insert(binds.end(), m_binds.begin(), m_binds.end());
            auto r = m_impl.run(entry.first, sql, binds, [&](const Stmt& st) {
                rows.push_back(readRow(st));
                return true;
            });
            if (!r) return r.error();
        }
        std::sort(rows.begin(), rows.end(),
                  [&](const EventRow& a, const EventRow& b) { return before(keyOf(a), keyOf(b), m_order); });
        for (auto& row : rows) {
            if (m_after && !before(*m_after, keyOf(row), m_order)) continue;
            if (m_post) {
                auto keep = m_post(row);
                if (!keep) return keep.error();
                if (!*keep) continue;
            }
            m_out.push_back(std::move(row));
        }
        return true;
    }

    IndexReader::Impl& m_impl;
    std::vector<std::string> m_exprs;
    std::string m_conds;
    std::vector<Bind> m_binds;
    std::optional<Key> m_after;
    Order m_order;
    RowFilter m_post;
    int64_t m_rkLo = 0, m_rkHi = 0;
    std::vector<LaneHits> m_lanes;
    std::optional<std::pair<uint32_t, int64_t>> m_pending;
    std::deque<EventRow> m_out;
    uint64_t m_resolved = 0, m_emitted = 0;
};

// Merges streams in order, each row once.
class MergedStream final : public Stream {
public:
    MergedStream(std::vector<std::unique_ptr<Stream>> streams, Order order) : m_streams(std::move(streams)), m_order(order) {
        m_heads.resize(m_streams.size());
        m_started.resize(m_streams.size(), false);
    }
    Expected<bool> next(EventRow& out) override {
        for (;;) {
            int best = -1;
            for (size_t i = 0; i < m_streams.size(); ++i) {
                if (!m_started[i]) {
                    m_started[i] = true;
                    EventRow r;
                    auto got = m_streams[i]->next(r);
                    if (!got) return got.error();
                    if (*got) m_heads[i] = r;
                }
                if (!m_heads[i]) continue;
                if (best < 0 || before(keyOf(*m_heads[i]), keyOf(*m_heads[size_t(best)]), m_order)) best = int(i);
            }
            if (best < 0) return false;
            EventRow row = *m_heads[size_t(best)];
            EventRow r;
            auto got = m_streams[size_t(best)]->next(r);
            if (!got) return got.error();
            if (*got) m_heads[size_t(best)] = r;
            else m_heads[size_t(best)].reset();
            if (m_last && sameKey(*m_last, keyOf(row))) continue;
            m_last = keyOf(row);
            out = row;
            return true;
        }
    }

private:
    std::vector<std::unique_ptr<Stream>> m_streams;
    Order m_order;
    std::vector<std::optional<EventRow>> m_heads;
    std::vector<bool> m_started;
    std::optional<Key> m_last;
};

// One filter with a search: the full-text walk, switching to the row walk with a full-text probe
// per row when the walk resolves many hits the other conditions reject.
class SearchStream final : public Stream {
public:
    SearchStream(IndexReader::Impl& impl, std::vector<std::string> exprs, std::string conds, std::vector<Bind> binds,
                 int64_t lo, int64_t hi, std::optional<Key> after, Order order, RowFilter post, bool other_conditions)
        : m_impl(impl), m_exprs(std::move(exprs)), m_conds(std::move(conds)), m_binds(std::move(binds)), m_lo(lo),
          m_hi(hi), m_after(after), m_order(order), m_post(std::move(post)), m_mayswitch(other_conditions) {
        m_fts = std::make_unique<FtsStream>(m_impl, m_exprs, m_conds, m_binds, lo, hi, after, order, m_post);
        // Events dated at or after 2^32 − 1 share one row-key time: walk their rows instead.
        if (hi >= kRkTimeMax) m_late = rowWalk(std::max(lo, kRkTimeMax), hi, after);
    }

    Expected<bool> next(EventRow& out) override {
        // NewestFirst: the late rows come first; OldestFirst: last.
        if (m_late && m_order == Order::NewestFirst) {
            auto got = m_late->next(out);
            if (!got || *got) return got;
            m_late.reset();
        }
        if (m_rows) {
            auto got = m_rows->next(out);
            if (!got) return got.error();
            if (*got) return rememberOut(out);
        } else if (m_fts) {
            if (m_mayswitch && m_fts->resolved() > kFtsBudget && m_fts->emitted() * 16 < m_fts->resolved()) {
                // Selective other conditions: walk their rows from where the page stands.
                const std::optional<Key> from = m_last ? m_last : m_after;
                m_fts.reset();
                m_rows = rowWalk(m_lo, std::min(m_hi, kRkTimeMax - 1), from);
                return next(out);
            }
            auto got = m_fts->next(out);
            if (!got) return got.error();
            if (*got) return rememberOut(out);
            m_fts.reset();
        }
        if (m_late) {
            auto got = m_late->next(out);
            if (!got || *got) return got;
            m_late.reset();
        }
        return false;
    }

private:
    Expected<bool> rememberOut(const EventRow& out) {
        m_last = keyOf(out);
        return true;
    }
    std::unique_ptr<Stream> rowWalk(int64_t lo, int64_t hi, std::optional<Key> after) {
        auto exprs = m_exprs;
        auto post = m_post;
        IndexReader::Impl* impl = &m_impl;
        const uint32_t lanes = uint32_t(exprs.size());
        RowFilter probe = [impl, exprs, post, lanes](const EventRow& r) -> Expected<bool> {
            auto has = impl->ftsHas(laneOf(r.id, lanes), exprs[laneOf(r.id, lanes)], r.rowid);
            if (!has || !*has) return has;
            return post ? post(r) : Expected<bool>(true);
        };
        return std::make_unique<RowStream>(m_impl, m_conds, m_binds, lo, hi, after, m_order, probe, 64);
    }

    IndexReader::Impl& m_impl;
    std::vector<std::string> m_exprs;
    std::string m_conds;
    std::vector<Bind> m_binds;
    int64_t m_lo, m_hi;
    std::optional<Key> m_after;
    Order m_order;
    RowFilter m_post;
    bool m_mayswitch;
    std::unique_ptr<FtsStream> m_fts;
    std::unique_ptr<Stream> m_rows;
    std::unique_ptr<Stream> m_late;
    std::optional<Key> m_last;
};


// ---- Sorted pages: by kind or author within one month --------------------------------------

struct SortedKey {
    uint16_t kind = 0;
    protocol::Bytes32 pubkey{};
    int64_t created_at = 0;
    protocol::Bytes32 id{};
};

SortedKey sortedKeyOf(const EventRow& r) { return SortedKey{r.kind, r.pubkey, r.created_at, r.id}; }

// True when a comes before b: the key's order, then newest first, then id ascending.
bool sortedBefore(const SortedKey& a, const SortedKey& b, const SortSpec& spec) {
    if (spec.key == SortKey::Kind ? a.kind != b.kind : a.pubkey != b.pubkey) {
        const bool less = spec.key == SortKey::Kind ? a.kind < b.kind : a.pubkey < b.pubkey;
        return spec.descending ? !less : less;
    }
    if (a.created_at != b.created_at) return a.created_at > b.created_at;
    return a.id < b.id;
}

// The rows of one month's files in (key, created_at DESC, id ASC) order. Each part is read key
// value by key value: the next value through the part's (key, created_at) index (one seek), then
// that value's rows newest first (an index range), in chunks. A hot file has no such index (and
// holds at most a hot file's bound of rows): each chunk is one pass over its rows in the window,
// SQLite keeping the first `chunk` of them in order. The files are merged.
class SortedStream final : public Stream {
public:
    SortedStream(IndexReader::Impl& impl, std::string conds, std::vector<Bind> binds, const SortSpec& spec,
                 std::optional<SortedKey> after, RowFilter post, size_t limit)
        : m_impl(impl), m_conds(std::move(conds)), m_binds(std::move(binds)), m_spec(spec), m_post(std::move(post)),
          m_column(spec.key == SortKey::Kind ? "e.kind" : "e.pubkey"),
          // The key's index, named: with the window's created_at range SQLite would otherwise walk
          // the timeline index and sort the whole month for every key value.
          m_from(spec.key == SortKey::Kind ? " FROM events e INDEXED BY events_kind_created WHERE ("
                                           : " FROM events e INDEXED BY events_pubkey_created WHERE (") {
        for (auto& f : impl.filesOf(bucketOf(std::max<int64_t>(0, spec.since)))) {
            Source s;
            s.file = f;
            if (after) {
                s.group = groupOf(*after);
                s.within = Key{after->created_at, after->id};
                s.last = after;
            }
            m_sources.push_back(std::move(s));
        }
        // The page is shared among the files: each starts with its share, doubling when it runs dry.
        m_chunk = std::max<size_t>(16, limit / std::max<size_t>(1, m_sources.size()) + 1);
    }

    Expected<bool> next(EventRow& out) override {
        if (!m_started) {
            m_started = true;
            for (auto& src : m_sources)
                if (auto r = fill(src); !r) return r.error();
        }
        for (;;) {
            auto next = popFirst(
                m_sources,
                [this](const EventRow& a, const EventRow& b) { return sortedBefore(sortedKeyOf(a), sortedKeyOf(b), m_spec); },
                [this](Source& src) { return fill(src); });
            if (!next) return next.error();
            if (!*next) return false;
            const EventRow& row = **next;
            if (m_post) {
                auto keep = m_post(row);
                if (!keep) return keep.error();
                if (!*keep) continue;
            }
            out = row;
            return true;
        }
    }

private:
    struct Source {
        FilePtr file;
        std::optional<Bind> group;  // the key value being read (kind or pubkey)
        std::optional<Bind> prev;   // the last key value read to its end
        std::optional<Key> within;  // the last row of `group` read
        std::optional<SortedKey> last;  // a hot file: the last row read
        std::deque<EventRow> rows;
        bool done = false;
        size_t chunk = 0;
    };

    Bind groupOf(const SortedKey& k) const {
        if (m_spec.key == SortKey::Kind) return Bind{Bind::Int, k.kind, {}};
        return Bind{Bind::Blob, 0, std::string(reinterpret_cast<const char*>(k.pubkey.data()), 32)};
    }

    // A hot file's next chunk: the rows after the last one read, in the stream's order.
    Expected<void> fillHot(Source& s, size_t want) {
        std::string sql = std::string("SELECT ") + kEventColumns + " FROM events e WHERE (" + m_conds +
                          ") AND e.created_at >= ? AND e.created_at <= ?";
        std::vector<Bind> binds = m_binds;
        binds.push_back({Bind::Int, m_spec.since, {}});
        binds.push_back({Bind::Int, m_spec.until, {}});
        if (s.last) {
            const Bind group = groupOf(*s.last);
            sql += " AND (" + m_column + (m_spec.descending ? " < ?" : " > ?") + " OR (" + m_column +
                   " = ? AND (e.created_at < ? OR (e.created_at = ? AND e.id > ?))))";
            binds.push_back(group);
            binds.push_back(group);
            binds.push_back({Bind::Int, s.last->created_at, {}});
            binds.push_back({Bind::Int, s.last->created_at, {}});
            binds.push_back({Bind::Blob, 0, std::string(reinterpret_cast<const char*>(s.last->id.data()), 32)});
        }
        sql += " ORDER BY " + m_column + (m_spec.descending ? " DESC" : " ASC") + ", e.created_at DESC, e.id ASC LIMIT ?";
        binds.push_back({Bind::Int, int64_t(want), {}});
        auto n = readRowsInto(m_impl, s, sql, binds);
        if (!n) return n.error();
        if (*n) s.last = sortedKeyOf(s.rows.back());
        if (*n < want) s.done = true;
        return {};
    }

    Expected<void> fill(Source& s) {
        const size_t want = s.chunk ? s.chunk : m_chunk;
        s.chunk = std::min<size_t>(want * 2, 8192);
        if (s.file->kind == FileKind::Hot) return s.done ? Expected<void>() : fillHot(s, want);
        const std::string window = ") AND e.created_at >= ? AND e.created_at <= ?";
        size_t got = 0;
        while (got < want && !s.done) {
            if (!s.group) {
                // The next key value this file holds in the window (with a matching row).
                std::string sql = "SELECT " + m_column + m_from + m_conds + window;
                std::vector<Bind> binds = m_binds;
                binds.push_back({Bind::Int, m_spec.since, {}});
                binds.push_back({Bind::Int, m_spec.until, {}});
                if (s.prev) {
                    sql += " AND " + m_column + (m_spec.descending ? " < ?" : " > ?");
                    binds.push_back(*s.prev);
                }
                sql += " ORDER BY " + m_column + (m_spec.descending ? " DESC" : " ASC") + " LIMIT 1";
                auto r = m_impl.run(s.file, sql, binds, [&](const Stmt& st) {
                    if (m_spec.key == SortKey::Kind) {
                        s.group = Bind{Bind::Int, st.i64(0), {}};
                    } else {
                        const auto b = st.blob(0);
                        s.group = Bind{Bind::Blob, 0, std::string(reinterpret_cast<const char*>(b.data()), b.size())};
                    }
                    return false;
                });
                if (!r) return r;
                if (!s.group) {
                    s.done = true;
                    break;
                }
                s.within.reset();
            }
            std::string sql = std::string("SELECT ") + kEventColumns + m_from + m_conds + window + " AND " + m_column + " = ?";
            std::vector<Bind> binds = m_binds;
            binds.push_back({Bind::Int, m_spec.since, {}});
            binds.push_back({Bind::Int, m_spec.until, {}});
            binds.push_back(*s.group);
            if (s.within) {
                sql += " AND e.created_at <= ? AND (e.created_at < ? OR e.id > ?)";
                binds.push_back({Bind::Int, s.within->created_at, {}});
                binds.push_back({Bind::Int, s.within->created_at, {}});
                binds.push_back({Bind::Blob, 0, std::string(reinterpret_cast<const char*>(s.within->id.data()), 32)});
            }
            const size_t ask = want - got;
            sql += " ORDER BY e.created_at DESC, e.id ASC LIMIT ?";
            binds.push_back({Bind::Int, int64_t(ask), {}});
            auto read = readRowsInto(m_impl, s, sql, binds);
            if (!read) return read.error();
            const size_t n = *read;
            got += n;
            if (n) s.within = keyOf(s.rows.back());
            if (n < ask) {  // this key value is read to its end
                s.prev = std::move(s.group);
                s.group.reset();
            }
        }
        return {};
    }

    IndexReader::Impl& m_impl;
    std::string m_conds;
    std::vector<Bind> m_binds;
    SortSpec m_spec;
    RowFilter m_post;
    std::string m_column;
    std::string m_from;
    std::vector<Source> m_sources;
    size_t m_chunk = 16;
    bool m_started = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

IndexReader::IndexReader(std::shared_ptr<Index> index)
    : m_index(std::move(index)), m_impl(std::make_unique<Impl>(m_index)) {}

IndexReader::~IndexReader() = default;

Expected<std::unique_ptr<IndexReader>> IndexReader::open(const fs::path& dir) {
    std::shared_ptr<Index> idx = Index::findOpen(dir);
    if (!idx) {
        IndexOptions o;
        o.read_only = true;
        auto opened = Index::open(dir, o);
        if (!opened) return opened.error();
        idx = std::move(*opened);
    }
    return open(std::move(idx));
}

Expected<std::unique_ptr<IndexReader>> IndexReader::open(std::shared_ptr<Index> index) {
    if (!index) return makeError("schema", "no index");
    return std::unique_ptr<IndexReader>(new IndexReader(std::move(index)));
}

void IndexReader::interrupt() { m_impl->interrupt(); }

std::shared_ptr<Index> IndexReader::index() const { return m_impl->index; }

namespace {
struct CallScope {
    IndexReader::Impl& impl;
    ~CallScope() { impl.end(); }
};

// The stream of rows matching `filters` (ORed), seen by `source` when given.
Expected<std::unique_ptr<Stream>> makeStream(IndexReader::Impl& impl, const std::vector<protocol::Filter>& filters,
                                             std::optional<uint32_t> source, std::optional<Key> after, Order order,
                                             size_t limit) {
    RowFilter post;
    if (source) {
        const uint32_t src = *source;
        IndexReader::Impl* p = &impl;
        post = [p, src](const EventRow& r) { return p->seenBy(r.rowid, src); };
    }
    std::vector<protocol::Filter> list = filters;
    if (list.empty()) list.emplace_back();
    std::vector<std::unique_ptr<Stream>> streams;
    for (const auto& f : list) {
        // Driven through the tags table by the filter's first `#x` condition (unless an author or id
        // list bounds the rows better).
        const bool driven = !f.tags.empty() && f.ids.empty() && f.authors.empty() && !hasSearch(f);
        std::vector<Bind> binds;
        std::string conds = conditions(f, binds);
        const int64_t lo = f.since.value_or(0);
        const int64_t hi = f.until.value_or(std::numeric_limits<int64_t>::max());
        if (lo > hi) continue;
        if (hasSearch(f)) {
            auto exprs = impl.matchExpressions(*f.search);
            if (!exprs) return exprs.error();
            if (!exprs->empty()) {
                const bool others = !f.ids.empty() || !f.authors.empty() || !f.tags.empty() || !f.kinds.empty();
                streams.push_back(std::make_unique<SearchStream>(impl, std::move(*exprs), conds, binds, lo, hi, after,
                                                                 order, post, others));
                continue;
            }
        }
        std::vector<int64_t> drive;
        std::vector<Bind> driveBinds;
        std::string driveConds;
        if (driven) {
            for (const auto& value : f.tags.begin()->second)
                if (value.size() <= kMaxTagValueBytes) drive.push_back(tagKey(f.tags.begin()->first, value));
            if (drive.empty()) continue;  // no indexed value: nothing matches
            driveConds = conditions(f, driveBinds, f.tags.begin()->first);
        }
        std::vector<uint64_t> ids;
        for (const auto& id : f.ids) ids.push_back(idKey(id));
        streams.push_back(std::make_unique<RowStream>(impl, conds, binds, lo, hi, after, order, post, limit,
                                                      std::move(drive), std::move(driveConds), std::move(driveBinds),
                                                      std::move(ids)));
    }
    return std::unique_ptr<Stream>(std::make_unique<MergedStream>(std::move(streams), order));
}

Expected<std::optional<uint32_t>> sourceIdOf(IndexReader::Impl& impl, const std::string& name) {
    auto cat = impl.catalogDb();
    if (!cat) return cat.error();
    auto st = (*cat)->prepare("SELECT id FROM sources WHERE name = ?");
    if (!st) return st.error();
    st->bindText(1, name);
    const int rc = st->step();
    if (rc == SQLITE_ROW) return std::optional<uint32_t>(uint32_t(st->i64(0)));
    if (rc == SQLITE_DONE) return std::optional<uint32_t>();
    return (*cat)->error("find source");
}

Expected<std::vector<EventRow>> runQuery(IndexReader::Impl& impl, const std::vector<protocol::Filter>& filters,
                                         const std::string* source, std::optional<Cursor> after, size_t limit,
                                         Order order) {
    if (auto r = impl.begin(); !r) {
        impl.end();
        return r.error();
    }
    CallScope scope{impl};
    std::vector<EventRow> rows;
    if (!limit) return rows;
    std::optional<uint32_t> src;
    if (source) {
        auto id = sourceIdOf(impl, *source);
        if (!id) return id.error();
        if (!*id) return rows;
        src = *id;
    }
    std::optional<Key> from;
    if (after) from = Key{after->created_at, after->id};
    auto stream = makeStream(impl, filters, src, from, order, limit);
    if (!stream) return stream.error();
    EventRow r;
    while (rows.size() < limit) {
        auto got = (*stream)->next(r);
        if (!got) return got.error();
        if (!*got) break;
        rows.push_back(r);
    }
    return rows;
}

Expected<std::vector<EventRow>> runSorted(IndexReader::Impl& impl, const std::vector<protocol::Filter>& filters,
                                          const SortSpec& spec, std::optional<SortCursor> after, size_t limit,
                                          const std::string* source) {
    if (spec.since > spec.until || bucketOf(std::max<int64_t>(0, spec.since)) != bucketOf(std::max<int64_t>(0, spec.until)))
        return makeError("sort_window", "a page sorted by kind or author covers one month of created_at at most");
    if (std::any_of(filters.begin(), filters.end(), hasSearch) && filters.size() > 1)
        return makeError("sort_search", "a page sorted by kind or author takes one filter when it searches text");
    if (auto r = impl.begin(); !r) {
        impl.end();
        return r.error();
    }
    CallScope scope{impl};
    std::vector<EventRow> rows;
    if (!limit) return rows;
    std::vector<RowFilter> posts;
    if (source) {
        auto id = sourceIdOf(impl, *source);
        if (!id) return id.error();
        if (!*id) return rows;
        const uint32_t src = **id;
        IndexReader::Impl* p = &impl;
        posts.push_back([p, src](const EventRow& r) { return p->seenBy(r.rowid, src); });
    }
    std::vector<Bind> binds;
    std::string where = filters.empty() ? "1" : "";
    for (size_t i = 0; i < filters.size(); ++i) {
        where += (i ? " OR (" : "(") + conditions(filters[i], binds) + ")";
        if (!hasSearch(filters[i])) continue;
        auto exprs = impl.matchExpressions(*filters[i].search);
        if (!exprs) return exprs.error();
        if (exprs->empty()) continue;  // nothing to search for: no condition
        IndexReader::Impl* p = &impl;
        posts.push_back([p, exprs = std::move(*exprs)](const EventRow& r) {
            const uint32_t lane = laneOf(r.id, uint32_t(exprs.size()));
            return p->ftsHas(lane, exprs[lane], r.rowid);
        });
    }
    RowFilter post;
    if (!posts.empty())
        post = [posts](const EventRow& r) -> Expected<bool> {
            for (const auto& f : posts) {
                auto keep = f(r);
                if (!keep || !*keep) return keep;
            }
            return true;
        };
    std::optional<SortedKey> from;
    if (after) from = SortedKey{after->kind, after->pubkey, after->created_at, after->id};
    SortedStream stream(impl, where, binds, spec, from, post, limit);
    EventRow r;
    while (rows.size() < limit) {
        auto got = stream.next(r);
        if (!got) return got.error();
        if (!*got) break;
        rows.push_back(r);
    }
    return rows;
}

Expected<uint64_t> runCount(IndexReader::Impl& impl, const std::vector<protocol::Filter>& filters,
                            const std::string* source) {
    if (auto r = impl.begin(); !r) {
        impl.end();
        return r.error();
    }
    CallScope scope{impl};
    std::optional<uint32_t> src;
    if (source) {
        auto id = sourceIdOf(impl, *source);
        if (!id) return id.error();
        if (!*id) return uint64_t(0);
        src = *id;
    }
    const bool anySearch = std::any_of(filters.begin(), filters.end(), hasSearch);
    if (!src && !anySearch) {
        // Each event is in exactly one file: count per file.
        std::vector<Bind> binds;
        std::string where;
        if (filters.empty()) where = "1";
        for (size_t i = 0; i < filters.size(); ++i) where += (i ? " OR (" : "(") + conditions(filters[i], binds) + ")";
        const std::string sql = "SELECT count(*) FROM events e WHERE " + where;
        uint64_t n = 0;
        std::vector<FilePtr> files = impl.snap->hot;
        for (const auto& [b, v] : impl.snap->parts) files.insert(files.end(), v.begin(), v.end());
        for (const auto& f : files) {
            auto r = impl.run(f, sql, binds, [&](const Stmt& st) {
                n += uint64_t(st.i64(0));
                return false;
            });
            if (!r) return r.error();
        }
        return n;
    }
    if (!src && filters.size() == 1 && filters[0].ids.empty() && filters[0].authors.empty() && filters[0].kinds.empty() &&
        filters[0].tags.empty() && filters[0].since.value_or(0) < kRkTimeMax && filters[0].until.value_or(0) < kRkTimeMax) {
        // Search alone (and a time range): count the postings.
        auto exprs = impl.matchExpressions(*filters[0].search);
        if (!exprs) return exprs.error();
        if (!exprs->empty()) {
            const int64_t lo = rkFloor(std::min<int64_t>(filters[0].since.value_or(0), kRkTimeMax));
            const int64_t hi = filters[0].until ? rkCeil(*filters[0].until) : std::numeric_limits<int64_t>::max();
            uint64_t n = 0;
            for (uint32_t l = 0; l < exprs->size(); ++l) {
                if ((*exprs)[l].empty()) continue;
                auto db = impl.ftsDb(l);
                if (!db) return db.error();
                auto st = (*db)->prepare("SELECT count(*) FROM fts WHERE fts MATCH ? AND rowid >= ? AND rowid <= ?");
                if (!st) return st.error();
                st->bindText(1, (*exprs)[l]).bind(2, lo).bind(3, hi);
                if (!impl.setCurrent((*db)->get())) return impl.interruptedError();
                const int rc = st->step();
                impl.setCurrent(nullptr);
                if (rc != SQLITE_ROW) {
                    if ((rc & 0xff) == SQLITE_INTERRUPT) return impl.interruptedError();
                    return (*db)->error("count full-text hits");
                }
                n += uint64_t(st->i64(0));
            }
            return n;
        }
    }
    auto stream = makeStream(impl, filters, src, std::nullopt, Order::NewestFirst, 4096);
    if (!stream) return stream.error();
    uint64_t n = 0;
    EventRow r;
    for (;;) {
        auto got = (*stream)->next(r);
        if (!got) return got.error();
        if (!*got) break;
        ++n;
    }
    return n;
}
}  // namespace

Expected<std::vector<EventRow>> IndexReader::query(const std::vector<protocol::Filter>& filters,
                                                   std::optional<Cursor> after, size_t limit, Order order) {
    return runQuery(*m_impl, filters, nullptr, after, limit, order);
}

Expected<std::vector<EventRow>> IndexReader::querySeenBy(const std::vector<protocol::Filter>& filters,
                                                         const std::string& source, std::optional<Cursor> after,
                                                         size_t limit, Order order) {
    return runQuery(*m_impl, filters, &source, after, limit, order);
}

Expected<std::vector<EventRow>> IndexReader::querySorted(const std::vector<protocol::Filter>& filters,
                                                         const SortSpec& sort, std::optional<SortCursor> after,
                                                         size_t limit, const std::string* source) {
    return runSorted(*m_impl, filters, sort, after, limit, source);
}

Expected<uint64_t> IndexReader::count(const std::vector<protocol::Filter>& filters) {
    return runCount(*m_impl, filters, nullptr);
}

Expected<uint64_t> IndexReader::countSeenBy(const std::vector<protocol::Filter>& filters, const std::string& source) {
    return runCount(*m_impl, filters, &source);
}

Expected<IndexStats> IndexReader::stats() {
    Impl& impl = *m_impl;
    if (auto r = impl.begin(); !r) {
        impl.end();
        return r.error();
    }
    CallScope scope{impl};
    IndexStats s;
    s.fts = impl.snap->fts;
    s.parts = impl.snap->partCount();
    s.hot_files = impl.snap->hot.size();
    s.buckets = impl.snap->parts.size();
    std::map<uint16_t, uint64_t> kinds;
    std::vector<FilePtr> files = impl.snap->hot;
    for (const auto& [b, v] : impl.snap->parts) files.insert(files.end(), v.begin(), v.end());
    for (const auto& f : files) {
        auto r = impl.run(f, "SELECT kind, count FROM kind_counts", {}, [&](const Stmt& st) {
            kinds[uint16_t(st.i64(0))] += uint64_t(st.i64(1));
            s.events += uint64_t(st.i64(1));
            return true;
        });
        if (!r) return r.error();
    }
    s.kinds.assign(kinds.begin(), kinds.end());
    auto cat = impl.catalogDb();
    if (!cat) return cat.error();
    auto scalar = [&](const char* sql) -> Expected<int64_t> {
        auto v = (*cat)->scalar(sql);
        if (!v) return v.error();
        return v->value_or(0);
    };
    auto frames = scalar("SELECT count(*) FROM frames");
    auto segments = scalar("SELECT count(DISTINCT segment) FROM frames");
    auto sealed = scalar("SELECT count(*) FROM segments");
    if (!frames) return frames.error();
    if (!segments) return segments.error();
    if (!sealed) return sealed.error();
    s.frames = uint64_t(*frames);
    s.segments = uint32_t(*segments);
    s.sealed_segments = uint64_t(*sealed);
    s.watermark = impl.index->watermark();
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(impl.index->dir(), ec)) {
        std::error_code e2;
        const auto n = entry.file_size(e2);
        if (!e2) s.index_bytes += n;
    }
    return s;
}

Expected<std::vector<SightingRow>> IndexReader::sightings(int64_t rowid) {
    Impl& impl = *m_impl;
    if (auto r = impl.begin(); !r) {
        impl.end();
        return r.error();
    }
    CallScope scope{impl};
    std::map<uint32_t, int64_t> earliest;
    std::vector<FilePtr> files = impl.snap->hot;
    if (auto it = impl.snap->parts.find(bucketOfRk(rowid)); it != impl.snap->parts.end())
        files.insert(files.end(), it->second.begin(), it->second.end());
    for (const auto& f : files) {
        auto r = impl.run(f, "SELECT source, seen_at FROM sightings WHERE rk = ?", {{Bind::Int, rowid, {}}},
                          [&](const Stmt& st) {
                              const uint32_t src = uint32_t(st.i64(0));
                              auto [it, fresh] = earliest.emplace(src, st.i64(1));
                              if (!fresh) it->second = std::min(it->second, st.i64(1));
                              return true;
                          });
        if (!r) return r.error();
    }
    std::vector<SightingRow> out;
    if (earliest.empty()) return out;
    auto cat = impl.catalogDb();
    if (!cat) return cat.error();
    auto st = (*cat)->prepare("SELECT name FROM sources WHERE id = ?", true);
    if (!st) return st.error();
    for (const auto& [src, seen] : earliest) {
        st->reset();
        st->bind(1, src);
        if (st->step() == SQLITE_ROW) out.push_back({std::string(st->text(0)), seen});
    }
    st->reset();
    std::sort(out.begin(), out.end(), [](const SightingRow& a, const SightingRow& b) {
        return a.seen_at_ms != b.seen_at_ms ? a.seen_at_ms < b.seen_at_ms : a.source < b.source;
    });
    return out;
}

Expected<void> IndexReader::forEachEventIn(const std::function<bool(const EventRow&, const RowPlace&)>& fn) {
    Impl& impl = *m_impl;
    if (auto r = impl.begin(); !r) {
        impl.end();
        return r.error();
    }
    CallScope scope{impl};
    std::vector<FilePtr> files;
    for (const auto& [b, v] : impl.snap->parts) files.insert(files.end(), v.begin(), v.end());
    files.insert(files.end(), impl.snap->hot.begin(), impl.snap->hot.end());
    bool go = true;
    for (const auto& f : files) {
        if (!go) break;
        RowPlace place{f->path, f->kind, f->bucket};
        // Chunks by row key, so no statement stays open across the callback for long.
        int64_t last = -1;
        for (;;) {
            size_t got = 0;
            auto r = impl.run(f, std::string("SELECT ") + kEventColumns + " FROM events e WHERE e.rk > ? ORDER BY e.rk LIMIT 4096",
                              {{Bind::Int, last, {}}}, [&](const Stmt& st) {
                                  const EventRow row = readRow(st);
                                  last = row.rowid;
                                  ++got;
                                  if (!fn(row, place)) go = false;
                                  return go;
                              });
            if (!r) return r;
            if (!go || got < 4096) break;
        }
    }
    return {};
}

Expected<void> IndexReader::forEachEvent(const std::function<bool(const EventRow&)>& fn) {
    return forEachEventIn([&](const EventRow& r, const RowPlace&) { return fn(r); });
}

namespace {
// forEachKeyNewestFirst: the keys of one file in a month's window, newest first, a chunk at a time.
struct KeySource {
    FilePtr file;
    int64_t lo = 0, hi = 0;
    bool byRk = false;  // a hot file (no created_at index) within the row key's exact time range
    bool done = false;
    size_t chunk = 16;  // doubles up to 8,192: a small window reads little, a big one few statements
    std::vector<Key> keys;  // this chunk, newest first
    size_t pos = 0;
    std::optional<int64_t> lastRk;  // byRk: the next chunk continues below this row key
    std::optional<Key> last;        // otherwise: below this (created_at, id)

    bool empty() const { return pos >= keys.size(); }
    const Key& head() const { return keys[pos]; }
};

Expected<void> fillKeys(IndexReader::Impl& impl, KeySource& s) {
    s.keys.clear();
    s.pos = 0;
    if (s.done) return {};
    std::string sql;
    std::vector<Bind> binds;
    if (s.byRk) {
        // Row keys begin with created_at: rk order is created_at order within [rkFloor(lo), rkCeil(hi)].
        sql = "SELECT created_at, id, rk FROM events WHERE rk >= ? AND rk <= ? ORDER BY rk DESC LIMIT ?";
        binds.push_back({Bind::Int, rkFloor(s.lo), {}});
        binds.push_back({Bind::Int, s.lastRk ? *s.lastRk - 1 : rkCeil(s.hi), {}});
    } else {
        // A part's created_at index holds (created_at, id): read backwards, the table is not touched.
        sql = "SELECT created_at, id FROM events WHERE created_at >= ? AND created_at <= ?";
        binds.push_back({Bind::Int, s.lo, {}});
        binds.push_back({Bind::Int, s.hi, {}});
        if (s.last) {
            sql += " AND (created_at, id) < (?, ?)";
            binds.push_back({Bind::Int, s.last->created_at, {}});
            binds.push_back({Bind::Blob, 0, std::string(reinterpret_cast<const char*>(s.last->id.data()), 32)});
        }
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?";
    }
    binds.push_back({Bind::Int, int64_t(s.chunk), {}});
    auto r = impl.run(s.file, sql, binds, [&](const Stmt& st) {
        Key k{st.i64(0), {}};
        if (auto b = st.blob(1); b.size() == 32) std::memcpy(k.id.data(), b.data(), 32);
        if (s.byRk) s.lastRk = st.i64(2);
        s.keys.push_back(k);
        return true;
    });
    if (!r) return r;
    if (s.keys.size() < s.chunk) s.done = true;
    if (!s.keys.empty() && !s.byRk) s.last = s.keys.back();
    s.chunk = std::min<size_t>(s.chunk * 2, 8192);
    return {};
}
}  // namespace

Expected<void> IndexReader::forEachKeyNewestFirst(int64_t since, int64_t until,
                                                  const std::function<bool(int64_t, const protocol::Bytes32&)>& fn) {
    Impl& impl = *m_impl;
    if (auto r = impl.begin(); !r) {
        impl.end();
        return r.error();
    }
    CallScope scope{impl};
    if (since > until) return {};
    for (const Bucket b : impl.buckets(since, until, Order::NewestFirst)) {
        std::vector<KeySource> sources;
        for (auto& f : impl.filesOf(b)) {
            if (!f->mayHoldCreated(since, until)) continue;
            KeySource s;
            s.file = f;
            s.lo = std::max(since, bucketLo(b));
            s.hi = std::min(until, bucketHi(b));
            s.byRk = f->kind == FileKind::Hot && s.hi < kRkTimeMax;
            if (auto r = fillKeys(impl, s); !r) return r;
            if (!s.empty()) sources.push_back(std::move(s));
        }
        // The files' keys merged by created_at (a second's keys in whatever order they come).
        auto later = [&](size_t x, size_t y) { return sources[x].head().created_at < sources[y].head().created_at; };
        std::vector<size_t> heap;
        for (size_t i = 0; i < sources.size(); ++i) heap.push_back(i);
        std::make_heap(heap.begin(), heap.end(), later);
        while (!heap.empty()) {
            std::pop_heap(heap.begin(), heap.end(), later);
            KeySource& s = sources[heap.back()];
            const Key& k = s.head();
            if (!fn(k.created_at, k.id)) return {};
            ++s.pos;
            if (s.empty())
                if (auto r = fillKeys(impl, s); !r) return r;
            if (s.empty()) heap.pop_back();
            else std::push_heap(heap.begin(), heap.end(), later);
        }
    }
    return {};
}

Expected<void> IndexReader::forEachFrame(const std::function<bool(const FrameRow&)>& fn) {
    auto cat = m_impl->catalogDb();
    if (!cat) return cat.error();
    auto st = (*cat)->prepare("SELECT id, segment, offset, length, events, raw_bytes, checksum FROM frames "
                              "ORDER BY segment, offset");
    if (!st) return st.error();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        FrameRow r;
        r.id = st->i64(0);
        r.frame.ref.segment = uint32_t(st->i64(1));
        r.frame.ref.offset = uint64_t(st->i64(2));
        r.frame.ref.length = uint32_t(st->i64(3));
        r.frame.events = uint32_t(st->i64(4));
        r.frame.raw_bytes = uint64_t(st->i64(5));
        r.frame.checksum = uint64_t(st->i64(6));
        if (!fn(r)) return {};
    }
    if (rc != SQLITE_DONE) return (*cat)->error("read frames");
    return {};
}

Expected<std::vector<std::pair<EventRow, RowPlace>>> IndexReader::findAllById(const protocol::Bytes32& id) {
    Impl& impl = *m_impl;
    if (auto r = impl.begin(); !r) {
        impl.end();
        return r.error();
    }
    CallScope scope{impl};
    std::vector<std::pair<EventRow, RowPlace>> out;
    const std::string sql = std::string("SELECT ") + kEventColumns + " FROM events e WHERE e.id = ?";
    const std::vector<Bind> binds{{Bind::Blob, 0, std::string(reinterpret_cast<const char*>(id.data()), 32)}};
    auto probe = [&](const FilePtr& f) {
        return impl.run(f, sql, binds, [&](const Stmt& st) {
            out.emplace_back(readRow(st), RowPlace{f->path, f->kind, f->bucket});
            return true;
        });
    };
    for (const auto& f : impl.snap->hot) {
        if (f->bloom && !f->bloom->mayContain(id)) continue;
        if (auto r = probe(f); !r) return r.error();
    }
    const uint64_t key = idKey(id);
    for (const auto& [b, v] : impl.snap->parts)
        for (const auto& f : v) {
            if (f->filter && !f->filter->mayContain(key)) continue;
            if (auto r = probe(f); !r) return r.error();
        }
    return out;
}

Expected<std::optional<EventRow>> IndexReader::findById(const protocol::Bytes32& id) {
    auto all = findAllById(id);
    if (!all) return all.error();
    if (all->empty()) return std::optional<EventRow>();
    return std::optional<EventRow>(all->front().first);
}

}  // namespace archivist::index
