#pragma once
// RelayPool: every relay connection of the engine, sharded over a small, fixed number of network
// threads (never a thread per relay). Each network thread runs a Qt event loop and owns its
// connections, a CheckedResolver and an EventSigner (NIP-42, ephemeral key unless configured).
//
// Contract
// - The pool's methods are thread-safe and never block on the network or on another thread:
//   commands are queued to the relay's network thread. It reads and writes no database: the
//   caller (the owner of relay state) has checked the directory and passes what the connection
//   resumes from; connections report to ConnectionReports.
// - At most `max_relays` relays are held (addRelay fails with Capacity beyond).
// - stop(): every connection closes its subscriptions, hands its pending batch to the sink, lets
//   its driver report what settled and is destroyed on its own thread; every network thread is
//   joined (each thread's last queued job does the clean-up, then quits its loop).
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/net/address_policy.h"
#include "core/net/relay_connection.h"
#include "core/net/relay_status.h"
#include "core/net/relay_url.h"
#include "core/protocol/event.h"
#include "core/util/expected.h"

class QThread;

namespace archivist::net {

class EventSink;
class NetworkContext;

struct PoolOptions {
    size_t threads = 2;
    size_t max_relays = 1000;
    ConnectionOptions connection;
    std::optional<protocol::Bytes32> auth_secret;  // NIP-42 key; ephemeral when unset
};

enum class PoolErrorCode : uint8_t {
    Exists,    // "exists": the relay is already in the pool
    Capacity,  // "capacity": the pool holds max_relays
    Stopped,   // "stopped": the pool is not running
    Unknown,   // "unknown": the relay is not in the pool
    Starting,  // "starting": the relay's connection is still being created
};
const char* errorCodeName(PoolErrorCode code);
using PoolError = CodedError<PoolErrorCode>;

// Builds a relay's session driver on its network thread (the engine's: sync::RelaySync).
using DriverFactory = std::function<std::unique_ptr<SessionDriver>()>;

struct RelayAdd {
    RelayUrl url;                       // normalised (normalizeRelayUrl) by the caller, once
    RelayConnection::Start start;       // source, failures carried over from the directory
    bool connect = true;
    DriverFactory driver;               // null: the pool's default factory
};

class RelayPool {
public:
    RelayPool(PoolOptions options, EventSink& sink, ConnectionReports& reports,
              std::shared_ptr<const AddressPolicy> policy, DriverFactory default_driver = {});
    ~RelayPool();
    RelayPool(const RelayPool&) = delete;
    RelayPool& operator=(const RelayPool&) = delete;

    void start();
    Expected<void, PoolError> addRelay(RelayAdd add);
    Expected<void, PoolError> removeRelay(const std::string& url);
    Expected<void, PoolError> connectRelay(const std::string& url);
    Expected<void, PoolError> disconnectRelay(const std::string& url);
    Expected<void, PoolError> blockRelay(const std::string& url);
    Expected<void, PoolError> unblockRelay(const std::string& url);
    Expected<void, PoolError> backfillNow(const std::string& url);

    std::vector<RelayStatusView> statuses() const;
    size_t size() const;
    bool contains(const std::string& normalized_url) const;
    size_t threadCount() const { return m_threads.size(); }

    void stop(std::chrono::milliseconds deadline = std::chrono::milliseconds(3000));

private:
    struct Entry {
        size_t thread = 0;
        RelayConnection* conn = nullptr;  // owned by its network thread; read under m_mutex only
        uint64_t serial = 0;
    };
    Expected<void, PoolError> command(const std::string& url, std::function<void(RelayConnection&)> fn);

    PoolOptions m_opts;
    EventSink& m_sink;
    ConnectionReports& m_reports;
    std::shared_ptr<const AddressPolicy> m_policy;
    DriverFactory m_defaultDriver;
    std::vector<std::unique_ptr<QThread>> m_threads;
    std::vector<NetworkContext*> m_contexts;  // each lives on (and is deleted on) its thread
    mutable std::mutex m_mutex;
    std::map<std::string, Entry> m_entries;
    uint64_t m_serial = 0;
    size_t m_next = 0;
    bool m_started = false;
    bool m_stopped = false;
};

}  // namespace archivist::net
