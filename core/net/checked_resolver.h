#pragma once
// Checked resolver: host name → the first address the AddressPolicy allows.
//
// Contract
// - Thread: lives on a network thread; resolve(), stats() and clearCache() are called on that
//   thread only. The AddressPolicy is shared read-only (see address_policy.h).
// - The callback is called exactly once, always later from this object's event loop (never
//   inside resolve()), except that Busy is reported synchronously because it means the
//   resolver has no room to hold the request. Results (ResolveErrorCode, names in brackets):
//     ok               the first address, in the order the system resolver returned them,
//                      that the policy allows (literal hosts are checked without DNS)
//     AddressRefused   ("address_refused") every address was refused; the message carries the
//                      first verdict's reason
//     Dns              ("dns") lookup failed, returned no address, or timed out
//     Host             ("host") the RelayUrl has no host
//     Busy             ("busy") more than max_queued requests are waiting
//     Cancelled        ("cancelled") the resolver was destroyed before the answer arrived
// - Bounded: at most max_concurrent lookups in flight (requests for a host already being looked
//   up join that lookup); waiting requests (queued + joined + results not yet delivered) at most
//   max_queued; successful lookups are cached per host for cache_ttl_ms, at most cache_capacity
//   hosts (oldest inserted evicted first). Failures are not cached. A lookup not answered within
//   lookup_timeout_ms is aborted and reported as "dns".
// - Every policy check of a cached address is a new check: refusals count per attempt.
// - Destruction completes every outstanding request (delivered results, then "cancelled");
//   callbacks run from the destructor must not call back into the resolver.
#include <QHostAddress>
#include <QHostInfo>
#include <QObject>

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/net/address_policy.h"
#include "core/net/relay_url.h"
#include "core/util/expected.h"

class QTimer;

namespace archivist::net {

enum class ResolveErrorCode : uint8_t { AddressRefused, Dns, Host, Busy, Cancelled };
const char* errorCodeName(ResolveErrorCode code);
using ResolveError = CodedError<ResolveErrorCode>;
using Resolved = Expected<QHostAddress, ResolveError>;

// Outside the class so that it can be a default argument of the constructor.
struct CheckedResolverOptions {
    // Backend seam (tests inject a fake). Starts a lookup, calls done on context's thread,
    // returns an id that abort() accepts. Default: QHostInfo::lookupHost / abortHostLookup.
    using LookupFn = std::function<int(const QString& host, QObject* context,
                                       std::function<void(const QHostInfo&)> done)>;
    using AbortFn = std::function<void(int backend_id)>;

    int max_concurrent = 16;
    size_t max_queued = 4096;
    int64_t cache_ttl_ms = 5 * 60 * 1000;
    size_t cache_capacity = 4096;
    int lookup_timeout_ms = 10'000;
    LookupFn lookup;                     // empty = QHostInfo
    AbortFn abort;                       // empty = QHostInfo::abortHostLookup
    std::function<int64_t()> clock_ms;   // empty = steadyMs()
};

class CheckedResolver : public QObject {
    Q_OBJECT
public:
    using Callback = std::function<void(Resolved)>;
    using LookupFn = CheckedResolverOptions::LookupFn;
    using AbortFn = CheckedResolverOptions::AbortFn;
    using Options = CheckedResolverOptions;

    struct Stats {
        uint64_t requests = 0;
        uint64_t cache_hits = 0;
        uint64_t lookups = 0;        // DNS lookups started
        uint64_t dns_failures = 0;   // requests answered "dns" (timeouts included)
        uint64_t timeouts = 0;       // lookups aborted after lookup_timeout_ms
        uint64_t refused = 0;        // requests answered "address_refused"
        uint64_t busy = 0;
        uint64_t cache_evictions = 0;
        size_t in_flight = 0;        // gauges
        size_t waiting = 0;
        size_t cached = 0;
    };

    explicit CheckedResolver(std::shared_ptr<const AddressPolicy> policy, Options options = Options{},
                             QObject* parent = nullptr);
    ~CheckedResolver() override;

    void resolve(const RelayUrl& url, Callback callback);
    Stats stats() const;
    void clearCache();

private:
    struct Lookup {
        std::string host;
        int backend_id = -1;
        QTimer* timer = nullptr;
        std::vector<Callback> waiters;
    };
    struct CacheEntry {
        QList<QHostAddress> addresses;
        int64_t expires_ms = 0;
        std::list<std::string>::iterator order;
    };
    struct Queued {
        std::string host;
        Callback callback;
    };

    void dispatch(std::string host, Callback callback);
    void startLookup(std::string host, Callback callback);
    void onLookupDone(uint64_t lookup_id, const QHostInfo& info);
    void onLookupTimeout(uint64_t lookup_id);
    void finishLookup(uint64_t lookup_id, const Expected<QList<QHostAddress>, ResolveError>& result);
    void pumpQueue();
    Resolved pick(const std::string& host, const QList<QHostAddress>& addresses);
    void deliver(Callback callback, Resolved result);
    void drainReady();
    size_t waitingCount() const { return m_queue.size() + m_joined + m_ready.size(); }
    int64_t now() const;
    void cacheInsert(const std::string& host, const QList<QHostAddress>& addresses);
    const CacheEntry* cacheFind(const std::string& host);

    std::shared_ptr<const AddressPolicy> m_policy;
    Options m_options;
    std::unordered_map<uint64_t, Lookup> m_inflight;         // by our lookup id
    std::unordered_map<std::string, uint64_t> m_inflightHost; // host → lookup id
    uint64_t m_nextLookupId = 1;
    size_t m_joined = 0;  // waiters attached to a lookup beyond the one that started it
    std::deque<Queued> m_queue;
    std::deque<std::pair<Callback, Resolved>> m_ready;
    bool m_drainPosted = false;
    std::unordered_map<std::string, CacheEntry> m_cache;
    std::list<std::string> m_cacheOrder;  // oldest first
    Stats m_stats;
};

}  // namespace archivist::net
