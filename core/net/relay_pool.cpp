#include "core/net/relay_pool.h"

#include <QThread>

#include "core/net/checked_resolver.h"
#include "core/net/event_sink.h"
#include "core/observe/log.h"
#include "core/protocol/event_signer.h"

namespace archivist::net {

const char* errorCodeName(PoolErrorCode code) {
    switch (code) {
    case PoolErrorCode::Exists: return "exists";
    case PoolErrorCode::Capacity: return "capacity";
    case PoolErrorCode::Stopped: return "stopped";
    case PoolErrorCode::Unknown: return "unknown";
    case PoolErrorCode::Starting: return "starting";
    }
    return "unknown";
}

// Per network thread: the resolver and signer its connections share. Lives on its thread; its
// first queued job creates them there, so every later job (queued after it) finds them.
class NetworkContext : public QObject {
public:
    NetworkContext(std::shared_ptr<const AddressPolicy> policy, std::optional<protocol::Bytes32> secret)
        : m_policy(std::move(policy)), m_secret(secret) {}
    void init() {
        m_resolver = new CheckedResolver(m_policy, CheckedResolver::Options{}, this);
        auto signer = m_secret ? protocol::EventSigner::fromSecret(*m_secret) : protocol::EventSigner::generate();
        if (signer) m_signer = std::move(*signer);
        else qCWarning(lcNet) << "NIP-42 signer unavailable:" << signer.error().message.c_str();
    }
    CheckedResolver* resolver() const { return m_resolver; }
    protocol::EventSigner* signer() const { return m_signer.get(); }

private:
    std::shared_ptr<const AddressPolicy> m_policy;
    std::optional<protocol::Bytes32> m_secret;
    CheckedResolver* m_resolver = nullptr;
    std::unique_ptr<protocol::EventSigner> m_signer;
};

RelayPool::RelayPool(PoolOptions options, EventSink& sink, ConnectionReports& reports,
                     std::shared_ptr<const AddressPolicy> policy, DriverFactory default_driver)
    : m_opts(std::move(options)),
      m_sink(sink),
      m_reports(reports),
      m_policy(std::move(policy)),
      m_defaultDriver(std::move(default_driver)) {
    if (m_opts.threads == 0) m_opts.threads = 1;
}

RelayPool::~RelayPool() { stop(); }

void RelayPool::start() {
    std::lock_guard lock(m_mutex);
    if (m_started) return;
    m_started = true;
    for (size_t i = 0; i < m_opts.threads; ++i) {
        auto thread = std::make_unique<QThread>();
        thread->setObjectName(QString("archivist-net-%1").arg(i));
        auto* ctx = new NetworkContext(m_policy, m_opts.auth_secret);
        ctx->moveToThread(thread.get());
        QObject::connect(thread.get(), &QThread::finished, ctx, &QObject::deleteLater);
        thread->start();
        QMetaObject::invokeMethod(ctx, [ctx] { ctx->init(); }, Qt::QueuedConnection);
        m_contexts.push_back(ctx);
        m_threads.push_back(std::move(thread));
    }
}

Expected<void, PoolError> RelayPool::addRelay(RelayAdd add) {
    std::lock_guard lock(m_mutex);
    const std::string& url = add.url.text;
    if (!m_started || m_stopped) return makeCodedError(PoolErrorCode::Stopped, "the relay pool is not running");
    if (m_entries.count(url)) return makeCodedError(PoolErrorCode::Exists, url + " is already in the pool");
    if (m_entries.size() >= m_opts.max_relays)
        return makeCodedError(PoolErrorCode::Capacity,
                              "the pool holds its maximum of " + std::to_string(m_opts.max_relays) + " relays");
    Entry e;
    e.thread = m_next++ % m_contexts.size();
    e.serial = ++m_serial;
    m_entries[url] = e;
    NetworkContext* ctx = m_contexts[e.thread];
    const uint64_t serial = e.serial;
    if (!add.driver) add.driver = m_defaultDriver;
    QMetaObject::invokeMethod(ctx, [this, ctx, add = std::move(add), serial] {
        RelayConnection::Deps deps;
        deps.sink = &m_sink;
        deps.reports = &m_reports;
        deps.resolver = ctx->resolver();
        deps.signer = ctx->signer();
        auto* conn = new RelayConnection(add.url, add.start, m_opts.connection, deps,
                                         add.driver ? add.driver() : nullptr, ctx);
        {
            std::lock_guard lock(m_mutex);
            auto it = m_entries.find(add.url.text);
            if (it == m_entries.end() || it->second.serial != serial) {
                delete conn;  // removed before it was created
                return;
            }
            it->second.conn = conn;
        }
        if (add.connect) conn->start();
    }, Qt::QueuedConnection);
    return {};
}

Expected<void, PoolError> RelayPool::removeRelay(const std::string& url) {
    std::lock_guard lock(m_mutex);
    auto it = m_entries.find(url);
    if (it == m_entries.end()) return makeCodedError(PoolErrorCode::Unknown, url + " is not in the pool");
    RelayConnection* conn = it->second.conn;
    NetworkContext* ctx = m_contexts[it->second.thread];
    m_entries.erase(it);
    if (conn) {
        QMetaObject::invokeMethod(ctx, [conn] {
            conn->stop(true);
            conn->flushForShutdown();
            delete conn;
        }, Qt::QueuedConnection);
    }
    return {};
}

Expected<void, PoolError> RelayPool::command(const std::string& url, std::function<void(RelayConnection&)> fn) {
    std::lock_guard lock(m_mutex);
    auto it = m_entries.find(url);
    if (it == m_entries.end()) return makeCodedError(PoolErrorCode::Unknown, url + " is not in the pool");
    const uint64_t serial = it->second.serial;
    // Queued behind the job that creates the connection, so it finds it (unless removed since).
    QMetaObject::invokeMethod(m_contexts[it->second.thread], [this, url, serial, fn = std::move(fn)] {
        RelayConnection* c = nullptr;
        {
            std::lock_guard lock(m_mutex);
            auto it2 = m_entries.find(url);
            if (it2 == m_entries.end() || it2->second.serial != serial) return;
            c = it2->second.conn;
        }
        if (c) fn(*c);
    }, Qt::QueuedConnection);
    return {};
}

Expected<void, PoolError> RelayPool::connectRelay(const std::string& url) {
    return command(url, [](RelayConnection& c) { c.start(); });
}

Expected<void, PoolError> RelayPool::disconnectRelay(const std::string& url) {
    return command(url, [](RelayConnection& c) { c.stop(true); });
}

Expected<void, PoolError> RelayPool::blockRelay(const std::string& url) {
    return command(url, [](RelayConnection& c) { c.block(); });
}

Expected<void, PoolError> RelayPool::unblockRelay(const std::string& url) {
    return command(url, [](RelayConnection& c) { c.unblock(); });
}

Expected<void, PoolError> RelayPool::backfillNow(const std::string& url) {
    return command(url, [](RelayConnection& c) { c.backfillNow(); });
}

std::vector<RelayStatusView> RelayPool::statuses() const {
    std::lock_guard lock(m_mutex);
    std::vector<RelayStatusView> out;
    out.reserve(m_entries.size());
    for (const auto& [url, e] : m_entries) {
        if (e.conn) out.push_back(e.conn->status());
        else {
            RelayStatusView v;
            v.url = url;
            out.push_back(std::move(v));
        }
    }
    return out;
}

bool RelayPool::contains(const std::string& normalized_url) const {
    std::lock_guard lock(m_mutex);
    return m_entries.count(normalized_url) > 0;
}

size_t RelayPool::size() const {
    std::lock_guard lock(m_mutex);
    return m_entries.size();
}

void RelayPool::stop(std::chrono::milliseconds deadline) {
    {
        std::lock_guard lock(m_mutex);
        if (!m_started || m_stopped) {
            m_stopped = true;
            return;
        }
        m_stopped = true;
    }
    // Each thread's last job stops its own connections (subscriptions closed, pending batches
    // handed over, settled progress reported), deletes them and ends the thread's loop; jobs
    // queued before it (adds, commands) run first.
    for (size_t i = 0; i < m_contexts.size(); ++i) {
        std::vector<RelayConnection*> mine;
        {
            std::lock_guard lock(m_mutex);
            for (auto it = m_entries.begin(); it != m_entries.end();) {
                if (it->second.thread == i) {
                    if (it->second.conn) mine.push_back(it->second.conn);
                    it = m_entries.erase(it);
                } else {
                    ++it;
                }
            }
        }
        QThread* thread = m_threads[i].get();
        QMetaObject::invokeMethod(m_contexts[i], [mine, thread] {
            for (auto* c : mine) c->stop(false);
            for (auto* c : mine) {
                c->flushForShutdown();
                delete c;
            }
            thread->quit();
        }, Qt::QueuedConnection);
    }
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (auto& t : m_threads) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (!t->wait(QDeadlineTimer(std::max<int64_t>(100, left.count())))) {
            qCWarning(lcNet) << "network thread did not stop in time; waiting";
            t->wait();
        }
    }
    m_threads.clear();
    m_contexts.clear();
}

}  // namespace archivist::net
