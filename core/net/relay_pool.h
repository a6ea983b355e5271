#pragma once
// RelayPool: every relay connection of the engine, sharded over a small, fixed number of network
// threads (never a thread per relay). Each network thread runs a Qt event loop and owns its
// connections, a CheckedResolver and an EventSigner (NIP-42, ephemeral key unless configured).
//
// Contract
// - The pool's methods are thread-safe and never block on the network; commands are queued to the
//   relay's network thread.
// - At most `max_relays` relays are held (addRelay fails with "capacity" beyond).
// - stop(): every connection closes its subscriptions, hands its pending batch to the sink and is
//   destroyed on its own thread; every network thread is joined.
#include <QObject>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/net/address_policy.h"
#include "core/net/backfill_slots.h"
#include "core/net/relay_connection.h"
#include "core/net/relay_status.h"
#include "core/protocol/event.h"
#include "core/util/expected.h"

class QThread;

namespace archivist::net {

class EventSink;
class NetworkContext;

struct PoolOptions {
    size_t threads = 2;
    size_t max_relays = 1000;
    size_t backfill_slots = 8;
    ConnectionOptions connection;
    std::optional<protocol::Bytes32> auth_secret;  // NIP-42 key; ephemeral when unset
};

class RelayPool {
public:
    RelayPool(PoolOptions options, EventSink& sink, relays::RelayStateStore* state,
              std::shared_ptr<const AddressPolicy> policy);
    ~RelayPool();
    RelayPool(const RelayPool&) = delete;
    RelayPool& operator=(const RelayPool&) = delete;

    void start();
    // Normalises the URL and adds the relay (persisting it in the directory with `source`).
    // Returns the normalised URL. Errors: the URL's ("scheme", "host", …), "exists", "capacity",
    // "blocked" (the directory says the operator blocked it), "stopped".
    Expected<std::string> addRelay(std::string_view url, const std::string& source, bool connect = true);
    Expected<void> removeRelay(const std::string& url);
    Expected<void> connectRelay(const std::string& url);
    Expected<void> disconnectRelay(const std::string& url);
    Expected<void> blockRelay(const std::string& url);
    Expected<void> unblockRelay(const std::string& url);
    Expected<void> backfillNow(const std::string& url);

    std::vector<RelayStatusView> statuses() const;
    size_t size() const;
    bool contains(const std::string& normalized_url) const;
    size_t threadCount() const { return m_threads.size(); }
    const BackfillSlots& backfillSlots() const { return m_slots; }

    void stop(std::chrono::milliseconds deadline = std::chrono::milliseconds(3000));

private:
    struct Entry {
        size_t thread = 0;
        RelayConnection* conn = nullptr;  // owned by its network thread; read under m_mutex only
        uint64_t serial = 0;
    };
    Expected<void> command(const std::string& url, void (RelayConnection::*fn)());

    PoolOptions m_opts;
    EventSink& m_sink;
    relays::RelayStateStore* m_state;
    std::shared_ptr<const AddressPolicy> m_policy;
    BackfillSlots m_slots;
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
