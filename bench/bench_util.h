#pragma once
// What the benches share: child processes (spawn, reap, stop, run to the end), a /metrics
// scrape over loopback, the load average, resident memory, CPU time. Linux only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "verify_limit.h"

namespace archivist::bench {

namespace fs = std::filesystem;

inline void sleepS(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }


// A child process; stdin/stdout optionally piped to us, stderr to a file (or inherited).
struct Child {
    pid_t pid = -1;
    int in_fd = -1;   // write end of its stdin, -1 if not piped
    int out_fd = -1;  // read end of its stdout (non-blocking), -1 if not piped
    std::string out_buf;
};

inline Child spawn(const std::vector<std::string>& args, bool pipeIn, bool pipeOut, const fs::path& stderrFile = {}) {
    int inPipe[2] = {-1, -1}, outPipe[2] = {-1, -1};
    if (pipeIn && ::pipe(inPipe) != 0) std::abort();
    if (pipeOut && ::pipe(outPipe) != 0) std::abort();
    Child c;
    c.pid = ::fork();
    if (c.pid == 0) {
        if (pipeIn) {
            ::dup2(inPipe[0], STDIN_FILENO);
            ::close(inPipe[0]);
            ::close(inPipe[1]);
        }
        if (pipeOut) {
            ::dup2(outPipe[1], STDOUT_FILENO);
            ::close(outPipe[0]);
            ::close(outPipe[1]);
        }
        if (!stderrFile.empty()) {
            const int fd = ::open(stderrFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                ::dup2(fd, STDERR_FILENO);
                ::close(fd);
            }
        }
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        std::perror("execv");
        ::_exit(127);
    }
    if (pipeIn) {
        ::close(inPipe[0]);
        c.in_fd = inPipe[1];
    }
    if (pipeOut) {
        ::close(outPipe[1]);
        c.out_fd = outPipe[0];
        ::fcntl(c.out_fd, F_SETFL, ::fcntl(c.out_fd, F_GETFL) | O_NONBLOCK);
    }
    return c;
}

// Reads what the child wrote so far; returns complete lines.
inline std::vector<std::string> readLines(Child& c, double wait_s = 0) {
    std::vector<std::string> lines;
    if (c.out_fd < 0) return lines;
    pollfd p{c.out_fd, POLLIN, 0};
    ::poll(&p, 1, int(wait_s * 1000));
    char buf[65536];
    ssize_t n;
    while ((n = ::read(c.out_fd, buf, sizeof buf)) > 0) c.out_buf.append(buf, size_t(n));
    size_t pos;
    while ((pos = c.out_buf.find('\n')) != std::string::npos) {
        lines.push_back(c.out_buf.substr(0, pos));
        c.out_buf.erase(0, pos + 1);
    }
    return lines;
}

struct Exit {
    bool exited = false;
    int status = -1;  // exit code, or -signal
    rusage ru{};
};

inline Exit reap(pid_t pid, bool block) {
    Exit e;
    int status = 0;
    const pid_t r = ::wait4(pid, &status, block ? 0 : WNOHANG, &e.ru);
    if (r != pid) return e;
    e.exited = true;
    e.status = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1;
    return e;
}

// Stops a child with SIGTERM (SIGKILL after 10 s) and reaps it.
inline Exit stop(pid_t pid) {
    ::kill(pid, SIGTERM);
    const double t0 = now();
    while (now() - t0 < 10) {
        Exit e = reap(pid, false);
        if (e.exited) return e;
        sleepS(0.05);
    }
    ::kill(pid, SIGKILL);
    return reap(pid, true);
}

// Closes the child's stdin (it exits on EOF) and reaps it; SIGTERM/SIGKILL after 10 s.
inline Exit stopByClosingStdin(Child& farm) {
    if (farm.in_fd >= 0) ::close(farm.in_fd);  // EOF on its stdin: it exits
    farm.in_fd = -1;
    const double t0 = now();
    Exit e;
    while (now() - t0 < 10 && !e.exited) {
        readLines(farm);
        e = reap(farm.pid, false);
        if (!e.exited) sleepS(0.05);
    }
    if (!e.exited) e = stop(farm.pid);
    if (farm.out_fd >= 0) ::close(farm.out_fd);
    farm.out_fd = -1;
    return e;
}

inline std::string loadAverage() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

// Runs a command to the end; returns its standard output (and its exit and rusage in *ex).
inline std::string runCapture(const std::vector<std::string>& args, Exit* ex = nullptr, const fs::path& stderrFile = {}) {
    Child c = spawn(args, false, true, stderrFile);
    std::string out;
    for (;;) {
        pollfd p{c.out_fd, POLLIN, 0};
        ::poll(&p, 1, 1000);
        char buf[4096];
        const ssize_t n = ::read(c.out_fd, buf, sizeof buf);
        if (n > 0) out.append(buf, size_t(n));
        else if (n == 0) break;
    }
    ::close(c.out_fd);
    const Exit e = reap(c.pid, true);
    if (ex) *ex = e;
    return out;
}

// One blocking HTTP/1.0 GET to 127.0.0.1:port; empty on any failure.
inline std::string httpGet(int port, const std::string& path) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return {};
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == ssize_t(req.size())) {
            char buf[65536];
            ssize_t n;
            while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, size_t(n));
        }
    }
    ::close(fd);
    return out;
}

