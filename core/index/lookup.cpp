#include "core/index/lookup.h"

#include <QLoggingCategory>

#include <atomic>
#include <set>
#include <utility>

#include "core/observe/log.h"

namespace archivist::index {

namespace {
std::atomic<int64_t> g_openConnections{0};
std::atomic<int64_t> g_connectionBounds{0};
std::atomic<uint64_t> g_descriptorShortfalls{0};
}  // namespace

FileConnections::FileConnections(size_t capacity, int cache_kib)
    : m_capacity(capacity ? capacity : 1), m_cacheKib(cache_kib > 0 ? cache_kib : 1024) {
    g_connectionBounds += int64_t(m_capacity);
}

FileConnections::~FileConnections() {
    clear();
    g_connectionBounds -= int64_t(m_capacity);
}

FileConnections::FileConnections(FileConnections&& o) noexcept
    : m_capacity(std::exchange(o.m_capacity, 0)),
      m_cacheKib(o.m_cacheKib),
      m_pass(o.m_pass),
      m_opened(o.m_opened),
      m_lru(std::move(o.m_lru)),
      m_map(std::move(o.m_map)) {
    o.m_lru.clear();
    o.m_map.clear();
}

FileConnections& FileConnections::operator=(FileConnections&& o) noexcept {
    if (this == &o) return *this;
    clear();
    g_connectionBounds -= int64_t(m_capacity);
    m_capacity = std::exchange(o.m_capacity, 0);
    m_cacheKib = o.m_cacheKib;
    m_pass = o.m_pass;
    m_opened = o.m_opened;
    m_lru = std::move(o.m_lru);
    m_map = std::move(o.m_map);
    o.m_lru.clear();
    o.m_map.clear();
    return *this;
}

FileConnections::Totals FileConnections::totals() {
    return {g_openConnections.load(std::memory_order_relaxed), g_connectionBounds.load(std::memory_order_relaxed),
            g_descriptorShortfalls.load(std::memory_order_relaxed)};
}

void FileConnections::clear() {
    g_openConnections -= int64_t(m_lru.size());
    m_map.clear();
    m_lru.clear();
}

Expected<Stmt*> FileConnections::Conn::stmt(const std::string& sql) {
    auto it = stmts.find(sql);
    if (it == stmts.end()) {
        if (stmts.size() >= kMaxStatements) stmts.clear();
        auto st = db.prepare(sql, true);
        if (!st) return st.error();
        it = stmts.emplace(sql, std::move(*st)).first;
    } else {
        it->second.reset();
        sqlite3_clear_bindings(it->second.get());
    }
    return &it->second;
}

Expected<FileConnections::Conn*> FileConnections::get(const FilePtr& file, bool keep_read) {
    auto it = m_map.find(file->id);
    if (it != m_map.end()) {
        m_lru.splice(m_lru.begin(), m_lru, it->second);
    } else {
        auto db = Db::open(file->path, Db::Mode::ReadOnly, file->kind == FileKind::Part);
        if (!db && db.error().code == "no_descriptors" && !m_lru.empty()) {
            // The process is out of file descriptors (a low RLIMIT_NOFILE and many sets, relay
            // sockets, archive segments): this set gives back the older half of its connections
            // and tries once more, so a lookup waits on reopened files instead of failing.
            // The connections close before the warning is logged: a log sink (or the sanitizers'
            // runtime) may need a descriptor too.
            const size_t keep = m_lru.size() / 2;
            const size_t closed = m_lru.size() - keep;
            while (m_lru.size() > keep) {
                m_map.erase(m_lru.back().file->id);
                m_lru.pop_back();
                --g_openConnections;
            }
            const uint64_t shortfalls = ++g_descriptorShortfalls;
            if ((shortfalls & (shortfalls - 1)) == 0)  // the 1st, 2nd, 4th, … time: visible, not a flood
                qCWarning(lcIndex).noquote()
                    << QString("out of file descriptors opening %1: a reader closed %2 of its connections (%3 times so far); "
                               "raise the open-files limit (ulimit -n)")
                           .arg(QString::fromStdString(file->path.string()))
                           .arg(closed)
                           .arg(shortfalls);
            db = Db::open(file->path, Db::Mode::ReadOnly, file->kind == FileKind::Part);
        }
        if (!db) return db.error();
        // Point lookups and short ranges: the OS caches the files.
        (void)db->exec("PRAGMA cache_size=-" + std::to_string(m_cacheKib));
        if (!m_lru.empty() && m_lru.size() >= m_capacity) {
            auto victim = std::prev(m_lru.end());
            if (m_pass && victim->pass == m_pass) victim = m_lru.begin();  // the pass outgrew the set
            m_map.erase(victim->file->id);
            m_lru.erase(victim);
            --g_openConnections;
        }
        m_lru.push_front(Conn{file, std::move(*db), false, {}, 0});
        ++g_openConnections;
        ++m_opened;
        it = m_map.emplace(file->id, m_lru.begin()).first;
    }
    Conn& c = *it->second;
    c.pass = m_pass;
    if (keep_read && file->kind == FileKind::Hot && !c.in_read) {
        if (auto r = c.db.exec("BEGIN"); !r) return r.error();
        c.in_read = true;
    }
    return &c;
}

void FileConnections::endReads() {
    for (auto& c : m_lru)
        if (c.in_read) {
            for (auto& [sql, st] : c.stmts) st.reset();
            warnIfFailed(c.db.exec("COMMIT"), "end of a lookup's read transaction");
            c.in_read = false;
        }
}

void FileConnections::retain(const Snapshot& snap) {
    std::set<int64_t> keep;
    for (const auto& f : snap.hot) keep.insert(f->id);
    for (const auto& [b, v] : snap.parts)
        for (const auto& f : v) keep.insert(f->id);
    for (auto it = m_lru.begin(); it != m_lru.end();) {
        if (!keep.count(it->file->id)) {
            m_map.erase(it->file->id);
            it = m_lru.erase(it);
            --g_openConnections;
        } else {
            ++it;
        }
    }
}

Lookup::Lookup(std::shared_ptr<Index> index)
    : m_index(std::move(index)), m_conns(m_index->options().reader_connections) {}

void Lookup::ensureSnapshot() {
    while (auto next = m_index->replacement()) {
        // A rebuild replaced the index: continue on the new one.
        m_conns.clear();
        m_snap.reset();
        m_sourceIds.clear();
        m_index = std::move(next);
    }
    if (!m_snap || m_snap->version != m_index->snapshotVersion()) {
        m_conns.endReads();
        m_snap = m_index->snapshot();
        m_conns.retain(*m_snap);
    }
}

void Lookup::refresh() {
    m_conns.endReads();
    ensureSnapshot();
}

uint32_t Lookup::sourceIdOf(std::string_view name) {
    if (auto it = m_sourceIds.find(std::string(name)); it != m_sourceIds.end()) return it->second;
    auto id = m_index->knownSourceId(name);
    if (!id || !*id) return 0;  // not cached: the writer may register it any moment
    if (m_sourceIds.size() >= kSourceIdsMax) m_sourceIds.clear();
    m_sourceIds.emplace(std::string(name), *id);
    return *id;
}

Expected<std::optional<Lookup::Found>> Lookup::find(const protocol::Bytes32& id, int64_t created_at,
                                                    std::string_view source) {
    ensureSnapshot();
    static const std::string kSql = "SELECT rk, sighash, segment, offset, line FROM events WHERE id = ?1";
    static const std::string kSqlWithSource =
        "SELECT e.rk, e.sighash, e.segment, e.offset, e.line, "
        "(SELECT min(s.seen_at) FROM sightings s WHERE s.rk = e.rk AND s.source = ?2) FROM events e WHERE e.id = ?1";
    const uint32_t src = source.empty() ? 0 : sourceIdOf(source);
    auto probe = [&](const FilePtr& f) -> Expected<std::optional<Found>> {
        ++m_probes;
        auto conn = m_conns.get(f, true);
        if (!conn) return conn.error();
        auto st = (*conn)->stmt(src ? kSqlWithSource : kSql);
        if (!st) return st.error();
        (*st)->bindBlob(1, id.data(), 32);
        if (src) (*st)->bind(2, int64_t(src));
        const int rc = (*st)->step();
        std::optional<Found> out;
        if (rc == SQLITE_ROW) {
            out = Found{(*st)->i64(0), (*st)->i64(1),
                        archive::EventPos{uint32_t((*st)->i64(2)), uint64_t((*st)->i64(3)), uint32_t((*st)->i64(4))},
                        std::nullopt};
            if (src && sqlite3_column_type((*st)->get(), 5) != SQLITE_NULL) out->source_seen_at = (*st)->i64(5);
        } else if (rc != SQLITE_DONE) return (*conn)->db.error("look up an id in " + f->path.filename().string());
        (*st)->reset();
        return out;
    };
    const uint32_t lane = laneOf(id, m_snap->lanes);
    for (const auto& f : m_snap->hot) {
        if (f->lane != lane) continue;
        if (f->bloom && !f->bloom->mayContain(id)) {
            ++m_filterSkips;
            continue;
        }
        auto r = probe(f);
        if (!r || *r) return r;
    }
    auto it = m_snap->parts.find(bucketOf(created_at));
    if (it == m_snap->parts.end()) return std::optional<Found>();
    const uint64_t key = idKey(id);
    for (const auto& f : it->second)
        if (f->filter && f->mayHoldCreated(created_at, created_at)) f->filter->prefetch(key);
    for (const auto& f : it->second) {
        if (!f->mayHoldCreated(created_at, created_at)) {  // its rows are all older or all newer
            ++m_filterSkips;
            continue;
        }
        if (f->filter && !f->filter->mayContain(key)) {
            ++m_filterSkips;
            continue;
        }
        auto r = probe(f);
        if (!r || *r) return r;
    }
    return std::optional<Found>();
}

}  // namespace archivist::index
