#include "core/engine/engine_impl.h"
#include "core/engine/relay_intelligence.h"

#include <QDateTime>
#include <QPointer>
#include <QTimer>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "core/archive/segment_reader.h"
#include "core/engine/coverage_monitor.h"
#include "core/engine/db_health.h"
#include "core/engine/import_job.h"
#include "core/engine/incident_rules.h"
#include "core/engine/index_rebuild.h"
#include "core/engine/intake_gate.h"
#include "core/index/index_reader.h"
#include "core/protocol/event_codec.h"
#include "core/engine/maintenance.h"
#include "core/engine/query_service.h"
#include "core/engine/store.h"
#include "core/engine/store_sink.h"
#include "core/engine/relay_rows.h"
#include "core/net/address_policy.h"
#include "core/net/event_sink.h"
#include "core/net/relay_pool.h"
#include "core/net/relay_url.h"
#include "core/observe/incidents.h"
#include "core/observe/log.h"
#include "core/observe/memory_stats.h"
#include "core/observe/sqlite_heap.h"
#include "core/observe/metrics.h"
#include "core/protocol/filter.h"
#include "core/protocol/hex.h"
#include "core/relays/relay_state_owner.h"
#include "core/relays/relay_state_store.h"
#include "core/engine/sink_setup.h"
#include "core/sink/clickhouse_sink.h"
#include "core/engine/local_sets.h"
#include "core/sync/backfill_slots.h"
#include "core/sync/id_fetch.h"
#include "core/sync/relay_sync.h"

