#include "core/engine/engine.h"

#include <QDateTime>
#include <QPointer>
#include <QTimer>

#include "core/archive/segment_reader.h"
#include "core/engine/import_job.h"
#include "core/index/index_reader.h"
#include "core/protocol/event_codec.h"
#include "core/engine/maintenance.h"
#include "core/engine/store.h"
#include "core/observe/memory_stats.h"
#include "core/observe/metrics.h"
#include "core/protocol/hex.h"

namespace archivist::engine {

Expected<std::unique_ptr<EngineImpl>> EngineImpl::open(const std::filesystem::path& data_dir, EngineOptions options,
                                                       observe::MetricsRegistry& metrics, QObject* parent) {
    qRegisterMetaType<archivist::engine::EngineSnapshot>();
    StoreOptions so;
    so.policy.verify_signatures = options.verify_signatures;
    auto store = Store::open(data_dir, so, metrics);
    if (!store) return store.error();
    auto stats = storeStats(**store);
    if (!stats) return stats.error();
    std::unique_ptr<EngineImpl> e(new EngineImpl(std::move(*store), options, metrics, parent));
    e->m_eventsAtOpen = stats->events;
    e->m_archiveBytesAtOpen = stats->archive_bytes;
    EngineImpl* self = e.get();
    e->m_store->setCommitListener([self](const ingest::CommitNotice& n) {
        self->m_stored.fetch_add(n.stored, std::memory_order_relaxed);
        self->m_duplicates.fetch_add(n.duplicates, std::memory_order_relaxed);
        if (n.newest.empty()) return;
        std::lock_guard lock(self->m_newestMutex);
        for (const auto& c : n.newest) {
            NewestEvent ev;
            ev.id_hex = QString::fromStdString(protocol::toHex(c.id));
            ev.pubkey_hex = QString::fromStdString(protocol::toHex(c.pubkey));
            ev.created_at = c.created_at;
            ev.kind = c.kind;
            ev.content_preview = QString::fromStdString(c.content_preview);
            ev.source = QString::fromStdString(self->m_store->sources().name(c.source));
            ev.first_seen_at_ms = c.first_seen_at_ms;
            self->m_newest.push_front(std::move(ev));
            if (self->m_newest.size() > size_t(EngineSnapshot::kNewestCapacity)) self->m_newest.pop_back();
        }
    });
    e->loadNewest();
    e->m_store->start();
    e->m_timer = new QTimer(self);
    QObject::connect(e->m_timer, &QTimer::timeout, self, &EngineImpl::tick);
    e->m_timer->start(options.snapshot_interval_ms);
    e->m_lastTickMs = QDateTime::currentMSecsSinceEpoch();
    return e;
}

EngineImpl::EngineImpl(std::unique_ptr<Store> store, EngineOptions options, observe::MetricsRegistry& metrics,
                       QObject* parent)
    : Engine(parent), m_store(std::move(store)), m_opts(options), m_metrics(metrics) {}

EngineImpl::~EngineImpl() {
    auto r = shutdown();
    (void)r;
}

Expected<void> EngineImpl::shutdown() {
    if (m_shutDown) return {};
    m_shutDown = true;
    if (m_timer) m_timer->stop();
    m_jobCancel.store(true);
    joinJob();
    return m_store->shutdown();
}

void EngineImpl::joinJob() {
    if (m_job.joinable()) m_job.join();
}

void EngineImpl::startImport(const QStringList& files) {
    if (m_jobRunning.load() || m_shutDown) {
        emit jobFinished("import", false, tr("Another job is still running."));
        return;
    }
    joinJob();  // a finished job's thread
    std::vector<std::string> paths;
    for (const auto& f : files) paths.push_back(f.toStdString());
    m_jobCancel.store(false);
    m_jobRunning.store(true);
    m_job = std::thread([this, paths] {
        auto progress = [this](const ImportProgress& p) {
            const double fraction = p.bytes_total ? double(p.bytes_read) / double(p.bytes_total) : -1.0;
            const QString text = tr("%1 read, %2 stored, %3 duplicate, %4 invalid")
                                     .arg(p.read).arg(p.stored).arg(p.duplicate).arg(p.invalid);
            // Queued: the receiver lives on another thread.
            QMetaObject::invokeMethod(this, [this, fraction, text] { emit jobProgress("import", fraction, text); },
                                      Qt::QueuedConnection);
        };
        auto result = runImport(*m_store, paths, progress, &m_jobCancel, 250);
        bool ok = result.ok();
        QString summary;
        if (ok) {
            const auto& r = *result;
            summary = tr("Imported %1 lines: %2 stored, %3 duplicate, %4 invalid.")
                          .arg(r.read).arg(r.stored).arg(r.duplicate).arg(r.invalid);
            if (m_jobCancel.load()) {
                ok = false;
                summary = tr("Import cancelled. ") + summary;
            }
        } else {
            summary = QString::fromStdString(result.error().message);
        }
        m_jobRunning.store(false);
        QMetaObject::invokeMethod(this, [this, ok, summary] { emit jobFinished("import", ok, summary); },
                                  Qt::QueuedConnection);
    });
}

void EngineImpl::loadNewest() {
    // The table starts with what the archive already holds (newest first), not empty.
    auto reader = index::IndexReader::open(m_store->paths().index);
    if (!reader) return;
    auto rows = (*reader)->query({}, std::nullopt, EngineSnapshot::kNewestCapacity, index::Order::NewestFirst);
    if (!rows) return;
    archive::FrameCache frames(m_store->paths().archive, 16u << 20);
    std::lock_guard lock(m_newestMutex);
    for (const auto& row : *rows) {
        auto line = frames.line(row.frame, row.line);
        protocol::Event ev;
        if (!line || protocol::parseEvent(*line, ev) != protocol::Reject::None) continue;
        NewestEvent n;
        n.id_hex = QString::fromStdString(protocol::toHex(ev.id));
        n.pubkey_hex = QString::fromStdString(protocol::toHex(ev.pubkey));
        n.created_at = ev.created_at;
        n.kind = ev.kind;
        n.content_preview = QString::fromStdString(ingest::contentPreview(ev.content));
        n.source = tr("archive");
        n.first_seen_at_ms = row.first_seen_at_ms;
        m_newest.push_back(std::move(n));
    }
}

void EngineImpl::cancelJob() { m_jobCancel.store(true); }

EngineSnapshot EngineImpl::snapshot() const { return m_last; }

void EngineImpl::tick() {
    EngineSnapshot s;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    s.taken_at_ms = now;
    s.data_dir = QString::fromStdString(m_store->paths().root.string());
    s.stored_total = m_stored.load();
    s.duplicate_total = m_duplicates.load();
    s.rejected_total = quint64(m_metrics.total("archivist_events_rejected_total"));
    s.events_total = m_eventsAtOpen + s.stored_total;
    s.archive_bytes = m_archiveBytesAtOpen + quint64(m_metrics.total("archivist_archive_bytes_written_total"));
    const double dt = std::max<qint64>(1, now - m_lastTickMs) / 1000.0;
    s.stored_per_s = double(s.stored_total - m_lastStored) / dt;
    s.duplicate_per_s = double(s.duplicate_total - m_lastDup) / dt;
    s.rejected_per_s = double(s.rejected_total - m_lastRejected) / dt;
    m_lastStored = s.stored_total;
    m_lastDup = s.duplicate_total;
    m_lastRejected = s.rejected_total;
    m_lastTickMs = now;
    const auto mem = observe::readMemoryStats();
    s.rss_bytes = mem.rss_bytes;
    s.heap_bytes = mem.heap_in_use_bytes;
    s.queues.push_back({"verify", qint64(m_store->rawQueueDepth()), qint64(m_store->rawQueueCapacity())});
    s.queues.push_back({"writer", qint64(m_store->verifiedQueueDepth()), qint64(m_store->verifiedQueueCapacity())});
    {
        std::lock_guard lock(m_newestMutex);
        s.newest.reserve(int(m_newest.size()));
        for (const auto& e : m_newest) s.newest.push_back(e);
    }
    s.writer_paused = m_store->paused();
    s.last_error = QString::fromStdString(m_store->lastError());
    s.job_running = m_jobRunning.load();
    m_last = s;
    emit snapshotReady(s);
}

}  // namespace archivist::engine
