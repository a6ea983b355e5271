// EngineImpl's jobs: import, export, verify and the live index rebuild, each on the engine's one job
// thread (or, for the rebuild, the commit writer's), reporting through jobProgress()/jobFinished().
#include "core/engine/engine_impl.h"

#include <QDateTime>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "core/engine/import_job.h"
#include "core/engine/index_rebuild.h"
#include "core/engine/intake_gate.h"
#include "core/engine/maintenance.h"
#include "core/archive/quarantine.h"
#include "core/engine/salvage.h"
#include "core/engine/store.h"
#include "core/observe/log.h"
#include "core/util/thread_priority.h"

namespace archivist::engine {

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
        lowerThisThreadPriority();  // the console stays responsive during the job
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
        if (ok) qCInfo(lcEngine).noquote() << "import of" << paths.size() << "file(s) finished:" << summary;
        else qCWarning(lcEngine).noquote() << "import of" << paths.size() << "file(s) ended:" << summary;
        m_jobRunning.store(false);
        QMetaObject::invokeMethod(this, [this, ok, summary] { emit jobFinished("import", ok, summary); },
                                  Qt::QueuedConnection);
    });
}

void EngineImpl::startExport(const QueryFilter& query, const QString& path) {
    if (m_jobRunning.load() || m_shutDown) {
        emit jobFinished("export", false, tr("Another job is still running."));
        return;
    }
    if (path.isEmpty()) {
        emit jobFinished("export", false, tr("No export file was given."));
        return;
    }
    joinJob();
    protocol::Filter f = query.filter;
    f.limit.reset();
    m_jobCancel.store(false);
    m_jobRunning.store(true);
    const std::string seenBy = query.relay.toStdString();
    m_job = std::thread([this, f, path, seenBy] {
        lowerThisThreadPriority();  // the console stays responsive during the job
        const std::filesystem::path target = path.toStdString();
        const std::filesystem::path part = target.string() + ".part";
        auto progress = [this](const WorkProgress& p) {
            const double fraction = p.total ? double(p.done) / double(p.total) : -1.0;
            const QString text = tr("%1 of %2 events written").arg(p.done).arg(p.total);
            QMetaObject::invokeMethod(this, [this, fraction, text] { emit jobProgress("export", fraction, text); },
                                      Qt::QueuedConnection);
        };
        bool ok = false;
        QString summary;
        if (std::FILE* out = std::fopen(part.c_str(), "wb")) {
            auto result = exportEvents(*m_store, {f}, out, progress, &m_jobCancel, seenBy);
            const bool closed = std::fclose(out) == 0;
            std::error_code ec;
            if (result && closed) {
                std::filesystem::rename(part, target, ec);
                ok = !ec;
                summary = ok ? tr("Exported %1 events to %2.").arg(*result).arg(path)
                             : tr("Cannot rename the export to %1: %2").arg(path, QString::fromStdString(ec.message()));
            } else if (!result && result.error().code == "cancelled") {
                summary = tr("Export cancelled.");
            } else {
                summary = result ? tr("Cannot write %1.").arg(path) : QString::fromStdString(result.error().message);
            }
            if (!ok) std::filesystem::remove(part, ec);
        } else {
            summary = tr("Cannot create %1.").arg(path);
        }
        m_jobRunning.store(false);
        QMetaObject::invokeMethod(this, [this, ok, summary] { emit jobFinished("export", ok, summary); },
                                  Qt::QueuedConnection);
    });
}

bool EngineImpl::drainIntake(std::chrono::milliseconds timeout) {
    // Everything handed to the pipeline has settled (stored, duplicate or invalid) and the queues
    // are empty: the archive and the index describe the same events.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        bool settled = m_store->rawQueueDepth() == 0 && m_store->verifiedQueueDepth() == 0;
        if (settled)
            for (const auto& src : m_store->sources().snapshotAll())
                if (src.received != src.settled()) {
                    settled = false;
                    break;
                }
        if (settled) return true;
        if (m_jobCancel.load() || std::chrono::steady_clock::now() >= deadline || m_store->failed()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a counter, not synchronising a test
    }
}

