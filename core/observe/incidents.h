#pragma once
// IncidentLog: the engine's alerts (relay down, connection refused, offline, low disk, relay
// flooding, …) raised by the incident rules and shown in the console's Incidents panel, with a
// lifecycle like an alert manager's: an alert FIRES, RESOLVES ITSELF when its condition clears,
// and stays as history (persisted by the engine in relays.sqlite, docs/incidents.md).
//
// Contract
// - Two kinds of occurrence. A *level* occurrence (level = true) asserts that a condition holds
//   now; the rules repeat it every tick while it holds. An *event* occurrence reports something
//   that happened (a counter grew). Either way an alert is identified for de-duplication by
//   (kind, relay): raising a (kind, relay) that has a firing alert moves last_ms forward,
//   replaces the message with the newest one and keeps the higher severity (an event occurrence
//   also increments count); it does not add a row. Raising after that alert resolved starts a new
//   alert with a new id.
// - resolveQuiet(now) resolves firing alerts whose last occurrence is older than their quiet time
//   (kLevelQuietMs for level alerts: their condition stopped being asserted; kEventQuietMs for
//   event alerts: nothing happened again). resolved_ms is then set (0 = firing).
// - Acknowledge marks an alert seen (firing or resolved). Clear dismisses it from the console: a
//   resolved alert or an event alert can be cleared; a firing level alert cannot (it resolves
//   when its condition clears). A cleared row stays in the log as history.
// - Ids are assigned 1, 2, 3, … and never reused (restore() continues after the highest
//   restored id); 0 is never an id.
// - Bounded: at most `capacity` rows. When full, the oldest cleared row is evicted first, then
//   the oldest resolved, then the oldest acknowledged, then the oldest firing one; every eviction
//   is counted (evicted()).
// - Changes are journaled for persistence: every row that was added or changed since the last
//   takeChanges() is returned by it once (at most `capacity` ids are remembered: the rows that
//   exist). markChanged() puts rows back (a write that failed is retried with the next batch).
// - With a MetricsRegistry, the number of firing alerts per kind is exported as the gauge
//   archivist_incidents_open{kind="<snake_case name>"} (one series per kind, registered up front).
//   The registry must outlive the log.
// Thread: any (one mutex).
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
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
    RelayDown,              // a relay the operator chose (or that was connected) cannot be reached
    ConnectionRefused,      // the relay's host refused the TCP connection, or the address policy refused it
    DnsFailure,             // the relay's host name does not resolve
    Offline,                // no relay connected at all
    IndexBehind,            // verified events wait for the writer, and it commits nothing
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
    bool cleared = false;      // dismissed from the console (still history)
    bool level = false;        // a condition (resolves when no longer asserted) or an event
    int64_t resolved_ms = 0;   // 0 = firing; else when it resolved

    bool firing() const { return resolved_ms == 0; }
};

class IncidentLog {
public:
    static constexpr size_t kDefaultCapacity = 1000;
    // A level alert resolves when its condition was not asserted for this long (a few ticks).
    static constexpr int64_t kLevelQuietMs = 1500;
    // An event alert resolves when it did not happen again for this long.
    static constexpr int64_t kEventQuietMs = 120'000;
    explicit IncidentLog(size_t capacity = kDefaultCapacity, MetricsRegistry* metrics = nullptr);
    ~IncidentLog();
    IncidentLog(const IncidentLog&) = delete;
    IncidentLog& operator=(const IncidentLog&) = delete;

    // Returns the id of the row that now holds this occurrence (new or merged).
    uint64_t raise(IncidentKind kind, IncidentSeverity severity, const std::string& relay,
                   const std::string& message, int64_t now_ms, bool level = false);
    // Resolves the firing alerts that went quiet (see the contract). Returns how many; copies of
    // them go to *resolved when given.
    size_t resolveQuiet(int64_t now_ms, std::vector<Incident>* resolved = nullptr);
    // History from the last run (any order). Alerts still firing then are resolved at their last
    // occurrence: nothing asserted them since (a condition that still holds fires anew). Rows
    // beyond the capacity (the oldest) are dropped. Call before the first raise().
    void restore(std::vector<Incident> rows);
    // Marks an open incident acknowledged; id 0 acknowledges every open one. False when no open
    // incident has that id.
    bool acknowledge(uint64_t id);
    // Clears one alert (acknowledged or not; not a firing level alert). False when no clearable
    // alert has that id.
    bool clear(uint64_t id);
    // Clears every acknowledged alert, or with all=true every one that can be cleared. Returns how many.
    size_t clearAll(bool all);

    // Not cleared: the firing alerts (newest first by id), then the resolved ones (newest first),
    // at most max in all.
    std::vector<Incident> open(size_t max) const;
    size_t firingCount() const;
    // Rows added or changed since the last call (ascending id); each once.
    std::vector<Incident> takeChanges();
    void markChanged(const std::vector<uint64_t>& ids);
    // Every row including cleared history, oldest first.
    std::vector<Incident> all() const;
    size_t openCount() const;
    size_t size() const;
    size_t capacity() const { return m_capacity; }
    uint64_t evicted() const;

private:
    void evictOneLocked();
    void updateGaugesLocked();
    static bool clearable(const Incident& i) { return !i.cleared && (!i.level || !i.firing()); }

    const size_t m_capacity;
    mutable std::mutex m_mutex;
    std::deque<Incident> m_rows;  // ascending id
    uint64_t m_nextId = 1;
    uint64_t m_evicted = 0;
    std::set<uint64_t> m_changed;      // ids of rows to persist (≤ rows in the log)
    std::vector<Gauge*> m_openGauges;  // per kind; empty without a registry
};

}  // namespace archivist::observe
