#pragma once
// RelayIntelligence: the engine's relay directory at work (docs/relay-scoring.md,
// docs/relay-directory.md). It runs on the owner of relay state's thread (RelayStateOwner: a
// ticker and jobs; it has no thread of its own) and ties together
// - discovery: every newly stored event is read for relay URLs (relays::discoverRelays on the
//   writer thread; the URLs wait in a bounded set and are written to the directory in batches);
// - statistics: per-relay deltas of the pool's status snapshots go into relays::HourlyStats
//   (flushed on the hour and on every cycle) and connection outcomes into the directory;
// - probes: a net::RelayProber on its own network thread probes candidates (NIP-11, RTTs) and
//   reports each result to the owner (net::ConnectionReports);
// - scoring and the optimizer: every cycle (default 5 min, the first one a minute after start)
//   scores every relay with data, saves the scores, and — when auto_relays is on — applies the
//   optimizer's plan to the pool (connect, disconnect, block after repeated failures);
// - operator commands and questions (add, pin, block, …; directory pages; NIP-11 documents),
//   each a job on the owner thread; a failure comes back through CommandFailed.
//
// Contract
// - Every directory read and write happens on the owner thread. The writer thread
//   (observeStoredEvent) and the engine thread (observeStatuses, view, briefs) touch only
//   in-memory state under short locks.
// - Bounded: pending discoveries (kMaxPendingUrls; beyond: counted as overflow), pending outcomes
//   (kMaxPendingOutcomes), the newest statuses only (one slot), the owner's job queue
//   (RelayStateOwner::kMaxJobs: commands beyond are refused), the view (RelayIntelligenceView
//   bounds), per-relay previous-status map (≤ pool size).
// - A newer directory page or NIP-11 request supersedes an unanswered one (it gets no answer).
// - With auto_relays off, discovery, statistics and scoring still run; nothing is connected,
//   disconnected or probed (tests and `--no-seed-relays` runs reach only the relays they name).
// - Lifetime: construct before the owner starts; stop() ends the prober (joined) and queues the
//   last statistics flush; the owner must be stopped (RelayStateOwner::stop runs that job)
//   before the intelligence is destroyed — its destructor stops the owner to make sure.
#include <QString>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/engine/relay_directory_types.h"
#include "core/engine/relay_row.h"
#include "core/net/connection_reports.h"
#include "core/net/relay_url.h"
#include "core/net/session_driver.h"
#include "core/protocol/event.h"
#include "core/relays/relay_discovery.h"
#include "core/sync/sync_reports.h"
#include "core/util/expected.h"

class QObject;
class QThread;

namespace archivist::observe {
class MetricsRegistry;
}
namespace archivist::net {
class AddressPolicy;
class RelayPool;
}  // namespace archivist::net
namespace archivist::relays {
class HourlyStats;
class Optimizer;
class RelayStateOwner;
class RelayStateStore;
}  // namespace archivist::relays

namespace archivist::engine {

class ProberHost;

struct IntelligenceOptions {
    bool auto_relays = true;           // act on the optimizer's plan and probe candidates
    int64_t cycle_ms = 300000;         // optimizer cycle
    int64_t first_cycle_ms = 60000;    // the first cycle after start
    size_t max_relays = 150;
    int block_after_failures = 10;
    int64_t block_retry_ms = 24LL * 3600 * 1000;
    size_t probes_per_cycle = 32;      // candidates probed per cycle (prober bounds the rest)
    int64_t reprobe_after_ms = 6LL * 3600 * 1000;
    int window_hours = 24;             // statistics window of the score
    bool discovery = true;
    // The session driver of a relay added to the pool, built on its network thread from what the
    // directory holds (the engine's: sync::RelaySync over the owner's reports). Null: the pool's
    // default.
    std::function<std::unique_ptr<net::SessionDriver>(const std::string& url, const sync::SyncResume& resume)> make_driver;
};

// A relay's intelligence in brief, for the Relays panel columns.
struct RelayBrief {
    bool pinned = false;
    double score = -1;
    double uptime_24h = -1;
};

class RelayIntelligence {
public:
    static constexpr size_t kMaxPendingUrls = 10000;
    static constexpr size_t kMaxPendingOutcomes = 4096;

    using DirectoryAnswer = std::function<void(quint64 id, const DirectoryPage& page)>;
    using RelayInfoAnswer = std::function<void(quint64 id, const std::string& url, const std::string& document)>;

    enum class CommandKind { Add, Pin, Unpin, Connect, Disconnect, Block, Unblock, BackfillNow, Remove };
    struct Command {
        CommandKind kind = CommandKind::Add;
        net::RelayUrl url;  // normalised once, by whoever posts the command
    };
    using CommandFailed = std::function<void(const Command& command, const std::string& message)>;

    // `pool` and `policy` may be null (no network: discovery and scoring only).
    RelayIntelligence(IntelligenceOptions options, relays::RelayStateOwner& owner, net::RelayPool* pool,
                      std::shared_ptr<const net::AddressPolicy> policy, observe::MetricsRegistry& metrics,
                      DirectoryAnswer answer = {});
    ~RelayIntelligence();
    RelayIntelligence(const RelayIntelligence&) = delete;
    RelayIntelligence& operator=(const RelayIntelligence&) = delete;

    void setRelayInfoAnswer(RelayInfoAnswer answer) { m_infoAnswer = std::move(answer); }  // before start()
    void setCommandFailed(CommandFailed callback) { m_commandFailed = std::move(callback); }  // before start()
    void start();  // the prober (auto_relays with a pool)
    void stop();

