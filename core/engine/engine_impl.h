#pragma once
// EngineImpl: the engine behind the Engine facade (core/engine/engine.h): the store, the relay network,
// relay intelligence, the query thread, jobs and the snapshot tick. Its code is in engine_impl.cpp
// (lifecycle, relays, snapshots) and engine_jobs.cpp (import, export, verify, rebuild).
// Thread: as Engine — created and called on one thread (the GUI thread in the console).
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/engine/engine.h"
#include "core/engine/fetch_ids.h"
#include "core/engine/incident_rules.h"

class QTimer;

namespace archivist::sink {
class ClickHouseSink;
}

namespace archivist::observe {
class Histogram;
class IncidentLog;
class MemorySampler;
class MetricsRegistry;
}  // namespace archivist::observe
namespace archivist::net {
class AddressPolicy;
class RelayPool;
}  // namespace archivist::net
namespace archivist::relays {
class RelayStateOwner;
}
namespace archivist::sync {
class BackfillSlots;
class IdFetch;
}

namespace archivist::engine {

struct EngineOptions {
    bool verify_signatures = true;
    int snapshot_interval_ms = 250;
    bool network = true;                   // start the relay pool
    EngineConfig config;                   // the data directory's config.json, merged with flags
    std::vector<std::string> cli_relays;   // --relay (source "cli")
    // Progress while opening re-indexes the archive (a damaged or missing index is rebuilt before
    // intake starts): archive bytes done of total, on the opening thread.
    std::function<void(uint64_t done_bytes, uint64_t total_bytes)> open_progress;
    IncidentThresholds incidents;          // the alert rules' thresholds and hold times (docs/incidents.md)
    // false: relays are opened for fetch-ids only — no live subscription, catch-up, backfill or
    // reconciliation (`archivist fetch-ids`).
    bool relay_sync = true;
};

class Store;
class StoreSink;
class IntakeGate;
class QueryService;
class CoverageMonitor;
class IndexLocalSets;
class RelayIntelligence;
struct IncidentRuleState;

class EngineImpl final : public Engine {
    Q_OBJECT
public:
    // Opens the data directory (lock, recovery) and starts the pipeline.
    static Expected<std::unique_ptr<EngineImpl>> open(const std::filesystem::path& data_dir, EngineOptions options,
                                                      observe::MetricsRegistry& metrics, QObject* parent = nullptr);
    ~EngineImpl() override;

    void startImport(const QStringList& files) override;
    void cancelJob() override;
    bool jobRunning() const override { return m_jobRunning.load(); }
    EngineSnapshot snapshot() const override;
    bool allowAddress(const QString& cidr, QString* error) override;
    QVector<RelayUrlCheck> checkRelayUrls(const QStringList& urls) const override;
    bool addRelay(const QString& url, QString* normalized, QString* error) override;
    bool relayAction(const QString& url, RelayAction action, QString* error) override;
    void acknowledgeIncident(quint64 id) override;
    void clearIncidents(bool all) override;
    quint64 requestRelayInfo(const QString& url) override;
    quint64 requestDirectory(const DirectoryRequest& request) override;
    quint64 requestPage(const PageRequest& request) override;
    quint64 requestDetail(const QString& id_hex) override;
    quint64 requestCount(const QueryFilter& query) override;
    quint64 requestStatistics(const StatisticsRequest& request) override;
    quint64 requestCoverage(const CoverageRequest& request) override;
    void startExport(const QueryFilter& query, const QString& path) override;
    QString configPath() const override;
    EngineConfig currentConfig() const override;
    EngineConfig runningConfig() const override;
    void startVerify() override;
    void startReindex() override;
    void startSalvage(bool accept_loss) override;
    void startFetchIds(const QString& path) override;
    // The last fetch-ids job's report (`archivist fetch-ids --json`); empty before one finished.
    std::optional<FetchIdsReport> lastFetchIds() const;

    // Idempotent. Cancels a running job, joins it, shuts the store down.
    Expected<void> shutdown();

private:
    EngineImpl(std::unique_ptr<Store> store, EngineOptions options, observe::MetricsRegistry& metrics, QObject* parent);
    void tick();
    void joinJob();
    void loadNewest();
    // The ClickHouse sink (engine_sink.cpp): created before the store starts when configured.
    Expected<void> startSink();
    void snapshotSink(EngineSnapshot& s) const;
    void raiseIncident(observe::IncidentKind kind, observe::IncidentSeverity severity, const std::string& message);

