// Relay-network benchmark (issue 3, item 9).
//
// In ONE run it measures
//   1. the verification limit: raw BIP-340 verifications/s on one core (x-only pubkeys parsed
//      once, as the verifier's pubkey cache does) × cores — the same method as bench_import;
//   2. flood: the real `archivist --headless` against R simulated relays (relay_farm, a separate
//      process on 127.0.0.1) that serve N pre-signed events (each relay a distinct slice, every
//      10th event also on the next relay): stored events/s from the first stored event to the
//      last (polled from /metrics archivist_events_stored_total every 100 ms), its ratio to the
//      limit, CPU (user+sys of the archivist process, wait4) per stored event, peak RSS
//      (wait4 ru_maxrss); then `archivist stats --json` must hold exactly the N distinct events;
//      for reference, `archivist import` of the same events in the same run (rate, CPU/event);
//      and the ceiling any ingest through this index has (index_ceiling.h): IndexWriter::commit
//      alone on the same events, as a ratio bound w / (v + w);
//   3. idle: VmRSS of archivist holding 1,000 open connections to relays that answer REQ with
//      EOSE and stay silent, minus VmRSS of the same archivist with no relay.
// Events come from tests/support/event_factory.h and are cached in --cache (default: the
// directory of this binary) as relay-events-N.jsonl, so later runs skip the signing.
//
// Usage: bench_relays --archivist PATH [--farm PATH] [--events N] [--relays R] [--idle-relays M]
//                     [--work DIR] [--cache DIR] [--keep] [--no-flood] [--no-idle]
// Exit status: 0 when every measured run finished and the flood lost no event, 1 otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
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
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/protocol/event.h"
#include "core/protocol/event_codec.h"
#include "event_factory.h"
#include "index_ceiling.h"
#include "verify_limit.h"

using namespace archivist;
namespace fs = std::filesystem;
using bench::now;
using bench::rawVerifyRate;

