// Import benchmark (docs/benchmarks.md "Import"; decision 0011).
//
// In ONE run it measures
//   1. the verification limit: raw BIP-340 verifications/s on one core (x-only pubkey parsed once,
//      as the verifier's pubkey cache does), times the number of cores;
//   2. `archivist import` of N signed events (a real subprocess, fresh data directory, the index's
//      background flushes and merges running as they would): the wall time of each tenth of the
//      events (from /metrics archivist_events_stored_total, scraped every 0.25 s), events/s, ratio
//      to the limit, CPU (user+sys), peak RSS (wait4 ru_maxrss) — verifying (and the limit
//      measured again after it: the ratio to the mean of both, the machine's speed over the
//      import on a shared machine), and from the last scrape the events the index's flushes and
//      merges wrote and their CPU time (archivist_index_*_events, _background_cpu_seconds); then the same file
//      imported again into the same data directory (every event a duplicate: the first import's
//      time over this one's); then --no-verify into a fresh directory (with --keep it stays as
//      the import left it, for bench_query on that layout);
//   3. `archivist compact` (the merges due at the end of the import, run to the end) and the
//      archive + index bytes against the raw JSONL;
//   4. optionally (--taskset) the verified import pinned to one core vs two: the rate ratio;
//   5. optionally (--scale SMALL), instead of steps 2–4 and 6: the issue's "rate at N ≥ 0.9 ×
//      at SMALL" in one run — verified imports of SMALL, N and SMALL events of the same shape
//      into fresh directories, back to back, the raw BIP-340 rate measured before, between and
//      after them; N's rate over each SMALL run's and over their mean, and the same with each
//      import's rate taken against the mean of the limits measured around it (the machine's
//      speed moves by more than the code's during a ten-minute import); each import's data
//      directory is removed right after it (the 10M one is ≈ 8 GB), --keep keeps the logs only:
//      for bench_query on such a layout, run `archivist import` into a directory of your own;
//   6. optionally (--reindex) `archivist reindex` of the verified import's data directory; with
//      --baseline OLD_ARCHIVIST also OLD's import and reindex of the same events in the same run
//      (a schema 2 data directory), and the new build's reindex (an upgrade) of that directory.
// Events: tests/support/event_factory.h (libsecp256k1, deterministic keys): mostly kind 1, 0–5
// tags, 40–600 bytes of content, 2,000 authors; --shape time: created_at in file order (three a
// second); --shape backfill: uniform over the three years before 2023-11-14; --unique-terms K:
// K random words per event that no other event has (a full-text vocabulary that grows with the
// archive, as the real network's does). Cached in --cache.
//
// Usage: bench_import --archivist PATH [--events N] [--shape time|backfill] [--work DIR]
//                     [--cache DIR] [--unique-terms K] [--keep] [--no-noverify] [--taskset]
//                     [--reindex] [--baseline OLD_ARCHIVIST] [--scale SMALL]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "core/protocol/event.h"
#include "core/protocol/event_codec.h"
#include "event_factory.h"
#include "verify_limit.h"

using namespace archivist;
using namespace archivist::bench;
namespace fs = std::filesystem;

