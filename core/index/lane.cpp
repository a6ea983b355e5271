#include "core/index/lane.h"

#include <QLoggingCategory>
#include <algorithm>
#include <random>
#include <map>
#include <set>

#include "core/observe/log.h"
#include "core/util/clock.h"
#include "core/util/thread_name.h"
#include "core/util/thread_priority.h"

namespace archivist::index {

namespace {
constexpr int64_t kIdleWatermarkMs = 1000;  // an idle lane still records its watermark this often
}

Lane::Lane(Index& index, uint32_t lane, FilePtr active, archive::Watermark wm, uint64_t fts_batch)
    : m_index(index), m_lane(lane), m_active(std::move(active)), m_queue(index.options().lane_queue_batches),
      m_others(index.options().rollup_connections), m_facts(index.options().rollup_facts), m_watermark(wm),
      m_pendingWatermark(wm), m_ftsBatch(fts_batch) {}

size_t RollupFactsCache::RkHash::operator()(int64_t rk) const noexcept {
    static const uint64_t key = [] {
        std::random_device rd;
        return (uint64_t(rd()) << 32) ^ rd();
    }();
    uint64_t h = (uint64_t(rk) ^ key) * 0x9e3779b97f4a7c15ull;
    return size_t(h ^ (h >> 29));
}

Lane::~Lane() {
    stop();
    join();
}

archive::Watermark Lane::watermark() const {
    // A batch with nothing for this lane is done as soon as it is taken: its watermark counts now
    // (on disk it follows with the next commit; recovery may then replay a little more).
    std::lock_guard lock(m_wmMutex);
    return m_watermarkDirty ? m_pendingWatermark : m_watermark;
}

Expected<void> Lane::start() {
    if (auto r = openHot(); !r) return r;
    if (auto r = openFts(); !r) return r;
    m_thread = std::thread([this] { run(); });
    return {};
}

void Lane::stop() { m_queue.close(); }

void Lane::join() {
    if (m_thread.joinable()) m_thread.join();
}

Expected<void> Lane::openHot() {
    for (Stmt* st : {&m_insEvent, &m_insTag, &m_upSighting, &m_upKind, &m_upBucket, &m_setMeta, &m_rowOf, &m_sourcesOf})
        *st = Stmt();
    m_hot.close();
    auto db = Db::open(m_active->path, Db::Mode::ReadWrite);
    if (!db) return db.error();
    m_hot = std::move(*db);
    const std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; "
                                "PRAGMA cache_size=-" + std::to_string(std::max(1, m_index.options().cache_mib) * 1024) + ";";
    if (auto r = m_hot.exec(pragmas); !r) return r;
    if (auto r = m_hot.exec(std::string(kRollupTablesSql) + kRollupLogSql); !r) return r;
    auto events = m_hot.scalar("SELECT value FROM meta WHERE key = 'event_count'");
    if (!events) return events.error();
    m_hotEvents = uint64_t(events->value_or(0));
    auto first = m_hot.scalar("SELECT value FROM meta WHERE key = 'first_commit_ms'");
    if (!first) return first.error();
    m_firstCommitMs = first->value_or(0);
    struct {
        Stmt* st;
        const char* sql;
    } stmts[] = {
        {&m_insEvent, "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"},
        {&m_insTag, "INSERT OR IGNORE INTO tags(key, rk) VALUES (?,?)"},
        {&m_upSighting, "INSERT INTO sightings(rk, source, seen_at) VALUES (?,?,?) "
                        "ON CONFLICT(rk, source) DO UPDATE SET seen_at = min(seen_at, excluded.seen_at)"},
        {&m_upKind, "INSERT INTO kind_counts(kind, count) VALUES (?,?) "
                    "ON CONFLICT(kind) DO UPDATE SET count = count + excluded.count"},
        {&m_upBucket, "INSERT INTO buckets(bucket, count) VALUES (?,?) "
                      "ON CONFLICT(bucket) DO UPDATE SET count = count + excluded.count"},
        {&m_setMeta, "INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)"},
        {&m_rowOf, "SELECT created_at, first_seen_at FROM events WHERE rk = ?"},
        {&m_sourcesOf, "SELECT source FROM sightings WHERE rk = ?"},
    };
    for (auto& s : stmts) {
        auto st = m_hot.prepare(s.sql, true);
        if (!st) return st.error();
        *s.st = std::move(*st);
    }
    return {};
}

Expected<void> Lane::openFts() {
    for (Stmt* st : {&m_insDoc, &m_setFtsMeta}) *st = Stmt();
    m_vocab = VocabWriter();
    m_fts.close();
    if (!m_index.fts()) return {};
    auto db = Db::open(m_index.ftsPath(m_lane), Db::Mode::ReadWrite);
    if (!db) return db.error();
    m_fts = std::move(*db);
    if (auto r = registerTokenizer(m_fts.get()); !r) return r;
    if (auto r = m_fts.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-8192;"); !r)
        return r;
    // FTS5 merges a level's segments once 16 of them exist instead of 4 (its default): each
    // posting is rewritten about log16 instead of log4 times over the file's life, so the cost of
    // a document stays flat as the file grows; a search reads a few more segments.
    if (auto r = m_fts.exec("INSERT INTO fts(fts, rank) VALUES('automerge', 16)"); !r) return r;
    auto doc = m_fts.prepare("INSERT INTO fts(rowid, content) VALUES (?,?)", true);
    auto vocab = VocabWriter::open(m_fts, m_index.options().vocab_run_terms);
    auto meta = m_fts.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", true);
    if (!doc) return doc.error();
    if (!vocab) return vocab.error();
    if (!meta) return meta.error();
    m_insDoc = std::move(*doc);
    m_vocab = std::move(*vocab);
    m_setFtsMeta = std::move(*meta);
    return {};
}

template <typename Fn>
bool Lane::retry(const char* what, Fn&& fn) {
    int delay = 100;
    bool retrying = false;  // counted in m_lanesRetrying while this call retries
    for (;;) {
        auto r = fn();
        if (r) {
            if (retrying) m_index.m_lanesRetrying.fetch_sub(1);
            return true;
        }
        m_index.noteError(std::string("lane ") + std::to_string(m_lane) + " " + what, r.error());
        if (!retrying) {
            retrying = true;
            m_index.m_lanesRetrying.fetch_add(1);
        }
        if (m_index.m_abandon.load()) {
            m_index.m_lanesRetrying.fetch_sub(1);
            m_index.m_laneFailed.store(true);
            return false;
        }
        for (int slept = 0; slept < delay && !m_index.m_abandon.load(); slept += 20)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        delay = std::min(delay * 2, 5000);
    }
}

void Lane::run() {
    setThreadName("ix-lane" + std::to_string(m_lane));
    lowerThisThreadPriority();  // the console's GUI thread comes first
    std::vector<LaneBatch> batches;
    bool failed = false;
    for (;;) {
        batches.clear();
        // Buffered documents wait at most fts_delay_ms after the oldest was committed.
        int64_t waitMs = 200;
        if (!m_ftsDocs.empty())
            waitMs = std::clamp<int64_t>(m_index.options().fts_delay_ms - (steadyMs() - m_ftsSinceMs), 0, 200);
        // Held: the groups being committed count against the queue's bound until they are done.
        m_queue.popAllHeld(batches, m_queue.capacity(), std::chrono::milliseconds(waitMs));
        if (!batches.empty()) {
            // The batches queued behind a commit go into ONE transaction: a hot file's random
            // B-tree pages (id, author, tag keys) are then written to the WAL and checkpointed
            // once for all of them. A lane that keeps up commits one batch at a time; one that
            // falls behind commits bigger transactions instead of more of them.
            LaneBatch& all = batches.front();
            for (size_t i = 1; i < batches.size(); ++i) {
                LaneBatch& b = batches[i];
                std::move(b.rows.begin(), b.rows.end(), std::back_inserter(all.rows));
                std::move(b.sightings.begin(), b.sightings.end(), std::back_inserter(all.sightings));
                if (b.watermark) all.watermark = b.watermark;  // batches are in archive order
                b.rows.clear();
                b.sightings.clear();
            }
            bool ok = retry("commit", [&] { return commit(all); });
            if (ok && !m_ftsDocs.empty() && ftsDue()) ok = retry("full-text commit", [&] { return commitFts(); });
            if (ok)
                for (const LaneBatch& b : batches) m_index.laneCommitted(m_lane, b.ticket);
            m_queue.release(batches.size());
            if (!ok) {
                failed = true;
                break;
            }
        }
        if (!batches.empty()) trimWal();
        if (batches.empty() && m_othersSnap) {
            m_others.clear();  // idle: keep no replaced file alive
            m_othersSnap.reset();
            m_othersSize.store(0);
        }
        const bool idle = batches.empty();
        // Buffered documents are written when due, or when asked for (Index::commitFullText).
        const uint64_t ftsRequested = m_ftsRequests.load();
        if (!m_ftsDocs.empty() && (ftsDue() || ftsRequested != m_ftsHandled.load()) &&
            !retry("full-text commit", [&] { return commitFts(); }))
            break;
        m_ftsHandled.store(ftsRequested);
        if (idle && m_watermarkDirty && steadyMs() - m_lastCommitMs >= kIdleWatermarkMs) {
            LaneBatch empty;
            if (!retry("watermark", [&] { return commitHot(empty, false); })) break;
        }
        const uint64_t requested = m_freezeRequests.load();
        const bool force = requested != m_freezeHandled.load();
        if (!retry("freeze", [&] { return maybeFreeze(force); })) break;
        m_freezeHandled.store(requested);
        if (idle && m_queue.closedAndEmpty()) break;
    }
    if (!failed && !m_ftsDocs.empty()) warnIfFailed(commitFts(), "the last full-text commit of a lane");
    if (!failed && m_watermarkDirty) {
        LaneBatch empty;
        warnIfFailed(commitHot(empty, false), "the last watermark commit of a lane");
    }
    if (m_hot) warnIfFailed(m_hot.exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint of a hot file");
    if (m_fts) warnIfFailed(m_fts.exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint of a full-text file");
}

void Lane::trimWal() {
    // Readers that overlap all the time keep SQLite from restarting the WAL, which then grows
    // with every commit. Past a bound, checkpoint it whole and truncate it — waiting briefly for
    // readers (they hold read transactions for milliseconds), never long.
    constexpr uint64_t kWalLimit = 32ull << 20;
    std::error_code ec;
    const auto wal = std::filesystem::file_size(m_active->path.string() + "-wal", ec);
    if (ec || wal < kWalLimit) return;
    sqlite3_busy_timeout(m_hot.get(), 50);
    warnIfFailed(m_hot.exec("PRAGMA wal_checkpoint(TRUNCATE)"), "truncating a hot file's WAL");
    sqlite3_busy_timeout(m_hot.get(), 5000);
}

Expected<void> Lane::commit(LaneBatch& b) {
    if (b.rows.empty() && b.sightings.empty()) {
        // Nothing of this group for this lane: its watermark moves on with the next commit (or
        // within kIdleWatermarkMs); nothing it holds is waiting for it.
        if (b.watermark) {
            std::lock_guard lock(m_wmMutex);
            m_pendingWatermark = *b.watermark;
            m_watermarkDirty = true;
        }
        return {};
    }
    size_t docs = 0;
    if (m_fts)
        for (const LaneRow& r : b.rows) docs += r.content.empty() ? 0 : 1;
    if (auto r = commitHot(b, docs > 0); !r) {
        m_facts.clear();  // the rolled-back transaction's sources are not in the file
        return r;
    }
    if (!docs) return {};
    // The rows are committed: their documents go to the buffer (written by commitFts()).
    if (m_ftsDocs.empty()) m_ftsSinceMs = steadyMs();
    for (LaneRow& r : b.rows) {
        if (r.content.empty()) continue;
        m_ftsBytes += r.content.size();
        m_ftsDocs.push_back(FtsDoc{r.rk, std::move(r.content)});
    }
    m_ftsBytesGauge.store(m_ftsBytes);
    m_lastBatchDocs = docs;
    return {};
}

bool Lane::ftsDue() const {
    const auto& o = m_index.options();
    return m_lastBatchDocs < o.fts_bulk_docs || m_ftsDocs.size() >= kFtsBufferDocs || m_ftsBytes >= kFtsBufferBytes ||
           steadyMs() - m_ftsSinceMs >= o.fts_delay_ms;
}

Expected<void> Lane::commitHot(LaneBatch& b, bool docs) {
    auto txn = Txn::begin(m_hot);
    if (!txn) return txn.error();
    std::sort(b.rows.begin(), b.rows.end(), [](const LaneRow& x, const LaneRow& y) { return x.rk < y.rk; });
    std::vector<std::pair<int64_t, int64_t>> tags;
    std::map<uint16_t, int64_t> kinds;
    std::map<Bucket, int64_t> buckets;
    auto fail = [&](const Stmt& st, const char* what) {
        Error e = m_hot.error(std::string("hot file: ") + what);
        st.reset();
        return e;
    };
    auto sighting = [&](int64_t rk, uint32_t source, int64_t seen) -> bool {
        StmtReset reset(m_upSighting);
        m_upSighting.bind(1, rk).bind(2, source).bind(3, seen);
        return m_upSighting.step() == SQLITE_DONE;
    };
    RollupDelta rollup;
    std::vector<uint32_t> own;
    for (const LaneRow& r : b.rows) {
        own.clear();
        if (r.source) own.push_back(r.source);
        rollup.addEvent(r.kind, r.pubkey, r.created_at, r.first_seen_at_ms, own);
        if (r.copies_expected) {
            RollupFactsCache::Facts f;
            f.created_at = r.created_at;
            f.first_seen_ms = r.first_seen_at_ms;
            if (r.source) f.sources[f.count++] = r.source;
            m_facts.remember(r.rk, f);
        }
        m_active->bloom->add(r.id);  // before the row can be seen: a lookup never misses it
        {
            StmtReset reset(m_insEvent);
            bindEventRow(m_insEvent, r);
            if (m_insEvent.step() != SQLITE_DONE) return fail(m_insEvent, "insert event");
        }
        for (int64_t k : r.tag_keys) tags.emplace_back(k, r.rk);
        if (r.source && !sighting(r.rk, r.source, r.first_seen_at_ms)) return fail(m_upSighting, "insert sighting");
        ++kinds[r.kind];
        ++buckets[bucketOf(r.created_at)];
    }
    // Each (key, event) once: a hot file's tag table has no key to refuse a second one.
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    for (const auto& [key, rk] : tags) {
        StmtReset reset(m_insTag);
        m_insTag.bind(1, key).bind(2, rk);
        if (m_insTag.step() != SQLITE_DONE) return fail(m_insTag, "insert tag");
    }
    // In row-key order: copies arrive long after their events, so in arrival order each upsert
    // lands on a random page of the sightings B-tree; sorted, the upserts walk its pages in
    // order, each page and the path to it still in the CPU's cache from the one before. Stable:
    // the sightings of one event keep their arrival order, so its rollups and seen_at do not
    // change.
    std::stable_sort(b.sightings.begin(), b.sightings.end(),
                     [](const LaneSighting& x, const LaneSighting& y) { return x.rk < y.rk; });
    // Most further sightings find their event's facts in the cache: bring the cache lines in
    // ahead of use (the slots for all, then each entry a few sightings ahead).
    constexpr size_t kAhead = 8;
    for (const LaneSighting& s : b.sightings) m_facts.prefetchSlot(s.rk);
    for (size_t i = 0; i < std::min(kAhead, b.sightings.size()); ++i) m_facts.prefetchEntry(b.sightings[i].rk);
    for (size_t i = 0; i < b.sightings.size(); ++i) {
        const LaneSighting& s = b.sightings[i];
        if (i + kAhead < b.sightings.size()) m_facts.prefetchEntry(b.sightings[i + kAhead].rk);
        if (!s.source) continue;
        if (auto r = rollupSighting(s.rk, s.id, s.source, rollup); !r) return r.error();
        if (!sighting(s.rk, s.source, s.seen_at_ms)) return fail(m_upSighting, "insert sighting");
    }
    if (auto r = appendRollupLog(m_hot, rollup); !r) return r.error();
    auto counts = [&](const Stmt& st, const auto& map) -> bool {
        for (const auto& [k, n] : map) {
            StmtReset reset(st);
            sqlite3_bind_int64(st.get(), 1, k);
            sqlite3_bind_int64(st.get(), 2, n);
            if (st.step() != SQLITE_DONE) return false;
        }
        return true;
    };
    if (!counts(m_upKind, kinds)) return fail(m_upKind, "kind counts");
    if (!counts(m_upBucket, buckets)) return fail(m_upBucket, "bucket counts");
    auto setMeta = [&](std::string_view key, int64_t v) {
        StmtReset reset(m_setMeta);
        m_setMeta.bindText(1, key).bind(2, v);
        return m_setMeta.step() == SQLITE_DONE;
    };
    archive::Watermark wm = m_watermarkDirty ? m_pendingWatermark : m_watermark;
    if (b.watermark) wm = *b.watermark;
    const int64_t now = steadyMs();
    const uint64_t events = m_hotEvents + b.rows.size();
    std::pair<uint32_t, uint64_t> pendingFirst{}, pendingLast{};
    bool ok = setMeta("watermark_segment", wm.segment) && setMeta("watermark_offset", int64_t(wm.offset)) &&
              setMeta("event_count", int64_t(events));
    if (ok && !b.rows.empty() && m_hotEvents == 0) ok = setMeta("first_commit_ms", wallMs());
    if (ok && docs && !b.rows.empty()) {
        // The batch's frames, first to last (a commit group spans several frames): what
        // Index::repairFts reads back if the crash comes before the full-text commit.
        auto at = [](const LaneRow& r) { return std::pair<uint32_t, uint64_t>(r.frame.segment, r.frame.offset); };
        auto first = at(b.rows.front()), last = first;
        for (const LaneRow& r : b.rows) {
            first = std::min(first, at(r));
            last = std::max(last, at(r));
        }
        if (!m_ftsDocs.empty()) {  // the buffered batches' documents are still to be written too
            first = std::min(first, m_ftsFirst);
            last = std::max(last, m_ftsLast);
        }
        pendingFirst = first;
        pendingLast = last;
        ok = setMeta("fts_batch", int64_t(m_ftsBatch + 1)) && setMeta("fts_pending_segment", first.first) &&
             setMeta("fts_pending_offset", int64_t(first.second)) &&
             setMeta("fts_pending_last_segment", last.first) &&
             setMeta("fts_pending_last_offset", int64_t(last.second));
    }
    if (!ok) return fail(m_setMeta, "meta");
    if (auto r = txn->commit(); !r) return r;
    if (docs && !b.rows.empty()) {
        m_ftsFirst = pendingFirst;
        m_ftsLast = pendingLast;
    }
    if (docs) ++m_ftsBatch;
    if (!b.rows.empty() && m_hotEvents == 0) m_firstCommitMs = wallMs();
    m_hotEvents = events;
    m_active->events = events;
    m_lastCommitMs = now;
    std::lock_guard lock(m_wmMutex);
    m_watermarkDirty = false;
    m_pendingWatermark = wm;
    m_watermark = wm;
    return {};
}

Expected<void> Lane::rollupSighting(int64_t rk, const protocol::Bytes32& id, uint32_t source, RollupDelta& delta) {
    RollupFactsCache::Facts* known = m_facts.find(rk);
    if (known && known->count != RollupFactsCache::kTooMany) {
        const auto end = known->sources.begin() + known->count;
        if (std::find(known->sources.begin(), end, source) != end) return {};
        delta.addSource(known->created_at, known->first_seen_ms, source, known->count);
        if (known->count < RollupFactsCache::kSources) known->sources[known->count++] = source;
        else known->count = RollupFactsCache::kTooMany;
        return {};
    }
    std::optional<std::pair<int64_t, int64_t>> row;  // created_at, first_seen_at
    std::set<uint32_t> sources;
    {
        StmtReset reset(m_rowOf);
        m_rowOf.bind(1, rk);
        const int rc = m_rowOf.step();
        if (rc == SQLITE_ROW) row.emplace(m_rowOf.i64(0), m_rowOf.i64(1));
        else if (rc != SQLITE_DONE) return m_hot.error("rollups: read an event");
    }
    {
        StmtReset reset(m_sourcesOf);
        m_sourcesOf.bind(1, rk);
        int rc;
        while ((rc = m_sourcesOf.step()) == SQLITE_ROW) sources.insert(uint32_t(m_sourcesOf.i64(0)));
        if (rc != SQLITE_DONE) return m_hot.error("rollups: read sightings");
    }
    if (!row) {
        // Rows and sightings of an event live in files of its lane and parts of its month, never
        // in a hot file older than the one its row went to: all of them are read here.
        if (!m_othersSnap || m_othersSnap->version != m_index.snapshotVersion()) {
            m_othersSnap = m_index.snapshot();
            m_others.retain(*m_othersSnap);
        }
        std::vector<FilePtr> files;
        for (const FilePtr& f : m_othersSnap->hot)
            if (f->lane == m_lane && f->id != m_active->id) files.push_back(f);
        // Of the month's parts only those that may hold the event's row (id filter) or a copy's
        // sighting without the row (orphan filter): a copy seen long after its event would
        // otherwise read every part of the month.
        const bool knownId = id != protocol::Bytes32{};
        const uint64_t idk = idKey(id), ork = orphanKey(rk);
        if (auto it = m_othersSnap->parts.find(bucketOfRk(rk)); it != m_othersSnap->parts.end())
            for (const FilePtr& f : it->second) {
                if (knownId && f->filter && f->orphans && !f->filter->mayContain(idk) && !f->orphans->mayContain(ork))
                    continue;
                files.push_back(f);
            }
        for (const FilePtr& f : files) {
            auto conn = m_others.get(f);
            if (!conn) return conn.error();
            if (!row) {
                auto st = (*conn)->stmt("SELECT created_at, first_seen_at FROM events WHERE rk = ?");
                if (!st) return st.error();
                (*st)->bind(1, rk);
                const int rc = (*st)->step();
                if (rc == SQLITE_ROW) row.emplace((*st)->i64(0), (*st)->i64(1));
                else if (rc != SQLITE_DONE) return (*conn)->db.error("rollups: read an event");
                (*st)->reset();
            }
            auto st = (*conn)->stmt("SELECT source FROM sightings WHERE rk = ?");
            if (!st) return st.error();
            (*st)->bind(1, rk);
            int rc;
            while ((rc = (*st)->step()) == SQLITE_ROW) sources.insert(uint32_t((*st)->i64(0)));
            if (rc != SQLITE_DONE) return (*conn)->db.error("rollups: read sightings");
            (*st)->reset();
        }
        m_othersSize.store(m_others.size());
    }
    if (!row) {
        // Cannot happen while the writer resolves row keys from this index; should it, the
        // sighting is still recorded and only its rollup change is left out — counted and logged,
        // never a reason to stop committing.
        m_index.noteError("lane " + std::to_string(m_lane) + " rollups",
                          makeError("index_corrupt", "a sighting of row " + std::to_string(rk) + " whose event is not stored"));
        return {};
    }
    const bool counted = !sources.count(source);
    if (counted) delta.addSource(row->first, row->second, source, uint32_t(sources.size()));
    if (!known) {
        // Copies of it may follow: remembered with this sighting's source.
        sources.insert(source);
        RollupFactsCache::Facts f;
        f.created_at = row->first;
        f.first_seen_ms = row->second;
        if (sources.size() <= RollupFactsCache::kSources)
            for (uint32_t s : sources) f.sources[f.count++] = s;
        else
            f.count = RollupFactsCache::kTooMany;
        m_facts.remember(rk, f);
    }
    return {};
}

Expected<void> Lane::commitFts() {
    // Ascending row keys: FTS5 writes its pending postings out as a segment whenever a row key is
    // not above the last one, so the buffer goes in as one sorted run (one level-0 segment per
    // ≈ 1 MiB of postings, its hash table's bound).
    std::sort(m_ftsDocs.begin(), m_ftsDocs.end(), [](const FtsDoc& x, const FtsDoc& y) { return x.rk < y.rk; });
    auto txn = Txn::begin(m_fts);
    if (!txn) return txn.error();
    m_sink.terms.clear();
    m_sink.frequent.clear();
    m_sink.known = &m_knownTerms;
    m_sink.frequent_at = m_index.options().frequent_term_occurrences;
    setThreadTermSink(&m_sink);
    for (const FtsDoc& r : m_ftsDocs) {
        StmtReset reset(m_insDoc);
        m_insDoc.bind(1, r.rk).bindText(2, r.content);
        if (m_insDoc.step() != SQLITE_DONE) {
            setThreadTermSink(nullptr);
            return m_fts.error("full-text insert");
        }
    }
    setThreadTermSink(nullptr);
    // The sink kept only the terms not in m_knownTerms (those are in the vocabulary already).
    if (auto r = m_vocab.insert(m_fts, m_sink.terms); !r) return r;
    if (auto r = m_vocab.insertFrequent(m_fts, m_sink.frequent); !r) return r;
    {
        StmtReset reset(m_setFtsMeta);
        m_setFtsMeta.bindText(1, "applied_batch").bind(2, int64_t(m_ftsBatch));
        if (m_setFtsMeta.step() != SQLITE_DONE) return m_fts.error("full-text meta");
    }
    if (auto r = txn->commit(); !r) return r;
    m_ftsDocs.clear();
    if (m_ftsDocs.capacity() > 2 * kFtsBufferDocs) m_ftsDocs.shrink_to_fit();  // a huge batch's buffer is not kept
    m_ftsBytes = 0;
    m_ftsBytesGauge.store(0);
    m_ftsSinceMs = 0;
    if (m_knownTerms.size() + m_sink.terms.size() > kKnownTermsMax) m_knownTerms.clear();
    m_knownTerms.absorb(m_sink.terms);
    m_knownTermsSize.store(m_knownTerms.size());
    return {};
}

Expected<void> Lane::maybeFreeze(bool force) {
    if (m_hotEvents == 0) return {};
    const auto& o = m_index.options();
    const bool due = force || m_hotEvents >= o.hot_max_events ||
                     (m_firstCommitMs && wallMs() - m_firstCommitMs >= o.hot_max_age_ms);
    if (!due) return {};
    // A frozen file's documents are all written: Index::repairFts reads only the active one's.
    if (!m_ftsDocs.empty())
        if (auto r = commitFts(); !r) return r;
    m_index.waitForFlushRoom(m_lane);
    if (m_index.m_abandon.load()) return {};
    // A frozen file is self-contained (no -wal), and nothing writes to it again.
    if (auto r = m_hot.exec("PRAGMA wal_checkpoint(TRUNCATE)"); !r) return r;
    auto next = m_index.rotateHot(m_lane, m_active, watermark(), m_ftsBatch);
    if (!next) return next.error();
    m_active = std::move(*next);
    m_hotEvents = 0;
    m_firstCommitMs = 0;
    return openHot();
}

}  // namespace archivist::index
