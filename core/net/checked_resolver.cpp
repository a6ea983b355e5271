#include "core/net/checked_resolver.h"

#include <QTimer>

#include "core/observe/log.h"
#include "core/util/clock.h"

namespace archivist::net {

const char* errorCodeName(ResolveErrorCode code) {
    switch (code) {
    case ResolveErrorCode::AddressRefused: return "address_refused";
    case ResolveErrorCode::Dns: return "dns";
    case ResolveErrorCode::Host: return "host";
    case ResolveErrorCode::Busy: return "busy";
    case ResolveErrorCode::Cancelled: return "cancelled";
    }
    return "dns";
}

CheckedResolver::CheckedResolver(std::shared_ptr<const AddressPolicy> policy, Options options, QObject* parent)
    : QObject(parent), m_policy(std::move(policy)), m_options(std::move(options)) {
    Q_ASSERT(m_policy);
    if (m_options.max_concurrent < 1) m_options.max_concurrent = 1;
    if (m_options.cache_capacity < 1) m_options.cache_capacity = 1;
    if (m_options.lookup_timeout_ms < 1) m_options.lookup_timeout_ms = 1;
    if (!m_options.lookup) {
        m_options.lookup = [](const QString& host, QObject* context, std::function<void(const QHostInfo&)> done) {
            return QHostInfo::lookupHost(host, context, [done = std::move(done)](const QHostInfo& info) { done(info); });
        };
    }
    if (!m_options.abort) m_options.abort = [](int id) { QHostInfo::abortHostLookup(id); };
}

CheckedResolver::~CheckedResolver() {
    // Complete everything still outstanding; no request is left without an answer.
    std::deque<std::pair<Callback, Resolved>> ready;
    ready.swap(m_ready);
    std::vector<Callback> cancelled;
    for (auto& [id, lookup] : m_inflight) {
        m_options.abort(lookup.backend_id);
        for (auto& cb : lookup.waiters) cancelled.push_back(std::move(cb));
    }
    m_inflight.clear();
    for (auto& q : m_queue) cancelled.push_back(std::move(q.callback));
    m_queue.clear();
    for (auto& [cb, result] : ready) cb(std::move(result));
    for (auto& cb : cancelled) cb(makeCodedError(ResolveErrorCode::Cancelled, "resolver shut down before the lookup finished"));
}

int64_t CheckedResolver::now() const { return m_options.clock_ms ? m_options.clock_ms() : steadyMs(); }

void CheckedResolver::resolve(const RelayUrl& url, Callback callback) {
    ++m_stats.requests;
    if (waitingCount() >= m_options.max_queued) {
        ++m_stats.busy;
        callback(makeCodedError(ResolveErrorCode::Busy, "resolver busy: " + std::to_string(m_options.max_queued) +
                                       " requests already waiting; retry " + url.host + " later"));
        return;
    }
    if (url.literal) {
        deliver(std::move(callback), pick(url.host, QList<QHostAddress>{*url.literal}));
        return;
    }
    if (url.host.empty()) {
        deliver(std::move(callback), makeCodedError(ResolveErrorCode::Host, "relay URL has no host"));
        return;
    }
    dispatch(url.host, std::move(callback));
}

void CheckedResolver::dispatch(std::string host, Callback callback) {
    if (const CacheEntry* hit = cacheFind(host)) {
        ++m_stats.cache_hits;
        deliver(std::move(callback), pick(host, hit->addresses));
        return;
    }
    if (auto it = m_inflightHost.find(host); it != m_inflightHost.end()) {
        m_inflight[it->second].waiters.push_back(std::move(callback));
        ++m_joined;
        return;
    }
    if (m_inflight.size() < size_t(m_options.max_concurrent)) {
        startLookup(std::move(host), std::move(callback));
        return;
    }
    m_queue.push_back(Queued{std::move(host), std::move(callback)});
}

void CheckedResolver::startLookup(std::string host, Callback callback) {
    const uint64_t id = m_nextLookupId++;
    ++m_stats.lookups;
    Lookup lookup;
    lookup.host = host;
    lookup.waiters.push_back(std::move(callback));
    lookup.timer = new QTimer(this);
    lookup.timer->setSingleShot(true);
    connect(lookup.timer, &QTimer::timeout, this, [this, id] { onLookupTimeout(id); });
    lookup.timer->start(m_options.lookup_timeout_ms);
    m_inflightHost.emplace(host, id);
    m_inflight.emplace(id, std::move(lookup));
    qCDebug(lcNet) << "resolving" << QString::fromStdString(host);
    // A backend may answer synchronously, so look the entry up again afterwards.
    const int backend_id = m_options.lookup(QString::fromStdString(host), this,
                                            [this, id](const QHostInfo& info) { onLookupDone(id, info); });
    if (auto it = m_inflight.find(id); it != m_inflight.end()) it->second.backend_id = backend_id;
}

void CheckedResolver::onLookupDone(uint64_t lookup_id, const QHostInfo& info) {
    auto it = m_inflight.find(lookup_id);
    if (it == m_inflight.end()) return;  // already timed out
    if (info.error() != QHostInfo::NoError) {
        finishLookup(lookup_id, makeCodedError(ResolveErrorCode::Dns, "DNS lookup for " + it->second.host + " failed: " +
                                                     info.errorString().toStdString()));
    } else if (info.addresses().isEmpty()) {
        finishLookup(lookup_id, makeCodedError(ResolveErrorCode::Dns, "DNS lookup for " + it->second.host + " returned no address"));
    } else {
        cacheInsert(it->second.host, info.addresses());
        finishLookup(lookup_id, info.addresses());
    }
}

void CheckedResolver::onLookupTimeout(uint64_t lookup_id) {
    auto it = m_inflight.find(lookup_id);
    if (it == m_inflight.end()) return;
    ++m_stats.timeouts;
    m_options.abort(it->second.backend_id);
    finishLookup(lookup_id, makeCodedError(ResolveErrorCode::Dns, "DNS lookup for " + it->second.host + " timed out after " +
                                                 std::to_string(m_options.lookup_timeout_ms) + " ms"));
}

void CheckedResolver::finishLookup(uint64_t lookup_id, const Expected<QList<QHostAddress>, ResolveError>& result) {
    auto node = m_inflight.extract(lookup_id);
    Lookup& lookup = node.mapped();
    m_inflightHost.erase(lookup.host);
    m_joined -= lookup.waiters.size() - 1;
    lookup.timer->stop();
    lookup.timer->deleteLater();
    for (auto& cb : lookup.waiters) {
        if (result.ok()) {
            deliver(std::move(cb), pick(lookup.host, result.value()));
        } else {
            ++m_stats.dns_failures;
            deliver(std::move(cb), result.error());
        }
    }
    pumpQueue();
}

void CheckedResolver::pumpQueue() {
    while (!m_queue.empty() && m_inflight.size() < size_t(m_options.max_concurrent)) {
        Queued q = std::move(m_queue.front());
        m_queue.pop_front();
        dispatch(std::move(q.host), std::move(q.callback));
    }
}

Resolved CheckedResolver::pick(const std::string& host, const QList<QHostAddress>& addresses) {
    std::string first_reason;
    for (const QHostAddress& a : addresses) {
        const Verdict v = m_policy->check(a);
        if (v.allowed) return a;
        if (first_reason.empty()) first_reason = v.reason;
    }
    ++m_stats.refused;
    std::string message = "relay host " + host + ": " + first_reason;
    if (addresses.size() > 1) {
        message += " (all " + std::to_string(addresses.size()) + " resolved addresses refused)";
    }
    qCDebug(lcNet) << QString::fromStdString(message);
    return makeCodedError(ResolveErrorCode::AddressRefused, std::move(message));
}

void CheckedResolver::deliver(Callback callback, Resolved result) {
    m_ready.emplace_back(std::move(callback), std::move(result));
    if (!m_drainPosted) {
        m_drainPosted = true;
        QMetaObject::invokeMethod(this, &CheckedResolver::drainReady, Qt::QueuedConnection);
    }
}

void CheckedResolver::drainReady() {
    m_drainPosted = false;
    std::deque<std::pair<Callback, Resolved>> ready;
    ready.swap(m_ready);
    // Callbacks may resolve again (lands in the fresh m_ready) or even destroy this object:
    // nothing below touches members.
    for (auto& [cb, result] : ready) cb(std::move(result));
}

void CheckedResolver::cacheInsert(const std::string& host, const QList<QHostAddress>& addresses) {
    if (auto it = m_cache.find(host); it != m_cache.end()) {
        m_cacheOrder.erase(it->second.order);
        m_cache.erase(it);
    }
    while (m_cache.size() >= m_options.cache_capacity && !m_cacheOrder.empty()) {
        m_cache.erase(m_cacheOrder.front());
        m_cacheOrder.pop_front();
        ++m_stats.cache_evictions;
    }
    m_cacheOrder.push_back(host);
    CacheEntry e;
    e.addresses = addresses;
    e.expires_ms = now() + m_options.cache_ttl_ms;
    e.order = std::prev(m_cacheOrder.end());
    m_cache.emplace(host, std::move(e));
}

const CheckedResolver::CacheEntry* CheckedResolver::cacheFind(const std::string& host) {
    auto it = m_cache.find(host);
    if (it == m_cache.end()) return nullptr;
    if (now() >= it->second.expires_ms) {
        m_cacheOrder.erase(it->second.order);
        m_cache.erase(it);
        return nullptr;
    }
    return &it->second;
}

CheckedResolver::Stats CheckedResolver::stats() const {
    Stats s = m_stats;
    s.in_flight = m_inflight.size();
    s.waiting = waitingCount();
    s.cached = m_cache.size();
    return s;
}

void CheckedResolver::clearCache() {
    m_cache.clear();
    m_cacheOrder.clear();
}

}  // namespace archivist::net
