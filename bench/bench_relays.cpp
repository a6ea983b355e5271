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
//   4. with --compare-copies K, the flood twice in one run: each event from one relay (every 10th
//      from two), then every event from K relays — the CPU per stored event of the second over
//      the first (duplicates cost a hash, not a signature: decision 0011).
// Usage: bench_relays --archivist PATH [--farm PATH] [--events N] [--relays R] [--idle-relays M]
//                     [--work DIR] [--cache DIR] [--keep] [--no-flood] [--no-idle] [--copies K]
//                     [--compare-copies K]
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
#include "bench_util.h"
#include "verify_limit.h"

using namespace archivist;
namespace fs = std::filesystem;
using bench::now;
using bench::rawVerifyRate;
using namespace archivist::bench;

namespace {

constexpr size_t kVerifySample = 2000;
constexpr double kFloodTimeoutS = 240;
constexpr double kIdleOpenTimeoutS = 120;
// Each /metrics scrape runs mallinfo2() four times inside archivist (memory gauges); at 10 scrapes/s
// that was 11 % of its CPU in perf. Two scrapes/s cost < 1 % and time a 60 s+ span to ±0.5 s.
constexpr double kScrapeIntervalS = 0.5;

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

std::optional<Farm> startFarm(const std::string& farmBin, size_t relays, const std::string& events, uint64_t copies = 1) {
    std::vector<std::string> args = {farmBin, "--relays", std::to_string(relays), "--copies", std::to_string(copies)};
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
                stopByClosingStdin(f.child);
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
      << ",\n  \"backfill_slots\": 1000,\n  \"reconcile_sessions\": 64,\n  \"rate_events_per_s\": 10000000,\n  \"rate_bytes_per_s\": 1099511627776,\n"
      << "  \"relays\": [";
    for (size_t i = 0; i < ports.size(); ++i) c << (i ? ", " : "") << "\"ws://127.0.0.1:" << ports[i] << "\"";
    c << "]\n}\n";
}

std::vector<std::string> archivistArgs(const std::string& bin, const fs::path& dir, int metricsPort) {
    return {bin, "--headless", "--data-dir", dir.string(), "--allow-address", "127.0.0.1/32", "--no-seed-relays",
            "--metrics-listen", "127.0.0.1:" + std::to_string(metricsPort)};
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
    uint64_t copiesArg = 1, compareCopies = 0;
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
        else if (a == "--copies" && i + 1 < argc) copiesArg = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--compare-copies" && i + 1 < argc) compareCopies = std::strtoull(argv[++i], nullptr, 10);
        else {
            std::fprintf(stderr,
                         "usage: bench_relays --archivist PATH [--farm PATH] [--events N] [--relays R] "
                         "[--idle-relays M] [--work DIR] [--cache DIR] [--keep] [--no-flood] [--no-idle] [--copies K] "
                         "[--compare-copies K]\n");
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
    // One flood: every event reaches `copies` relays (1: each event from one relay, every 10th from two).
    auto runFlood = [&](uint64_t copies) -> std::optional<double> {
        const fs::path events = cache / ("relay-events-" + std::to_string(n) + ".jsonl");
        const auto sample = prepareEvents(events, n, cores);
        // Reference in the same run: `archivist import` of the same events (no network path),
        // so the flood's rate and CPU per event can be compared with the writer-bound import.
        if (copies > 1) std::printf("--- every event from %llu relays\n", (unsigned long long)copies);
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

        auto farm = startFarm(farmBin, relays, events.string(), copies);
        if (!farm) return std::nullopt;
        const fs::path dir = work / "flood";
        fs::remove_all(dir);
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
        std::string lastMetrics;  // the last /metrics scraped (the engine idles 3 s before it exits)
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
            std::string scraped = httpGet(mport, "/metrics");
            if (!scraped.empty()) lastMetrics = std::move(scraped);
            if (auto v = metric(lastMetrics, "archivist_events_stored_total")) {
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
        const Exit farmExit = stopByClosingStdin(farm->child);
        const std::string loadAfter = loadAverage();
        // The machine is shared: measure the limit again and take the higher (conservative) one.
        const double perCoreAfter = rawVerifyRate(sample, kVerifySample);
        const double perCore = std::max(perCoreBefore, perCoreAfter);
        const double limit = perCore * cores;
        const double indexAlone = bench::indexAloneRate(events, work / "index-alone");
        fs::remove_all(work / "index-alone");
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
        std::printf("index alone (all cores)        %.0f events/s: ratio ceiling %.2f with this index\n", indexAlone,
                    bench::ratioCeiling(perCore, indexAlone, cores));
        std::printf("CPU (user+sys)                 %.1f s = %.1f us/event (raw verify %.1f us/event)\n", cpu,
                    inArchive ? 1e6 * cpu / double(inArchive) : 0.0, 1e6 / perCore);
        std::printf("peak RSS (wait4)               %.1f MB  (target <= 400 MB; sampled VmRSS peak %.1f MB)\n",
                    double(ex.ru.ru_maxrss) / 1024.0, double(peakSampledKiB) / 1024.0);
        // Fresh pages the kernel zeroed for archivist: heap churn, less noisy than CPU time.
        std::printf("page faults (wait4)            %ld minor = %.2f per stored event, %ld major\n", ex.ru.ru_minflt,
                    inArchive ? double(ex.ru.ru_minflt) / double(inArchive) : 0.0, ex.ru.ru_majflt);
        std::printf("relay farm CPU (not archivist) %.1f s\n", cpuSeconds(farmExit.ru));
        // How copies were told from new events (counters of the last scrape).
        auto counter = [&](const std::string& name) { return (unsigned long long)metric(lastMetrics, name).value_or(0); };
        auto lookups = [&](const char* thread, const char* result) {
            return (unsigned long long)metricSum(lastMetrics, "archivist_id_lookups_total",
                                                 {std::string("thread=\"") + thread + "\"",
                                                  std::string("result=\"") + result + "\""});
        };
        std::printf("copies and id lookups          %llu recognised by their bytes, %llu of them left to the writer; "
                    "index lookups: verify %llu stored / %llu absent, writer %llu stored / %llu absent\n",
                    counter("archivist_copies_recognised_total"), counter("archivist_id_lookups_left_to_writer_total"),
                    lookups("verify", "stored"), lookups("verify", "absent"), lookups("writer", "stored"),
                    lookups("writer", "absent"));
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
        return inArchive ? cpu / double(inArchive) : 0.0;
        };
    if (flood) {
        auto one = runFlood(compareCopies ? 1 : copiesArg);
        if (!one) return 1;
        if (compareCopies) {
            auto many = runFlood(compareCopies);
            if (!many) return 1;
            std::printf("CPU per stored event, %llu relays / 1  %.2f (target <= 1.3)\n", (unsigned long long)compareCopies, *many / *one);
        }
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
        stopByClosingStdin(farm->child);
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
