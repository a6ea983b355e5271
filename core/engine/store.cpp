#include "core/engine/store.h"

#include <QLoggingCategory>
#include <algorithm>
#include <chrono>
#include <map>
#include <cstdlib>
#include <thread>

#include "core/archive/segment_reader.h"
#include "core/engine/db_health.h"
#include "core/archive/segment_writer.h"
#include "core/engine/frame_indexer.h"
#include "core/index/bulk_build.h"
#include "core/observe/log.h"
#include "core/observe/metrics.h"
#include "core/util/clock.h"

namespace archivist::engine {

namespace fs = std::filesystem;

Expected<index::IndexOptions> indexOptionsFromEnvironment(index::IndexOptions base) {
    if (const char* spec = std::getenv("ARCHIVIST_INDEX_TUNING"); spec && *spec)
        if (auto r = base.applyTuning(spec); !r) return r.error();
    return base;
}

namespace {

void removeLegacyIndex(const DataDirPaths& paths) {
    std::error_code ec;
    for (const auto& base : {paths.legacy_index, paths.legacy_rebuild})
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
            fs::path f = base;
            f += suffix;
            fs::remove(f, ec);
        }
}

// Copies the sealed-segment rows of a single-file index into the new catalog.
Expected<void> carryLegacySegments(const fs::path& legacy, index::Index& target) {
    auto db = index::Db::open(legacy, index::Db::Mode::ReadWrite);  // recovers a WAL a crash left
    if (!db) return db.error();
    auto st = db->prepare("SELECT segment, sealed_at, bytes FROM segments");
    if (!st) return {};  // no such table: nothing to carry
    int rc;
    while ((rc = st->step()) == SQLITE_ROW)
        if (auto r = target.markSegmentSealed(uint32_t(st->i64(0)), uint64_t(st->i64(2)), st->i64(1)); !r) return r;
    if (rc != SQLITE_DONE) return db->error("read segments of " + legacy.string());
    return {};
}

// Builds a new generation of the index from the archive and makes it current (closed again: the
// caller opens the index normally).
Expected<index::BulkReport> buildCurrentGeneration(const DataDirPaths& paths, const StoreOptions& so,
                                                   index::ProvenanceFactory provenance, const fs::path* legacy,
                                                   const std::vector<index::SealedSegment>& sealed = {}) {
    auto gen = index::Index::createGeneration(paths.index, so.index);
    if (!gen) return gen.error();
    index::BulkOptions bo;
    if (so.open_progress)
        bo.progress = [&so](const index::BulkProgress& p) { so.open_progress(p.bytes_done, p.bytes_total); };
    bo.seen_at_ms = wallMs();
    bo.provenance = std::move(provenance);
    if (legacy) bo.source = "reindex";
    auto built = index::bulkBuild(**gen, paths.archive, bo);
    const fs::path dir = (*gen)->dir();
    auto discard = [&] {
        (*gen)->close();
        gen->reset();
        std::error_code ec;
        fs::remove_all(dir, ec);
    };
    if (!built) {
        discard();
        return built.error();
    }
    if (legacy)
        if (auto r = carryLegacySegments(*legacy, **gen); !r) {
            discard();
            return r.error();
        }
    for (const auto& s : sealed)
        if (auto r = (*gen)->markSegmentSealed(s.segment, s.bytes, s.sealed_at_s); !r) {
            discard();
            return r.error();
        }
    if (auto r = (*gen)->promote(nullptr); !r) {
        discard();
        return r.error();
    }
    (*gen)->close();
    return built;
}

}  // namespace

Store::Store(DataDirPaths paths, DataDirLock lock, StoreOptions options, observe::MetricsRegistry& metrics)
    : m_paths(std::move(paths)), m_lock(std::move(lock)), m_opts(options), m_metrics(metrics),
      m_sources(options.source_capacity), m_raw(options.raw_queue_batches),
      m_verified(options.verified_queue_batches), m_recent(options.writer.recent_cache),
      m_copies(options.copy_cache ? std::make_unique<ingest::CopyCache>(options.copy_cache) : nullptr) {}

