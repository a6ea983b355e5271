#pragma once
// IncidentLog: structured operational incidents (relay flooding, queue near capacity, low disk,
// …) raised by the engine's incident rules and shown in the console's Incidents panel.
//
// Contract
// - An incident is identified for de-duplication by (kind, relay). Raising a (kind, relay) that
//   has an open (not cleared) incident increments its count, moves last_ms forward, replaces the
//   message with the newest one and keeps the higher severity; it does not add a row. An
//   acknowledged incident is still open (the operator saw it; it keeps counting). Raising after
//   it was cleared starts a new incident with a new id.
// - Ids are assigned 1, 2, 3, … and never reused; 0 is never an id.
// - Bounded: at most `capacity` rows, cleared ones included (they are history). When full, the
//   oldest cleared row is evicted first, then the oldest acknowledged, then the oldest open one;
//   every eviction is counted (evicted()).
// - With a MetricsRegistry, the number of open incidents per kind is exported as the gauge
//   archivist_incidents_open{kind="<snake_case name>"} (one series per kind, registered up front).
//   The registry must outlive the log.
// Thread: any (one mutex).
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace archivist::observe {

class MetricsRegistry;
class Gauge;

enum class IncidentKind : uint8_t {
    RelayFlooding,
    RelayRateLimited,
    RelayStalled,
    InvalidSignatureSpike,
    AuthFailures,
    AddressRefused,
    QueueNearCapacity,
    SlowCommits,
    LowDisk,
    WriteErrors,
    SinkBehind,
    SinkFailing,
    RelayStateWriteErrors,  // relays.sqlite could not be written (the owner retries)
    EventsOffSubscription,  // a relay sent events we did not ask for (unknown subscription, outside the filter)
    ArchiveDamage,    // damaged archive bytes found or quarantined (salvage recovers what they hold)
    DataSetAside,     // a damaged index or relay directory was moved aside (and rebuilt / started anew)
    IntakePaused,     // the writer paused intake: disk full, below the low-disk threshold, or I/O errors
    Count
};
// Stable snake_case names ("relay_flooding", …); they appear in metrics labels.
const char* incidentKindName(IncidentKind k);
// Inverse of incidentKindName; IncidentKind::Count when unknown.
IncidentKind incidentKindFromName(std::string_view name);

enum class IncidentSeverity : uint8_t { Info, Warning, Critical };

struct Incident {
    uint64_t id = 0;
    IncidentKind kind = IncidentKind::Count;
    IncidentSeverity severity = IncidentSeverity::Info;
    int64_t first_ms = 0;  // wall clock of the first occurrence
    int64_t last_ms = 0;   // wall clock of the latest occurrence
    std::string relay;     // may be empty (engine-wide incidents)
    uint64_t count = 0;    // occurrences merged into this row
    std::string message;   // newest occurrence's message, for people
    bool acknowledged = false;
    bool cleared = false;
};

class IncidentLog {
public:
    static constexpr size_t kDefaultCapacity = 1000;
    explicit IncidentLog(size_t capacity = kDefaultCapacity, MetricsRegistry* metrics = nullptr);
    ~IncidentLog();
    IncidentLog(const IncidentLog&) = delete;
    IncidentLog& operator=(const IncidentLog&) = delete;

    // Returns the id of the row that now holds this occurrence (new or merged).
    uint64_t raise(IncidentKind kind, IncidentSeverity severity, const std::string& relay,
                   const std::string& message, int64_t now_ms);
    // Marks an open incident acknowledged; id 0 acknowledges every open one. False when no open
    // incident has that id.
    bool acknowledge(uint64_t id);
    // Clears one incident (acknowledged or not). False when no open incident has that id.
    bool clear(uint64_t id);
    // Clears every acknowledged incident, or with all=true every open incident. Returns how many.
    size_t clearAll(bool all);

    // Open (not cleared) incidents, newest first (by id), at most max.
    std::vector<Incident> open(size_t max) const;
    // Every row including cleared history, oldest first.
    std::vector<Incident> all() const;
    size_t openCount() const;
    size_t size() const;
    size_t capacity() const { return m_capacity; }
    uint64_t evicted() const;

private:
    void evictOneLocked();
    void updateGaugesLocked();

    const size_t m_capacity;
    mutable std::mutex m_mutex;
    std::deque<Incident> m_rows;  // ascending id
    uint64_t m_nextId = 1;
    uint64_t m_evicted = 0;
    std::vector<Gauge*> m_openGauges;  // per kind; empty without a registry
};

}  // namespace archivist::observe