void EngineImpl::startVerify() {
    if (m_jobRunning.load() || m_shutDown) {
        emit jobFinished("verify", false, tr("Another job is still running."));
        return;
    }
    joinJob();
    m_jobCancel.store(false);
    m_jobRunning.store(true);
    m_job = std::thread([this] {
        lowerThisThreadPriority();  // the console stays responsive during the job
        auto post = [this](double fraction, const QString& text) {
            QMetaObject::invokeMethod(this, [this, fraction, text] { emit jobProgress("verify", fraction, text); },
                                      Qt::QueuedConnection);
        };
        if (m_gate) m_gate->setHeld(true);
        post(-1, tr("Pausing relay intake and committing what is in flight…"));
        const bool drained = drainIntake(std::chrono::seconds(10));
        bool ok = false;
        QString summary;
        if (m_jobCancel.load()) {
            summary = tr("Verification cancelled.");
        } else {
            auto progress = [&](const WorkProgress& p) {
                post(p.total ? std::min(1.0, double(p.done) / double(p.total)) : -1.0,
                     tr("%1 of %2 events checked").arg(p.done).arg(p.total));
            };
            auto r = verifyStore(*m_store, progress, &m_jobCancel);
            if (!r && r.error().code == "cancelled") {
                summary = tr("Verification cancelled.");
            } else if (!r) {
                summary = tr("Verification failed: %1").arg(QString::fromStdString(r.error().message));
            } else {
                ok = r->ok();
                summary = ok ? tr("The archive and the index agree: %1 events in %2 frames, %3 segments.")
                                   .arg(r->archived_events).arg(r->frames).arg(r->segments)
                             : tr("%n difference(s) between the archive (%1 events) and the index (%2 events):", nullptr,
                                  int(std::min<uint64_t>(r->problems, INT32_MAX)))
                                   .arg(r->archived_events).arg(r->indexed_events);
                for (const auto& d : r->details) summary += QStringLiteral("\n• ") + QString::fromStdString(d);
                if (r->problems > r->details.size())
                    summary += QStringLiteral("\n") + tr("(and %1 more)").arg(r->problems - r->details.size());
                if (!ok && !drained)
                    summary += QStringLiteral("\n") +
                               tr("The pipeline did not settle within 10 s; differences at the newest frames may be "
                                  "events still in flight. Verify again to be sure.");
            }
        }
        if (m_gate) m_gate->setHeld(false);
        m_jobRunning.store(false);
        QMetaObject::invokeMethod(this, [this, ok, summary] { emit jobFinished("verify", ok, summary); },
                                  Qt::QueuedConnection);
    });
}

void EngineImpl::startReindex() {
    if (m_jobRunning.load() || m_shutDown) {
        emit jobFinished("reindex", false, tr("Another job is still running."));
        return;
    }
    joinJob();
    m_jobCancel.store(false);
    m_jobRunning.store(true);
    // Runs on the writer thread (core/engine/index_rebuild.h); the callbacks post to this thread.
    auto progress = [this](const RebuildProgress& p) {
        const QString text = p.replacing
                                 ? tr("Replacing the index with the rebuilt one (%1 events)…").arg(p.events)
                                 : tr("%1 events indexed, %2 of %3 MiB of the archive read; intake continues")
                                       .arg(p.events)
                                       .arg(double(p.bytes_done) / 1048576.0, 0, 'f', 1)
                                       .arg(double(p.bytes_total) / 1048576.0, 0, 'f', 1);
        const double fraction = p.fraction;
        QMetaObject::invokeMethod(this, [this, fraction, text] { emit jobProgress("reindex", fraction, text); },
                                  Qt::QueuedConnection);
    };
    auto finish = [this](const Expected<RebuildReport>& r) {
        const bool ok = bool(r);
        QString summary;
        if (!r && r.error().code == "cancelled") {
            summary = tr("Index rebuild cancelled; the index is unchanged.");
        } else if (!r) {
            summary = tr("Index rebuild failed; the index is unchanged: %1").arg(QString::fromStdString(r.error().message));
        } else {
            summary = tr("Index rebuilt from the archive: %1 events from %2 frames in %3 s.")
                          .arg(r->events).arg(r->frames).arg(r->seconds, 0, 'f', 1);
            summary += QStringLiteral("\n") + tr("The previous index held %1 events; %2 archived events were not in it.")
                                                    .arg(r->events_before).arg(r->not_in_old_index);
            summary += QStringLiteral("\n") + tr("%1 sightings (which relay carried which event) were kept.")
                                                    .arg(r->sightings_carried);
            if (r->damaged_lines)
                summary += QStringLiteral("\n") + tr("%1 archived lines are not valid events (see Verify archive).")
                                                        .arg(r->damaged_lines);
        }
        QMetaObject::invokeMethod(
            this,
            [this, ok, summary] {
                m_jobRunning.store(false);
                emit jobFinished("reindex", ok, summary);
            },
            Qt::QueuedConnection);
    };
    if (!m_store->startWriterTask(std::make_unique<IndexRebuild>(m_store->paths(), progress, finish))) {
        m_jobRunning.store(false);
        emit jobFinished("reindex", false, tr("The writer cannot take the rebuild now (it is stopping or busy)."));
    }
}

