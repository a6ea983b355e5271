#include "core/observe/metrics_http_server.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "core/observe/log.h"
#include "core/observe/metrics.h"
#include "core/util/clock.h"

namespace archivist::observe {

namespace {
void setNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::string response(int code, const char* reason, const std::string& type, const std::string& body,
                     const std::string& extra_headers = {}) {
    return "HTTP/1.0 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers +
           "Connection: close\r\n\r\n" + body;
}
}  // namespace

MetricsHttpServer::MetricsHttpServer(MetricsRegistry& registry) : m_registry(registry) {}

MetricsHttpServer::~MetricsHttpServer() { stop(); }

Expected<uint16_t> MetricsHttpServer::start(const std::string& hostIn, uint16_t port) {
    if (m_thread.joinable()) return makeError("usage", "metrics server already started");
    const std::string host = hostIn == "localhost" ? "127.0.0.1" : hostIn;
    sockaddr_storage addr{};
    socklen_t len = 0;
    int family = AF_INET;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof(sockaddr_in6);
    } else {
        return makeError("usage", "not an IP address: " + hostIn);
    }
    m_listenFd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_listenFd < 0) return makeError("io", std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(m_listenFd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(m_listenFd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(m_listenFd, 64) != 0) {
        const std::string msg = std::strerror(errno);
        ::close(m_listenFd);
        m_listenFd = -1;
        return makeError("io", "cannot listen on " + hostIn + ":" + std::to_string(port) + ": " + msg);
    }
    setNonBlocking(m_listenFd);
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    ::getsockname(m_listenFd, reinterpret_cast<sockaddr*>(&bound), &blen);
    const uint16_t actual = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                                              : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    if (::pipe2(m_wakePipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        ::close(m_listenFd);
        m_listenFd = -1;
        return makeError("io", std::string("pipe: ") + std::strerror(errno));
    }
    m_thread = std::thread([this] { run(); });
    return actual;
}

void MetricsHttpServer::stop() {
    if (!m_thread.joinable()) return;
    const char c = 'x';
    // The wake-up byte; a full pipe (EAGAIN) already holds one, anything else leaves the poll to time out.
    if (::write(m_wakePipe[1], &c, 1) < 0 && errno != EAGAIN)
        qCWarning(lcObserve) << "metrics server: wake-up write failed:" << std::strerror(errno);
    m_thread.join();
    ::close(m_listenFd);
    ::close(m_wakePipe[0]);
    ::close(m_wakePipe[1]);
    m_listenFd = m_wakePipe[0] = m_wakePipe[1] = -1;
}

std::string MetricsHttpServer::respond(const std::string& request) const {
    const size_t sp1 = request.find(' ');
    const size_t sp2 = sp1 == std::string::npos ? std::string::npos : request.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos)
        return response(400, "Bad Request", "text/plain", "bad request\n");
    const std::string method = request.substr(0, sp1);
    std::string path = request.substr(sp1 + 1, sp2 - sp1 - 1);
    if (const size_t q = path.find('?'); q != std::string::npos) path.resize(q);
    if (method != "GET" && method != "HEAD")
        return response(405, "Method Not Allowed", "text/plain", "GET only\n", "Allow: GET, HEAD\r\n");
    const bool head = method == "HEAD";
    auto reply = [head](int code, const char* reason, const std::string& type, const std::string& body) {
        std::string r = response(code, reason, type, body);
        if (head) r.resize(r.size() - body.size());  // headers (with the GET Content-Length) only
        return r;
    };
    if (path == "/metrics")
        return reply(200, "OK", "text/plain; version=0.0.4; charset=utf-8", m_registry.renderPrometheus());
    if (path == "/healthz")
        return m_healthy.load() ? reply(200, "OK", "text/plain", "ok\n")
                                : reply(503, "Service Unavailable", "text/plain", "unhealthy\n");
    if (path == "/readyz") {
        if (m_ready.load()) return reply(200, "OK", "text/plain", "ready\n");
        std::string why;
        {
            std::lock_guard lock(m_reasonMutex);
            why = m_notReadyReason;
        }
        return reply(503, "Service Unavailable", "text/plain", why.empty() ? "not ready\n" : "not ready: " + why + "\n");
    }
    return reply(404, "Not Found", "text/plain", "not found\n");
}

void MetricsHttpServer::setReady(bool ready) {
    if (ready) {
        std::lock_guard lock(m_reasonMutex);
        m_notReadyReason.clear();
    }
    m_ready.store(ready);
}

void MetricsHttpServer::setNotReady(const std::string& reason) {
    {
        std::lock_guard lock(m_reasonMutex);
        m_notReadyReason = reason.substr(0, 1024);
    }
    m_ready.store(false);
}

void MetricsHttpServer::run() {
    struct Conn {
        int fd;
        int64_t started_ms;
        std::string in;
        std::string out;
        size_t sent = 0;
    };
    std::vector<Conn> conns;
    for (;;) {
        std::vector<pollfd> fds;
        fds.push_back({m_wakePipe[0], POLLIN, 0});
        fds.push_back({m_listenFd, POLLIN, 0});
        for (const auto& c : conns) fds.push_back({c.fd, short(c.out.empty() ? POLLIN : POLLOUT), 0});
        const int n = ::poll(fds.data(), fds.size(), 500);
        if (n < 0 && errno != EINTR) break;
        if (fds[0].revents) break;  // stop()
        const int64_t now = steadyMs();
        // Serve existing connections first (indexes match fds[2 + i]).
        for (size_t i = 0; i < conns.size(); ++i) {
            Conn& c = conns[i];
            const short rev = fds[2 + i].revents;
            bool done = false;
            if (rev & (POLLERR | POLLHUP | POLLNVAL)) done = c.out.empty() || rev & POLLNVAL;
            if (!done && c.out.empty() && (rev & POLLIN)) {
                char buf[2048];
                const ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
                if (r <= 0) done = true;
                else {
                    c.in.append(buf, size_t(r));
                    if (c.in.find("\r\n\r\n") != std::string::npos || c.in.find("\n\n") != std::string::npos) {
                        c.out = respond(c.in);
                        m_served.fetch_add(1);
                    } else if (c.in.size() > kMaxRequestBytes) {
                        c.out = response(431, "Request Header Fields Too Large", "text/plain", "too large\n");
                    }
                }
            }
            if (!done && !c.out.empty() && (rev & POLLOUT)) {
                const ssize_t w = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN) done = true;
                else if (w > 0) c.sent += size_t(w);
                if (c.sent >= c.out.size()) done = true;
            }
            if (!done && now - c.started_ms > kConnectionTimeoutMs) {
                done = true;
                m_dropped.fetch_add(1);
            }
            if (done) {
                ::close(c.fd);
                c.fd = -1;
            }
        }
        std::erase_if(conns, [](const Conn& c) { return c.fd < 0; });
        if (fds[1].revents & POLLIN) {
            for (;;) {
                const int fd = ::accept4(m_listenFd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0) break;
                if (conns.size() >= kMaxConnections) {
                    // Bounded: make room by dropping the oldest connection that has not completed
                    // a request (idle or trickling sockets must not lock scrapes out); when all
                    // are being answered, refuse the newcomer.
                    auto idle = std::find_if(conns.begin(), conns.end(), [](const Conn& c) { return c.out.empty(); });
                    m_dropped.fetch_add(1);
                    if (idle == conns.end()) {
                        ::close(fd);
                        continue;
                    }
                    ::close(idle->fd);
                    conns.erase(idle);
                }
                conns.push_back(Conn{fd, now, {}, {}, 0});
            }
        }
    }
    for (auto& c : conns) ::close(c.fd);
}

}  // namespace archivist::observe
