#pragma once
// A tiny HTTP/1.0 server for /metrics (Prometheus text), /healthz and /readyz, on its own thread.
// It never takes engine locks: a scrape reads the registry (atomics, the registry's own mutex,
// gaugeFn callbacks). Bounded: ≤ 16 connections (more are closed at once), requests ≤ 8 KiB,
// 5 s per connection, responses with Connection: close.
// Thread: start/stop/destructor from the owner; setReady/setHealthy from any thread.
#include <atomic>
#include <cstdint>
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
    void setReady(bool ready) { m_ready.store(ready); }
    void setHealthy(bool healthy) { m_healthy.store(healthy); }
    uint64_t requestsServed() const { return m_served.load(); }

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
    std::atomic<uint64_t> m_served{0};
};

}  // namespace archivist::observe
