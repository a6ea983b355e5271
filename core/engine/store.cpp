#include "core/engine/store.h"

#include <QLoggingCategory>
#include <chrono>
#include <thread>

#include "core/archive/segment_reader.h"
#include "core/engine/db_health.h"
#include "core/engine/frame_indexer.h"
#include "core/engine/index_rebuild.h"
#include "core/observe/log.h"
#include "core/util/clock.h"
#include "core/observe/metrics.h"

namespace archivist::engine {

Store::Store(DataDirPaths paths, DataDirLock lock, StoreOptions options, observe::MetricsRegistry& metrics)
    : m_paths(std::move(paths)), m_lock(std::move(lock)), m_opts(options), m_metrics(metrics),
      m_sources(options.source_capacity), m_raw(options.raw_queue_batches),
      m_verified(options.verified_queue_batches) {}

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

// Opens the index; a damaged one (found by the bounded check or by the error opening it) is set
// aside — renamed, kept for inspection — and an empty index is created in its place, which
// recovery then fills from the archive.
Expected<std::unique_ptr<index::IndexWriter>> openIndex(const DataDirPaths& paths, const StoreOptions& options,
                                                        OpenReport& rep) {
    auto setAside = [&](const std::string& why) -> Expected<void> {
        auto moved = setAsideFiles(paths.indexFiles());
        if (!moved) return moved.error();
        rep.index_damage = why;
        rep.index_set_aside = moved->string();
        qCWarning(lcIndex).noquote() << "the index is damaged (" << QString::fromStdString(why) << "); moved it to"
                                     << QString::fromStdString(moved->string())
                                     << "— it is derived from the archive and is rebuilt now";
        return {};
    };
    for (const auto& db : paths.indexDatabases()) {
        auto check = checkSqliteDatabase(db, options.index_check);
        if (!check) return check.error();
        if (check->damaged) {
            if (auto r = setAside(check->reason); !r) return r.error();
            break;
        }
    }
    auto index = index::IndexWriter::open(paths.index, options.index);
    if (!index && rep.index_set_aside.empty() && isDamagedDatabaseError(index.error())) {
        if (auto r = setAside(index.error().message); !r) return r.error();
        index = index::IndexWriter::open(paths.index, options.index);
    }
    return index;
}

}  // namespace

Expected<std::unique_ptr<Store>> Store::open(const std::filesystem::path& data_dir, StoreOptions options,
                                             observe::MetricsRegistry& metrics, OpenReport* report) {
    auto lock = DataDirLock::acquire(data_dir);
    if (!lock) return lock.error();
    std::unique_ptr<Store> store(new Store(DataDirPaths(data_dir), std::move(*lock), options, metrics));
    if (IndexRebuild::removeWorkFiles(store->m_paths))
        qCInfo(lcIndex) << "removed the work file of an index rebuild that did not finish";

    OpenReport local;
    OpenReport& rep = report ? *report : local;
    auto index = openIndex(store->m_paths, options, rep);
    if (!index) return index.error();
    store->m_index = std::move(*index);

    // Recovery: frames past the watermark are re-indexed, a torn tail is cut, damage quarantined.
    auto recoverySource = store->m_index->sourceId("recovery");
    if (!recoverySource) return recoverySource.error();
    const int64_t seenAt = wallMs();
    const archive::Watermark wm = store->m_index->watermark();
    rep.index_rebuilt = wm == archive::Watermark{} && !archive::listSegments(store->m_paths.archive).empty();
    const uint64_t totalBytes = options.open_progress ? bytesAfter(store->m_paths.archive, wm) : 0;
    uint64_t doneBytes = 0;
    int64_t lastProgressMs = 0;
    auto recovered = archive::recover(
        store->m_paths.archive, wm,
        [&](const archive::Frame& frame) -> Expected<void> {
            auto r = indexFrame(*store->m_index, frame, *recoverySource, seenAt);
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
    if (auto entries = archive::listQuarantine(store->m_paths.archive); !entries) {
        qCWarning(lcArchive).noquote() << QString::fromStdString(entries.error().message);
    } else {
        for (const auto& e : *entries)
            if (e.state == archive::QuarantineState::Pending) ++rep.quarantine_pending;
    }

    // Full-text search turned on over an existing index: fill it from the archive before intake.
    if (store->m_index->ftsBackfillPending()) {
        const auto dir = store->m_paths.archive;
        auto added = store->m_index->backfillFts(
            [&dir](const archive::FrameRef& ref) { return archive::readFrame(dir, ref); });
        if (!added) return added.error();
        qCInfo(lcEngine) << "full-text search: indexed" << *added << "archived events";
    }

    store->m_archive =
        std::make_unique<archive::ArchiveWriter>(store->m_paths.archive, options.archive, store->fileSystem());
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
    m_verifyPool = std::make_unique<ingest::VerifyPool>(m_raw, m_verified, m_sources, m_opts.policy,
                                                        threads, m_metrics);
    m_writer = std::make_unique<ingest::CommitWriter>(m_verified, *m_archive, *m_index, m_sources,
                                                      m_opts.writer, m_metrics);
    if (m_listener) m_writer->setCommitListener(m_listener);
    if (m_observer) m_writer->setEventObserver(m_observer);
    m_writer->start();
    m_verifyPool->start();
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
    if (m_archive) {
        if (auto r = m_archive->close(); !r && result) result = r.error();
    }
    if (m_index) {
        if (auto r = m_index->checkpoint(); !r)
            qCWarning(lcIndex).noquote() << "checkpoint at shutdown failed:" << QString::fromStdString(r.error().message);
    }
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