namespace {

uint64_t fileBytes(const std::filesystem::path& p) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(p, ec);
    return ec ? 0 : uint64_t(n);
}

// Archive bytes after the watermark (what recovery will read).
uint64_t bytesAfter(const std::filesystem::path& archive, archive::Watermark wm) {
    uint64_t total = 0;
    for (uint32_t seg : archive::listSegments(archive)) {
        if (seg < wm.segment) continue;
        const uint64_t size = fileBytes(archive::segmentPath(archive, seg));
        total += seg == wm.segment ? (size > wm.offset ? size - wm.offset : 0) : size;
    }
    return total;
}

}  // namespace

Expected<std::unique_ptr<Store>> Store::open(const std::filesystem::path& data_dir, StoreOptions options,
                                             observe::MetricsRegistry& metrics, OpenReport* report) {
    auto lock = DataDirLock::acquire(data_dir);
    if (!lock) return lock.error();
    auto io = indexOptionsFromEnvironment(options.index);
    if (!io) return io.error();
    options.index = *io;
    std::unique_ptr<Store> store(new Store(DataDirPaths(data_dir), std::move(*lock), options, metrics));
    const DataDirPaths& paths = store->m_paths;
    OpenReport local;
    OpenReport& rep = report ? *report : local;
    std::error_code ec;

    if (options.fresh_index) {
        qCInfo(lcIndex) << "rebuilding the index from the archive";
        // When each segment was sealed is not in the archive: carried over when readable.
        std::vector<index::SealedSegment> sealed;
        if (index::Index::exists(paths.index)) {
            index::IndexOptions ro;
            ro.read_only = true;
            if (auto old = index::Index::open(paths.index, ro)) {
                std::lock_guard lock((*old)->catalogMutex());
                if (auto st = (*old)->catalogForBulk().prepare("SELECT segment, sealed_at, bytes FROM segments"))
                    while (st->step() == SQLITE_ROW)
                        sealed.push_back(index::SealedSegment{uint32_t(st->i64(0)), st->i64(1), uint64_t(st->i64(2))});
            }
        }
        const bool legacy = fs::exists(paths.legacy_index, ec);
        auto built = buildCurrentGeneration(
            paths, options, index::logProvenance(paths.sightings, legacy ? index::legacyProvenance(paths.legacy_index) : nullptr),
            legacy ? &paths.legacy_index : nullptr, sealed);
        if (!built) return built.error();
        rep.index_action = "rebuilt";
        rep.sightings_restored = built->sightings_carried;
        rep.index_events = built->events;
        rep.damaged_lines += built->damaged_lines;
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1f", built->seconds);
        rep.index_note = "rebuilt the index from the archive: " + std::to_string(built->events) + " events from " +
                         std::to_string(built->frames) + " frames (" + std::to_string(built->damaged_lines) +
                         " damaged lines, " + std::to_string(built->duplicate_lines) + " duplicate lines) in " + secs +
                         " s; " + std::to_string(built->sightings_carried) + " sightings restored from the sightings log";
        removeLegacyIndex(paths);
    } else if (!index::Index::exists(paths.index)) {
        // The layout: a single-file index of schema 1/2 is migrated; a missing one is built.
        const bool legacy = fs::exists(paths.legacy_index, ec);
        const bool archived = !archive::listSegments(paths.archive).empty();
        if (legacy || archived) {
            if (legacy)
                qCInfo(lcIndex).noquote() << "upgrading the index to the partitioned layout (schema 3): the archive is read "
                                             "once and what the old index knew (first seen, relays) is carried over";
            else
                qCInfo(lcIndex) << "building the index from the archive";
            auto built = buildCurrentGeneration(
                paths, options,
                index::logProvenance(paths.sightings, legacy ? index::legacyProvenance(paths.legacy_index) : nullptr),
                legacy ? &paths.legacy_index : nullptr);
            if (!built) {
                if (legacy)
                    return makeError(built.error().code,
                                     "upgrading the index failed (" + built.error().message +
                                         "); the old index is unchanged — run `archivist reindex` to build a new one "
                                         "from the archive");
                return built.error();
            }
            rep.index_action = legacy ? "migrated" : "built";
            rep.index_events = built->events;
            rep.damaged_lines += built->damaged_lines;
            rep.index_note = legacy ? "upgraded the index to the partitioned layout: " + std::to_string(built->events) +
                                          " events, " + std::to_string(built->sightings_carried) + " sightings carried over"
                                    : "built the index from the archive: " + std::to_string(built->events) + " events";
            qCInfo(lcIndex).noquote() << QString::fromStdString(rep.index_note);
            if (legacy) removeLegacyIndex(paths);
        }
    } else if (fs::exists(paths.legacy_index, ec)) {
        removeLegacyIndex(paths);  // left by a migration interrupted after it switched
    }

    const fs::path archiveDir = paths.archive;
    const index::FrameTextFn frameText = [archiveDir](const archive::FrameRef& ref) {
        return archive::readFrame(archiveDir, ref);
    };
    auto writer = index::IndexWriter::open(paths.index, options.index, &metrics, frameText);
    if (!writer && writer.error().code == "index_corrupt") {
        // A damaged index is derived data: keep it aside (renamed, for inspection), build a new one.
        const std::string why = writer.error().message;
        auto moved = setAsideFiles({paths.index});
        if (!moved)
            return makeError("index_corrupt", why + "; moving it aside failed: " + moved.error().message);
        qCWarning(lcIndex).noquote() << "the index is damaged (" << QString::fromStdString(why) << "); moved it to"
                                     << QString::fromStdString(moved->string())
                                     << "and rebuilding it from the archive";
        auto built = buildCurrentGeneration(paths, options, index::logProvenance(paths.sightings, nullptr), nullptr);
        if (!built) return built.error();
        rep.index_action = "rebuilt (damaged)";
        rep.index_events = built->events;
        rep.damaged_lines += built->damaged_lines;
        rep.index_damage = why;
        rep.index_set_aside = moved->string();
        rep.index_note = "the index was damaged (" + why + "); it was moved to " + moved->string() +
                         " and rebuilt from the archive: " + std::to_string(built->events) + " events";
        writer = index::IndexWriter::open(paths.index, options.index, &metrics, frameText);
    }
    if (!writer) return writer.error();
    store->m_index = std::move(*writer);

    // The sightings log: its torn tail is cut, its dictionary read.
    store->m_log = std::make_unique<archive::SightingsLog>(paths.sightings, options.sightings, store->fileSystem());
    auto logOpened = store->m_log->open();
    if (!logOpened) return logOpened.error();
    rep.sightings = *logOpened;

    // Recovery: frames past the lowest lane watermark are re-indexed, a torn tail is cut.
    auto recoverySource = store->m_index->sourceId("recovery");
    if (!recoverySource) return recoverySource.error();
    const int64_t seenAt = wallMs();
    const archive::Watermark wm = store->m_index->watermark();
    // What the log holds for those frames (their group reached the log, not the index) is carried
    // into the index; a frame the log does not hold (the crash came between the two appends) is
    // logged now as the index records it: source "recovery".
    std::map<archive::EventPos, std::vector<archive::SightingRecord>> logTail;
    std::vector<std::string> logNames;
    bool logTailRead = false;
    std::optional<Error> carryError;
    auto readLogTail = [&]() -> Expected<void> {
        logTailRead = true;
        const auto files = archive::listSightingsFiles(paths.sightings);
        archive::LogCursor from;
        if (files.size() > 2) from.file = files[files.size() - 2];
        archive::SightingsLogReader reader(paths.sightings);
        auto r = reader.scan(
            [&](const archive::SightingsLogReader::Frame& f) {
                for (const auto& rec : f.records)
                    if (rec.pos.segment > wm.segment || (rec.pos.segment == wm.segment && rec.pos.offset >= wm.offset))
                        logTail[rec.pos].push_back(rec);
                return true;
            },
            from);
        if (!r) return r;
        logNames = reader.names();
        return {};
    };
    std::vector<archive::SightingRecord> unlogged;
    const uint32_t recoveryCode = store->m_log->code("recovery");

    rep.index_rebuilt = !rep.index_action.empty() ||
                        (wm == archive::Watermark{} && !archive::listSegments(paths.archive).empty());
    const uint64_t totalBytes = options.open_progress ? bytesAfter(paths.archive, wm) : 0;
    uint64_t doneBytes = 0;
    int64_t lastProgressMs = 0;
    auto recovered = archive::recover(
        paths.archive, wm,
        [&](const archive::Frame& frame) -> Expected<void> {
            if (!logTailRead)
                if (auto t = readLogTail(); !t) return t.error();
            const CarryOverFn carry = [&](index::NewEvent& ne, std::vector<index::Sighting>& sightings) {
                const archive::EventPos pos{frame.ref.segment, frame.ref.offset, ne.line};
                auto it = logTail.find(pos);
                if (it == logTail.end()) {
                    unlogged.push_back(archive::SightingRecord{pos, recoveryCode, seenAt, true});
                    return;
                }
                bool originSet = false;
                std::vector<uint32_t> done;
                for (const auto& rec : it->second) {
                    const std::string& name = rec.source < logNames.size() ? logNames[rec.source] : std::string();
                    if (name.empty() || std::find(done.begin(), done.end(), rec.source) != done.end()) continue;
                    auto sid = store->m_index->sourceId(name);
                    if (!sid) {
                        if (!carryError) carryError = sid.error();
                        return;
                    }
                    done.push_back(rec.source);
                    if (rec.origin && !originSet) {
                        originSet = true;
                        ne.source = *sid;
                        ne.first_seen_at_ms = rec.seen_at_ms;
                    } else {
                        sightings.push_back(index::Sighting{ne.event.id, *sid, rec.seen_at_ms, 0, ne.event.created_at});
                    }
                }
            };
            auto r = indexFrame(*store->m_index, frame, *recoverySource, seenAt, carry);
            if (carryError) return *carryError;
            if (!r) return r.error();
            rep.recovered_events += r->indexed;
            rep.damaged_lines += r->damaged_lines;
            doneBytes += frame.ref.length;
            if (options.open_progress && steadyMs() - lastProgressMs >= 500) {
                lastProgressMs = steadyMs();
                options.open_progress(doneBytes, std::max(doneBytes, totalBytes));
            }
            return {};
        },
        store->fileSystem());
    if (!recovered) {
        if (recovered.error().code == "index_ahead")
            return makeError("index_ahead", recovered.error().message +
                                                " (the index is ahead of the archive: run `archivist reindex`)");
        return recovered.error();
    }
    rep.recovery = *recovered;
    if (!unlogged.empty())
        if (auto r = store->m_log->append(unlogged); !r) return r.error();
    if (options.open_progress && lastProgressMs) options.open_progress(doneBytes, std::max(doneBytes, totalBytes));
    if (recovered->frames_replayed || recovered->bytes_truncated)
        qCInfo(lcEngine) << "recovery: re-indexed" << recovered->frames_replayed << "frames ("
                         << rep.recovered_events << "events), cut" << recovered->bytes_truncated
                         << "bytes of torn tail";
    for (const auto& q : recovered->quarantined)
        qCCritical(lcArchive).noquote() << "damaged archive bytes quarantined:"
                                        << QString::fromStdString(archive::describeEntry(q))
                                        << "— run `archivist salvage` to recover what they hold";
    // An unreadable quarantine manifest must not keep the directory closed: verify reports it.
    if (auto entries = archive::listQuarantine(paths.archive); !entries) {
        qCWarning(lcArchive).noquote() << QString::fromStdString(entries.error().message);
    } else {
        for (const auto& e : *entries)
            if (e.state == archive::QuarantineState::Pending) ++rep.quarantine_pending;
    }

    store->m_archive =
        std::make_unique<archive::ArchiveWriter>(paths.archive, options.archive, store->fileSystem());
    if (auto r = store->m_archive->open(); !r) return r.error();

    metrics.gaugeFn("archivist_queue_depth", "Items (batches) waiting in a bounded queue", {{"queue", "verify"}},
                    [s = store.get()] { return double(s->m_raw.depth()); }, store.get());
    metrics.gaugeFn("archivist_queue_capacity", "Capacity of a bounded queue", {{"queue", "verify"}},
                    [s = store.get()] { return double(s->m_raw.capacity()); }, store.get());
    metrics.gaugeFn("archivist_queue_depth", "Items (batches) waiting in a bounded queue", {{"queue", "writer"}},
                    [s = store.get()] { return double(s->m_verified.depth()); }, store.get());
    metrics.gaugeFn("archivist_queue_capacity", "Capacity of a bounded queue", {{"queue", "writer"}},
                    [s = store.get()] { return double(s->m_verified.capacity()); }, store.get());
    metrics.gaugeFn("archivist_sources", "Entries in the source table", {},
                    [s = store.get()] { return double(s->m_sources.size()); }, store.get());
    metrics.gaugeFn("archivist_sources_capacity", "Capacity of the source table", {},
                    [s = store.get()] { return double(s->m_sources.capacity()); }, store.get());
    return store;
}