    Expected<void> startNetwork();
    void exportRelayMetrics(const EngineSnapshot& s);
    // Hands the alerts changed since the last call to the owner of relay state (relays.sqlite).
    void persistAlerts();
    // addRelay (no action) and relayAction: checks, then hands the work to the owner of relay state.
    bool postRelayCommand(std::optional<RelayAction> action, const QString& url, QString* normalized, QString* error);

    std::unique_ptr<Store> m_store;
    EngineOptions m_opts;
    std::unique_ptr<relays::RelayStateOwner> m_relayState;  // the relay-state thread (relays.sqlite)
    std::shared_ptr<net::AddressPolicy> m_policy;           // the connections' (counts refusals)
    std::unique_ptr<net::AddressPolicy> m_checkPolicy;      // checkRelayUrls/addRelay: same rules, its own counters
    std::unique_ptr<sync::BackfillSlots> m_backfillSlots;
    std::unique_ptr<sync::BackfillSlots> m_reconcileSlots;  // NIP-77 sessions at once (reconcile_sessions)
    std::unique_ptr<IndexLocalSets> m_localSets;            // the local side of reconciliation windows (its thread)
    std::unique_ptr<sync::IdFetch> m_idFetch;               // fetch-ids: shared by the job and every relay's sync
    mutable std::mutex m_fetchMutex;                        // guards m_lastFetch
    std::optional<FetchIdsReport> m_lastFetch;
    std::unique_ptr<StoreSink> m_sink;
    std::unique_ptr<IntakeGate> m_gate;  // between the relays and m_sink; held during verify
    bool drainIntake(std::chrono::milliseconds timeout);
    std::unique_ptr<net::RelayPool> m_pool;
    std::unique_ptr<RelayIntelligence> m_intel;           // discovery, statistics, scoring, optimizer (on m_relayState's thread)
    std::atomic<RelayIntelligence*> m_intelPtr{nullptr};  // for the writer thread's event observer
    std::unique_ptr<QueryService> m_query;  // the archive browser's query thread
    std::unique_ptr<CoverageMonitor> m_coverage;  // coverage per month, its paced thread
    quint64 m_coverageSeq = 0;
    std::unique_ptr<sink::ClickHouseSink> m_chSink;  // set before the writer starts; null = no sink
    std::atomic<qint64> m_lastStoredAtMs{0};
    observe::MetricsRegistry& m_metrics;
    QTimer* m_timer = nullptr;
    quint64 m_eventsAtOpen = 0;
    // Quarantine entries awaiting salvage: counted at open and after every salvage (job thread),
    // read by tick() (the archive_damage condition).
    std::atomic<quint64> m_quarantinePending{0};
    quint64 m_archiveBytesAtOpen = 0;

    mutable std::mutex m_newestMutex;         // guards m_newest (writer thread appends)
    std::deque<NewestEvent> m_newest;         // bounded: EngineSnapshot::kNewestCapacity
    std::atomic<quint64> m_stored{0}, m_duplicates{0}, m_archiveBytes{0};

    std::thread m_job;
    std::atomic<bool> m_jobRunning{false};
    std::atomic<bool> m_jobCancel{false};

    // Rates between ticks.
    struct RatePoint {
        qint64 ms = 0;
        quint64 stored = 0, duplicate = 0, rejected = 0;
    };
    std::deque<RatePoint> m_rateWindow;  // bounded: kRateWindow_ms of ticks
    static constexpr qint64 kRateWindow_ms = 2000;
    EngineSnapshot m_last;
    bool m_shutDown = false;

    // Incidents: rules run on the GUI/engine thread in tick().
    std::unique_ptr<observe::IncidentLog> m_incidents;
    std::unique_ptr<IncidentRuleState> m_ruleState;
    uint64_t m_lastAlertId = 0;  // the newest alert logged as firing
    std::unique_ptr<observe::MemorySampler> m_memory;  // RSS and heap, read off the GUI thread
    observe::Histogram* m_commitSeconds = nullptr;
};

}  // namespace archivist::engine