namespace archivist::engine {

Expected<std::unique_ptr<EngineImpl>> EngineImpl::open(const std::filesystem::path& data_dir, EngineOptions options,
                                                       observe::MetricsRegistry& metrics, QObject* parent) {
    qRegisterMetaType<archivist::engine::EngineSnapshot>();
    qRegisterMetaType<archivist::engine::PageResult>();
    qRegisterMetaType<archivist::engine::EventDetail>();
    qRegisterMetaType<archivist::engine::CountResult>();
    qRegisterMetaType<archivist::engine::StatisticsResult>();
    qRegisterMetaType<archivist::engine::CoverageResult>();
    qRegisterMetaType<archivist::engine::DirectoryPage>();
    // Process-wide, before the store opens its first connection (docs/configuration.md).
    observe::setSqliteHeapLimit(options.config.sqlite_heap_limit_bytes);
    StoreOptions so;
    so.policy.verify_signatures = options.verify_signatures;
    so.archive.min_free_bytes = options.config.min_free_bytes;
    so.open_progress = options.open_progress;
    OpenReport opened;
    auto store = Store::open(data_dir, so, metrics, &opened);
    if (!store) return store.error();
    auto stats = storeStats(**store);
    if (!stats) return stats.error();
    std::unique_ptr<EngineImpl> e(new EngineImpl(std::move(*store), options, metrics, parent));
    e->m_incidents = std::make_unique<observe::IncidentLog>(observe::IncidentLog::kDefaultCapacity, &metrics);
    e->m_ruleState = std::make_unique<IncidentRuleState>();
    // What opening found: shown in the Incidents panel from the first snapshot on.
    if (!opened.index_damage.empty())
        e->raiseIncident(observe::IncidentKind::DataSetAside, observe::IncidentSeverity::Warning,
                         "the index was damaged (" + opened.index_damage + "); it was moved to " +
                             opened.index_set_aside + " and rebuilt from the archive");
    // Damage quarantined now or earlier and not yet salvaged: the archive_damage condition fires
    // from the first snapshot on and resolves itself once salvage leaves nothing pending.
    e->m_quarantinePending.store(opened.quarantine_pending);
    e->m_memory = std::make_unique<observe::MemorySampler>();
    // Same name and labels as the commit writer's: the registry hands back the same histogram.
    e->m_commitSeconds = &metrics.histogram("archivist_commit_seconds", "Archive append + fdatasync + index commit time");
    e->m_eventsAtOpen = stats->events;
    e->m_archiveBytesAtOpen = stats->archive_bytes;
    EngineImpl* self = e.get();
    e->m_store->setCommitListener([self](const ingest::CommitNotice& n) {
        self->m_stored.fetch_add(n.stored, std::memory_order_relaxed);
        if (n.stored) self->m_lastStoredAtMs.store(QDateTime::currentMSecsSinceEpoch(), std::memory_order_relaxed);
        self->m_duplicates.fetch_add(n.duplicates, std::memory_order_relaxed);
        if (self->m_chSink && n.archive_end.segment)
            self->m_chSink->notifyDurable(n.archive_end, self->m_eventsAtOpen + self->m_stored.load());
        if (self->m_chSink && n.sightings_end.file)
            self->m_chSink->notifySightings(sink::SourcePosition{n.sightings_end.file, n.sightings_end.offset});
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
    // Coverage per month, kept by a paced background thread (core/engine/coverage_monitor.h).
    Store* opened_store = e->m_store.get();
    e->m_coverage = std::make_unique<CoverageMonitor>([opened_store] { return opened_store->index(); },
                                                      e->m_store->paths().archive);
    CoverageMonitor* coverage = e->m_coverage.get();
    e->m_store->setEventObserver([self, coverage](const protocol::Event& ev, ingest::SourceId) {
        coverage->observeStored(ev);
        if (RelayIntelligence* intel = self->m_intelPtr.load(std::memory_order_acquire)) intel->observeStoredEvent(ev);
    });
    metrics.gaugeFn("archivist_coverage_months_pending", "Months whose coverage of referenced events is to be computed again",
                    {}, [coverage] { return double(coverage->dirtyMonths()); }, self);
    metrics.gaugeFn("archivist_coverage_missing_tracked",
                    "Missing referenced ids whose arrival marks their month for recomputation (bounded)", {},
                    [coverage] { return double(coverage->trackedMissing()); }, self);
    metrics.gaugeFn("archivist_coverage_computations_total", "Months whose coverage was computed since start", {},
                    [coverage] { return double(coverage->computations()); }, self);
    metrics.gaugeFn("archivist_coverage_errors_total", "Months whose coverage computation failed (logged; tried again later)",
                    {}, [coverage] { return double(coverage->errors()); }, self);
    e->loadNewest();
    if (auto r = e->startSink(); !r) return r.error();
    if (e->m_chSink) {
        const archive::LogCursor logEnd = e->m_store->sightingsLog()->end();
        e->m_chSink->start(archiveEnd(e->m_store->paths().archive), e->m_eventsAtOpen,
                           sink::SourcePosition{logEnd.file, logEnd.offset});
    }
    e->m_store->start();
    QueryServiceOptions qo;
    qo.index = e->m_store->paths().index;
    qo.archive = e->m_store->paths().archive;
    e->m_query = std::make_unique<QueryService>(qo, [self](QueryAnswer&& a) {
        // Runs on the query thread; the answer travels as a value to the engine's thread.
        QMetaObject::invokeMethod(
            self,
            [self, a = std::move(a)] {
                switch (a.kind) {
                case QueryAnswer::Kind::Page: emit self->pageReady(a.id, a.page); break;
                case QueryAnswer::Kind::Detail: emit self->detailReady(a.id, a.detail); break;
                case QueryAnswer::Kind::Count: emit self->countReady(a.id, a.count); break;
                case QueryAnswer::Kind::Statistics: emit self->statisticsReady(a.id, a.statistics); break;
                }
            },
            Qt::QueuedConnection);
    });
    e->m_query->start();
    e->m_coverage->start();
    if (options.network) {
        if (auto r = e->startNetwork(); !r) return r.error();
    }
    e->m_timer = new QTimer(self);
    QObject::connect(e->m_timer, &QTimer::timeout, self, &EngineImpl::tick);
    e->m_timer->start(options.snapshot_interval_ms);
    return e;
}

EngineImpl::EngineImpl(std::unique_ptr<Store> store, EngineOptions options, observe::MetricsRegistry& metrics,
                       QObject* parent)
    : Engine(parent), m_store(std::move(store)), m_opts(options), m_metrics(metrics) {}

EngineImpl::~EngineImpl() {
    if (auto r = shutdown(); !r) qCWarning(lcEngine) << "engine shutdown:" << r.error().message.c_str();
}

Expected<void> EngineImpl::shutdown() {
    if (m_shutDown) return {};
    m_shutDown = true;
    if (m_timer) m_timer->stop();
    m_jobCancel.store(true);
    m_store->cancelWriterTask();  // an index rebuild gives up; the index stays as it is
    joinJob();
    if (m_coverage) m_coverage->stop();
    if (m_query) m_query->stop();
    // The optimizer first: it adds and removes relays (its last statistics are queued for the owner).
    if (m_intel) {
        m_intelPtr.store(nullptr);
        m_intel->stop();
    }
    // Then intake: relays close their subscriptions, hand over what they hold and report what
    // settled; then the pipeline drains and commits everything already verified; then the owner
    // of relay state writes what it was told and stops.
    if (m_pool) m_pool->stop(std::chrono::milliseconds(1500));
    if (m_localSets) m_localSets->stop();  // after the relays: none asks any more
    if (m_chSink) m_chSink->stop();  // an unacknowledged batch stays pending: checked at the next start
    m_metrics.removeGaugeFns(this);
    // Bounded (a signal is answered within 5 s): what is not verified within 1.5 s is let go (never
    // acknowledged, so relays send it again), retries of a failing commit end at 3 s.
    auto stored = m_store->shutdown(std::chrono::milliseconds(3000), std::chrono::milliseconds(1500));
    if (m_incidents) {
        // The firing alerts' last occurrences (a repeated condition is not written every tick):
        // the next start resolves them there.
        std::vector<uint64_t> firing;
        for (const auto& a : m_incidents->open(observe::IncidentLog::kDefaultCapacity))
            if (a.firing()) firing.push_back(a.id);
        m_incidents->markChanged(firing);
    }
    persistAlerts();  // acknowledgements and resolutions since the last tick
    if (m_relayState) m_relayState->stop(std::chrono::milliseconds(2000));
    return stored;
}

void EngineImpl::raiseIncident(observe::IncidentKind kind, observe::IncidentSeverity severity,
                               const std::string& message) {
    if (m_incidents) m_incidents->raise(kind, severity, {}, message, QDateTime::currentMSecsSinceEpoch());
}

Expected<void> EngineImpl::startNetwork() {
    const EngineConfig& cfg = m_opts.config;
    std::string setAside;
    auto state = openRelayDirectory(m_store->paths(), &setAside);
    if (!state) return state.error();
    if (!setAside.empty()) raiseIncident(observe::IncidentKind::DataSetAside, observe::IncidentSeverity::Warning, setAside);
    // Open-time work on this thread; from start() on only the owner's thread touches the store.
    if (auto r = (*state)->directory().resetLiveStatuses(); !r)
        qCWarning(lcNet) << "relay statuses of the last run not reset:" << r.error().message.c_str();
    // The alert history of earlier runs (still-firing ones resolve at their last occurrence).
    if (auto alerts = (*state)->alerts().recent(observe::IncidentLog::kDefaultCapacity); alerts)
        m_incidents->restore(std::move(*alerts));
    else
        qCWarning(lcEngine) << "alert history not read:" << alerts.error().message.c_str();
    m_relayState = std::make_unique<relays::RelayStateOwner>(std::move(*state), &m_metrics);
    if (!m_policy) {  // the sink may have made it already (same rules)
        m_policy = std::make_shared<net::AddressPolicy>();
        for (const auto& cidr : cfg.allow_addresses) {
            if (auto r = m_policy->allowText(cidr); !r)
                return makeError("config", "allowed address \"" + cidr + "\": " + r.error().message);
        }
    }
    m_checkPolicy = std::make_unique<net::AddressPolicy>();
    for (const auto& cidr : cfg.allow_addresses) {
        if (auto r = m_checkPolicy->allowText(cidr); !r)
            return makeError("config", "allowed address \"" + cidr + "\": " + r.error().message);
    }
    m_sink = std::make_unique<StoreSink>(*m_store);
    m_gate = std::make_unique<IntakeGate>(*m_sink);
    IntakeGate* gate = m_gate.get();
    m_metrics.gaugeFn("archivist_intake_refused_while_held_total",
                      "Relay batches refused while intake was held for a maintenance job (kept by their relays, retried)",
                      {}, [gate] { return double(gate->refusedWhileHeld()); }, this);
    m_backfillSlots = std::make_unique<sync::BackfillSlots>(cfg.backfill_slots);
    m_reconcileSlots = std::make_unique<sync::BackfillSlots>(cfg.reconcile_sessions);
    m_localSets = std::make_unique<IndexLocalSets>(m_store->paths().index);
    m_localSets->start();
    IndexLocalSets* localSets = m_localSets.get();
    sync::BackfillSlots* reconcileSlots = m_reconcileSlots.get();
    m_metrics.gaugeFn("archivist_reconcile_sessions", "NIP-77 reconciliation sessions open now (at most reconcile_sessions)",
                      {}, [reconcileSlots] { return double(reconcileSlots->inUse()); }, this);
    m_metrics.gaugeFn("archivist_reconcile_sessions_waiting", "Relays waiting for a NIP-77 reconciliation session",
                      {}, [reconcileSlots] { return double(reconcileSlots->waiting()); }, this);
    m_metrics.gaugeFn("archivist_local_set_requests_queued", "Local-set reads for reconciliation windows waiting (bounded)",
                      {}, [localSets] { return double(localSets->queued()); }, this);
    m_metrics.gaugeFn("archivist_local_set_errors_total", "Local-set reads for reconciliation windows that failed",
                      {}, [localSets] { return double(localSets->errors()); }, this);
    net::PoolOptions po;
    po.threads = cfg.network_threads;
    po.max_relays = cfg.max_relays;
    sync::SyncOptions so;
    so.backfill = cfg.backfill;
    so.backfill_limit = cfg.backfill_limit;
    so.reconcile_interval_s = int64_t(cfg.reconcile_interval_s);
    so.negentropy_timeout_ms = int64_t(cfg.negentropy_timeout_s) * 1000;
    if (cfg.backfill_depth_days > 0)
        so.backfill_floor = std::max<int64_t>(0, QDateTime::currentSecsSinceEpoch() - cfg.backfill_depth_days * 86400);
    po.connection.rate.max_events_per_s = cfg.rate_events_per_s;
    po.connection.rate.max_bytes_per_s = cfg.rate_bytes_per_s;
    if (!cfg.filter_json.empty()) {
        auto f = protocol::parseFilter(cfg.filter_json);
        if (!f) return f.error();
        so.filter = *f;
    }
    so.max_subscriptions = po.connection.max_subscriptions;
    so.sync = m_opts.relay_sync;
    m_idFetch = std::make_unique<sync::IdFetch>();
    for (size_t c = 0; c < net::kAddressClassCount; ++c) {
        const auto cls = net::AddressClass(c);
        if (cls == net::AddressClass::Public) continue;
        std::weak_ptr<net::AddressPolicy> weak = m_policy;
        m_metrics.gaugeFn("archivist_address_refusals_total", "Connections refused by the address policy, by address class",
                          {{"class", std::string(net::addressClassName(cls))}},
                          [weak, cls] {
                              auto p = weak.lock();
                              return p ? double(p->refusals(cls)) : 0.0;
                          },
                          this);
    }
    relays::RelayStateOwner* owner = m_relayState.get();
    sync::BackfillSlots* backfillSlots = m_backfillSlots.get();
    m_pool = std::make_unique<net::RelayPool>(po, *m_gate, *owner, m_policy);
    m_pool->start();

    IntelligenceOptions io;
    io.auto_relays = cfg.auto_relays;
    io.max_relays = cfg.max_relays;
    io.cycle_ms = int64_t(cfg.optimizer_interval_s) * 1000;
    io.first_cycle_ms = std::min<int64_t>(io.cycle_ms, 60000);
    sync::IdFetch* idFetch = m_idFetch.get();
    io.make_driver = [so, owner, backfillSlots, localSets, reconcileSlots, idFetch](
                         const std::string& url, const sync::SyncResume& resume) -> std::unique_ptr<net::SessionDriver> {
        return std::make_unique<sync::RelaySync>(url, so, resume, *owner, *backfillSlots, localSets, reconcileSlots, idFetch);
    };
    m_intel = std::make_unique<RelayIntelligence>(
        io, *owner, m_pool.get(), m_policy, m_metrics, [this](quint64 id, const DirectoryPage& page) {
            QMetaObject::invokeMethod(this, [this, id, page] { emit directoryReady(id, page); }, Qt::QueuedConnection);
        });
    m_intel->setCommandFailed([this](const RelayIntelligence::Command& c, const std::string& message) {
        const QString u = QString::fromStdString(c.url.text), m = QString::fromStdString(message);
        QMetaObject::invokeMethod(this, [this, u, m] { emit relayActionFailed(u, m); }, Qt::QueuedConnection);
    });
    m_intel->setRelayInfoAnswer([this](quint64 id, const std::string& url, const std::string& doc) {
        const QString u = QString::fromStdString(url), d = QString::fromStdString(doc);
        QMetaObject::invokeMethod(this, [this, id, u, d] { emit relayInfoReady(id, u, d); }, Qt::QueuedConnection);
    });

    // The relays to start with: named on the command line and in config.json, the ones the
    // operator added or pinned earlier (the directory), then the seeds. Added by the owner.
    std::vector<std::pair<net::RelayUrl, std::string>> initial;
    auto add = [&](const std::string& text, const std::string& source) {
        auto u = net::normalizeRelayUrl(text);
        if (!u) {
            qCWarning(lcNet) << "relay" << text.c_str() << "not added:" << u.error().message.c_str();
            return;
        }
        initial.emplace_back(std::move(*u), source);
    };
    for (const auto& url : m_opts.cli_relays) add(url, "cli");
    for (const auto& url : cfg.relays) add(url, "config");
    if (auto known = owner->storeBeforeStart().directory().list(cfg.max_relays); known) {
        for (const auto& rec : *known)
            if (rec.source == "user" || rec.pinned) add(rec.url, rec.source);
    }
    if (cfg.seed_relays)
        for (const auto& url : seedRelays()) add(url, "seed");
    m_intel->addStartupRelays(std::move(initial));
    owner->start();
    m_intel->start();
    m_intelPtr.store(m_intel.get(), std::memory_order_release);
    return {};
}

quint64 EngineImpl::requestDirectory(const DirectoryRequest& request) {
    if (!m_intel || m_shutDown) return 0;
    return m_intel->requestDirectory(request);
}

void EngineImpl::exportRelayMetrics(const EngineSnapshot& s) {
    // Per-state counts and per-relay figures (bounded: at most max_relays relays, and the registry
    // folds series beyond its own bound).
    std::array<int, observe::kRelayStateCount> byState{};
    for (const auto& r : s.relays) ++byState[size_t(r.state)];
    for (size_t i = 0; i < byState.size(); ++i)
        m_metrics.gauge("archivist_relays", "Relays in the pool by connection state",
                        {{"state", observe::relayStateName(observe::RelayState(i))}})
            .set(byState[i]);
    for (const auto& r : s.relays) {
        const observe::Labels l{{"relay", r.url}};
        m_metrics.gauge("archivist_relay_events_received", "Events received from the relay this run", l)
            .set(double(r.events_received));
        m_metrics.gauge("archivist_relay_events_stored", "New events stored from the relay this run", l)
            .set(double(r.stored));
        m_metrics.gauge("archivist_relay_events_invalid", "Events from the relay rejected by validation", l)
            .set(double(r.invalid));
        for (size_t i = 0; i < r.refused_by_reason.size(); ++i)
            m_metrics
                .gauge("archivist_relay_events_refused",
                       "Events from the relay refused before validation: not on a subscription we opened, or outside its filter",
                       {{"relay", r.url}, {"reason", observe::eventRefusalName(observe::EventRefusal(i + 1))}})
                .set(double(r.refused_by_reason[i]));
        m_metrics.gauge("archivist_relay_connects", "Successful connections this run", l).set(double(r.connects));
        m_metrics.gauge("archivist_relay_consecutive_failures", "Failed attempts since the last stable connection", l)
            .set(r.consecutive_failures);
        m_metrics.gauge("archivist_relay_read_pauses", "Times reading the relay paused (rate limit or full pipeline)", l)
            .set(double(r.read_pauses));
        m_metrics.gauge("archivist_relay_buffered_bytes", "Memory the connection holds now", l)
            .set(double(r.buffered_bytes));
        m_metrics.gauge("archivist_relay_backfill_fraction", "Share of the relay's history backfilled", l)
            .set(r.backfill == observe::BackfillState::Done ? 1.0 : r.backfill_fraction);
        m_metrics.gauge("archivist_relay_backfill_gaps", "Backfill windows recorded as gaps", l)
            .set(double(r.backfill_gaps));
        // NIP-77: how the relay is synced, its support judged by behaviour, the last reconciliation.
        for (size_t m = 0; m < size_t(observe::SyncMethod::Count); ++m) {
            auto lm = l;
            lm.emplace_back("method", observe::syncMethodName(observe::SyncMethod(m)));
            m_metrics.gauge("archivist_relay_sync_method", "How the relay's history is kept complete (1 = in use)", lm)
                .set(r.method == observe::SyncMethod(m) ? 1.0 : 0.0);
        }
        for (size_t n = 0; n < size_t(observe::NegentropySupport::Count); ++n) {
            auto ln = l;
            ln.emplace_back("support", observe::negentropySupportName(observe::NegentropySupport(n)));
            m_metrics.gauge("archivist_relay_negentropy", "NIP-77 support judged by behaviour (1 = the relay's state)", ln)
                .set(r.negentropy == observe::NegentropySupport(n) ? 1.0 : 0.0);
        }
        m_metrics.gauge("archivist_relay_reconciled_timestamp_seconds", "Last completed reconciliation of the whole history (0 = never)", l)
            .set(double(r.reconciled_ms) / 1000.0);
        m_metrics.gauge("archivist_relay_reconcile_missing", "Events reconciliation found missing and fetched (this run)", l)
            .set(double(r.reconcile_missing));
        m_metrics.gauge("archivist_relay_late_events", "Events reconciliation found that predate the live cursor (late or backdated)", l)
            .set(double(r.late_events));
    }
}

bool EngineImpl::postRelayCommand(std::optional<RelayAction> action, const QString& url, QString* normalized,
                                  QString* error) {
    // Checked here (in memory, quick: the URL normalised once, a literal address checked once);
    // carried out on the owner of relay state's thread, so the GUI thread never waits on the
    // directory database or the pool. Failures come back as relayActionFailed.
    RelayIntelligence* intel = m_intelPtr.load(std::memory_order_acquire);
    if (!m_pool || !intel) {
        if (error) *error = tr("The relay network is not running.");
        return false;
    }
    // Adding checks a literal address against the policy; acting on a relay (block, remove, …)
    // only needs its canonical URL: a refused relay must stay removable.
    net::RelayUrl parsed;
    if (!action) {
        const RelayUrlCheck check = checkRelayUrl(url, *m_checkPolicy, &parsed);
        if (!check.ok()) {
            if (error) *error = check.detail;
            return false;
        }
        if (m_pool->contains(parsed.text)) {
            if (error) *error = tr("%1 is already in the pool").arg(check.normalized);
            return false;
        }
    } else if (auto u = net::normalizeRelayUrl(url.toStdString()); u) {
        parsed = std::move(*u);
    } else {
        if (error) *error = QString::fromStdString(u.error().message);
        return false;
    }
    using K = RelayIntelligence::CommandKind;
    K kind = K::Add;
    if (action) switch (*action) {
        case RelayAction::Connect: kind = K::Connect; break;
        case RelayAction::Disconnect: kind = K::Disconnect; break;
        case RelayAction::Block: kind = K::Block; break;
        case RelayAction::Unblock: kind = K::Unblock; break;
        case RelayAction::BackfillNow: kind = K::BackfillNow; break;
        case RelayAction::Remove: kind = K::Remove; break;
        case RelayAction::Pin: kind = K::Pin; break;
        case RelayAction::Unpin: kind = K::Unpin; break;
        }
    const QString canonical = QString::fromStdString(parsed.text);
    if (!intel->postCommand({kind, std::move(parsed)})) {
        if (error) *error = tr("Too many relay actions are waiting; try again in a moment.");
        return false;
    }
    if (normalized) *normalized = canonical;
    return true;
}

bool EngineImpl::addRelay(const QString& url, QString* normalized, QString* error) {
    return postRelayCommand(std::nullopt, url, normalized, error);
}

bool EngineImpl::relayAction(const QString& url, RelayAction action, QString* error) {
    return postRelayCommand(action, url, nullptr, error);
}

bool EngineImpl::allowAddress(const QString& cidr, QString* error) {
    auto rule = net::AddressPolicy::parseCidr(cidr.trimmed().toStdString());
    if (!rule) {
        if (error) *error = QString::fromStdString(rule.error().message);
        return false;
    }
    const std::string text = rule->toString();
    auto& list = m_opts.config.allow_addresses;
    const bool known = std::find(list.begin(), list.end(), text) != list.end();
    if (!known && list.size() >= net::AddressPolicy::kMaxAllowRules) {
        if (error) *error = tr("The allow list is full (%1 rules).").arg(net::AddressPolicy::kMaxAllowRules);
        return false;
    }
    // This thread owns both policies; connection threads read the shared one (copy on write).
    if (m_policy) m_policy->allow(*rule);
    if (m_checkPolicy) m_checkPolicy->allow(*rule);
    if (!known) list.push_back(text);  // checkRelayUrls, runningConfig
    qCInfo(lcNet).noquote() << "address" << QString::fromStdString(text) << "allowed by the operator; retrying refused relays";
    // A refused relay is not retried by itself (its verdict would not change): connect it again.
    if (m_pool)
        for (const auto& st : m_pool->statuses())
            if (st.state == observe::RelayState::Refused) relayAction(QString::fromStdString(st.url), RelayAction::Connect, nullptr);
    return true;
}

QVector<RelayUrlCheck> EngineImpl::checkRelayUrls(const QStringList& urls) const {
    QStringList allow;
    for (const auto& a : m_opts.config.allow_addresses) allow << QString::fromStdString(a);  // with allowAddress()'s
    return engine::checkRelayUrls(urls, allow);
}

quint64 EngineImpl::requestRelayInfo(const QString& url) {
    if (!m_intel || m_shutDown) return 0;
    auto u = net::normalizeRelayUrl(url.toStdString());
    return m_intel->requestRelayInfo(u ? u->text : url.toStdString());
}

quint64 EngineImpl::requestPage(const PageRequest& request) {
    return m_query && !m_shutDown ? m_query->requestPage(request) : 0;
}

quint64 EngineImpl::requestDetail(const QString& id_hex) {
    return m_query && !m_shutDown ? m_query->requestDetail(id_hex) : 0;
}

quint64 EngineImpl::requestStatistics(const StatisticsRequest& request) {
    return m_query && !m_shutDown ? m_query->requestStatistics(request) : 0;
}

quint64 EngineImpl::requestCoverage(const CoverageRequest& request) {
    if (!m_coverage || m_shutDown) return 0;
    // The kept months: no computation waits here (the background thread keeps them current).
    CoverageResult r;
    r.request = request;
    r.report = m_coverage->report(request);
    const quint64 id = ++m_coverageSeq;
    QMetaObject::invokeMethod(this, [this, id, r] { emit coverageReady(id, r); }, Qt::QueuedConnection);
    return id;
}

quint64 EngineImpl::requestCount(const QueryFilter& query) {
    return m_query && !m_shutDown ? m_query->requestCount(query) : 0;
}

QString EngineImpl::configPath() const { return QString::fromStdString(m_store->paths().config.string()); }

EngineConfig EngineImpl::runningConfig() const {
    EngineConfig c = m_opts.config;
    for (const auto& url : m_opts.cli_relays)
        if (std::find(c.relays.begin(), c.relays.end(), url) == c.relays.end()) c.relays.push_back(url);
    return c;
}

EngineConfig EngineImpl::currentConfig() const {
    // The file as it is now (it may have been edited since start); the running values otherwise.
    auto cfg = loadConfig(m_store->paths().config);
    if (cfg) return *cfg;
    qCWarning(lcEngine) << "config not readable, showing the running values:" << cfg.error().message.c_str();
    return m_opts.config;
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

void EngineImpl::persistAlerts() {
    if (!m_incidents || !m_relayState) return;
    auto rows = m_incidents->takeChanges();
    if (rows.empty()) return;
    std::vector<uint64_t> ids;
    ids.reserve(rows.size());
    for (const auto& r : rows) ids.push_back(r.id);
    observe::IncidentLog* log = m_incidents.get();  // outlives the owner (joined in shutdown())
    relays::RelayStateOwner* owner = m_relayState.get();
    const bool posted = owner->post([log, owner, rows = std::move(rows), ids](relays::RelayStateStore& store) {
        auto r = store.transaction([&] { return store.alerts().save(rows); });
        if (r) return;
        owner->countWriteError("alerts", r.error().message);
        log->markChanged(ids);  // written with the next batch
    });
    if (!posted) m_incidents->markChanged(ids);
}

void EngineImpl::acknowledgeIncident(quint64 id) {
    if (m_incidents) m_incidents->acknowledge(id);
}

void EngineImpl::clearIncidents(bool all) {
    if (m_incidents) m_incidents->clearAll(all);
}

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
    // Rates over the last ~2 s: commits land in groups (up to 8,192 events every 250 ms or so),
    // so a single tick's delta would jump between 0 and a spike.
    m_rateWindow.push_back({now, s.stored_total, s.duplicate_total, s.rejected_total});
    while (m_rateWindow.size() > 2 && now - m_rateWindow.front().ms > kRateWindow_ms) m_rateWindow.pop_front();
    const RatePoint& from = m_rateWindow.front();
    const double dt = std::max<qint64>(1, now - from.ms) / 1000.0;
    if (m_rateWindow.size() >= 2) {
        s.stored_per_s = double(s.stored_total - from.stored) / dt;
        s.duplicate_per_s = double(s.duplicate_total - from.duplicate) / dt;
        s.rejected_per_s = double(s.rejected_total - from.rejected) / dt;
    }
    const auto mem = m_memory ? m_memory->latest() : observe::MemoryStats{};
    s.rss_bytes = mem.rss_bytes;
    s.heap_bytes = mem.heap_in_use_bytes;
    const observe::SqliteHeap sqlite = observe::readSqliteHeap();
    s.sqlite_heap_bytes = sqlite.used_bytes;
    s.sqlite_heap_peak_bytes = sqlite.peak_bytes;
    s.sqlite_heap_limit_bytes = sqlite.limit_bytes;
    s.queues.push_back({"verify", qint64(m_store->rawQueueDepth()), qint64(m_store->rawQueueCapacity())});
    s.queues.push_back({"writer", qint64(m_store->verifiedQueueDepth()), qint64(m_store->verifiedQueueCapacity())});
    // The deduplication caches (named "… cache": full is normal for them).
    s.queues.push_back({"recent ids cache", qint64(m_store->recentIds().size()), qint64(m_store->recentIds().capacity())});
    if (const ingest::CopyCache* copies = m_store->copies())
        s.queues.push_back({"copies cache", qint64(copies->size()), qint64(copies->capacity())});
    if (m_coverage)
        s.queues.push_back({"coverage missing ids tracked", qint64(m_coverage->trackedMissing()),
                            qint64(CoverageMonitor::kMaxTrackedMissing)});
    if (m_query) s.queues.push_back({"queries", qint64(m_query->pendingDepth()), qint64(m_query->pendingCapacity())});
    // The index's lanes, hot files awaiting their flush, the fullest month's parts; its caches
    // (named "… cache": full is normal for them, so no queue_near_capacity incident).
    const auto ig = m_store->index()->gauges();
    for (const auto* list : {&ig.queues, &ig.caches})
        for (const auto& q : *list) s.queues.push_back({QString::fromStdString(q.name), qint64(q.depth), qint64(q.capacity)});
    {
        std::lock_guard lock(m_newestMutex);
        s.newest.reserve(int(m_newest.size()));
        for (const auto& e : m_newest) s.newest.push_back(e);
    }
    s.writer_paused = m_store->paused();
    s.last_error = QString::fromStdString(m_store->lastError());
    s.job_running = m_jobRunning.load();
    s.last_stored_at_ms = m_lastStoredAtMs.load(std::memory_order_relaxed);
    if (m_pool) {
        const auto statuses = m_pool->statuses();
        s.relays.reserve(int(statuses.size()));
        bool idle = true;
        const auto briefs = m_intel ? m_intel->briefs() : std::unordered_map<std::string, RelayBrief>{};
        for (const auto& st : statuses) {
            std::optional<ingest::SourceSnapshot> pipeline;
            if (auto id = m_store->sources().find(st.url)) pipeline = m_store->sources().snapshot(*id);
            RelayRow r = relayRow(st, pipeline ? &*pipeline : nullptr);
            if (auto b = briefs.find(r.url); b != briefs.end()) {
                r.pinned = b->second.pinned;
                r.score = b->second.score;
                r.uptime_24h = b->second.uptime_24h;
            }
            if (r.state == RelayState::Connected) ++s.relays_open;
            const bool synced = r.state == RelayState::Connected && !r.catching_up &&
                                (r.backfill == BackfillState::Done || r.backfill == BackfillState::Disabled);
            if (!observe::isUnreachableState(r.state) && !synced) idle = false;
            s.relays.push_back(std::move(r));
        }
        s.relays_known = int(statuses.size());
        if (m_intel) {
            m_intel->observeStatuses(std::vector<RelayRow>(s.relays.begin(), s.relays.end()), now);
            s.intelligence = m_intel->view();
        }
        exportRelayMetrics(s);
        s.sync_idle = idle && m_intel && m_intel->startupRelaysAdded();
        s.address_refusals = m_policy ? m_policy->refusalsTotal() : 0;
        s.queues.push_back({"backfill slots", qint64(m_backfillSlots->inUse()), qint64(m_backfillSlots->capacity())});
        s.queues.push_back({"reconciliation sessions", qint64(m_reconcileSlots->inUse()), qint64(m_reconcileSlots->capacity())});
        s.queues.push_back({"local-set requests", qint64(m_localSets->queued()), qint64(IndexLocalSets::kMaxQueued)});
    }
    if (m_relayState) {
        const auto st = m_relayState->stats();
        s.relay_state_write_errors_total = st.write_errors;
        s.relay_state_last_error = QString::fromStdString(st.last_error);
        s.queues.push_back({"relay state reports", qint64(st.pending_relays),
                            qint64(relays::RelayStateOwner::kMaxPendingRelays)});
    }
    s.commits_total = m_commitSeconds ? m_commitSeconds->count() : 0;
    s.commit_seconds_total = m_commitSeconds ? m_commitSeconds->sum() : 0;
    s.write_errors_total = quint64(m_metrics.total("archivist_write_errors_total"));
    s.quarantine_pending = m_quarantinePending.load();
    {
        std::error_code ec;
        const auto space = std::filesystem::space(m_store->paths().root, ec);
        if (!ec) {
            s.disk_free_bytes = qint64(space.available);
            s.disk_capacity_bytes = qint64(space.capacity);
        }
    }
    snapshotSink(s);
    if (m_incidents && m_ruleState) {
        // Each alert that fires or resolves is a line in the log (the console's Log panel).
        for (auto& r : evaluateIncidentRules(m_last, s, m_opts.incidents, *m_ruleState)) {
            const uint64_t id = m_incidents->raise(r.kind, r.severity, r.relay, r.message, now, r.level);
            if (id <= m_lastAlertId) continue;
            m_lastAlertId = id;
            const char* kind = observe::incidentKindName(r.kind);
            if (r.severity == observe::IncidentSeverity::Info)
                qCInfo(lcEngine).noquote() << "alert firing:" << kind << r.relay.c_str() << "—" << r.message.c_str();
            else
                qCWarning(lcEngine).noquote() << "alert firing:" << kind << r.relay.c_str() << "—" << r.message.c_str();
        }
        std::vector<observe::Incident> resolved;
        m_incidents->resolveQuiet(now, &resolved);
        for (const auto& r : resolved)
            qCInfo(lcEngine).noquote() << "alert resolved:" << observe::incidentKindName(r.kind) << r.relay.c_str()
                                       << "after" << (r.resolved_ms - r.first_ms) / 1000 << "s";
        persistAlerts();
        const auto open = m_incidents->open(size_t(EngineSnapshot::kIncidentsCapacity));
        s.incidents = QVector<observe::Incident>(open.begin(), open.end());
    }
    m_last = s;
    emit snapshotReady(s);
}

}  // namespace archivist::engine
