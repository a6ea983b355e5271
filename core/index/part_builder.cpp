#include "core/index/part_builder.h"

#include <cstring>
#include <functional>

#include "core/index/schema.h"

namespace archivist::index {

PartRow readPartRow(const Stmt& st) {
    PartRow r;
    r.rk = st.i64(0);
    if (auto b = st.blob(1); b.size() == 32) std::memcpy(r.id.data(), b.data(), 32);
    if (auto b = st.blob(2); b.size() == 32) std::memcpy(r.pubkey.data(), b.data(), 32);
    r.kind = uint16_t(st.i64(3));
    r.created_at = st.i64(4);
    r.first_seen_at_ms = st.i64(5);
    r.frame.segment = uint32_t(st.i64(6));
    r.frame.offset = uint64_t(st.i64(7));
    r.frame.length = uint32_t(st.i64(8));
    r.line = uint32_t(st.i64(9));
    r.flags = uint32_t(st.i64(10));
    r.sighash = st.i64(11);
    return r;
}

Expected<std::unique_ptr<PartBuilder>> PartBuilder::create(const std::filesystem::path& path, Bucket bucket,
                                                           int level, int64_t file_id) {
    std::unique_ptr<PartBuilder> b(new PartBuilder());
    b->m_path = path;
    b->m_bucket = bucket;
    b->m_level = level;
    b->m_fileId = file_id;
    std::error_code ec;
    std::filesystem::remove(path, ec);  // a leftover of an interrupted build with the same id
    auto db = Db::open(path, Db::Mode::Create);
    if (!db) return db.error();
    b->m_db = std::move(*db);
    // Nothing to roll back to: a part that is not finished is never registered.
    if (auto r = b->m_db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; "
                              "PRAGMA cache_size=-16384; BEGIN;");
        !r)
        return r.error();
    if (auto r = b->m_db.exec(std::string(kEventTablesSql) + kPartTagsSql); !r) return r.error();
    auto ev = b->m_db.prepare("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    auto tag = b->m_db.prepare("INSERT INTO tags(key, rk) VALUES (?,?)");
    auto sig = b->m_db.prepare("INSERT INTO sightings(rk, source, seen_at) VALUES (?,?,?)");
    if (!ev) return ev.error();
    if (!tag) return tag.error();
    if (!sig) return sig.error();
    b->m_event = std::move(*ev);
    b->m_tag = std::move(*tag);
    b->m_sighting = std::move(*sig);
    return b;
}

void bindEventRow(Stmt& st, const PartRow& r) {
    st.bind(1, r.rk)
        .bindBlob(2, r.id.data(), 32)
        .bindBlob(3, r.pubkey.data(), 32)
        .bind(4, r.kind)
        .bind(5, r.created_at)
        .bind(6, r.first_seen_at_ms)
        .bind(7, r.frame.segment)
        .bind(8, int64_t(r.frame.offset))
        .bind(9, r.frame.length)
        .bind(10, r.line)
        .bind(11, r.flags)
        .bind(12, r.sighash);
}

Expected<void> PartBuilder::addEvent(const PartRow& r) {
    StmtReset reset(m_event);
    bindEventRow(m_event, r);
    if (m_event.step() != SQLITE_DONE) return m_db.error("part " + m_path.string() + ": add event");
    noteRow(r.id, r.kind, r.created_at);
    return {};
}

Expected<void> PartBuilder::addTag(int64_t key, int64_t rk) {
    StmtReset reset(m_tag);
    m_tag.bind(1, key).bind(2, rk);
    if (m_tag.step() != SQLITE_DONE) return m_db.error("part " + m_path.string() + ": add tag");
    return {};
}

Expected<void> PartBuilder::addSighting(int64_t rk, uint32_t source, int64_t seen_at_ms) {
    StmtReset reset(m_sighting);
    m_sighting.bind(1, rk).bind(2, source).bind(3, seen_at_ms);
    if (m_sighting.step() != SQLITE_DONE) return m_db.error("part " + m_path.string() + ": add sighting");
    return {};
}

Expected<void> PartBuilder::copyAll(const std::filesystem::path& from) {
    if (m_events) return makeError("internal", "part " + m_path.string() + ": copyAll on a builder with rows");
    m_event = Stmt();
    m_tag = Stmt();
    m_sighting = Stmt();
    // ATTACH and DETACH are refused inside a transaction. The attached file is read in normal
    // locking mode: create() set EXCLUSIVE, which ATTACH would inherit, holding the frozen hot
    // file's lock against its readers until DETACH. SQLite's transfer copies a table's b-tree,
    // and those of its indexes, in key order when the destination table is empty and each of
    // its indexes exists in the source too.
    if (auto r = m_db.exec("COMMIT; PRAGMA locking_mode=NORMAL;"); !r) return r;
    if (auto r = attach(from.string(), "src"); !r) return r;
    auto copy = [&]() -> Expected<uint64_t> {
        // The events and their id index, and the sightings, are copied as b-trees. A hot file's
        // tags are in arrival order (and may be the part's table, in a hot file of an earlier
        // version): sorted once. The secondary indexes, which hot files do not keep, are built
        // after the rows.
        if (auto r = m_db.exec(std::string("BEGIN;") + kIdIndexSql +
                               "INSERT INTO main.events SELECT * FROM src.events;"
                               "INSERT OR IGNORE INTO main.tags(key, rk) SELECT key, rk FROM src.tags ORDER BY key, rk;"
                               "INSERT INTO main.sightings SELECT * FROM src.sightings;" +
                               kSecondaryIndexesSql);
            !r)
            return r.error();
        auto n = m_db.scalar("SELECT count(*) FROM src.events");
        if (!n) return n.error();
        if (auto r = m_db.exec("COMMIT"); !r) return r.error();
        return uint64_t(n->value_or(0));
    };
    auto copied = copy();
    if (!copied) (void)m_db.exec("ROLLBACK");
    if (auto r = m_db.exec("DETACH DATABASE src"); !r && copied) return r;
    if (!copied) return copied.error();
    if (auto r = m_db.exec("BEGIN"); !r) return r;
    m_indexed = true;
    if (auto r = readBackRows(); !r) return r;
    if (m_events != *copied)
        return makeError("index_corrupt", "part " + m_path.string() + ": copied " + std::to_string(m_events) +
                                              " events of " + std::to_string(*copied) + " in " + from.string());
    return {};
}

Expected<void> PartBuilder::attach(const std::string& file, const std::string& name) {
    auto at = m_db.prepare("ATTACH DATABASE ? AS " + name);
    if (!at) return at.error();
    at->bindText(1, file);  // bound without a copy: `file` outlives step()
    if (at->step() != SQLITE_DONE) return m_db.error("part " + m_path.string() + ": attach " + file);
    return {};
}

Expected<void> PartBuilder::readBackRows() {
    // What finish() needs of the rows: their count, kinds, created_at range and id filter keys.
    auto st = m_db.prepare("SELECT id, kind, created_at FROM events");
    if (!st) return st.error();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        protocol::Bytes32 id{};
        if (auto b = st->blob(0); b.size() == 32) std::memcpy(id.data(), b.data(), 32);
        noteRow(id, uint16_t(st->i64(1)), st->i64(2));
    }
    if (rc != SQLITE_DONE) return m_db.error("part " + m_path.string() + ": read the rows back");
    return {};
}