    // Writer thread: one newly stored event.
    void observeStoredEvent(const protocol::Event& ev);
    // Engine thread, every tick: the pool's statuses (statistics deltas, outcomes; processed on
    // the owner thread, the newest replacing an unprocessed one).
    void observeStatuses(std::vector<RelayRow> statuses, int64_t now_ms);
    // Any thread. Return the request id (never 0); the answer callback runs on the owner thread.
    quint64 requestDirectory(const DirectoryRequest& request);
    quint64 requestRelayInfo(const std::string& url);
    // Any thread: carried out on the owner thread. false when the owner's job queue is full
    // (nothing is queued then). A failure is reported through CommandFailed.
    bool postCommand(Command command);
    // Adds relays the engine starts with (cli, config, directory pins, seeds) to the pool; one
    // job. Already present or blocked ones are skipped (logged). startupRelaysAdded() turns true
    // when that job has run (until then "every relay synced" means nothing).
    bool addStartupRelays(std::vector<std::pair<net::RelayUrl, std::string>> relays);
    bool startupRelaysAdded() const { return m_startupAdded.load(); }
    // Runs a cycle soon (tests, "Optimize now").
    void cycleNow();

    RelayIntelligenceView view() const;
    std::unordered_map<std::string, RelayBrief> briefs() const;
    uint64_t cyclesCompleted() const { return m_cycles.load(); }

private:
    struct Outcome {
        std::string url;
        int64_t at_ms = 0;
        bool ok = false;
        int64_t rtt_ms = -1;
        std::string error;
    };
    struct Previous {
        uint64_t events = 0, bytes = 0, stored = 0, duplicate = 0, connects = 0;
        std::array<uint64_t, size_t(protocol::Reject::Count)> invalid{};
        std::array<uint64_t, observe::kEventRefusalReasons> refused{};
        int failures = 0;
        int64_t seen_ms = 0;
        int64_t connected_ms_carry = 0;  // open time not yet added as whole seconds
    };

    // m_discoveryMutex held: one URL into the pending set (false: already there, or full → overflow).
    bool queueDiscovered(relays::DiscoveredUrl&& d);
    // Owner thread.
    int64_t tick(relays::RelayStateStore& store, int64_t now_ms);
    void processStatuses();
    void flushDiscoveries(relays::RelayStateStore& store, int64_t now_ms);
    void flushOutcomes(relays::RelayStateStore& store);
    void flushStatistics(relays::RelayStateStore& store, int64_t now_ms, const char* when);
    Expected<void> execute(relays::RelayStateStore& store, const Command& command);
    Expected<void> addToPool(relays::RelayStateStore& store, const net::RelayUrl& url, const std::string& source);
    void answerDirectory(relays::RelayStateStore& store, quint64 id, const DirectoryRequest& request);
    void cycle(relays::RelayStateStore& store, int64_t now_ms);
    void notePinned(const std::string& url, bool pinned);
    void onProbe(const net::ProbeResult& result);

    const IntelligenceOptions m_opts;
    relays::RelayStateOwner& m_owner;
    net::RelayPool* m_pool;
    std::shared_ptr<const net::AddressPolicy> m_policy;
    observe::MetricsRegistry& m_metrics;
    DirectoryAnswer m_answer;
    RelayInfoAnswer m_infoAnswer;
    CommandFailed m_commandFailed;
    std::unique_ptr<relays::HourlyStats> m_hourly;
    std::unique_ptr<relays::Optimizer> m_optimizer;

    // Writer thread → owner thread.
    std::mutex m_discoveryMutex;
    relays::DiscoveryCounters m_discoveryCounters;
    relays::DiscoveryOptions m_discoveryOptions;
    std::vector<relays::DiscoveredUrl> m_pendingUrls;
    std::unordered_set<std::string> m_pendingSet;
    uint64_t m_discoveryOverflow = 0;
    std::atomic<bool> m_flushRequested{false};

    // Engine thread → owner thread: the newest statuses (one slot).
    std::mutex m_statusMutex;
    std::optional<std::pair<std::vector<RelayRow>, int64_t>> m_latestStatuses;

    // Owner thread only.
    std::unordered_map<std::string, Previous> m_previous;
    std::vector<RelayRow> m_lastStatuses;
    std::vector<Outcome> m_outcomes;  // ≤ kMaxPendingOutcomes
    std::atomic<uint64_t> m_outcomeOverflow{0};
    int64_t m_nextCycle = 0, m_nextFlush = 0, m_nextHour = 0;
    bool m_timersSet = false;

    // Requests: the newest of each kind is answered.
    std::atomic<quint64> m_nextRequestId{1};
    std::atomic<quint64> m_latestDirectory{0};
    std::atomic<quint64> m_latestInfo{0};
    std::atomic<bool> m_cycleRequested{false};

    // Results (owner thread → everyone).
    mutable std::mutex m_viewMutex;
    RelayIntelligenceView m_view;
    std::unordered_map<std::string, RelayBrief> m_briefs;

    std::atomic<uint64_t> m_cycles{0};
    std::atomic<bool> m_startupAdded{false};
    bool m_started = false;
    bool m_stopped = false;
    QThread* m_proberThread = nullptr;
    std::mutex m_proberMutex;
    ProberHost* m_prober = nullptr;  // lives on m_proberThread; guarded by m_proberMutex
};

}  // namespace archivist::engine