Store::~Store() {
    if (auto r = shutdown(); !r) qCWarning(lcEngine) << "store shutdown:" << r.error().message.c_str();
    m_metrics.removeGaugeFns(this);
}

void Store::setEventObserver(ingest::CommitWriter::EventObserver observer) { m_observer = std::move(observer); }

void Store::setCommitListener(std::function<void(const ingest::CommitNotice&)> listener) {
    m_listener = std::move(listener);
}

void Store::start() {
    if (m_started) return;
    m_started = true;
    size_t threads = m_opts.verify_threads;
    if (!threads) threads = std::max(1u, std::thread::hardware_concurrency());
    m_verifyPool = std::make_unique<ingest::VerifyPool>(m_raw, m_verified, m_sources, m_opts.policy, threads,
                                                        m_metrics, &m_recent, m_index->index(), m_copies.get());
    ingest::WriterOptions wo = m_opts.writer;
    wo.policy = m_opts.policy;
    m_writer = std::make_unique<ingest::CommitWriter>(m_verified, *m_archive, *m_index, m_sources, m_recent, wo,
                                                      m_metrics);
    if (m_listener) m_writer->setCommitListener(m_listener);
    if (m_observer) m_writer->setEventObserver(m_observer);
    m_writer->setSightingsLog(m_log.get());
    m_writer->start();
    m_verifyPool->start();
}