namespace {

constexpr double kScrapeS = 0.25;
constexpr int64_t kBackfillSpreadS = 3 * 365 * 86400;

struct ImportRun {
    double seconds = 0;
    double cpu = 0;
    long max_rss_kib = 0;
    int status = -1;
    uint64_t stored = 0;
    std::vector<double> tenths;  // wall seconds of each tenth of the events
    std::string load_before, load_after;
    std::string metrics;  // the last /metrics scrape
};

// Reads a file to its end and drops the bytes: a timed import then reads its input from the page
// cache whatever ran before it. A 10M-event input (8.6 GB) need not still be cached after the
// imports before it, and read from the disk it cost the import's reading thread ≈ 0.9 µs an
// event more than one read from the cache (1.77 against 0.81 µs; docs/benchmarks.md, 2026-12-07
// 10:54–11:41): the comparison of two sizes would then measure the disk.
void readThrough(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::vector<char> buf(size_t(4) << 20);
    while (in.read(buf.data(), std::streamsize(buf.size())) || in.gcount() > 0) {
    }
}

// `archivist import` with /metrics on a free port; records when each tenth of n is stored.
ImportRun runImport(const std::vector<std::string>& prefix, const std::string& archivist, const fs::path& dir,
                    const fs::path& events, uint64_t n, bool verify, const fs::path& log) {
    ImportRun r;
    fs::remove_all(dir);
    const int port = freePort();
    std::vector<std::string> args = prefix;
    for (const auto& a : std::vector<std::string>{archivist, "import", "--json", "--data-dir", dir.string(),
                                                  "--metrics-listen", "127.0.0.1:" + std::to_string(port)})
        args.push_back(a);
    if (!verify) args.push_back("--no-verify");
    args.push_back(events.string());
    readThrough(events);
    r.load_before = loadAverage();
    const double t0 = now();
    Child c = spawn(args, false, true, log);
    std::string out;
    double last = t0;
    size_t next = 1;
    Exit ex;
    for (;;) {
        for (const auto& line : readLines(c, kScrapeS)) out += line + "\n";
        ex = reap(c.pid, false);
        const double t = now();
        std::string scraped = httpGet(port, "/metrics");
        if (auto v = metric(scraped, "archivist_events_stored_total")) {
            // Kept unless the index's gauges went back (read as 0 once the index has closed).
            const auto background = [](const std::string& m) {
                return metric(m, "archivist_index_flushed_events").value_or(0) +
                       metric(m, "archivist_index_merged_events").value_or(0);
            };
            if (background(scraped) >= background(r.metrics)) r.metrics = std::move(scraped);
            while (next <= 10 && *v >= double(n) * double(next) / 10.0) {
                r.tenths.push_back(t - last);
                last = t;
                ++next;
            }
        }
        if (ex.exited) break;
    }
    for (const auto& line : readLines(c)) out += line + "\n";
    r.seconds = now() - t0;
    while (next <= 10) {  // the last tenths, stored after the last scrape
        r.tenths.push_back(r.seconds - (last - t0));
        last = t0 + r.seconds;
        ++next;
    }
    r.status = ex.status;
    r.cpu = cpuSeconds(ex.ru);
    r.max_rss_kib = ex.ru.ru_maxrss;
    r.stored = jsonNumber(out, "stored");
    r.load_after = loadAverage();
    return r;
}

void printImport(const char* name, const ImportRun& r, uint64_t n, double limit) {
    const double rate = double(n) / r.seconds;
    std::printf("%-28s %.0f events/s", name, rate);
    if (limit > 0) std::printf("  ratio %.2f", rate / limit);
    std::printf("  (%.1f s, CPU %.1f us/event, peak RSS %.1f MB, exit %d, %llu stored; load %s -> %s)\n", r.seconds,
                1e6 * r.cpu / double(n), double(r.max_rss_kib) / 1024.0, r.status, (unsigned long long)r.stored,
                r.load_before.c_str(), r.load_after.c_str());
    std::printf("  tenths (s):");
    for (double t : r.tenths) std::printf(" %.1f", t);
    if (r.tenths.size() == 10 && r.tenths.front() > 0)
        std::printf("   last/first %.2f", r.tenths.back() / r.tenths.front());
    std::printf("\n");
    // The index's background work until the last scrape (at most kScrapeS before the end):
    // flushes and merges, the events they wrote and their CPU time.
    const double flushed = metric(r.metrics, "archivist_index_flushed_events").value_or(0);
    const double merged = metric(r.metrics, "archivist_index_merged_events").value_or(0);
    const double flushCpu = metricSum(r.metrics, "archivist_index_background_cpu_seconds", {"job=\"flush\""});
    const double mergeCpu = metricSum(r.metrics, "archivist_index_background_cpu_seconds", {"job=\"merge\""});
    const double stored = metric(r.metrics, "archivist_events_stored_total").value_or(0);
    if (stored > 0)
        std::printf("  index, last scrape: flushes %.0f events (%.1f us CPU each), merges %.0f events = %.2f x the "
                    "%.0f stored (%.1f us CPU each); flushes + merges %.1f us CPU per stored event\n",
                    flushed, flushed > 0 ? 1e6 * flushCpu / flushed : 0.0, merged, merged / stored, stored,
                    merged > 0 ? 1e6 * mergeCpu / merged : 0.0, 1e6 * (flushCpu + mergeCpu) / stored);
}

struct Timed {
    double seconds = 0;
    double cpu = 0;
    long max_rss_kib = 0;
    int status = -1;
    std::string out;
};

Timed timed(const std::vector<std::string>& args, const fs::path& log) {
    Timed t;
    Exit ex;
    const double t0 = now();
    t.out = runCapture(args, &ex, log);
    t.seconds = now() - t0;
    t.cpu = cpuSeconds(ex.ru);
    t.max_rss_kib = ex.ru.ru_maxrss;
    t.status = ex.status;
    return t;
}

uint64_t dirBytes(const fs::path& dir) {
    uint64_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir, ec))
        if (e.is_regular_file(ec)) n += e.file_size(ec);
    return n;
}

