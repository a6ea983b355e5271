// fault_sweep EVENTS.jsonl WORK_DIR [--kinds enospc,eio,short] [--ops archive,sqlite] [--stride K]
//
// The fault-injection run of scripts/fault-injection.sh: one import of EVENTS.jsonl, with a fault
// at every write and fsync call site it makes — archive I/O through
// archive::FaultInjectingFileSystem (appends, syncs, truncates, directory syncs, renames) and every
// SQLite file through the FaultVfs shim registered as the default VFS (writes, syncs, truncates).
// A dry run counts the calls of each kind; then for each kind of call, each call number n (every
// K-th with --stride) and each fault kind, a fresh data directory is imported into with the n-th
// call failing and every later one too (a disk that stays full or broken). The import must end
// (stopped on the disk trouble, or failed) with its counts honest; then, faults cleared, the
// directory must open and verify with no problem (consistent), and the same import run again must
// leave exactly every event stored, verify still clean (complete after a retry).
// Prints one line per case and a summary; exit 0 only if every case held.
#include <QCoreApplication>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/archive/fault_injecting_file_system.h"
#include "core/engine/import_job.h"
#include "core/engine/maintenance.h"
#include "core/engine/store.h"
#include "core/observe/metrics.h"
#include "fault_vfs.h"

using namespace archivist;
namespace fs = std::filesystem;

namespace {

struct Site {
    std::string layer;  // "archive" or "sqlite"
    archive::FaultOp fsOp = archive::FaultOp::Append;
    testing::FaultVfs::Op vfsOp = testing::FaultVfs::Op::Write;
    std::string name;
};

engine::StoreOptions storeOptions(archive::FileSystem* fs) {
    engine::StoreOptions o;
    o.file_system = fs;
    o.verify_threads = 2;
    o.writer.group_events = 256;  // many commit groups: many call sites
    o.writer.group_ms = 20;
    o.writer.retry_initial_ms = 5;
    o.writer.retry_max_ms = 20;
    o.archive.seal_bytes = 256 << 10;  // seals (segment creation, directory syncs) happen too
    return o;
}

struct Outcome {
    bool opened = false;
    bool ok = false;     // the import ran to its end
    std::string error;   // or why it stopped
    uint64_t read = 0, stored = 0, not_stored = 0;
};

Outcome importOnce(const fs::path& dir, const std::string& events, archive::FileSystem* fs) {
    Outcome out;
    observe::MetricsRegistry metrics;
    auto store = engine::Store::open(dir, storeOptions(fs), metrics);
    if (!store) {
        out.error = "open: " + store.error().message;
        return out;
    }
    out.opened = true;
    (*store)->start();
    auto r = engine::runImport(**store, {events}, {}, nullptr, 1000, true);
    auto closed = (*store)->shutdown(std::chrono::milliseconds(600), std::chrono::milliseconds(300));
    if (!r) {
        out.error = r.error().message;
        return out;
    }
    engine::refreshImportCounts(*r, (*store)->sources());
    out.read = r->read;
    out.stored = r->stored;
    out.not_stored = r->not_stored;
    out.ok = r->stopped.empty() && closed.ok();
    if (!r->stopped.empty()) out.error = "stopped: " + r->stopped;
    else if (!closed) out.error = "shutdown: " + closed.error().message;
    return out;
}

struct Check {
    bool ok = false;
    uint64_t events = 0;
    std::string why;
};

Check verifyDir(const fs::path& dir) {
    Check c;
    observe::MetricsRegistry metrics;
    auto store = engine::Store::open(dir, storeOptions(nullptr), metrics);
    if (!store) {
        c.why = "reopen: " + store.error().message;
        return c;
    }
    auto v = engine::verifyStore(**store, {});
    if (!v) {
        c.why = "verify: " + v.error().message;
        return c;
    }
    c.events = v->indexed_events;
    c.ok = v->ok();
    if (!c.ok) c.why = "verify: " + (v->details.empty() ? std::string("problems") : v->details.front());
    return c;
}

uint64_t countLines(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    uint64_t n = 0;
    while (std::getline(in, line))
        if (!line.empty()) ++n;
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    if (argc < 3) {
        std::fprintf(stderr, "usage: fault_sweep EVENTS.jsonl WORK_DIR [--kinds enospc,eio,short] [--ops archive,sqlite] [--stride K]\n");
        return 2;
    }
    const std::string events = argv[1];
    const fs::path work = argv[2];
    std::string kinds = "enospc,eio,short", ops = "archive,sqlite";
    uint64_t stride = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--kinds") kinds = argv[i + 1];
        else if (a == "--ops") ops = argv[i + 1];
        else if (a == "--stride") stride = std::max<uint64_t>(1, std::strtoull(argv[i + 1], nullptr, 10));
    }
    if (!testing::FaultVfs::install()) {
        std::fprintf(stderr, "fault_sweep: cannot register the SQLite fault VFS\n");
        return 1;
    }
    const uint64_t total = countLines(events);
    fs::remove_all(work);
    fs::create_directories(work);