Expected<void> Store::replaceIndex(std::shared_ptr<index::Index> built) {
    auto old = m_index->index();
    if (auto r = built->promote(old); !r) return r;
    if (auto r = m_index->replace(built); !r) return r;
    m_recent.clear();
    m_sources.clearIndexSourceIds();
    return {};
}

Expected<ingest::SourceId> Store::addSource(const std::string& name) {
    auto id = m_sources.add(name);
    if (!id) return makeError("capacity", "source table is full (" + std::to_string(m_sources.capacity()) + " sources)");
    return *id;
}

bool Store::submit(ingest::RawBatch&& batch) {
    if (!m_started || failed()) return false;
    const size_t n = batch.items.size();
    ingest::SourceCounters& c = m_sources.counters(batch.source);
    c.received.fetch_add(n, std::memory_order_relaxed);
    if (!m_raw.push(std::move(batch))) {
        c.received.fetch_sub(n, std::memory_order_relaxed);
        return false;
    }
    return true;
}

bool Store::trySubmit(ingest::RawBatch& batch) {
    if (!m_started || failed()) return false;
    const size_t n = batch.items.size();
    ingest::SourceCounters& c = m_sources.counters(batch.source);
    c.received.fetch_add(n, std::memory_order_relaxed);
    if (!m_raw.tryPush(batch)) {
        c.received.fetch_sub(n, std::memory_order_relaxed);
        return false;
    }
    return true;
}

