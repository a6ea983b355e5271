#include "core/index/bulk_build.h"

#include <QLoggingCategory>
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"
#include "core/index/fts.h"
#include "core/index/index_reader.h"
#include "core/index/index_writer.h"
#include "core/index/lookup.h"
#include "core/index/part_builder.h"
#include "core/index/rollups.h"
#include "core/index/tag_key.h"
#include "core/ingest/bounded_queue.h"
#include "core/ingest/recent_id_cache.h"
#include "core/observe/log.h"
#include "core/protocol/event_codec.h"
#include "core/util/clock.h"
#include "core/util/thread_name.h"

namespace archivist::index {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Provenance sources

namespace {

class LegacyProvenance final : public ProvenanceSource {
public:
    static Expected<std::unique_ptr<ProvenanceSource>> open(const fs::path& path) {
        auto p = std::make_unique<LegacyProvenance>();
        // Read-write: an index left by a crash has a WAL file only a writable connection recovers.
        auto db = Db::open(path, Db::Mode::ReadWrite);
        if (!db) return db.error();
        p->m_db = std::move(*db);
        (void)p->m_db.exec("PRAGMA cache_size=-16384");
        auto st = p->m_db.prepare(
            "SELECT e.first_seen_at, s.seen_at, src.name FROM events e LEFT JOIN sightings s ON s.event = e.rowid "
            "LEFT JOIN sources src ON src.id = s.source WHERE e.id = ? ORDER BY s.seen_at",
            true);
        if (!st) return st.error();
        p->m_st = std::move(*st);
        return std::unique_ptr<ProvenanceSource>(std::move(p));
    }
    Expected<std::optional<OldProvenance>> lookup(const protocol::Bytes32& id, int64_t, const archive::EventPos&) override {
        StmtReset reset(m_st);
        m_st.bindBlob(1, id.data(), 32);
        std::optional<OldProvenance> out;
        int rc;
        while ((rc = m_st.step()) == SQLITE_ROW) {
            if (!out) out.emplace().first_seen_at_ms = m_st.i64(0);
            if (sqlite3_column_type(m_st.get(), 2) == SQLITE_NULL) continue;
            if (out->sightings.size() >= 256) break;
            out->sightings.emplace_back(std::string(m_st.text(2)), m_st.i64(1));
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return m_db.error("read the old index");
        return out;
    }

private:
    Db m_db;
    Stmt m_st;
};

class IndexProvenance final : public ProvenanceSource {
public:
    explicit IndexProvenance(std::unique_ptr<IndexReader> reader) : m_reader(std::move(reader)) {}
    Expected<std::optional<OldProvenance>> lookup(const protocol::Bytes32& id, int64_t, const archive::EventPos&) override {
        auto row = m_reader->findById(id);
        if (!row) return row.error();
        if (!*row) return std::optional<OldProvenance>();
        OldProvenance p;
        p.first_seen_at_ms = (*row)->first_seen_at_ms;
        auto s = m_reader->sightings((*row)->rowid);
        if (!s) return s.error();
        for (const auto& x : *s) {
            if (p.sightings.size() >= 256) break;
            p.sightings.emplace_back(x.source, x.seen_at_ms);
        }
        return std::optional<OldProvenance>(std::move(p));
    }

private:
    std::unique_ptr<IndexReader> m_reader;
};

}  // namespace

ProvenanceFactory legacyProvenance(const fs::path& legacy_db) {
    return [legacy_db] { return LegacyProvenance::open(legacy_db); };
}

ProvenanceFactory indexProvenance(std::shared_ptr<Index> index) {
    return [index]() -> Expected<std::unique_ptr<ProvenanceSource>> {
        auto r = IndexReader::open(index);
        if (!r) return r.error();
        return std::unique_ptr<ProvenanceSource>(std::make_unique<IndexProvenance>(std::move(*r)));
    };
}

// ---------------------------------------------------------------------------------------------

namespace {

struct Parsed {
    PartRow row;  // rk, first_seen_at unset
    std::vector<int64_t> tags;
    std::string content;
    std::optional<OldProvenance> prov;
};

struct FrameJob {
    uint64_t seq = 0;
    archive::Frame frame;
};

struct FrameResult {
    archive::AppendedFrame frame;
    std::vector<Parsed> events;
    uint64_t damaged = 0;
    std::optional<Error> error;
};

struct Run {
    uint64_t number = 0;
    std::vector<PartRow> rows;
    std::vector<std::pair<int64_t, int64_t>> tags;                   // key, rk
    std::vector<std::tuple<int64_t, uint32_t, int64_t>> sightings;   // rk, source, seen_at
};

struct FtsBatch {
    std::vector<std::pair<int64_t, std::string>> docs;
};

class Failure {
public:
    void set(Error e) {
        std::lock_guard lock(m_mutex);
        if (!m_error) m_error = std::move(e);
        m_failed.store(true);
    }
    bool failed() const { return m_failed.load(); }
    std::optional<Error> error() const {
        std::lock_guard lock(m_mutex);
        return m_error;
    }

private:
    mutable std::mutex m_mutex;
    std::optional<Error> m_error;
    std::atomic<bool> m_failed{false};
};

bool before(const archive::Watermark& a, const archive::Watermark& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
}

FrameResult parseFrame(const archive::Frame& frame, ProvenanceSource* prov) {
    FrameResult out;
    out.frame.ref = frame.ref;
    out.frame.events = frame.events;
    out.frame.raw_bytes = frame.text.size();
    out.frame.checksum = frame.checksum;
    std::string_view text(frame.text);
    uint32_t line = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view json = text.substr(pos, end - pos);
        pos = end + 1;
        const uint32_t thisLine = line++;
        protocol::Event e;
        if (protocol::parseEvent(json, e) != protocol::Reject::None) {
            ++out.damaged;
            continue;
        }
        const protocol::IdForm form = protocol::checkId(e);
        if (form == protocol::IdForm::Mismatch) {
            ++out.damaged;
            continue;
        }
        Parsed p;
        p.row.id = e.id;
        p.row.pubkey = e.pubkey;
        p.row.kind = e.kind;
        p.row.created_at = e.created_at;
        p.row.frame = frame.ref;
        p.row.line = thisLine;
        p.row.flags = form == protocol::IdForm::Nip01Text ? uint32_t(protocol::kFlagNip01TextId) : 0u;
        p.row.sighash = sigHash(e.sig);
        p.tags = indexTagKeys(e);
        p.content = std::move(e.content);
        if (prov) {
            auto r = prov->lookup(e.id, e.created_at, archive::EventPos{frame.ref.segment, frame.ref.offset, thisLine});
            if (!r) {
                out.error = r.error();
                return out;
            }
            p.prov = std::move(*r);
        }
        out.events.push_back(std::move(p));
    }
    return out;
}

}  // namespace

Expected<BulkReport> bulkBuild(Index& target, const fs::path& archive_dir, const BulkOptions& o) {
    const int64_t started = steadyMs();
    BulkReport report;
    Failure failure;
    const unsigned parsers = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
    const uint32_t lanes = target.lanes();
    const bool fts = target.fts();
    auto cancelled = [&] { return (o.cancel && o.cancel->load()) || failure.failed(); };

    // The default sighting source.
    auto defaultSource = target.sourceId(o.source);
    if (!defaultSource) return defaultSource.error();

    ingest::BoundedQueue<FrameJob> jobs(parsers * 2);
    std::mutex resultMutex;
    std::condition_variable resultCv;
    std::map<uint64_t, FrameResult> results;
    size_t inFlight = 0;
    const size_t maxInFlight = parsers * 4;
    bool readerDone = false;
    uint64_t framesQueued = 0;

    // Parsers.
    std::vector<std::thread> parserThreads;
    for (unsigned t = 0; t < parsers; ++t)
        parserThreads.emplace_back([&] {
            setThreadName("ix-parse");
            std::unique_ptr<ProvenanceSource> prov;
            if (o.provenance) {
                auto p = o.provenance();
                if (!p) {
                    failure.set(p.error());
                } else {
                    prov = std::move(*p);
                }
            }
            FrameJob job;
            while (jobs.pop(job)) {
                FrameResult r = failure.failed() ? FrameResult{} : parseFrame(job.frame, prov.get());
                if (r.error) failure.set(*r.error);
                {
                    std::lock_guard lock(resultMutex);
                    results.emplace(job.seq, std::move(r));
                }
                resultCv.notify_all();
            }
        });

    // Full-text writers, one per lane.
    std::vector<std::unique_ptr<ingest::BoundedQueue<FtsBatch>>> ftsQueues;
    std::vector<std::thread> ftsThreads;
    if (fts)
        for (uint32_t l = 0; l < lanes; ++l) {
            ftsQueues.push_back(std::make_unique<ingest::BoundedQueue<FtsBatch>>(8));
            ftsThreads.emplace_back([&, l] {
                setThreadName("ix-fts" + std::to_string(l));
                auto w = FtsBulkWriter::open(target.ftsPath(l), target.options().vocab_run_terms,
                                                  target.options().frequent_term_occurrences);
                if (!w) failure.set(w.error());
                FtsBatch b;
                uint64_t sinceCommit = 0;
                while (ftsQueues[l]->pop(b)) {
                    if (!w || failure.failed()) continue;
                    for (const auto& [rk, content] : b.docs)
                        if (auto r = w->add(rk, content); !r) {
                            failure.set(r.error());
                            break;
                        }
                    sinceCommit += b.docs.size();
                    if (sinceCommit >= 200000) {
                        if (auto r = w->commit(std::nullopt, false); !r) failure.set(r.error());
                        sinceCommit = 0;
                    }
                }
                if (w && !failure.failed())
                    if (auto r = w->commit(uint64_t(0)); !r) failure.set(r.error());
            });
        }

    // Builder: runs → level-0 parts.
    ingest::BoundedQueue<Run> runs(1);
    std::atomic<uint64_t> runsRegistered{0};
    std::thread builder([&] {
        setThreadName("ix-build");
        Run run;
        while (runs.pop(run)) {
            if (failure.failed()) continue;
            std::sort(run.rows.begin(), run.rows.end(), [](const PartRow& a, const PartRow& b) { return a.rk < b.rk; });
            std::vector<std::tuple<Bucket, int64_t, int64_t>> tags;
            tags.reserve(run.tags.size());
            for (const auto& [key, rk] : run.tags) tags.emplace_back(bucketOfRk(rk), key, rk);
            std::vector<std::pair<int64_t, int64_t>>().swap(run.tags);
            std::sort(tags.begin(), tags.end());
            std::sort(run.sightings.begin(), run.sightings.end());
            std::vector<int64_t> ids;
            size_t ri = 0, ti = 0, si = 0;
            auto fail = [&](const Error& e) { failure.set(e); };
            while (ri < run.rows.size() || si < run.sightings.size()) {
                Bucket b = kBucketCount;
                if (ri < run.rows.size()) b = bucketOfRk(run.rows[ri].rk);
                if (si < run.sightings.size()) b = std::min(b, bucketOfRk(std::get<0>(run.sightings[si])));
                auto id = target.reserveFileId(FileKind::Part, 0, b, 0);
                if (!id) {
                    fail(id.error());
                    break;
                }
                auto pb = PartBuilder::create(target.filePath(FileKind::Part, *id, 0, b), b, 0, *id);
                if (!pb) {
                    fail(pb.error());
                    break;
                }
                bool ok = true;
                for (; ok && ri < run.rows.size() && bucketOfRk(run.rows[ri].rk) == b; ++ri)
                    if (auto r = (*pb)->addEvent(run.rows[ri]); !r) ok = (fail(r.error()), false);
                for (; ok && ti < tags.size() && std::get<0>(tags[ti]) < b; ++ti) {
                }
                for (; ok && ti < tags.size() && std::get<0>(tags[ti]) == b; ++ti)
                    if (auto r = (*pb)->addTag(std::get<1>(tags[ti]), std::get<2>(tags[ti])); !r) ok = (fail(r.error()), false);
                std::optional<std::pair<int64_t, uint32_t>> last;
                for (; ok && si < run.sightings.size() && bucketOfRk(std::get<0>(run.sightings[si])) == b; ++si) {
                    const auto& [rk, src, seen] = run.sightings[si];
                    if (last && last->first == rk && last->second == src) continue;  // sorted: the earliest came first
                    last = std::make_pair(rk, src);
                    if (auto r = (*pb)->addSighting(rk, src, seen); !r) ok = (fail(r.error()), false);
                }
                if (!ok) break;
                auto built = (*pb)->finish();
                if (!built) {
                    fail(built.error());
                    break;
                }
                ids.push_back(*id);
            }
            if (!failure.failed())
                if (auto r = target.registerParts(ids); !r) failure.set(r.error());
            runsRegistered.store(run.number);
        }
    });

    // Consumer: archive order, exact deduplication, row keys, runs.
    BulkProgress progress;
    std::atomic<uint64_t> eventsSoFar{0};
    std::thread consumer([&] {
        setThreadName("ix-dedupe");
        Lookup lookup(target.shared_from_this());
        Run run;
        run.number = 1;
        // Ids of the run being cut and of runs handed over but not registered yet (the lookup finds
        // registered ones): at most three runs.
        std::unordered_set<protocol::Bytes32, ingest::IdHash> runIds;
        std::deque<std::pair<uint64_t, std::unordered_set<protocol::Bytes32, ingest::IdHash>>> unregistered;
        std::unordered_map<std::string, uint32_t> sources;
        std::vector<archive::AppendedFrame> frames;
        std::vector<FtsBatch> fb(lanes);
        RollupDelta rollup;  // of the events since the last flushFrames (bounded by a run)
        std::vector<std::pair<int64_t, uint32_t>> provSources;
        std::vector<uint32_t> evSources;
        auto flushFrames = [&]() -> bool {
            if (frames.empty() && rollup.empty()) return true;
            std::lock_guard lock(target.catalogMutex());
            Db& cat = target.catalogForBulk();
            auto txn = Txn::begin(cat);
            if (!txn) return failure.set(txn.error()), false;
            auto st = cat.prepare("INSERT OR IGNORE INTO frames(segment, offset, length, events, raw_bytes, checksum) "
                                  "VALUES (?,?,?,?,?,?)");
            if (!st) return failure.set(st.error()), false;
            for (const auto& f : frames) {
                StmtReset reset(*st);
                st->bind(1, f.ref.segment).bind(2, int64_t(f.ref.offset)).bind(3, f.ref.length).bind(4, f.events)
                    .bind(5, int64_t(f.raw_bytes)).bind(6, int64_t(f.checksum));
                if (st->step() != SQLITE_DONE) return failure.set(cat.error("record frames")), false;
            }
            st = Stmt();
            if (auto r = applyRollupDelta(cat, rollup); !r) return failure.set(r.error()), false;
            if (auto r = txn->commit(); !r) return failure.set(r.error()), false;
            frames.clear();
            rollup.clear();
            return true;
        };
        auto handOver = [&] {
            if (!flushFrames()) return;
            for (uint32_t l = 0; l < fb.size() && fts; ++l)
                if (!fb[l].docs.empty()) {
                    ftsQueues[l]->push(std::move(fb[l]));
                    fb[l] = FtsBatch{};
                }
            unregistered.emplace_back(run.number, std::move(runIds));
            runIds.clear();
            const uint64_t next = run.number + 1;
            runs.push(std::move(run));
            run = Run{};
            run.number = next;
        };
        uint64_t seq = 0;
        for (;;) {
            FrameResult r;
            {
                std::unique_lock lock(resultMutex);
                resultCv.wait(lock, [&] { return results.count(seq) || (readerDone && seq >= framesQueued); });
                if (!results.count(seq)) break;
                r = std::move(results[seq]);
                results.erase(seq);
                --inFlight;
            }
            resultCv.notify_all();
            ++seq;
            if (failure.failed()) continue;
            report.frames++;
            report.damaged_lines += r.damaged;
            frames.push_back(r.frame);
            auto first = target.allocateSeq(std::max<size_t>(1, r.events.size()));
            if (!first) {
                failure.set(first.error());
                continue;
            }
            uint64_t s = *first;
            while (!unregistered.empty() && unregistered.front().first <= runsRegistered.load())
                unregistered.pop_front();  // its parts are registered: the lookup finds those ids
            for (Parsed& p : r.events) {
                const protocol::Bytes32 id = p.row.id;
                bool dup = runIds.count(id) > 0;
                for (const auto& [n, ids] : unregistered)
                    if (!dup && ids.count(id)) dup = true;
                if (!dup) {
                    auto found = lookup.find(id, p.row.created_at);
                    if (!found) {
                        failure.set(found.error());
                        break;
                    }
                    dup = found->has_value();
                }
                if (dup) {
                    ++report.duplicate_lines;
                    continue;
                }
                runIds.insert(id);
                p.row.rk = makeRk(p.row.created_at, s++);
                provSources.clear();
                if (p.prov) {
                    if (p.prov->unknown_to_fallback) ++report.not_in_old_index;
                    p.row.first_seen_at_ms = p.prov->first_seen_at_ms;
                    for (const auto& [name, seen] : p.prov->sightings) {
                        auto it = sources.find(name);
                        if (it == sources.end()) {
                            auto sid = target.sourceId(name);
                            if (!sid) {
                                failure.set(sid.error());
                                break;
                            }
                            it = sources.emplace(name, *sid).first;
                        }
                        run.sightings.emplace_back(p.row.rk, it->second, seen);
                        provSources.emplace_back(seen, it->second);
                        ++report.sightings_carried;
                    }
                } else {
                    if (o.provenance) ++report.not_in_old_index;
                    p.row.first_seen_at_ms = o.seen_at_ms;
                    run.sightings.emplace_back(p.row.rk, *defaultSource, o.seen_at_ms);
                    provSources.emplace_back(o.seen_at_ms, *defaultSource);
                }
                // Its distinct sources, earliest first — the first is the one that brought it (the
                // log names it; otherwise the earliest is taken for it).
                if (p.prov && p.prov->first_is_origin && provSources.size() > 1)
                    std::sort(provSources.begin() + 1, provSources.end());
                else
                    std::sort(provSources.begin(), provSources.end());
                evSources.clear();
                for (const auto& [seen, src] : provSources)
                    if (std::find(evSources.begin(), evSources.end(), src) == evSources.end()) evSources.push_back(src);
                rollup.addEvent(p.row.kind, p.row.pubkey, p.row.created_at, p.row.first_seen_at_ms, evSources);
                for (int64_t k : p.tags) run.tags.emplace_back(k, p.row.rk);
                if (fts && !p.content.empty()) fb[laneOf(id, lanes)].docs.emplace_back(p.row.rk, std::move(p.content));
                run.rows.push_back(p.row);
                ++report.events;
                eventsSoFar.store(report.events, std::memory_order_relaxed);
            }
            for (uint32_t l = 0; l < fb.size() && fts; ++l)
                if (fb[l].docs.size() >= 4096) {
                    ftsQueues[l]->push(std::move(fb[l]));
                    fb[l] = FtsBatch{};
                }
            if (run.rows.size() >= o.run_events) handOver();
        }
        if (!failure.failed() && (!run.rows.empty() || !run.sightings.empty() || !frames.empty())) handOver();
        else flushFrames();
        runs.close();
    });

    // Reader (this thread).
    uint64_t bytesTotal = 0;
    const auto segments = archive::listSegments(archive_dir);
    for (uint32_t seg : segments) {
        std::error_code ec;
        bytesTotal += uint64_t(fs::file_size(archive::segmentPath(archive_dir, seg), ec));
    }
    progress.bytes_total = bytesTotal;
    int64_t lastProgress = 0;
    uint64_t bytesBefore = 0;
    std::optional<Error> readError;
    archive::Watermark wm{};       // the end of the last frame read
    archive::Watermark scanned{};  // the end of the last segment read to its end (past quarantine markers)
    for (size_t si = 0; si < segments.size() && !readError; ++si) {
        const uint32_t seg = segments[si];
        if (o.until && seg > o.until->segment) break;
        const bool last = si + 1 == segments.size();
        archive::SegmentReader reader;
        const auto path = archive::segmentPath(archive_dir, seg);
        if (auto r = reader.open(path, seg); !r) {
            if (last && !o.until) break;  // an incomplete header of the newest segment: recovery's job
            readError = r.error();
            break;
        }
        archive::Frame frame;
        bool reachedUntil = false;
        while (reader.next(frame)) {
            if (cancelled()) break;
            if (o.until && !before(archive::Watermark{frame.ref.segment, frame.ref.offset}, *o.until)) {
                reachedUntil = true;
                break;
            }
            wm = archive::Watermark{frame.ref.segment, frame.ref.offset + frame.ref.length};
            {
                std::unique_lock lock(resultMutex);
                resultCv.wait(lock, [&] { return inFlight < maxInFlight || failure.failed(); });
                ++inFlight;
            }
            FrameJob job;
            job.seq = framesQueued++;
            job.frame = std::move(frame);
            frame = archive::Frame{};
            if (!jobs.push(std::move(job))) break;
            const int64_t now = steadyMs();
            if (o.progress && now - lastProgress >= 250) {
                lastProgress = now;
                progress.bytes_done = bytesBefore + wm.offset;
                progress.events = eventsSoFar.load(std::memory_order_relaxed);
                o.progress(progress);
            }
        }
        if (cancelled() || reachedUntil) break;
        if (reader.stop() != archive::ScanStop::End) {
            // Damage (or the newest segment's torn tail) ends the build at the last whole frame:
            // recovery continues from the watermark, quarantines the damaged bytes (decision 0013)
            // and indexes the frames after them. A read failure is an error; so is damage before
            // the target of a build that must reach it (a live rebuild).
            if (reader.readFailed() || (o.until && !last))
                readError = makeError(reader.readFailed() ? "io" : "corrupt",
                                      path.string() + " @" + std::to_string(reader.stopOffset()) + ": " + reader.stopMessage());
            break;
        }
        bytesBefore += reader.fileBytes();
        scanned = archive::Watermark{seg, reader.fileBytes()};
        if (o.until && seg == o.until->segment) break;
    }
    {
        std::lock_guard lock(resultMutex);
        readerDone = true;
    }
    resultCv.notify_all();
    jobs.close();
    for (auto& t : parserThreads) t.join();
    {
        std::lock_guard lock(resultMutex);
        readerDone = true;
    }
    resultCv.notify_all();
    consumer.join();
    builder.join();
    for (auto& q : ftsQueues) q->close();
    for (auto& t : ftsThreads) t.join();
    if (readError) return *readError;
    if (auto e = failure.error()) return *e;
    if (o.cancel && o.cancel->load()) return makeError("cancelled", "cancelled");
    // Quarantine markers (decision 0013) may end the durable part of a segment: a segment read to
    // its end reaches the target although its last frame ends before it.
    if (o.until && before(wm, *o.until) && before(scanned, *o.until))
        return makeError("corrupt", "the archive ends at segment " + std::to_string(wm.segment) + " offset " +
                                        std::to_string(wm.offset) + " but the index reaches segment " +
                                        std::to_string(o.until->segment) + " offset " + std::to_string(o.until->offset));
    if (o.final_merge) {
        progress.merging = true;
        if (o.progress) o.progress(progress);
        // Each bucket's runs merged once; two buckets at a time.
        auto buckets = target.partBuckets();
        std::atomic<size_t> next{0};
        std::vector<std::thread> mergers;
        for (unsigned t = 0; t < std::min<unsigned>(2, parsers); ++t)
            mergers.emplace_back([&] {
                for (size_t i; (i = next.fetch_add(1)) < buckets.size();) {
                    if (cancelled()) return;
                    if (auto r = target.compactBucket(buckets[i]); !r) failure.set(r.error());
                }
            });
        for (auto& t : mergers) t.join();
        if (auto e = failure.error()) return *e;
        if (o.cancel && o.cancel->load()) return makeError("cancelled", "cancelled");
    }
    if (auto r = target.setLaneWatermarks(wm); !r) return r.error();
    report.watermark = wm;
    report.seconds = double(steadyMs() - started) / 1000.0;
    return report;
}

}  // namespace archivist::index
