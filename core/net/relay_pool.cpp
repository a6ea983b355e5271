#include "core/net/relay_pool.h"

#include <QDateTime>
#include <QThread>

#include "core/net/checked_resolver.h"
#include "core/net/event_sink.h"
#include "core/net/relay_url.h"
#include "core/observe/log.h"
#include "core/protocol/event_signer.h"
#include "core/relays/relay_state_store.h"

namespace archivist::net {

// Per network thread: the resolver and signer its connections share. Lives on its thread.
class NetworkContext : public QObject {
public:
    NetworkContext(std::shared_ptr<const AddressPolicy> policy, std::optional<protocol::Bytes32> secret)
        : m_policy(policy), m_secret(secret) {}
    // Called on the context's thread.
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

RelayPool::RelayPool(PoolOptions options, EventSink& sink, relays::RelayStateStore* state,
                     std::shared_ptr<const AddressPolicy> policy)
    : m_opts(std::move(options)), m_sink(sink), m_state(state), m_policy(std::move(policy)), m_slots(m_opts.backfill_slots) {
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
        QMetaObject::invokeMethod(ctx, [ctx] { ctx->init(); }, Qt::BlockingQueuedConnection);
        m_contexts.push_back(ctx);
        m_threads.push_back(std::move(thread));
    }
}

Expected<std::string> RelayPool::addRelay(std::string_view text, const std::string& source, bool connect) {
    auto url = normalizeRelayUrl(text);
    if (!url) return url.error();
    if (m_state) {
        auto rec = m_state->find(url->text);
        if (rec && *rec && (*rec)->blocked && source != "user")
            return makeError("blocked", url->text + " is blocked (unblock it first)");
        if (auto up = m_state->upsert(url->text, source, QDateTime::currentMSecsSinceEpoch()); !up) return up.error();
        if (rec && *rec && (*rec)->blocked && source == "user") (void)m_state->setBlocked(url->text, false);
    }
    std::lock_guard lock(m_mutex);
    if (!m_started || m_stopped) return makeError("stopped", "the relay pool is not running");
    if (m_entries.count(url->text)) return makeError("exists", url->text + " is already in the pool");
    if (m_entries.size() >= m_opts.max_relays)
        return makeError("capacity", "the pool holds its maximum of " + std::to_string(m_opts.max_relays) + " relays");
    Entry e;
    e.thread = m_next++ % m_contexts.size();
    e.serial = ++m_serial;
    m_entries[url->text] = e;
    NetworkContext* ctx = m_contexts[e.thread];
    const uint64_t serial = e.serial;
    RelayUrl u = *url;
    QMetaObject::invokeMethod(ctx, [this, ctx, u, source, serial, connect] {
        RelayConnection::Deps deps;
        deps.sink = &m_sink;
        deps.state = m_state;
        deps.backfill_slots = &m_slots;
        deps.resolver = ctx->resolver();
        deps.signer = ctx->signer();
        auto* conn = new RelayConnection(u, source, m_opts.connection, deps, ctx);
        {
            std::lock_guard lock(m_mutex);
            auto it = m_entries.find(u.text);
            if (it == m_entries.end() || it->second.serial != serial) {
                delete conn;  // removed before it was created
                return;
            }
            it->second.conn = conn;
        }
        if (connect) conn->start();
    });
    return url->text;
}

Expected<void> RelayPool::removeRelay(const std::string& url) {
    std::lock_guard lock(m_mutex);
    auto it = m_entries.find(url);
    if (it == m_entries.end()) return makeError("unknown", url + " is not in the pool");
    RelayConnection* conn = it->second.conn;
    NetworkContext* ctx = m_contexts[it->second.thread];
    m_entries.erase(it);
    if (conn) {
        QMetaObject::invokeMethod(ctx, [conn] {
            conn->stop(true);
            conn->flushForShutdown();
            delete conn;
        });
    }
    return {};
}

Expected<void> RelayPool::command(const std::string& url, void (RelayConnection::*fn)()) {
    std::lock_guard lock(m_mutex);
    auto it = m_entries.find(url);
    if (it == m_entries.end()) return makeError("unknown", url + " is not in the pool");
    RelayConnection* conn = it->second.conn;
    if (!conn) return makeError("starting", url + " is still being set up; try again");
    const uint64_t serial = it->second.serial;
    QMetaObject::invokeMethod(m_contexts[it->second.thread], [this, url, serial, fn] {
        RelayConnection* c = nullptr;
        {
            std::lock_guard lock(m_mutex);
            auto it2 = m_entries.find(url);
            if (it2 == m_entries.end() || it2->second.serial != serial) return;
            c = it2->second.conn;
        }
        if (c) (c->*fn)();
    });
    return {};
}

Expected<void> RelayPool::connectRelay(const std::string& url) { return command(url, &RelayConnection::start); }

Expected<void> RelayPool::disconnectRelay(const std::string& url) {
    std::lock_guard lock(m_mutex);
    auto it = m_entries.find(url);
    if (it == m_entries.end()) return makeError("unknown", url + " is not in the pool");
    const uint64_t serial = it->second.serial;
    QMetaObject::invokeMethod(m_contexts[it->second.thread], [this, url, serial] {
        RelayConnection* c = nullptr;
        {
            std::lock_guard lock(m_mutex);
            auto it2 = m_entries.find(url);
            if (it2 == m_entries.end() || it2->second.serial != serial) return;
            c = it2->second.conn;
        }
        if (c) c->stop(true);
    });
    return {};
}

Expected<void> RelayPool::blockRelay(const std::string& url) {
    if (m_state) (void)m_state->setBlocked(url, true);
    return command(url, &RelayConnection::block);
}

Expected<void> RelayPool::unblockRelay(const std::string& url) {
    if (m_state) (void)m_state->setBlocked(url, false);
    return command(url, &RelayConnection::unblock);
}

Expected<void> RelayPool::backfillNow(const std::string& url) { return command(url, &RelayConnection::backfillNow); }

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
    // Each thread stops its own connections: subscriptions closed, pending batches handed over.
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
        QMetaObject::invokeMethod(
            m_contexts[i],
            [mine] {
                for (auto* c : mine) c->stop(false);
                for (auto* c : mine) {
                    c->flushForShutdown();
                    delete c;
                }
            },
            Qt::BlockingQueuedConnection);
    }
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (auto& t : m_threads) {
        t->quit();
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