Expected<void> PartBuilder::mergeAll(const std::vector<std::filesystem::path>& from, const std::function<bool()>& cancelled) {
    if (m_events) return makeError("internal", "part " + m_path.string() + ": mergeAll on a builder with rows");
    if (from.size() > kMaxMergeInputs || int(from.size()) > sqlite3_limit(m_db.get(), SQLITE_LIMIT_ATTACHED, -1))
        return makeError("internal", "part " + m_path.string() + ": " + std::to_string(from.size()) + " inputs to one merge");
    m_event = Stmt();
    m_tag = Stmt();
    m_sighting = Stmt();
    // As in copyAll: ATTACH outside a transaction, in normal locking mode. The inputs are parts,
    // which nothing writes once they are registered: attached immutable.
    if (auto r = m_db.exec("COMMIT; PRAGMA locking_mode=NORMAL;"); !r) return r;
    std::string events, tags, sightings;
    size_t attached = 0;
    auto detachAll = [&] {
        for (size_t i = 0; i < attached; ++i) (void)m_db.exec("DETACH DATABASE m" + std::to_string(i));
    };
    for (const auto& path : from) {
        const std::string name = "m" + std::to_string(attached);
        if (auto r = attach(fileUri(path, true), name); !r) {
            detachAll();
            return r;
        }
        ++attached;
        const char* sep = attached > 1 ? " UNION ALL " : "";
        std::string arm = kPartRowSelect;  // "SELECT <the columns> FROM events"
        arm.insert(arm.size() - strlen("events"), name + ".");
        events += sep + arm + " WHERE archivist_merged_row(id, kind, created_at)";
        tags += sep + std::string("SELECT key, rk FROM ") + name + ".tags";
        sightings += sep + std::string("SELECT rk, source, seen_at FROM ") + name + ".sightings";
    }
    // Each input is read in its key order and SQLite merges the streams (a compound SELECT
    // ordered by the key of every arm: no sort); the rows reach the new tables in key order, as
    // addEvent/addTag/addSighting would add them. Each arm hands every row it yields to noteRow
    // (archivist_merged_row, always true): what finish() needs of the rows is taken as they pass,
    // not by a scan of the new table afterwards (0.43 µs a merged event in
    // scripts/merge-steps.py). A tag row or sighting may be in two inputs: tags once, sightings
    // with their earliest seen_at (an upsert: a GROUP BY would sort them again in a temporary
    // b-tree).
    struct Cancel {
        const std::function<bool()>* fn;
        bool fired = false;
    } cancel{&cancelled};
    if (cancelled && cancelled()) {
        detachAll();
        return makeError("cancelled", "closing");
    }
    sqlite3_progress_handler(
        m_db.get(), 1000,
        [](void* p) -> int {
            auto* c = static_cast<Cancel*>(p);
            c->fired = c->fired || (*c->fn && (*c->fn)());
            return c->fired ? 1 : 0;
        },
        &cancel);
    // Not deterministic (it has an effect): SQLite calls it once for each row of each arm.
    const int fn = sqlite3_create_function_v2(
        m_db.get(), "archivist_merged_row", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY, this,
        [](sqlite3_context* ctx, int, sqlite3_value** v) {
            auto* b = static_cast<PartBuilder*>(sqlite3_user_data(ctx));
            protocol::Bytes32 id{};
            const void* blob = sqlite3_value_blob(v[0]);
            if (blob && sqlite3_value_bytes(v[0]) == 32) std::memcpy(id.data(), blob, 32);
            b->noteRow(id, uint16_t(sqlite3_value_int64(v[1])), sqlite3_value_int64(v[2]));
            sqlite3_result_int(ctx, 1);
        },
        nullptr, nullptr, nullptr);
    if (fn != SQLITE_OK) {
        detachAll();
        return m_db.error("part " + m_path.string() + ": register the merge's row function");
    }
    const std::string_view select = kPartRowSelect;  // "SELECT <the columns> FROM events"
    const std::string columns(select.substr(strlen("SELECT "), select.size() - strlen("SELECT ") - strlen(" FROM events")));
    const std::string sql =
        "BEGIN;"
        "INSERT INTO main.events(" + columns + ") SELECT * FROM (" + events + ") ORDER BY rk;"
        "INSERT OR IGNORE INTO main.tags(key, rk) SELECT * FROM (" + tags + ") ORDER BY key, rk;"
        "INSERT INTO main.sightings(rk, source, seen_at) SELECT * FROM (" + sightings + ") ORDER BY rk, source "
        "ON CONFLICT(rk, source) DO UPDATE SET seen_at = min(seen_at, excluded.seen_at);"
        "COMMIT;";
    auto merged = m_db.exec(sql);
    sqlite3_progress_handler(m_db.get(), 0, nullptr, nullptr);
    if (!merged) {
        (void)m_db.exec("ROLLBACK");
        // What noteRow took of rows that were rolled back.
        m_events = 0;
        m_kinds.clear();
        std::vector<uint64_t>().swap(m_keys);
    }
    detachAll();
    if (cancel.fired) return makeError("cancelled", "closing");
    if (!merged) return merged.error();
    return m_db.exec("BEGIN");
}

