#pragma once
// RelayIntelligence: the engine's relay directory at work (issue 5; docs/relay-scoring.md,
// docs/relay-directory.md). It ties together
// - discovery: every newly stored event is read for relay URLs (relays::discoverRelays on the
//   writer thread; the URLs wait in a bounded set and are written to the directory in batches);
// - statistics: per-relay deltas of the pool's status snapshots go into relays::HourlyStats
//   (flushed on the hour and on every cycle) and connection outcomes into the directory;
// - probes: a net::RelayProber on its own network thread probes candidates (NIP-11, RTTs);
// - scoring and the optimizer: every cycle (default 5 min, the first one a minute after start)
//   scores every relay with data, saves the scores, and — when auto_relays is on — applies the
//   optimizer's plan to the pool (connect, disconnect, block after repeated failures).
// - directory pages for the console (requestDirectory), answered on its own thread.
//
// Contract
// - Its own thread ("relay-intel") does every directory read and write except what the prober
//   thread records for its own probes; the GUI thread (observeStatuses, view) and the writer thread
//   (observeStoredEvent) only touch in-memory state under short locks, never SQLite.
// - Bounded: pending discoveries (kMaxPendingUrls; beyond: counted as overflow), pending outcomes
//   (kMaxPendingOutcomes), one queued directory request (a newer one replaces it), the view
//   (RelayIntelligenceView bounds), per-relay previous-status map (≤ pool size).
// - With auto_relays off, discovery, statistics and scoring still run; nothing is connected,
//   disconnected or probed (tests and `--no-seed-relays` runs reach only the relays they name).
// - stop() joins the thread and the prober's thread; idempotent; the destructor calls it.
#include <QString>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <deque>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/engine/relay_directory_types.h"
#include "core/net/relay_status.h"
#include "core/protocol/event.h"
#include "core/relays/relay_discovery.h"
#include "core/util/expected.h"

class QObject;
class QThread;

namespace archivist::observe {
class MetricsRegistry;
}
namespace archivist::net {
class AddressPolicy;
class RelayPool;
class RelayProber;
struct ProbeResult;
}  // namespace archivist::net
namespace archivist::relays {
class RelayStateStore;
class HourlyStats;
class Optimizer;
}  // namespace archivist::relays

namespace archivist::engine {

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

    // `pool` and `policy` may be null (no network: discovery and scoring only).
    RelayIntelligence(IntelligenceOptions options, relays::RelayStateStore& store, net::RelayPool* pool,
                      std::shared_ptr<const net::AddressPolicy> policy, observe::MetricsRegistry& metrics,
                      DirectoryAnswer answer);
    ~RelayIntelligence();
    RelayIntelligence(const RelayIntelligence&) = delete;
    RelayIntelligence& operator=(const RelayIntelligence&) = delete;

    void start();
    void stop();

    // Writer thread: one newly stored event.
    void observeStoredEvent(const protocol::Event& ev);
    // Engine thread, every tick: the pool's statuses (statistics deltas, outcomes).
    void observeStatuses(const std::vector<net::RelayStatusView>& statuses, int64_t now_ms);
    // Any thread. Returns the request id (never 0).
    quint64 requestDirectory(const DirectoryRequest& request);
    // Any thread: the relay's newest NIP-11 document, answered on the intel thread by the callback
    // set with setRelayInfoAnswer() (before start()). A newer request replaces an unanswered one.
    using RelayInfoAnswer = std::function<void(quint64 id, const std::string& url, const std::string& document)>;
    void setRelayInfoAnswer(RelayInfoAnswer answer) { m_infoAnswer = std::move(answer); }
    quint64 requestRelayInfo(const std::string& url);
    // Any thread: the operator pinned/unpinned a relay (shown at once, the store is already written).
    void notePinned(const std::string& url, bool pinned);
    // Operator actions (add, pin, block, …), carried out on this thread so the GUI thread never
    // waits on the directory database or the pool. Any thread. `url` is normalised. false when
    // kCommandCapacity commands are already waiting (nothing is queued then). A failure is
    // reported through the CommandFailed callback (on this thread).
    enum class CommandKind { Add, Pin, Unpin, Connect, Disconnect, Block, Unblock, BackfillNow, Remove };
    struct Command {
        CommandKind kind = CommandKind::Add;
        std::string url;
    };
    static constexpr size_t kCommandCapacity = 1024;
    bool postCommand(Command command);
    using CommandFailed = std::function<void(const Command& command, const std::string& message)>;
    void setCommandFailed(CommandFailed callback) { m_commandFailed = std::move(callback); }  // before start()
    // Runs a cycle now (tests, "Optimize now"); the thread runs it soon.
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
        int failures = 0;
        int64_t seen_ms = 0;
        int64_t connected_ms_carry = 0;  // open time not yet added as whole seconds
    };

    void run();
    void flushDiscoveries(int64_t now_ms);
    Expected<void> execute(const Command& command);
    void executeAll(std::deque<Command>& commands);
    void flushOutcomes();
    void answerDirectory(quint64 id, const DirectoryRequest& request, int64_t now_ms);
    void cycle(int64_t now_ms);
    void startProber();
    void stopProber();
    void onProbe(const net::ProbeResult& result);

    const IntelligenceOptions m_opts;
    relays::RelayStateStore& m_store;
    net::RelayPool* m_pool;
    std::shared_ptr<const net::AddressPolicy> m_policy;
    observe::MetricsRegistry& m_metrics;
    DirectoryAnswer m_answer;
    std::unique_ptr<relays::HourlyStats> m_hourly;
    std::unique_ptr<relays::Optimizer> m_optimizer;

    // Writer thread → intel thread.
    std::mutex m_discoveryMutex;
    relays::DiscoveryCounters m_discoveryCounters;
    relays::DiscoveryOptions m_discoveryOptions;
    std::vector<relays::DiscoveredUrl> m_pendingUrls;
    std::unordered_set<std::string> m_pendingSet;
    uint64_t m_discoveryOverflow = 0;

    // Engine thread → intel thread.
    std::mutex m_statusMutex;
    std::unordered_map<std::string, Previous> m_previous;
    std::vector<net::RelayStatusView> m_lastStatuses;
    std::vector<Outcome> m_outcomes;
    uint64_t m_outcomeOverflow = 0;

    // Requests to the thread.
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stopping = false;
    bool m_cycleRequested = false;
    bool m_flushRequested = false;
    std::optional<std::pair<quint64, DirectoryRequest>> m_directoryRequest;
    std::optional<std::pair<quint64, std::string>> m_infoRequest;
    RelayInfoAnswer m_infoAnswer;
    std::deque<Command> m_commands;  // bounded by kCommandCapacity
    std::atomic<size_t> m_commandDepth{0};
    CommandFailed m_commandFailed;
    std::atomic<quint64> m_nextRequestId{1};

    // Results (intel thread → everyone).
    mutable std::mutex m_viewMutex;
    RelayIntelligenceView m_view;
    std::unordered_map<std::string, RelayBrief> m_briefs;

    std::atomic<uint64_t> m_cycles{0};
    std::thread m_thread;
    bool m_started = false;
    QThread* m_proberThread = nullptr;
    QObject* m_proberContext = nullptr;    // lives on m_proberThread; m_prober is created and deleted through it
    net::RelayProber* m_prober = nullptr;  // lives on m_proberThread
};

}  // namespace archivist::engine