std::vector<protocol::Event> sampleOf(const fs::path& file, size_t n) {
    std::vector<protocol::Event> out;
    std::ifstream in(file, std::ios::binary);
    std::string line;
    protocol::Event e;
    while (out.size() < n && std::getline(in, line))
        if (protocol::parseEvent(line, e) == protocol::Reject::None) out.push_back(e);
    return out;
}

// --scale: verified imports of SMALL, N and SMALL events back to back, the raw BIP-340 rate
// measured before, between and after them (`limit0`: the one measured before the first).
int runScale(const std::string& archivist, const fs::path& work, const fs::path& smallEvents, uint64_t small,
             const fs::path& events, uint64_t n, const std::vector<protocol::Event>& sample, double limit0,
             unsigned cores) {
    struct Step {
        const char* name;
        const fs::path* file;
        uint64_t count;
        ImportRun run;
        double limitAfter = 0;  // raw BIP-340 rate per core measured right after the import
        double limitMean = 0;   // the mean of the rates measured right before and right after it
    };
    Step steps[] = {{"import (verify), SMALL", &smallEvents, small, {}},
                    {"import (verify), N", &events, n, {}},
                    {"import (verify), SMALL again", &smallEvents, small, {}}};
    double before = limit0;
    bool ok = true;
    int step = 0;
    for (auto& st : steps) {
        const fs::path log = work / ("import-scale-" + std::to_string(++step) + ".log");
        st.run = runImport({}, archivist, work / "data-scale", *st.file, st.count, true, log);
        fs::remove_all(work / "data-scale");
        st.limitAfter = rawVerifyRate(sample);
        st.limitMean = (before + st.limitAfter) / 2.0;
        std::printf("%s: %llu events\n", st.name, (unsigned long long)st.count);
        printImport("  import", st.run, st.count, st.limitMean * cores);
        std::printf("  raw verify / core around it  %.0f -> %.0f /s\n", before, st.limitAfter);
        std::fflush(stdout);
        before = st.limitAfter;
        ok = ok && st.run.status == 0 && st.run.stored == st.count;
    }
    const auto rate = [](const Step& st) { return double(st.count) / st.run.seconds; };
    // Each import's rate over the mean of the raw rates measured around it: the machine's speed
    // taken out (an import is compared with the limit of the minutes it ran in).
    double around[3];
    for (int i = 0; i < 3; ++i) around[i] = rate(steps[i]) / steps[i].limitMean;
    const double big = rate(steps[1]);
    std::printf("N / SMALL import rate        %.3f against the first SMALL, %.3f against the second, %.3f against "
                "their mean (target >= 0.9)\n",
                big / rate(steps[0]), big / rate(steps[2]), big / ((rate(steps[0]) + rate(steps[2])) / 2.0));
    std::printf("  each against its limit     %.3f, %.3f, %.3f against their mean\n", around[1] / around[0],
                around[1] / around[2], around[1] / ((around[0] + around[2]) / 2.0));
    std::printf("  CPU per event              %.1f, %.1f, %.1f us\n", 1e6 * steps[0].run.cpu / double(small),
                1e6 * steps[1].run.cpu / double(n), 1e6 * steps[2].run.cpu / double(small));
    std::printf("load average at the end      %s\n", loadAverage().c_str());
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string archivist, baseline, shape = "time";
    uint64_t n = 100000;
    fs::path work = fs::temp_directory_path() / "archivist-bench";
    fs::path cache = fs::absolute(fs::path(argv[0])).parent_path();
    bool keep = false, noverify = true, taskset = false, reindex = false;
    unsigned uniqueTerms = 0;  // --unique-terms: random words per event no other event has
    uint64_t scale = 0;        // --scale SMALL: N's import rate against SMALL's, in one run
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--archivist" && i + 1 < argc) archivist = argv[++i];
        else if (a == "--events" && i + 1 < argc) n = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--shape" && i + 1 < argc) shape = argv[++i];
        else if (a == "--work" && i + 1 < argc) work = argv[++i];
        else if (a == "--cache" && i + 1 < argc) cache = argv[++i];
        else if (a == "--baseline" && i + 1 < argc) baseline = argv[++i];
        else if (a == "--unique-terms" && i + 1 < argc) uniqueTerms = unsigned(std::stoul(argv[++i]));
        else if (a == "--scale" && i + 1 < argc) scale = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--keep") keep = true;
        else if (a == "--no-noverify") noverify = false;
        else if (a == "--taskset") taskset = true;
        else if (a == "--reindex") reindex = true;
        else {
            std::fprintf(stderr,
                         "usage: bench_import --archivist PATH [--events N] [--shape time|backfill] [--work DIR] "
                         "[--cache DIR] [--unique-terms K] [--keep] [--no-noverify] [--taskset] [--reindex] "
                         "[--baseline OLD_ARCHIVIST] [--scale SMALL]\n");
            return 2;
        }
    }
    if (archivist.empty() || (shape != "time" && shape != "backfill")) {
        std::fprintf(stderr, "bench_import: --archivist PATH is required; --shape is time or backfill\n");
        return 2;
    }
    if (scale && scale >= n) {
        std::fprintf(stderr, "bench_import: --scale SMALL needs SMALL below --events N\n");
        return 2;
    }
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    fs::create_directories(work);
    fs::create_directories(cache);
    // The events of `count` lines of this shape, generated once and kept in the cache.
    const auto eventsFile = [&](uint64_t count) {
        const fs::path file = cache / ("import-events-" + shape + "-" + std::to_string(count) +
                                       (uniqueTerms ? "-u" + std::to_string(uniqueTerms) : std::string()) + ".jsonl");
        if (!fs::exists(file)) {
            std::fprintf(stderr, "generating %llu signed events (%s) into %s …\n", (unsigned long long)count,
                         shape.c_str(), file.c_str());
            const double g0 = now();
            const fs::path tmp = file.string() + ".tmp";
            testing::writeRandomEvents(tmp.string(), count, 1, 2000, cores, 0,
                                        shape == "backfill" ? kBackfillSpreadS : 0, uniqueTerms);
            fs::rename(tmp, file);
            std::fprintf(stderr, "generated in %.1f s\n", now() - g0);
        }
        return file;
    };
    const fs::path events = eventsFile(n);
    const uint64_t rawBytes = fs::file_size(events);
    const auto sample = sampleOf(events, 2000);

    std::printf("events                       %llu (%s order, %.1f B/event of JSONL)\n", (unsigned long long)n,
                shape.c_str(), double(rawBytes) / double(n));
    std::printf("machine                      %u cores; load average %s at the start\n", cores, loadAverage().c_str());
    const double perCore = rawVerifyRate(sample);
    const double limit = perCore * cores;
    std::printf("raw verify / core            %.0f /s\n", perCore);
    std::printf("verification limit           %.0f /s (raw x cores)\n", limit);

    if (scale) {
        const int status = runScale(archivist, work, eventsFile(scale), scale, events, n, sample, perCore, cores);
        if (!keep) fs::remove_all(work);  // as below: the logs stay with --keep
        return status;
    }

    const fs::path dirV = work / "data-verify";
    ImportRun verified = runImport({}, archivist, dirV, events, n, true, work / "import-verify.log");
    printImport("import (verify)", verified, n, limit);
    {
        // The machine is shared: its speed can move during a long import. The limit measured
        // again right after, and the import's ratio to the mean of both (its speed over the run).
        const double after = rawVerifyRate(sample);
        const double mean = (perCore + after) / 2.0 * cores;
        std::printf("raw verify / core, after     %.0f /s (%+.1f %% against before)\n", after,
                    100.0 * (after - perCore) / perCore);
        std::printf("  ratio to the mean limit    %.3f (%.0f /s)\n", double(n) / verified.seconds / mean, mean);
    }
    std::fflush(stdout);
    {
        // The same file again into the same data directory: every line is a copy of a stored
        // event with its stored signature — a hash and a lookup each, no BIP-340 (decision 0011).
        const Timed again = timed({archivist, "import", "--json", "--data-dir", dirV.string(), events.string()},
                                  work / "reimport.log");
        std::printf("re-import (all stored)       %.0f events/s (%.1f s, CPU %.1f us/event, peak RSS %.1f MB, exit %d, "
                    "%llu duplicate, %llu stored)\n",
                    double(n) / again.seconds, again.seconds, 1e6 * again.cpu / double(n),
                    double(again.max_rss_kib) / 1024.0, again.status,
                    (unsigned long long)jsonNumber(again.out, "duplicate"), (unsigned long long)jsonNumber(again.out, "stored"));
        std::printf("first import / re-import     %.2f x faster (target >= 4)\n", verified.seconds / again.seconds);
        std::fflush(stdout);
    }
    if (noverify) {
        ImportRun unverified = runImport({}, archivist, work / "data-noverify", events, n, false,
                                         work / "import-noverify.log");
        printImport("import (--no-verify)", unverified, n, 0);
        // --keep: kept as the import left it (no compact), for bench_query on that layout.
        if (!keep) fs::remove_all(work / "data-noverify");
        std::fflush(stdout);
    }

    // Size once the merges due at the end of the import have run.
    const Timed compact = timed({archivist, "compact", "--data-dir", dirV.string()}, work / "compact.log");
    const uint64_t archiveBytes = dirBytes(dirV / "archive");
    const uint64_t indexBytes = dirBytes(dirV / "index");
    const std::string stats = runCapture({archivist, "stats", "--json", "--data-dir", dirV.string()});
    std::printf("compact (the due merges)     %.1f s, CPU %.1f s, exit %d; %llu parts, %llu hot files after\n",
                compact.seconds, compact.cpu, compact.status, (unsigned long long)jsonNumber(stats, "parts"),
                (unsigned long long)jsonNumber(stats, "hot_files"));
    std::printf("raw JSONL                    %.1f B/event\n", double(rawBytes) / double(n));
    std::printf("archive                      %.1f B/event = %.1f%% of raw JSONL\n", double(archiveBytes) / double(n),
                100.0 * double(archiveBytes) / double(rawBytes));
    std::printf("index                        %.1f B/event\n", double(indexBytes) / double(n));
    std::printf("archive + index              %.2f x raw JSONL (target <= 1.0)\n",
                double(archiveBytes + indexBytes) / double(rawBytes));
    std::fflush(stdout);

    if (taskset) {
        // One invocation, back to back: the rate pinned to one core, then to both.
        ImportRun one = runImport({"/usr/bin/taskset", "-c", "0"}, archivist, work / "data-1core", events, n, true,
                                  work / "import-1core.log");
        printImport("import (verify), 1 core", one, n, perCore);
        fs::remove_all(work / "data-1core");
        ImportRun two = runImport({"/usr/bin/taskset", "-c", "0,1"}, archivist, work / "data-2cores", events, n, true,
                                  work / "import-2cores.log");
        printImport("import (verify), 2 cores", two, n, limit);
        fs::remove_all(work / "data-2cores");
        std::printf("2 cores / 1 core             %.2f (target >= 1.7)\n", one.seconds / two.seconds);
        std::fflush(stdout);
    }

    if (reindex) {
        const Timed re = timed({archivist, "reindex", "--data-dir", dirV.string()}, work / "reindex.log");
        std::printf("reindex                      %.0f events/s (%.1f s, CPU %.1f us/event, peak RSS %.1f MB, exit %d)\n",
                    double(n) / re.seconds, re.seconds, 1e6 * re.cpu / double(n), double(re.max_rss_kib) / 1024.0,
                    re.status);
        if (!baseline.empty()) {
            // The same events through the build being compared with: a schema 2 data directory.
            const fs::path old = work / "data-baseline";
            fs::remove_all(old);
            const Timed imp = timed({baseline, "import", "--json", "--data-dir", old.string(), events.string()},
                                    work / "baseline-import.log");
            std::printf("baseline import (verify)     %.0f events/s  ratio %.2f (%.1f s, CPU %.1f us/event, peak RSS %.1f MB)\n",
                        double(n) / imp.seconds, double(n) / imp.seconds / limit, imp.seconds,
                        1e6 * imp.cpu / double(n), double(imp.max_rss_kib) / 1024.0);
            const Timed oldRe = timed({baseline, "reindex", "--data-dir", old.string()}, work / "baseline-reindex.log");
            std::printf("baseline reindex             %.0f events/s (%.1f s, CPU %.1f us/event, exit %d)\n",
                        double(n) / oldRe.seconds, oldRe.seconds, 1e6 * oldRe.cpu / double(n), oldRe.status);
            const Timed up = timed({archivist, "reindex", "--data-dir", old.string()}, work / "upgrade-reindex.log");
            std::printf("reindex of that directory    %.0f events/s (%.1f s, an upgrade from schema 2, exit %d)\n",
                        double(n) / up.seconds, up.seconds, up.status);
            std::printf("reindex new / baseline       %.2f (target >= 2)\n", oldRe.seconds / re.seconds);
            fs::remove_all(old);
        }
        std::fflush(stdout);
    }
    std::printf("load average at the end      %s\n", loadAverage().c_str());
    if (!keep) fs::remove_all(work);
    return verified.status == 0 ? 0 : 1;
}