bool Store::waitSettled(ingest::SourceId source, uint64_t expected, std::chrono::milliseconds timeout,
                        const std::atomic<bool>* cancel) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const ingest::SourceCounters& c = m_sources.counters(source);
    while (c.settled() < expected) {
        if (failed() || (cancel && cancel->load()) || std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

Expected<void> Store::shutdown(std::chrono::milliseconds deadline, std::chrono::milliseconds verify_budget) {
    if (m_shutDown) return {};
    m_shutDown = true;
    Expected<void> result;
    if (m_started) {
        m_writer->cancelTask();  // a running writer task (index rebuild) gives up; the index stays as it is
        m_raw.close();  // stop intake; verify threads drain what is queued
        // A watchdog bounds shutdown: after verify_budget, batches not yet verified are let go;
        // at the deadline, retries of a failing commit are abandoned. What is verified by then is
        // committed.
        std::atomic<bool> done{false};
        std::mutex mu;
        std::condition_variable cv;
        const auto started = std::chrono::steady_clock::now();
        std::thread watchdog([&] {
            std::unique_lock lock(mu);
            if (verify_budget < deadline) {
                if (cv.wait_for(lock, verify_budget, [&] { return done.load(); })) return;
                lock.unlock();
                std::vector<ingest::RawBatch> dropped;
                uint64_t items = 0;
                while (m_raw.popAll(dropped, 64, std::chrono::milliseconds(0)) > 0) {
                    for (const auto& b : dropped) items += b.items.size();
                    dropped.clear();
                }
                if (items)
                    qCWarning(lcIngest) << "shutdown: left" << items << "received events unverified (not stored)";
                lock.lock();
            }
            if (!cv.wait_until(lock, started + deadline, [&] { return done.load(); })) m_writer->abandonRetries();
        });
        m_verifyPool->join();  // closes the writer's queue once the verifiers are done
        m_writer->join();
        {
            std::lock_guard lock(mu);
            done.store(true);
        }
        cv.notify_all();
        watchdog.join();
        if (m_writer->failed())
            result = makeError("io", "events not stored at shutdown: " + m_writer->lastError());
    }
    if (m_log)
        if (auto r = m_log->close(); !r && result) result = r.error();
    if (m_archive) {
        if (auto r = m_archive->close(); !r && result) result = r.error();
    }
    // The lanes commit what they hold and stop; background flushes and merges stop where they are
    // (an unfinished merge leaves its inputs as they were).
    if (m_index) m_index->index()->close();
    return result;
}

bool Store::startWriterTask(std::unique_ptr<ingest::WriterTask> task) {
    return m_started && !m_shutDown && m_writer->startTask(std::move(task));
}

void Store::cancelWriterTask() {
    if (m_writer) m_writer->cancelTask();
}

bool Store::writerTaskRunning() const { return m_writer && m_writer->taskRunning(); }

bool Store::failed() const { return m_writer && m_writer->failed(); }

bool Store::paused() const { return m_writer && m_writer->paused(); }

archive::FileSystem* Store::fileSystem() const {
    return m_opts.file_system ? m_opts.file_system : archive::defaultFileSystem();
}

Expected<archive::QuarantineEntry> Store::quarantine(const archive::DamagedRegion& region, int64_t indexed_events) {
    if (m_archive) return m_archive->quarantine(region, indexed_events);
    return archive::quarantineRegion(m_paths.archive, region, indexed_events, fileSystem());
}

std::string Store::lastError() const { return m_writer ? m_writer->lastError() : std::string(); }

std::string Store::lastErrorCode() const { return m_writer ? m_writer->lastErrorCode() : std::string(); }

bool Store::pausedOnDisk() const {
    if (!paused()) return false;
    const std::string code = lastErrorCode();
    return code == "disk_full" || code == "io";
}

}  // namespace archivist::engine
