// Import benchmark (issue: the engine's spine).
//
// In ONE run it measures
//   1. the verification limit: raw BIP-340 verifications/s on one core (x-only pubkey parsed once,
//      as the verifier's pubkey cache does), times the number of cores;
//   2. `archivist import` of N signed events (a real subprocess, fresh data directory):
//      events/s, ratio to the limit, peak RSS (wait4 ru_maxrss);
//   3. the same with --no-verify;
//   4. archive bytes per event vs the raw JSONL, index bytes per event;
//   5. the index alone: the same events, parsed beforehand (untimed), committed in groups of 4,096
//      through IndexWriter::commit (the project's schema: events and its four indexes, tags, FTS5,
//      sightings) — and, below that, bare SQLite inserting only the `events` rows of that schema.
//      No parsing, hashing, verification, compression or fsync is timed: these are ceilings on
//      what any import through this index can reach on this machine.
// Events come from tests/support/event_factory.h (libsecp256k1, deterministic keys): mostly
// kind 1, 0–5 tags, 40–600 bytes of content, 2,000 authors.
//
// Usage: bench_import --archivist PATH [--events N] [--work DIR] [--keep]
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/protocol/event.h"
#include "event_factory.h"
#include "index_ceiling.h"
#include "verify_limit.h"

using namespace archivist;
namespace fs = std::filesystem;
using bench::now;
using bench::rawVerifyRate;

namespace {


struct RunResult {
    double seconds = 0;
    long max_rss_kib = 0;
    int status = -1;
    std::string stdout_text;
};

RunResult runArchivist(const std::vector<std::string>& args) {
    RunResult r;
    int pipefd[2];
    if (::pipe(pipefd) != 0) std::abort();
    const double t0 = now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(pipefd[1], STDOUT_FILENO);
        ::close(pipefd[0]);
        ::close(pipefd[1]);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        std::perror("execv");
        ::_exit(127);
    }
    ::close(pipefd[1]);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) r.stdout_text.append(buf, size_t(n));
    ::close(pipefd[0]);
    struct rusage ru {};
    int status = 0;
    ::wait4(pid, &status, 0, &ru);
    r.seconds = now() - t0;
    r.max_rss_kib = ru.ru_maxrss;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

uint64_t jsonNumber(const std::string& json, const std::string& key) {
    const auto pos = json.find("\"" + key + "\":");
    if (pos == std::string::npos) return 0;
    return std::strtoull(json.c_str() + pos + key.size() + 3, nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
    std::string archivist;
    uint64_t n = 100000;
    fs::path work = fs::temp_directory_path() / "archivist-bench";
    bool keep = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--archivist" && i + 1 < argc) archivist = argv[++i];
        else if (a == "--events" && i + 1 < argc) n = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--work" && i + 1 < argc) work = argv[++i];
        else if (a == "--keep") keep = true;
        else {
            std::fprintf(stderr, "usage: bench_import --archivist PATH [--events N] [--work DIR] [--keep]\n");
            return 2;
        }
    }
    if (archivist.empty()) {
        std::fprintf(stderr, "bench_import: --archivist PATH is required\n");
        return 2;
    }
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    fs::create_directories(work);
    const fs::path events = work / ("events-" + std::to_string(n) + ".jsonl");
    std::fprintf(stderr, "generating %llu signed events…\n", (unsigned long long)n);
    const double g0 = now();
    const testing::FactoryResult gen = testing::writeRandomEvents(events.string(), n, 1, 2000, cores);
    std::fprintf(stderr, "generated %.1f MB in %.1f s\n", double(gen.bytes) / 1e6, now() - g0);

    const double perCore = rawVerifyRate(gen.sample);
    const double limit = perCore * cores;

    auto importRun = [&](bool verify, const char* name) {
        const fs::path dir = work / name;
        fs::remove_all(dir);
        std::vector<std::string> args = {archivist, "import", "--json", "--data-dir", dir.string()};
        if (!verify) args.push_back("--no-verify");
        args.push_back(events.string());
        RunResult r = runArchivist(args);
        if (r.status != 0) {
            std::fprintf(stderr, "archivist import failed (status %d)\n", r.status);
            std::exit(1);
        }
        return std::make_pair(r, dir);
    };
    auto [verified, dirV] = importRun(true, "data-verify");
    auto [unverified, dirN] = importRun(false, "data-noverify");
    const uint64_t stored = jsonNumber(verified.stdout_text, "stored");

    RunResult stats = runArchivist({archivist, "stats", "--json", "--data-dir", dirV.string()});
    const uint64_t archiveBytes = jsonNumber(stats.stdout_text, "archive_bytes");
    const uint64_t indexBytes = jsonNumber(stats.stdout_text, "index_bytes");

    std::fprintf(stderr, "index alone…\n");
    const double indexAlone = bench::indexAloneRate(events, work / "index-alone.sqlite");
    std::fprintf(stderr, "sqlite floor…\n");
    const double sqliteFloor = bench::sqliteFloorRate(events, work / "sqlite-floor.sqlite");

    const double rateV = double(n) / verified.seconds;
    const double rateN = double(n) / unverified.seconds;
    std::printf("events                       %llu (%llu stored)\n", (unsigned long long)n, (unsigned long long)stored);
    std::printf("cores                        %u\n", cores);
    std::printf("raw verify / core            %.0f /s\n", perCore);
    std::printf("verification limit           %.0f /s (raw x cores)\n", limit);
    std::printf("import (verify)              %.0f events/s  ratio %.2f  (target >= 0.70)\n", rateV, rateV / limit);
    std::printf("import (--no-verify)         %.0f events/s  (target >= 100000)\n", rateN);
    std::printf("index alone (commit only)    %.0f events/s\n", indexAlone);
    std::printf("sqlite floor (events rows)   %.0f events/s\n", sqliteFloor);
    std::printf("ceiling, verifying           ratio <= %.2f with this index, <= %.2f with bare events rows\n",
                bench::ratioCeiling(perCore, indexAlone), bench::ratioCeiling(perCore, sqliteFloor));
    std::printf("ceiling, --no-verify         <= %.0f events/s (one writer: the index alone)\n", indexAlone);
    std::printf("raw JSONL                    %.1f B/event\n", double(gen.bytes) / double(n));
    std::printf("archive                      %.1f B/event = %.1f%% of raw JSONL (target <= 45%%)\n",
                double(archiveBytes) / double(n), 100.0 * double(archiveBytes) / double(gen.bytes));
    std::printf("index                        %.1f B/event\n", double(indexBytes) / double(n));
    std::printf("peak RSS import (verify)     %.1f MB\n", double(verified.max_rss_kib) / 1024.0);
    std::printf("peak RSS import (no-verify)  %.1f MB  (target <= 300 MB)\n", double(unverified.max_rss_kib) / 1024.0);
    if (!keep) fs::remove_all(work);
    return 0;
}
