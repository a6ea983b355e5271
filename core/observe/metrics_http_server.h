#pragma once
// A tiny HTTP/1.0 server for /metrics (Prometheus text), /healthz and /readyz, on its own thread.
// It never takes engine locks: a scrape reads the registry (atomics, the registry's own mutex,
// gaugeFn callbacks). Bounded: ≤ 16 connections, requests ≤ 8 KiB (larger → 431), 5 s per
// connection, HTTP/1.0 responses with Connection: close. When a 17th connection arrives, the
// oldest connection that has not completed its request is closed to make room (so idle sockets
// cannot lock scrapes out); if all 16 are being answered, the newcomer is closed at once.
// GET/HEAD /metrics → 200 text/plain; version=0.0.4; /healthz → 200 "ok" (503 once
// setHealthy(false)); /readyz → 503 "not ready" until setReady(true), and "not ready: <reason>"
// after setNotReady(reason) (e.g. intake paused on a full disk); unknown path → 404;
// other methods → 405.
// Thread: start/stop/destructor from the owner; setReady/setHealthy from any thread.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/util/expected.h"

namespace archivist::observe {

class MetricsRegistry;

class MetricsHttpServer {
public:
    explicit MetricsHttpServer(MetricsRegistry& registry);
    ~MetricsHttpServer();
    MetricsHttpServer(const MetricsHttpServer&) = delete;
    MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

    // host: IPv4/IPv6 literal or "localhost"; port 0 picks a free one. Returns the bound port.
    Expected<uint16_t> start(const std::string& host, uint16_t port);
    void stop();  // joins the thread; idempotent
    void setReady(bool ready);
    void setNotReady(const std::string& reason);  // 503 with the reason (≤ 1 KiB) until setReady(true)
    void setHealthy(bool healthy) { m_healthy.store(healthy); }
    uint64_t requestsServed() const { return m_served.load(); }
    // Connections closed unanswered: evicted or refused at the bound, or timed out.
    uint64_t connectionsDropped() const { return m_dropped.load(); }

    static constexpr size_t kMaxConnections = 16;
    static constexpr size_t kMaxRequestBytes = 8192;
    static constexpr int kConnectionTimeoutMs = 5000;

private:
    void run();
    std::string respond(const std::string& request) const;

    MetricsRegistry& m_registry;
    int m_listenFd = -1;
    int m_wakePipe[2] = {-1, -1};
    std::thread m_thread;
    std::atomic<bool> m_ready{false};
    std::atomic<bool> m_healthy{true};
    mutable std::mutex m_reasonMutex;
    std::string m_notReadyReason;
    std::atomic<uint64_t> m_served{0};
    std::atomic<uint64_t> m_dropped{0};
};

}  // namespace archivist::observe