Expected<BuiltPart> PartBuilder::finish() {
    m_event = Stmt();
    m_tag = Stmt();
    m_sighting = Stmt();
    if (!m_indexed)
        if (auto r = m_db.exec(std::string(kIdIndexSql) + kSecondaryIndexesSql); !r) return r.error();
    auto kc = m_db.prepare("INSERT INTO kind_counts(kind, count) VALUES (?,?)");
    if (!kc) return kc.error();
    for (const auto& [kind, n] : m_kinds) {
        StmtReset reset(*kc);
        kc->bind(1, kind).bind(2, int64_t(n));
        if (kc->step() != SQLITE_DONE) return m_db.error("part kind counts");
    }
    kc = Stmt();
    BuiltPart out;
    out.events = m_events;
    if (m_events) {
        out.min_created = m_minCreated;
        out.max_created = m_maxCreated;
    }
    auto filter = std::make_shared<XorFilter>(XorFilter::build(m_keys, 16));  // decision 0028
    std::vector<uint64_t>().swap(m_keys);
    const std::string blob = filter->serialize();
    out.filter = filter;
    // Sightings of events whose row is in another file. Few in a part of live ingest; a part of a
    // re-import holds many. Both tables are in rk order: SQLite merges the two scans (`MERGE
    // (EXCEPT)`; a NOT EXISTS probe per sighting cost 2.5 × the CPU on a 413k-event part).
    if (!m_noOrphans) {
        auto st = m_db.prepare("SELECT rk FROM sightings EXCEPT SELECT rk FROM events ORDER BY 1");
        if (!st) return st.error();
        int rc;
        int64_t last = 0;
        bool any = false;
        while ((rc = st->step()) == SQLITE_ROW) {
            const int64_t rk = st->i64(0);
            if (any && rk == last) continue;
            m_keys.push_back(orphanKey(rk));
            last = rk;
            any = true;
        }
        if (rc != SQLITE_DONE) return m_db.error("part orphan sightings");
    }
    auto orphans = std::make_shared<XorFilter>(XorFilter::build(m_keys));
    std::vector<uint64_t>().swap(m_keys);
    const std::string orphanBlob = orphans->serialize();
    out.orphans = orphans;
    auto meta = m_db.prepare("INSERT INTO meta(key, value) VALUES (?,?)");
    if (!meta) return meta.error();
    auto put = [&](std::string_view key, int64_t v) {
        StmtReset reset(*meta);
        meta->bindText(1, key).bind(2, v);
        return meta->step() == SQLITE_DONE;
    };
    bool ok = put("kind", 1) && put("bucket", m_bucket) && put("level", m_level) && put("file", m_fileId) &&
              put("events", int64_t(m_events)) && put("min_created_at", m_minCreated) &&
              put("max_created_at", m_maxCreated);
    if (ok) {
        StmtReset reset(*meta);
        meta->bindText(1, "filter").bindBlob(2, blob.data(), int(blob.size()));
        ok = meta->step() == SQLITE_DONE;
    }
    if (ok) {
        StmtReset reset(*meta);
        meta->bindText(1, "orphan_filter").bindBlob(2, orphanBlob.data(), int(orphanBlob.size()));
        ok = meta->step() == SQLITE_DONE;
    }
    if (ok && m_events)
        ok = m_db.exec("INSERT INTO buckets(bucket, count) VALUES (" + std::to_string(m_bucket) + "," +
                       std::to_string(m_events) + ")")
                 .ok();
    if (!ok) return m_db.error("part meta");
    meta = Stmt();
    if (auto r = m_db.exec("COMMIT; PRAGMA user_version = 3;"); !r) return r.error();
    m_db.close();
    if (auto r = syncPath(m_path); !r) return r.error();
    std::error_code ec;
    out.bytes = uint64_t(std::filesystem::file_size(m_path, ec));
    return out;
}

namespace {
std::shared_ptr<const XorFilter> readFilterBlob(Db& part, const char* sql) {
    auto st = part.prepare(sql);
    if (!st || st->step() != SQLITE_ROW) return nullptr;
    auto f = XorFilter::deserialize(st->blob(0));
    if (!f) return nullptr;
    return std::make_shared<const XorFilter>(std::move(*f));
}
}  // namespace

std::shared_ptr<const XorFilter> readOrphanFilter(Db& part) {
    return readFilterBlob(part, "SELECT value FROM meta WHERE key = 'orphan_filter'");
}

std::shared_ptr<const XorFilter> readFilter(Db& part) {
    return readFilterBlob(part, "SELECT value FROM meta WHERE key = 'filter'");
}

}  // namespace archivist::index