void EngineImpl::startSalvage(bool accept_loss) {
    if (m_jobRunning.load() || m_shutDown) {
        emit jobFinished("salvage", false, tr("Another job is still running."));
        return;
    }
    joinJob();
    m_jobCancel.store(false);
    m_jobRunning.store(true);
    m_job = std::thread([this, accept_loss] {
        auto post = [this](double fraction, const QString& text) {
            QMetaObject::invokeMethod(this, [this, fraction, text] { emit jobProgress("salvage", fraction, text); },
                                      Qt::QueuedConnection);
        };
        if (m_gate) m_gate->setHeld(true);
        post(-1, tr("Pausing relay intake and committing what is in flight…"));
        drainIntake(std::chrono::seconds(10));
        SalvageHooks hooks;
        hooks.rebuild_index = [this, &post](const ProgressFn&) -> Expected<void> {
            auto done = std::make_shared<std::promise<Expected<void>>>();
            auto future = done->get_future();
            auto progress = [post](const RebuildProgress& p) {
                post(p.fraction, tr("Rebuilding the index without the quarantined bytes: %1 events").arg(p.events));
            };
            auto finish = [done](const Expected<RebuildReport>& r) {
                done->set_value(r ? Expected<void>{} : Expected<void>(r.error()));
            };
            if (!m_store->startWriterTask(std::make_unique<IndexRebuild>(m_store->paths(), progress, finish)))
                return makeError("busy", "the writer cannot take the index rebuild now");
            while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
                if (m_jobCancel.load()) m_store->cancelWriterTask();
            return future.get();
        };
        // The engine waits out a full disk (it resumes by itself); Cancel stops it.
        hooks.store_lines = [this](const std::string& source, std::vector<std::string>&& lines) {
            return storeLines(*m_store, source, std::move(lines), &m_jobCancel, false);
        };
        auto progress = [&post](const WorkProgress& p) {
            const double fraction = p.total ? std::min(1.0, double(p.done) / double(p.total)) : -1.0;
            post(fraction, p.phase == "scan" ? tr("Scanning the archive for damage…")
                                             : tr("Recovering quarantined events (%1 of %2 regions)…").arg(p.done).arg(p.total));
        };
        SalvageOptions options;
        options.accept_loss = accept_loss;
        auto r = salvageStore(*m_store, options, hooks, progress, &m_jobCancel);
        if (m_gate) m_gate->setHeld(false);
        // What is still pending (also after a failure or cancel): the archive_damage condition.
        if (auto entries = archive::listQuarantine(m_store->paths().archive); entries)
            m_quarantinePending.store(quint64(std::count_if(entries->begin(), entries->end(), [](const auto& q) {
                return q.state == archive::QuarantineState::Pending;
            })));
        bool ok = false;
        QString summary;
        if (!r && r.error().code == "cancelled") {
            summary = tr("Salvage cancelled.");
        } else if (!r) {
            summary = tr("Salvage failed: %1").arg(QString::fromStdString(r.error().message));
        } else {
            ok = r->still_pending == 0;
            for (const auto& line : describeSalvage(*r)) {
                if (!summary.isEmpty()) summary += QStringLiteral("\n");
                summary += QString::fromStdString(line);
            }
        }
        m_jobRunning.store(false);
        QMetaObject::invokeMethod(this, [this, ok, summary] { emit jobFinished("salvage", ok, summary); },
                                  Qt::QueuedConnection);
    });
}

void EngineImpl::cancelJob() {
    m_jobCancel.store(true);
    if (m_store) m_store->cancelWriterTask();
}

void EngineImpl::startFetchIds(const QString& path) {
    if (m_jobRunning.load() || m_shutDown) {
        emit jobFinished("fetch-ids", false, tr("Another job is still running."));
        return;
    }
    if (!m_idFetch) {
        emit jobFinished("fetch-ids", false, tr("This engine has no relay network."));
        return;
    }
    joinJob();
    m_jobCancel.store(false);
    m_jobRunning.store(true);
    m_job = std::thread([this, file = std::filesystem::path(path.toStdString())] {
        lowerThisThreadPriority();
        auto progress = [this](const FetchIdsReport& r) {
            const double fraction = r.bytes_total ? std::min(1.0, double(r.bytes_read) / double(r.bytes_total)) : -1.0;
            const QString text = tr("%1 ids read: %2 found, %3 not found, %4 already held; %5 relays asked")
                                     .arg(r.ids).arg(r.found).arg(r.not_found).arg(r.already_held).arg(r.relays.size());
            QMetaObject::invokeMethod(this, [this, fraction, text] { emit jobProgress("fetch-ids", fraction, text); },
                                      Qt::QueuedConnection);
        };
        auto result = runFetchIds(m_store->index(), *m_idFetch, file, progress, &m_jobCancel);
        bool ok = result.ok() && result->stopped.empty();
        QString summary;
        if (result) {
            summary = QString::fromStdString(fetchIdsText(*result));
            std::lock_guard lock(m_fetchMutex);
            m_lastFetch = *result;
        } else {
            summary = QString::fromStdString(result.error().message);
        }
        if (ok) qCInfo(lcEngine).noquote() << "fetch-ids finished:" << summary;
        else qCWarning(lcEngine).noquote() << "fetch-ids ended:" << summary;
        m_jobRunning.store(false);
        QMetaObject::invokeMethod(this, [this, ok, summary] { emit jobFinished("fetch-ids", ok, summary); },
                                  Qt::QueuedConnection);
    });
}

std::optional<FetchIdsReport> EngineImpl::lastFetchIds() const {
    std::lock_guard lock(m_fetchMutex);
    return m_lastFetch;
}

}  // namespace archivist::engine