    // Dry run: how many calls of each kind one import makes.
    archive::FaultInjectingFileSystem faults;
    const uint64_t w0 = testing::FaultVfs::calls(testing::FaultVfs::Op::Write);
    const uint64_t s0 = testing::FaultVfs::calls(testing::FaultVfs::Op::Sync);
    const uint64_t t0 = testing::FaultVfs::calls(testing::FaultVfs::Op::Truncate);
    const Outcome dry = importOnce(work / "dry", events, &faults);
    if (!dry.ok || dry.stored != total) {
        std::fprintf(stderr, "fault_sweep: the dry run failed: %s\n", dry.error.c_str());
        return 1;
    }
    const auto fc = faults.counters();
    struct Count {
        Site site;
        uint64_t calls;
    };
    std::vector<Count> counts;
    auto add = [&](const char* layer, archive::FaultOp fo, testing::FaultVfs::Op vo, const char* name, uint64_t n) {
        if (ops.find(layer) == std::string::npos || n == 0) return;
        counts.push_back({Site{layer, fo, vo, name}, n});
    };
    add("archive", archive::FaultOp::Append, {}, "append", fc.appends);
    add("archive", archive::FaultOp::Sync, {}, "sync", fc.syncs);
    add("archive", archive::FaultOp::Truncate, {}, "truncate", fc.truncates);
    add("archive", archive::FaultOp::SyncDir, {}, "sync_dir", fc.dir_syncs);
    add("archive", archive::FaultOp::Rename, {}, "rename", fc.renames);
    add("sqlite", {}, testing::FaultVfs::Op::Write, "sqlite_write", testing::FaultVfs::calls(testing::FaultVfs::Op::Write) - w0);
    add("sqlite", {}, testing::FaultVfs::Op::Sync, "sqlite_sync", testing::FaultVfs::calls(testing::FaultVfs::Op::Sync) - s0);
    add("sqlite", {}, testing::FaultVfs::Op::Truncate, "sqlite_truncate",
        testing::FaultVfs::calls(testing::FaultVfs::Op::Truncate) - t0);
    std::printf("fault_sweep: %llu events; one import makes", (unsigned long long)total);
    for (const auto& c : counts) std::printf(" %s=%llu", c.site.name.c_str(), (unsigned long long)c.calls);
    std::printf("\n");
    std::fflush(stdout);

    uint64_t cases = 0, held = 0, stoppedCases = 0;
    const auto started = std::chrono::steady_clock::now();
    for (const auto& c : counts) {
        for (const std::string kind : {"enospc", "eio", "short"}) {
            if (kinds.find(kind) == std::string::npos) continue;
            if (kind == "short" && c.site.name != "append" && c.site.name != "sqlite_write") continue;
            for (uint64_t n = 1; n <= c.calls; n += stride) {
                const fs::path dir = work / "case";
                fs::remove_all(dir);
                archive::FaultInjectingFileSystem f;
                const auto fk = kind == "enospc" ? archive::FaultKind::NoSpace
                                : kind == "eio"  ? archive::FaultKind::IoError
                                                 : archive::FaultKind::ShortWrite;
                const auto vk = kind == "enospc" ? testing::FaultVfs::Kind::NoSpace
                                : kind == "eio"  ? testing::FaultVfs::Kind::IoError
                                                 : testing::FaultVfs::Kind::ShortWrite;
                if (c.site.layer == "archive") f.failAt(c.site.fsOp, n, fk, true);
                else testing::FaultVfs::failAt(c.site.vfsOp, n, vk, true);
                const Outcome o = importOnce(dir, events, &f);
                f.clearFaults();
                testing::FaultVfs::clear();
                ++cases;
                if (!o.ok) ++stoppedCases;
                std::string why;
                // Honest counts: what the import says it stored is what the archive holds.
                const Check first = verifyDir(dir);
                if (!first.ok) why = "after the fault: " + first.why;
                else if (o.opened && first.events < o.stored)
                    why = "the import reported " + std::to_string(o.stored) + " stored, the archive holds " +
                          std::to_string(first.events);
                Outcome retry;
                Check last;
                if (why.empty()) {
                    retry = importOnce(dir, events, nullptr);
                    last = verifyDir(dir);
                    if (!retry.ok) why = "the retry did not finish: " + retry.error;
                    else if (!last.ok) why = "after the retry: " + last.why;
                    else if (last.events != total)
                        why = "after the retry " + std::to_string(last.events) + " events of " + std::to_string(total);
                }
                const bool ok = why.empty();
                held += ok;
                std::printf("%s %-15s %-11s call %4llu: %s%s%s\n", ok ? "ok  " : "FAIL", c.site.name.c_str(), kind.c_str(),
                            (unsigned long long)n,
                            o.ok ? "import completed" : ("import ended: " + o.error.substr(0, 90)).c_str(),
                            ok ? "" : " — ", why.c_str());
                std::fflush(stdout);
            }
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("fault_sweep: %llu cases (%llu ended early on the fault), %llu held, %llu failed, %.0f s\n",
                (unsigned long long)cases, (unsigned long long)stoppedCases, (unsigned long long)held,
                (unsigned long long)(cases - held), secs);
    fs::remove_all(work);
    return held == cases ? 0 : 1;
}
