#include "core/index/index_writer.h"

#include <QLoggingCategory>
#include <algorithm>
#include <cstring>
#include <set>
#include <thread>

#include "core/index/tag_key.h"
#include "core/observe/log.h"

namespace archivist::index {

std::vector<int64_t> indexTagKeys(const protocol::Event& e) {
    std::vector<int64_t> keys;
    for (const auto& tag : e.tags) {
        if (tag.size() < 2 || tag[0].size() != 1 || tag[1].size() > kMaxTagValueBytes) continue;
        keys.push_back(tagKey(tag[0][0], tag[1]));
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

Expected<std::unique_ptr<IndexWriter>> IndexWriter::open(const std::filesystem::path& dir, IndexOptions opts,
                                                         observe::MetricsRegistry* metrics, const FrameTextFn& frame_text) {
    auto idx = Index::open(dir, opts, metrics);
    if (!idx) return idx.error();
    if (frame_text) {
        auto repaired = (*idx)->repairFts(frame_text);
        if (!repaired) return repaired.error();
        if ((*idx)->ftsBackfillPending()) {
            auto added = (*idx)->backfillFts(frame_text);
            if (!added) return added.error();
            qCInfo(lcIndex) << "full-text search: indexed" << *added << "archived events";
        }
    }
    if (!opts.read_only)
        if (auto r = (*idx)->start(); !r) return r.error();
    return std::make_unique<IndexWriter>(std::move(*idx));
}

IndexWriter::IndexWriter(std::shared_ptr<Index> index, bool close_on_destroy)
    : m_index(std::move(index)), m_closeOnDestroy(close_on_destroy), m_lookup(m_index) {}

IndexWriter::~IndexWriter() {
    m_lookup.refresh();
    if (m_index && m_closeOnDestroy) m_index->close();
}

Expected<void> IndexWriter::replace(std::shared_ptr<Index> next) {
    if (!m_pending.empty()) return makeError("usage", "the index cannot be replaced while groups are being committed");
    m_lookup.refresh();
    m_index->close();
    {
        std::lock_guard lock(m_replaceMutex);
        m_index = std::move(next);
    }
    m_lookup = Lookup(m_index);
    m_inFlight.clear();
    m_sources.clear();
    m_sourceNames.clear();
    m_journal.reset();
    if (!m_index->readOnly())
        if (auto r = m_index->start(); !r) return r;
    return {};
}

Expected<std::optional<Found>> IndexWriter::lookup(const protocol::Bytes32& id, int64_t created_at) {
    if (auto it = m_inFlight.find(id); it != m_inFlight.end()) return std::optional<Found>(it->second);
    auto r = m_lookup.find(id, created_at);
    if (!r) return r.error();
    if (!*r) return std::optional<Found>();
    return std::optional<Found>(Found{(*r)->rk, (*r)->sighash, (*r)->pos});
}

std::optional<Found> IndexWriter::findEvent(const protocol::Bytes32& id, int64_t created_at) {
    auto r = lookup(id, created_at);
    if (!r) {
        qCWarning(lcIndex).noquote() << "index lookup failed:" << QString::fromStdString(r.error().message);
        return std::nullopt;
    }
    return *r;
}

Expected<std::shared_ptr<SightingJournal>> SightingJournal::create(const std::filesystem::path& file) {
    auto j = std::make_shared<SightingJournal>();
    std::error_code ec;
    std::filesystem::remove(file, ec);
    auto db = Db::open(file, Db::Mode::Create);
    if (!db) return db.error();
    j->m_db = std::move(*db);
    if (auto r = j->m_db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; "
                              "CREATE TABLE journal(n INTEGER PRIMARY KEY, id BLOB NOT NULL, source TEXT NOT NULL, "
                              "seen_at INTEGER NOT NULL, created_at INTEGER NOT NULL);");
        !r)
        return r.error();
    return j;
}

Expected<void> SightingJournal::append(const std::vector<Entry>& entries) {
    if (entries.empty()) return {};
    auto txn = Txn::begin(m_db);
    if (!txn) return txn.error();
    auto st = m_db.prepare("INSERT INTO journal(id, source, seen_at, created_at) VALUES (?,?,?,?)", true);
    if (!st) return st.error();
    for (const Entry& e : entries) {
        StmtReset reset(*st);
        st->bindBlob(1, e.id.data(), 32).bindText(2, e.source).bind(3, e.seen_at_ms).bind(4, e.created_at);
        if (st->step() != SQLITE_DONE) return m_db.error("sighting journal");
    }
    *st = Stmt();
    if (auto r = txn->commit(); !r) return r;
    m_entries += entries.size();
    return {};
}

Expected<void> SightingJournal::forEach(const std::function<Expected<void>(const Entry&)>& fn) {
    auto st = m_db.prepare("SELECT id, source, seen_at, created_at FROM journal ORDER BY n");
    if (!st) return st.error();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        Entry e;
        if (auto b = st->blob(0); b.size() == 32) std::memcpy(e.id.data(), b.data(), 32);
        e.source = std::string(st->text(1));
        e.seen_at_ms = st->i64(2);
        e.created_at = st->i64(3);
        if (auto r = fn(e); !r) return r;
    }
    if (rc != SQLITE_DONE) return m_db.error("read the sighting journal");
    return {};
}

Expected<std::string> IndexWriter::sourceName(uint32_t id) {
    if (auto it = m_sourceNames.find(id); it != m_sourceNames.end()) return it->second;
    std::lock_guard lock(m_index->catalogMutex());
    auto st = m_index->catalogForBulk().prepare("SELECT name FROM sources WHERE id = ?");
    if (!st) return st.error();
    st->bind(1, id);
    if (st->step() != SQLITE_ROW) return makeError("sqlite", "unknown source id " + std::to_string(id));
    std::string name(st->text(0));
    if (m_sourceNames.size() >= kSourceCacheMax) m_sourceNames.clear();
    m_sourceNames.emplace(id, name);
    return name;
}

Expected<uint32_t> IndexWriter::sourceId(std::string_view name) {
    if (auto it = m_sources.find(std::string(name)); it != m_sources.end()) return it->second;
    auto id = m_index->sourceId(name);
    if (!id) return id.error();
    if (m_sources.size() >= kSourceCacheMax) m_sources.clear();
    m_sources.emplace(std::string(name), *id);
    if (m_sourceNames.size() >= kSourceCacheMax) m_sourceNames.clear();
    m_sourceNames.emplace(*id, std::string(name));
    return *id;
}

Expected<uint64_t> IndexWriter::submit(std::span<const archive::AppendedFrame> frames, std::span<const NewEvent> events,
                                       std::span<const Sighting> sightings, std::vector<int64_t>* rks) {
    if (m_index->readOnly()) return makeError("read_only", "the index was opened read-only");
    for (const NewEvent& ne : events)
        if (ne.frame >= std::max<size_t>(frames.size(), 1))
            return makeError("usage", "an event names frame " + std::to_string(ne.frame) + " of " +
                                          std::to_string(frames.size()));
    const uint32_t lanes = m_index->lanes();
    std::vector<LaneBatch> batches(lanes);
    const uint64_t ticket = m_nextTicket++;
    {
        // Each lane's share sized once: grown by doubling, a group's rows and sightings (megabytes
        // in a relay flood) would be copied to a new array several times, on fresh pages each time.
        std::vector<size_t> rowsOf(lanes), sightingsOf(lanes);
        for (const NewEvent& ne : events) ++rowsOf[laneOf(ne.event.id, lanes)];
        for (const Sighting& s : sightings)
            if (s.source) ++sightingsOf[laneOf(s.id, lanes)];
        for (uint32_t l = 0; l < lanes; ++l) {
            batches[l].rows.reserve(rowsOf[l]);
            batches[l].sightings.reserve(sightingsOf[l]);
        }
    }
    for (auto& b : batches) {
        b.ticket = ticket;
        if (!frames.empty())
            b.watermark = archive::Watermark{frames.back().ref.segment, frames.back().ref.offset + frames.back().ref.length};
    }
    if (auto r = m_index->recordFrames(frames); !r) return r.error();
    uint64_t seq = 0;
    if (!events.empty()) {
        auto s = m_index->allocateSeq(events.size());
        if (!s) return s.error();
        seq = *s;
    }
    Pending pending;
    pending.ticket = ticket;
    pending.ids.reserve(events.size());
    if (rks) {
        rks->clear();
        rks->reserve(events.size());
    }
    const bool withContent = m_index->fts();
    for (size_t i = 0; i < events.size(); ++i) {
        const NewEvent& ne = events[i];
        const protocol::Event& e = ne.event;
        LaneRow row;
        row.rk = makeRk(e.created_at, seq + i);
        row.id = e.id;
        row.pubkey = e.pubkey;
        row.kind = e.kind;
        row.created_at = e.created_at;
        row.first_seen_at_ms = ne.first_seen_at_ms;
        row.frame = frames.empty() ? archive::FrameRef{} : frames[ne.frame].ref;
        row.line = ne.line;
        row.flags = ne.flags;
        row.sighash = ne.sighash ? ne.sighash : sigHash(e.sig);
        row.source = ne.source;
        row.copies_expected = ne.copies_expected;
        row.tag_keys = !ne.tag_keys.empty() || e.tags.empty() ? ne.tag_keys : indexTagKeys(e);
        if (withContent) row.content = e.content;
        if (rks) rks->push_back(row.rk);
        m_inFlight[e.id] = Found{row.rk, row.sighash, archive::EventPos{row.frame.segment, row.frame.offset, row.line}};
        pending.ids.push_back(e.id);
        batches[laneOf(e.id, lanes)].rows.push_back(std::move(row));
    }
    // Row keys of this group's events by id, for its copies whose row key the caller left open
    // (built only when there is such a copy).
    std::unordered_map<protocol::Bytes32, int64_t, ingest::IdHash> inGroup;
    bool inGroupBuilt = false;
    for (const Sighting& s : sightings) {
        if (!s.source) continue;
        int64_t rk = s.rk;
        if (!rk) {
            if (!inGroupBuilt) {
                inGroup.reserve(events.size());
                for (size_t i = 0; i < events.size(); ++i)
                    inGroup.emplace(events[i].event.id, makeRk(events[i].event.created_at, seq + i));
                inGroupBuilt = true;
            }
            if (auto it = inGroup.find(s.id); it != inGroup.end()) {
                rk = it->second;
            } else {
                auto found = lookup(s.id, s.created_at);
                if (!found) return found.error();
                if (!*found) continue;  // a sighting of an unknown id
                rk = (*found)->rk;
            }
        }
        batches[laneOf(s.id, lanes)].sightings.push_back(LaneSighting{rk, s.id, s.source, s.seen_at_ms});
    }
    if (m_journal && !sightings.empty()) {
        std::vector<SightingJournal::Entry> entries;
        for (const Sighting& s : sightings) {
            if (!s.source) continue;
            auto name = sourceName(s.source);
            if (!name) return name.error();
            entries.push_back(SightingJournal::Entry{s.id, *name, s.seen_at_ms, s.created_at});
        }
        if (auto r = m_journal->append(entries); !r) return r.error();
    }
    m_pending.push_back(std::move(pending));
    // No read transaction of ours may stay open on a hot file while the lanes commit: a lane that
    // freezes its file checkpoints it whole, which waits for readers (up to the busy timeout).
    m_lookup.refresh();
    if (auto r = m_index->submit(std::move(batches)); !r) return r.error();
    return ticket;
}

std::vector<uint64_t> IndexWriter::completed(std::chrono::milliseconds wait) {
    auto done = m_index->completed(wait);
    for (uint64_t t : done) {
        while (!m_pending.empty() && m_pending.front().ticket <= t) {
            for (const auto& id : m_pending.front().ids) m_inFlight.erase(id);
            m_pending.pop_front();
        }
    }
    if (!done.empty()) m_lookup.refresh();
    return done;
}

Expected<std::vector<int64_t>> IndexWriter::commit(std::span<const archive::AppendedFrame> frames,
                                                   std::span<const NewEvent> events, std::span<const Sighting> sightings) {
    std::set<protocol::Bytes32> seen;
    for (const NewEvent& ne : events) {
        if (!seen.insert(ne.event.id).second)
            return makeError("duplicate", "event " + std::to_string(idKey(ne.event.id)) + " appears twice in one commit");
        auto found = lookup(ne.event.id, ne.event.created_at);
        if (!found) return found.error();
        if (*found) return makeError("duplicate", "an event of this commit is already stored");
    }
    std::vector<int64_t> rks;
    auto ticket = submit(frames, events, sightings, &rks);
    if (!ticket) return ticket.error();
    for (;;) {
        for (uint64_t t : completed(std::chrono::milliseconds(50)))
            if (t == *ticket) return rks;
        if (m_index->laneFailed()) return makeError("io", "the index could not commit: " + m_index->lastError());
    }
}

Expected<void> IndexWriter::markSegmentSealed(uint32_t segment, uint64_t bytes, int64_t sealed_at_s) {
    return m_index->markSegmentSealed(segment, bytes, sealed_at_s);
}

Expected<std::vector<SealedSegment>> IndexWriter::sealedSegments() {
    std::lock_guard lock(m_index->catalogMutex());
    auto st = m_index->catalogForBulk().prepare("SELECT segment, sealed_at, bytes FROM segments ORDER BY segment");
    if (!st) return st.error();
    std::vector<SealedSegment> out;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW)
        out.push_back(SealedSegment{uint32_t(st->i64(0)), st->i64(1), uint64_t(st->i64(2))});
    if (rc != SQLITE_DONE) return m_index->catalogForBulk().error("read segments");
    return out;
}

Expected<uint64_t> IndexWriter::countEventRows() {
    uint64_t n = 0;
    auto snap = m_index->snapshot();
    std::vector<FilePtr> files = snap->hot;
    for (const auto& [b, v] : snap->parts) files.insert(files.end(), v.begin(), v.end());
    for (const auto& f : files) {
        auto db = Db::open(f->path, Db::Mode::ReadOnly, f->kind == FileKind::Part);
        if (!db) return db.error();
        auto c = db->scalar("SELECT count(*) FROM events");
        if (!c) return c.error();
        n += uint64_t(c->value_or(0));
    }
    return n;
}

}  // namespace archivist::index