namespace {

constexpr size_t kVerifySample = 2000;
constexpr double kFloodTimeoutS = 240;
constexpr double kIdleOpenTimeoutS = 120;
// Each /metrics scrape runs mallinfo2() four times inside archivist (memory gauges); at 10 scrapes/s
// that was 11 % of its CPU in perf. Two scrapes/s cost < 1 % and time a 60 s+ span to ±0.5 s.
constexpr double kScrapeIntervalS = 0.5;

void sleepS(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }


// A child process; stdin/stdout optionally piped to us, stderr to a file (or inherited).
struct Child {
    pid_t pid = -1;
    int in_fd = -1;   // write end of its stdin, -1 if not piped
    int out_fd = -1;  // read end of its stdout (non-blocking), -1 if not piped
    std::string out_buf;
};

Child spawn(const std::vector<std::string>& args, bool pipeIn, bool pipeOut, const fs::path& stderrFile = {}) {
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
std::vector<std::string> readLines(Child& c, double wait_s = 0) {
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

Exit reap(pid_t pid, bool block) {
    Exit e;
    int status = 0;
    const pid_t r = ::wait4(pid, &status, block ? 0 : WNOHANG, &e.ru);
    if (r != pid) return e;
    e.exited = true;
    e.status = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1;
    return e;
}

// Stops a child with SIGTERM (SIGKILL after 10 s) and reaps it.
Exit stop(pid_t pid) {
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

Exit stopFarm(Child& farm) {
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

std::string loadAverage() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

// Runs a command to the end; returns its standard output (and its exit and rusage in *ex).
std::string runCapture(const std::vector<std::string>& args, Exit* ex = nullptr, const fs::path& stderrFile = {}) {
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
std::string httpGet(int port, const std::string& path) {
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
int freePort() {
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
std::optional<double> metric(const std::string& text, const std::string& name) {
    size_t pos = 0;
    while ((pos = text.find(name, pos)) != std::string::npos) {
        const bool lineStart = pos == 0 || text[pos - 1] == '\n';
        const size_t end = pos + name.size();
        if (lineStart && end < text.size() && text[end] == ' ') return std::strtod(text.c_str() + end + 1, nullptr);
        pos = end;
    }
    return std::nullopt;
}

uint64_t jsonNumber(const std::string& json, const std::string& key) {
    const auto pos = json.find("\"" + key + "\":");
    if (pos == std::string::npos) return 0;
    return std::strtoull(json.c_str() + pos + key.size() + 3, nullptr, 10);
}

long vmRssKiB(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

// Connections archivist dropped as "stalled" (no pong in time), from its log.
uint64_t countStalls(const fs::path& log) {
    std::ifstream f(log);
    std::string line;
    uint64_t n = 0;
    while (std::getline(f, line))
        if (line.find("failed: stalled") != std::string::npos) ++n;
    return n;
}

struct FarmStatus {
    uint64_t open = 0, reqs = 0, sent = 0, eose = 0;
};

void parseStatus(const std::string& line, FarmStatus& s) {
    if (line.rfind("status ", 0) != 0) return;
    std::sscanf(line.c_str(), "status open=%lu reqs=%lu sent=%lu eose=%lu", &s.open, &s.reqs, &s.sent, &s.eose);
}

struct Farm {
    Child child;
    uint64_t distinct = 0, copies = 0;
    std::vector<int> ports;
    FarmStatus status;
};

std::optional<Farm> startFarm(const std::string& farmBin, size_t relays, const std::string& events) {
    std::vector<std::string> args = {farmBin, "--relays", std::to_string(relays)};
    if (!events.empty()) {
        args.push_back("--events");
        args.push_back(events);
    }
    Farm f;
    f.child = spawn(args, true, true);
    const double t0 = now();
    while (now() - t0 < 120) {
        for (const auto& line : readLines(f.child, 0.2)) {
            if (line.rfind("ready ", 0) != 0) continue;
            char* p = const_cast<char*>(line.c_str()) + 6;
            f.distinct = std::strtoull(p, &p, 10);
            f.copies = std::strtoull(p, &p, 10);
            while (*p) {
                const long port = std::strtol(p, &p, 10);
                if (port > 0) f.ports.push_back(int(port));
                else break;
            }
            if (f.ports.size() != relays) {
                std::fprintf(stderr, "relay_farm reported %zu ports, wanted %zu\n", f.ports.size(), relays);
                stopFarm(f.child);
                return std::nullopt;
            }
            return f;
        }
        if (reap(f.child.pid, false).exited) break;
    }
    std::fprintf(stderr, "relay_farm did not start\n");
    stop(f.child.pid);
    return std::nullopt;
}

void pumpFarm(Farm& f) {
    for (const auto& line : readLines(f.child)) parseStatus(line, f.status);
}

void writeConfig(const fs::path& dir, const std::vector<int>& ports, bool backfill) {
    fs::create_directories(dir);
    std::ofstream c(dir / "config.json");
    c << "{\n  \"seed_relays\": false,\n  \"max_relays\": 1000,\n  \"backfill\": " << (backfill ? "true" : "false")
      << ",\n  \"backfill_slots\": 1000,\n  \"rate_events_per_s\": 10000000,\n  \"rate_bytes_per_s\": 1099511627776,\n"
      << "  \"relays\": [";
    for (size_t i = 0; i < ports.size(); ++i) c << (i ? ", " : "") << "\"ws://127.0.0.1:" << ports[i] << "\"";
    c << "]\n}\n";
}

std::vector<std::string> archivistArgs(const std::string& bin, const fs::path& dir, int metricsPort) {
    return {bin, "--headless", "--data-dir", dir.string(), "--allow-address", "127.0.0.1/32", "--no-seed-relays",
            "--metrics-listen", "127.0.0.1:" + std::to_string(metricsPort)};
}

double cpuSeconds(const rusage& ru) {
    return double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6 + double(ru.ru_stime.tv_sec) +
           double(ru.ru_stime.tv_usec) / 1e6;
}

// Loads (or generates and caches) the events; returns a sample for the verification limit.
std::vector<protocol::Event> prepareEvents(const fs::path& file, uint64_t n, unsigned cores) {
    std::vector<protocol::Event> sample;
    if (fs::exists(file)) {
        std::ifstream in(file, std::ios::binary);
        std::string line;
        protocol::Event e;
        uint64_t lines = 0;
        while (std::getline(in, line)) {
            ++lines;
            if (sample.size() < kVerifySample && protocol::parseEvent(line, e) == protocol::Reject::None)
                sample.push_back(e);
        }
        if (lines == n) {
            std::fprintf(stderr, "using cached %s\n", file.c_str());
            return sample;
        }
        sample.clear();
    }
    std::fprintf(stderr, "generating %llu signed events into %s …\n", (unsigned long long)n, file.c_str());
    const double g0 = now();
    const fs::path tmp = file.string() + ".tmp";
    testing::FactoryResult gen = testing::writeRandomEvents(tmp.string(), n, 1, 2000, cores, kVerifySample);
    fs::rename(tmp, file);
    std::fprintf(stderr, "generated %.1f MB in %.1f s\n", double(gen.bytes) / 1e6, now() - g0);
    return std::move(gen.sample);
}

}  // namespace

int main(int argc, char** argv) {
    std::string archivist, farmBin;
    uint64_t n = 200000;
    size_t relays = 200, idleRelays = 1000;
    fs::path work = fs::temp_directory_path() / "archivist-bench-relays";
    fs::path cache = fs::absolute(fs::path(argv[0])).parent_path();
    bool keep = false, flood = true, idle = true;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--archivist" && i + 1 < argc) archivist = argv[++i];
        else if (a == "--farm" && i + 1 < argc) farmBin = argv[++i];
        else if (a == "--events" && i + 1 < argc) n = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--relays" && i + 1 < argc) relays = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--idle-relays" && i + 1 < argc) idleRelays = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--work" && i + 1 < argc) work = argv[++i];
        else if (a == "--cache" && i + 1 < argc) cache = argv[++i];
        else if (a == "--keep") keep = true;
        else if (a == "--no-flood") flood = false;
        else if (a == "--no-idle") idle = false;
        else {
            std::fprintf(stderr,
                         "usage: bench_relays --archivist PATH [--farm PATH] [--events N] [--relays R] "
                         "[--idle-relays M] [--work DIR] [--cache DIR] [--keep] [--no-flood] [--no-idle]\n");
            return 2;
        }
    }
    if (archivist.empty()) {
        std::fprintf(stderr, "bench_relays: --archivist PATH is required\n");
        return 2;
    }
    if (farmBin.empty()) farmBin = (fs::absolute(fs::path(argv[0])).parent_path() / "relay_farm").string();
    // Children inherit the limit: archivist and the farm each hold over a thousand sockets.
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    fs::remove_all(work);
    fs::create_directories(work);
    fs::create_directories(cache);
    bool failed = false;

    std::printf("cores                          %u\n", cores);
    if (flood) {
        const fs::path events = cache / ("relay-events-" + std::to_string(n) + ".jsonl");
        const auto sample = prepareEvents(events, n, cores);
        // Reference in the same run: `archivist import` of the same events (no network path),
        // so the flood's rate and CPU per event can be compared with the writer-bound import.
        const fs::path importDir = work / "import";
        const double i0 = now();
        Exit impExit;
        runCapture({archivist, "import", "--json", "--data-dir", importDir.string(), events.string()}, &impExit,
                   work / "import.log");
        const double importS = now() - i0;
        const uint64_t imported =
            jsonNumber(runCapture({archivist, "stats", "--json", "--data-dir", importDir.string()}), "events");
        fs::remove_all(importDir);
        const double perCoreBefore = rawVerifyRate(sample, kVerifySample);
        const std::string loadBefore = loadAverage();

        auto farm = startFarm(farmBin, relays, events.string());
        if (!farm) return 1;
        const fs::path dir = work / "flood";
        writeConfig(dir, farm->ports, true);
        const int mport = freePort();
        auto args = archivistArgs(archivist, dir, mport);
        args.push_back("--exit-when-idle");
        args.push_back("3");
        std::fprintf(stderr, "flood: %zu relays, %llu distinct events (%llu copies); archivist log %s\n", relays,
                     (unsigned long long)farm->distinct, (unsigned long long)farm->copies,
                     (work / "flood-archivist.log").c_str());
        const double start = now();
        Child a = spawn(args, false, false, work / "flood-archivist.log");
        double tFirst = 0, tLast = 0, lastPrint = start;
        uint64_t stored = 0;
        long peakSampledKiB = 0;
        uint64_t stalls = 0;
        Exit ex;
        while (true) {
            ex = reap(a.pid, false);
            if (ex.exited) break;
            const double t = now();
            if (t - start > kFloodTimeoutS) {
                std::fprintf(stderr, "flood: archivist still running after %.0f s — stopping it\n", kFloodTimeoutS);
                failed = true;
                ex = stop(a.pid);
                break;
            }
            if (auto v = metric(httpGet(mport, "/metrics"), "archivist_events_stored_total")) {
                const uint64_t s = uint64_t(*v);
                if (s > stored) {
                    if (!tFirst) tFirst = t;
                    tLast = t;
                    stored = s;
                }
            }
            peakSampledKiB = std::max(peakSampledKiB, vmRssKiB(a.pid));
            pumpFarm(*farm);
            stalls = countStalls(work / "flood-archivist.log");
            if (t - lastPrint >= 5) {
                std::fprintf(stderr, "  %5.1f s: stored %llu, farm: %llu open, %llu REQs, %llu EVENTs sent\n", t - start,
                             (unsigned long long)stored, (unsigned long long)farm->status.open,
                             (unsigned long long)farm->status.reqs, (unsigned long long)farm->status.sent);
                lastPrint = t;
            }
            sleepS(kScrapeIntervalS);
        }
        pumpFarm(*farm);
        stalls = countStalls(work / "flood-archivist.log");
        const Exit farmExit = stopFarm(farm->child);
        const std::string loadAfter = loadAverage();
        // The machine is shared: measure the limit again and take the higher (conservative) one.
        const double perCoreAfter = rawVerifyRate(sample, kVerifySample);
        const double perCore = std::max(perCoreBefore, perCoreAfter);
        const double limit = perCore * cores;
        const double indexAlone = bench::indexAloneRate(events, work / "index-alone.sqlite");
        fs::remove(work / "index-alone.sqlite");
        const std::string stats = runCapture({archivist, "stats", "--json", "--data-dir", dir.string()});
        const uint64_t inArchive = jsonNumber(stats, "events");
        const double span = tLast - tFirst;
        const double rate = span > 0 ? double(inArchive) / span : 0;
        const double cpu = cpuSeconds(ex.ru);
        std::printf("load average                   %s before, %s after\n", loadBefore.c_str(), loadAfter.c_str());
        std::printf("raw verify / core              %.0f /s before, %.0f /s after the flood\n", perCoreBefore,
                    perCoreAfter);
        std::printf("verification limit             %.0f /s (higher raw rate x cores)\n", limit);
        std::printf("import of the same events      %.0f events/s, CPU %.1f us/event, peak RSS %.1f MB (exit %d, %llu stored)\n",
                    double(imported) / importS, imported ? 1e6 * cpuSeconds(impExit.ru) / double(imported) : 0.0,
                    double(impExit.ru.ru_maxrss) / 1024.0, impExit.status, (unsigned long long)imported);
        std::printf("flood relays                   %zu (events %llu distinct, %llu sent by the farm)\n", relays,
                    (unsigned long long)farm->distinct, (unsigned long long)farm->status.sent);
        std::printf("archivist exit                 %d after %.1f s\n", ex.status, now() - start);
        std::printf("first → last stored            %.2f s\n", span);
        std::printf("stored events/s                %.0f  ratio %.2f  (target >= 0.60)\n", rate, rate / limit);
        std::printf("index alone (commit only)      %.0f events/s: ratio ceiling %.2f with this index\n", indexAlone,
                    bench::ratioCeiling(perCore, indexAlone));
        std::printf("CPU (user+sys)                 %.1f s = %.1f us/event (raw verify %.1f us/event)\n", cpu,
                    inArchive ? 1e6 * cpu / double(inArchive) : 0.0, 1e6 / perCore);
        std::printf("peak RSS (wait4)               %.1f MB  (target <= 400 MB; sampled VmRSS peak %.1f MB)\n",
                    double(ex.ru.ru_maxrss) / 1024.0, double(peakSampledKiB) / 1024.0);
        std::printf("relay farm CPU (not archivist) %.1f s\n", cpuSeconds(farmExit.ru));
        std::printf("connections dropped 'stalled'  %llu (EVENTs sent beyond one per copy — planner re-queries and reconnects: %lld)\n",
                    (unsigned long long)stalls, (long long)farm->status.sent - (long long)farm->copies);
        std::printf("events in archive              %llu of %llu distinct\n", (unsigned long long)inArchive,
                    (unsigned long long)farm->distinct);
        if (inArchive != farm->distinct || ex.status != 0) {
            std::printf("!!! FLOOD FAILED: %s — see %s\n",
                        inArchive != farm->distinct ? "events were LOST (archive != distinct events served)"
                                                    : "archivist did not exit 0",
                        (work / "flood-archivist.log").c_str());
            failed = true;
        }
        std::fflush(stdout);
    }

    if (idle) {
        // Baseline: the same archivist with no relay.
        const fs::path base = work / "idle-0";
        writeConfig(base, {}, false);
        int mport = freePort();
        Child a0 = spawn(archivistArgs(archivist, base, mport), false, false, work / "idle-0-archivist.log");
        double t0 = now();
        while (now() - t0 < 30 && httpGet(mport, "/readyz").find(" 200") == std::string::npos) sleepS(0.1);
        sleepS(3);
        const long rss0 = vmRssKiB(a0.pid);
        stop(a0.pid);

        auto farm = startFarm(farmBin, idleRelays, "");
        if (!farm) return 1;
        const fs::path dir = work / "idle";
        writeConfig(dir, farm->ports, false);
        mport = freePort();
        auto args = archivistArgs(archivist, dir, mport);
        args.push_back("--no-backfill");
        Child a = spawn(args, false, false, work / "idle-archivist.log");
        t0 = now();
        double tOpen = 0;
        while (now() - t0 < kIdleOpenTimeoutS) {
            pumpFarm(*farm);
            if (farm->status.open >= idleRelays && farm->status.eose >= idleRelays) {
                tOpen = now() - t0;
                break;
            }
            if (reap(a.pid, false).exited) break;
            sleepS(0.1);
        }
        long rss = -1;
        if (tOpen > 0) {
            sleepS(3);  // let the REQ/EOSE round settle
            rss = vmRssKiB(a.pid);
        } else {
            std::fprintf(stderr, "idle: only %llu of %zu connections open (%llu EOSE) after %.0f s\n",
                         (unsigned long long)farm->status.open, idleRelays, (unsigned long long)farm->status.eose,
                         kIdleOpenTimeoutS);
            failed = true;
        }
        pumpFarm(*farm);
        const uint64_t openAtSample = farm->status.open;
        const Exit ex = stop(a.pid);
        stopFarm(farm->child);
        std::printf("idle: archivist, 0 relays      VmRSS %.1f MB\n", double(rss0) / 1024.0);
        if (rss >= 0) {
            std::printf("idle: %zu connections         VmRSS %.1f MB (%llu open at the sample; all open after %.1f s)\n",
                        idleRelays, double(rss) / 1024.0, (unsigned long long)openAtSample, tOpen);
            std::printf("idle: per connection           %.1f KiB ((VmRSS - baseline) / %zu)\n",
                        double(rss - rss0) / double(idleRelays), idleRelays);
        }
        std::printf("idle: archivist exit           %d, peak RSS %.1f MB\n", ex.status, double(ex.ru.ru_maxrss) / 1024.0);
    }
    if (!keep) fs::remove_all(work);
    return failed ? 1 : 0;
}