// A free TCP port on 127.0.0.1 (bound to port 0, read back, released).
inline int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        std::abort();
    ::close(fd);
    return ntohs(a.sin_port);
}

// Value of an unlabelled Prometheus sample `name value`; nullopt when absent.
inline std::optional<double> metric(const std::string& text, const std::string& name) {
    size_t pos = 0;
    while ((pos = text.find(name, pos)) != std::string::npos) {
        const bool lineStart = pos == 0 || text[pos - 1] == '\n';
        const size_t end = pos + name.size();
        if (lineStart && end < text.size() && text[end] == ' ') return std::strtod(text.c_str() + end + 1, nullptr);
        pos = end;
    }
    return std::nullopt;
}

// Sum of the samples of `name` whose labels include every one of `labels` (each `key="value"`),
// in whatever order the exporter writes them; 0 when none.
inline double metricSum(const std::string& text, const std::string& name, const std::vector<std::string>& labels) {
    double sum = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        if (line.size() <= name.size() || line.substr(0, name.size()) != name || line[name.size()] != '{') continue;
        const size_t close = line.find('}');
        if (close == std::string_view::npos) continue;
        const std::string_view set = line.substr(name.size(), close - name.size() + 1);
        bool all = true;
        for (const std::string& l : labels) all = all && set.find(l) != std::string_view::npos;
        if (all) sum += std::strtod(std::string(line.substr(close + 1)).c_str(), nullptr);
    }
    return sum;
}

inline uint64_t jsonNumber(const std::string& json, const std::string& key) {
    const auto pos = json.find("\"" + key + "\":");
    if (pos == std::string::npos) return 0;
    return std::strtoull(json.c_str() + pos + key.size() + 3, nullptr, 10);
}

inline long vmRssKiB(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}


inline double cpuSeconds(const rusage& ru) {
    return double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6 + double(ru.ru_stime.tv_sec) +
           double(ru.ru_stime.tv_usec) / 1e6;
}

// The command line of a bench that reads an existing data directory (bench_lookup, bench_query):
// `--data-dir DIR` (required) and numeric options `--NAME N`. Prints the usage, or what is
// missing, and returns false when the arguments are not usable.
struct NumberOption {
    const char* name;  // with its dashes: "--probes"
    uint64_t* value;
};
inline bool parseDataDirArgs(int argc, char** argv, const char* tool, const char* usage, fs::path& dir,
                             std::initializer_list<NumberOption> numbers) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        bool known = false;
        if (a == "--data-dir" && i + 1 < argc) {
            dir = argv[++i];
            known = true;
        }
        for (const auto& o : numbers)
            if (!known && a == o.name && i + 1 < argc) {
                *o.value = std::strtoull(argv[++i], nullptr, 10);
                known = true;
            }
        if (!known) {
            std::fprintf(stderr, "usage: %s\n", usage);
            return false;
        }
    }
    if (dir.empty()) {
        std::fprintf(stderr, "%s: --data-dir DIR is required\n", tool);
        return false;
    }
    return true;
}

// Applies ARCHIVIST_INDEX_TUNING to index options, as the engine does; false (printed) if it is bad.
template <class Options>
bool applyTuningFromEnvironment(const char* tool, Options& opts) {
    const char* spec = std::getenv("ARCHIVIST_INDEX_TUNING");
    if (!spec || !*spec) return true;
    if (auto r = opts.applyTuning(spec); !r) {
        std::fprintf(stderr, "%s: %s\n", tool, r.error().message.c_str());
        return false;
    }
    return true;
}

}  // namespace archivist::bench
