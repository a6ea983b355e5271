#include "app/cli.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QFileInfo>
#include <QLocale>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "app/signals.h"
#include "core/archive/quarantine.h"
#include "core/engine/config.h"
#include "core/engine/coverage.h"
#include "core/engine/data_dir.h"
#include "core/engine/db_health.h"
#include "core/engine/import_job.h"
#include "core/engine/maintenance.h"
#include "core/engine/relay_intelligence.h"
#include "core/engine/salvage.h"
#include "core/engine/research_stats.h"
#include "core/engine/snapshot.h"
#include "core/engine/store.h"
#include "core/index/index.h"
#include "core/observe/memory_stats.h"
#include "core/observe/metrics.h"
#include "core/observe/metrics_http_server.h"
#include "core/observe/sqlite_heap.h"
#include "core/net/relay_url.h"
#include "core/protocol/filter.h"
#include "core/protocol/hex.h"
#include "core/protocol/json.h"
#include "core/relays/relay_state_owner.h"
#include "core/relays/relay_state_store.h"

namespace archivist::app {

namespace {

using engine::Store;

const QStringList kCommands = {"import", "export", "verify", "reindex", "compact", "salvage", "stats", "snapshot", "coverage", "relays", "ship"};

void err(const QString& s) { std::fprintf(stderr, "%s\n", s.toLocal8Bit().constData()); }
void err(const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); }
void err(const char* s) { std::fprintf(stderr, "%s\n", s); }

QString humanCount(uint64_t n) { return QLocale::c().toString(qulonglong(n)).replace(',', QChar(0x2009)); }

QString humanBytes(uint64_t b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(b);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return QString::number(v, 'f', u ? 1 : 0) + ' ' + units[u];
}

// Usage errors print the message and the command's help, exit 2.
int usage(QCommandLineParser& parser, const QString& message) {
    err("archivist: " + message);
    err(parser.helpText());
    return kExitUsage;
}

// Parses a command's arguments; -1 means go on, anything else is the exit code (help printed,
// or a usage error reported).
int parseCommand(QCommandLineParser& p, const QStringList& args, bool positional_allowed) {
    if (!p.parse(args)) return usage(p, p.errorText());
    if (p.isSet("help")) {
        std::printf("%s", p.helpText().toLocal8Bit().constData());
        return kExitOk;
    }
    if (!positional_allowed && !p.positionalArguments().isEmpty())
        return usage(p, "unexpected argument '" + p.positionalArguments().first() + "'");
    return -1;
}

struct Common {
    QCommandLineOption dataDir{"data-dir", "Data directory (default: " +
                                               QString::fromStdString(engine::defaultDataDir().string()) + ").",
                               "dir"};
    QCommandLineOption metricsListen{"metrics-listen", "Serve /metrics, /healthz, /readyz on HOST:PORT.",
                                     "host:port"};
};

std::filesystem::path dataDirOf(const QCommandLineParser& p, const Common& c) {
    if (p.isSet(c.dataDir)) return std::filesystem::path(p.value(c.dataDir).toStdString());
    return engine::defaultDataDir();
}

bool startMetrics(const QCommandLineParser& p, const Common& c, observe::MetricsHttpServer& server, int& exitCode) {
    if (!p.isSet(c.metricsListen)) return true;
    return startMetricsServer(p.value(c.metricsListen), server, exitCode);
}

// config.json's process-wide settings (SQLite's heap limit), applied before a command opens its
// first database. An unreadable or invalid config.json is reported and returned.
Expected<void> applyProcessSettings(const std::filesystem::path& dir) {
    auto config = engine::loadConfig(engine::DataDirPaths(dir).config);
    if (!config) {
        err("archivist: " + config.error().message);
        return config.error();
    }
    observe::setSqliteHeapLimit(config->sqlite_heap_limit_bytes);
    return {};
}

// Opens the store (after applyProcessSettings), telling the operator what opening found: a
// damaged index set aside and rebuilt (with progress), frames re-indexed, a torn tail cut,
// damaged bytes quarantined.
Expected<std::unique_ptr<Store>> openStore(const std::filesystem::path& dir, engine::StoreOptions opts,
                                           observe::MetricsRegistry& metrics, engine::OpenReport* out = nullptr) {
    if (auto settings = applyProcessSettings(dir); !settings) return settings.error();
    engine::OpenReport local;
    engine::OpenReport& report = out ? *out : local;
    const bool tty = ::isatty(STDERR_FILENO);
    bool progressShown = false;
    opts.open_progress = [&](uint64_t done, uint64_t total) {
        if (!tty && done != total) return;
        progressShown = true;
        const QString line = QString("indexing the archive: %1 of %2 (%3%)")
                                 .arg(humanBytes(done), humanBytes(total))
                                 .arg(total ? 100.0 * double(done) / double(total) : 100.0, 0, 'f', 1);
        std::fprintf(stderr, tty ? "\r%s\x1b[K" : "%s\n", line.toLocal8Bit().constData());
    };
    auto store = Store::open(dir, opts, metrics, &report);
    if (progressShown && tty) std::fprintf(stderr, "\n");
    if (!store) {
        err("archivist: " + store.error().message);
        return store;
    }
    if (!report.index_note.empty()) err("archivist: " + report.index_note);
    if (report.recovery.frames_replayed || report.recovery.bytes_truncated)
        err(QString("recovered the archive: %1 frames (%2 events) re-indexed, %3 bytes of torn tail cut")
                .arg(report.recovery.frames_replayed)
                .arg(report.recovered_events)
                .arg(report.recovery.bytes_truncated));
    for (const auto& q : report.recovery.quarantined)
        err("archivist: damaged archive bytes quarantined: " + archive::describeEntry(q));
    if (report.quarantine_pending)
        err(QString("archivist: %1 quarantined region(s) of the archive await salvage: run `archivist salvage` "
                    "(`archivist verify` lists them)")
                .arg(report.quarantine_pending));
    return store;
}

}  // namespace

bool parseTime(const QString& s, int64_t& out) {
    bool ok = false;
    const qlonglong v = s.toLongLong(&ok);
    if (ok && v >= 0) {
        out = v;
        return true;
    }
    QDateTime dt = QDateTime::fromString(s, Qt::ISODate);
    if (!dt.isValid()) dt = QDateTime::fromString(s, "yyyy-MM-dd");
    if (!dt.isValid()) return false;
    if (dt.timeSpec() == Qt::LocalTime && !s.contains('T')) dt.setTimeSpec(Qt::UTC);
    out = dt.toSecsSinceEpoch();
    return out >= 0;
}

namespace {

// Why `path` cannot be imported ("" = it can). Regular files are read as files; pipes (FIFOs,
// `<(…)` process substitution) and character devices as streams, like standard input.
QString inputProblem(const QString& path) {
    const QByteArray p = path.toLocal8Bit();
    struct stat st {};
    if (::stat(p.constData(), &st) != 0) {
        if (errno == ENOENT) return "no such file";
        return QString::fromLocal8Bit(std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) return "is a directory (name the .jsonl or .jsonl.zst files inside it)";
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
        return "is not a regular file, a pipe or a character device";
    if (::access(p.constData(), R_OK) != 0) {
        if (errno == EACCES) return "permission denied (the file is not readable by this user)";
        return QString::fromLocal8Bit(std::strerror(errno));
    }
    return {};
}

int cmdImport(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription("Import events from JSONL or JSONL.zst files (or '-' for standard input).");
    Common c;
    QCommandLineOption json("json", "Print one JSON summary object on standard output.");
    QCommandLineOption noVerify("no-verify", "Skip BIP-340 signature checks (ids are still checked).");
    QCommandLineOption fts("fts", "Full-text search over content: on (default) or off; remembered by the index.",
                           "on|off");
    p.addOptions({c.dataDir, c.metricsListen, json, noVerify, fts});
    p.addHelpOption();
    p.addPositionalArgument("files", "Files to import; '-' reads standard input.", "FILE...|-");
    if (const int code = parseCommand(p, args, true); code >= 0) return code;
    const QStringList files = p.positionalArguments();
    if (files.isEmpty()) return usage(p, "import needs at least one FILE or '-'");
    std::vector<std::string> paths;
    for (const auto& f : files) {
        if (f != "-") {
            if (const QString why = inputProblem(f); !why.isEmpty()) {
                err("archivist: cannot import " + f + ": " + why);
                return kExitFailure;
            }
        }
        paths.push_back(f.toStdString());
    }
    const auto dir = dataDirOf(p, c);
    auto config = engine::loadConfig(engine::DataDirPaths(dir).config);
    if (!config) {
        err("archivist: " + config.error().message);
        return kExitUsage;
    }
    observe::MetricsRegistry metrics;
    observe::registerMemoryGauges(metrics);  // RSS, heap and SQLite's heap on --metrics-listen
    observe::MetricsHttpServer server(metrics);
    int code = kExitOk;
    if (!startMetrics(p, c, server, code)) return code;
    engine::StoreOptions opts;
    opts.policy.verify_signatures = !p.isSet(noVerify);
    opts.archive.min_free_bytes = config->min_free_bytes;
    if (p.isSet(fts)) {
        const QString mode = p.value(fts);
        if (mode != "on" && mode != "off") return usage(p, "--fts wants on or off, got '" + mode + "'");
        opts.index.fts = mode == "on";
    }
    auto store = openStore(dir, opts, metrics);
    if (!store) return kExitFailure;
    // Relay discovery from the imported events (docs/relay-directory.md): URLs go to relays.sqlite.
    std::string setAside;
    auto relayState = engine::openRelayDirectory((*store)->paths(), &setAside);
    if (!relayState) {
        err("archivist: " + relayState.error().message);
        return kExitFailure;
    }
    if (!setAside.empty()) err("archivist: " + setAside);
    relays::RelayStateOwner owner(std::move(*relayState), &metrics);
    engine::IntelligenceOptions io;
    io.auto_relays = false;
    io.first_cycle_ms = io.cycle_ms = int64_t(24) * 3600 * 1000;  // discovery only: no scoring during an import
    engine::RelayIntelligence discovery(io, owner, nullptr, nullptr, metrics);
    owner.start();
    discovery.start();
    (*store)->setEventObserver([&discovery](const protocol::Event& ev, ingest::SourceId) { discovery.observeStoredEvent(ev); });
    (*store)->start();
    server.setReady(true);
    const bool tty = ::isatty(STDERR_FILENO);
    auto progress = [&](const engine::ImportProgress& pr) {
        if (pr.writer_paused) server.setNotReady("intake paused: " + pr.writer_error);
        else server.setReady(true);
        if (pr.finished) return;
        const double rate = pr.seconds > 0 ? double(pr.stored + pr.duplicate + pr.invalid) / pr.seconds : 0;
        QString line = QString("import: %1 read, %2 stored, %3 duplicate, %4 invalid, %5 events/s")
                           .arg(humanCount(pr.read), humanCount(pr.stored), humanCount(pr.duplicate),
                                humanCount(pr.invalid), humanCount(uint64_t(rate)));
        if (pr.bytes_total)
            line += QString(", %1%").arg(100.0 * double(pr.bytes_read) / double(pr.bytes_total), 0, 'f', 1);
        if (pr.writer_paused) line += " — paused: " + QString::fromStdString(pr.writer_error);
        std::fprintf(stderr, tty ? "\r%s\x1b[K" : "%s\n", line.toLocal8Bit().constData());
    };
    // The import stops by itself when the disk is full or failing (a service would wait; a batch
    // command says so and can be run again), and on SIGINT/SIGTERM.
    auto result = engine::runImport(**store, paths, progress, &stopRequested(), 1000, true);
    if (tty) std::fprintf(stderr, "\n");
    if (result && !result->stopped.empty() && result->stopped != "cancelled")
        server.setNotReady("intake stopped: " + result->stopped);
    // Shutdown commits what is in flight, bounded so that a signal is answered within 5 s: after an
    // early stop, what is not verified within 1 s is let go (counted as not stored), and retries
    // of a failing commit end at 3 s.
    const bool early = !result || !result->stopped.empty();
    auto closed = (*store)->shutdown(std::chrono::milliseconds(3000),
                                     early ? std::chrono::milliseconds(1000) : std::chrono::milliseconds::max());
    discovery.stop();  // queues the URLs still pending …
    owner.stop();      // … and writes them
    if (!result) {
        err("archivist: import failed: " + result.error().message);
        return kExitFailure;
    }
    auto& r = *result;
    engine::refreshImportCounts(r, (*store)->sources());  // what the archive holds now, from this run
    if (p.isSet(json)) std::printf("%s\n", engine::importSummaryJson(r).c_str());
    QString summary = QString("imported %1 lines in %2 s: %3 stored, %4 duplicate, %5 invalid")
                          .arg(humanCount(r.read))
                          .arg(r.seconds, 0, 'f', 2)
                          .arg(humanCount(r.stored), humanCount(r.duplicate), humanCount(r.invalid));
    if (r.not_stored) summary += QString(", %1 NOT stored").arg(humanCount(r.not_stored));
    for (size_t i = 1; i < r.invalid_by_reason.size(); ++i)
        if (r.invalid_by_reason[i])
            summary += QString("\n  %1: %2").arg(protocol::rejectName(protocol::Reject(i))).arg(r.invalid_by_reason[i]);
    err(summary);
    if (!closed && r.stopped.empty()) err("archivist: " + closed.error().message);
    if (r.stopped == "cancelled" || stopRequested().load()) {
        err(QString("archivist: import interrupted: %1 events stored from this run, %2 lines read but not stored; "
                    "run the same import again to finish it (what is stored is skipped as duplicate)")
                .arg(humanCount(r.stored), humanCount(r.not_stored)));
        return kExitFailure;
    }
    if (!r.stopped.empty()) {
        err(QString("archivist: import stopped: %1\n"
                    "archivist: %2 events stored from this run, %3 lines read but not stored. Free space in the data "
                    "directory's file system (or fix the failing disk), then run the same import again: what is "
                    "stored is kept and skipped as duplicate.")
                .arg(QString::fromStdString(r.stopped), humanCount(r.stored), humanCount(r.not_stored)));
        return kExitFailure;
    }
    if (!closed) return kExitFailure;
    return kExitOk;
}

int cmdExport(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription("Write stored events as JSONL to standard output, oldest first.");
    Common c;
    QCommandLineOption filter("filter", "A NIP-01 filter object (or an array of filters, ORed).", "json");
    QCommandLineOption since("since", "Only events with created_at >= T (unix seconds or ISO 8601).", "T");
    QCommandLineOption until("until", "Only events with created_at <= T (unix seconds or ISO 8601).", "T");
    QCommandLineOption output("output", "Write to FILE instead of standard output.", "file");
    QCommandLineOption skipDamaged("skip-damaged",
                                   "Leave out events whose archive frame is damaged or quarantined, and say on "
                                   "standard error how many (without it, such a frame stops the export).");
    p.addOptions({c.dataDir, filter, since, until, output, skipDamaged});
    p.addHelpOption();
    if (const int code = parseCommand(p, args, false); code >= 0) return code;
    std::vector<protocol::Filter> filters;
    if (p.isSet(filter)) {
        const std::string text = p.value(filter).trimmed().toStdString();
        if (!text.empty() && text.front() == '[') {
            // An array of filter objects: split on the top-level objects by parsing each one.
            int depth = 0;
            size_t start = std::string::npos;
            bool inString = false, escape = false;
            for (size_t i = 0; i < text.size(); ++i) {
                const char ch = text[i];
                if (inString) {
                    if (escape) escape = false;
                    else if (ch == '\\') escape = true;
                    else if (ch == '"') inString = false;
                    continue;
                }
                if (ch == '"') inString = true;
                else if (ch == '{') { if (depth++ == 0) start = i; }
                else if (ch == '}' && --depth == 0) {
                    auto f = protocol::parseFilter(std::string_view(text).substr(start, i - start + 1));
                    if (!f) return usage(p, "bad --filter: " + QString::fromStdString(f.error().message));
                    filters.push_back(*f);
                }
            }
            if (filters.empty()) return usage(p, "bad --filter: no filter objects in the array");
        } else {
            auto f = protocol::parseFilter(text);
            if (!f) return usage(p, "bad --filter: " + QString::fromStdString(f.error().message));
            filters.push_back(*f);
        }
    }
    int64_t t = 0;
    if (p.isSet(since) || p.isSet(until)) {
        if (filters.empty()) filters.emplace_back();
        if (p.isSet(since)) {
            if (!parseTime(p.value(since), t)) return usage(p, "bad --since: " + p.value(since));
            for (auto& f : filters) f.since = f.since ? std::max(*f.since, t) : t;
        }
        if (p.isSet(until)) {
            if (!parseTime(p.value(until), t)) return usage(p, "bad --until: " + p.value(until));
            for (auto& f : filters) f.until = f.until ? std::min(*f.until, t) : t;
        }
    }
    std::FILE* out = stdout;
    if (p.isSet(output)) {
        out = std::fopen(p.value(output).toLocal8Bit().constData(), "wb");
        if (!out) {
            err("archivist: cannot write " + p.value(output));
            return kExitFailure;
        }
    }
    observe::MetricsRegistry metrics;
    auto store = openStore(dataDirOf(p, c), {}, metrics);
    if (!store) return kExitFailure;
    const bool tty = ::isatty(STDERR_FILENO);
    auto progress = [&](const engine::WorkProgress& w) {
        if (tty) std::fprintf(stderr, "\rexport: %llu / %llu events\x1b[K", (unsigned long long)w.done, (unsigned long long)w.total);
    };
    uint64_t skipped = 0;
    auto n = engine::exportEvents(**store, filters, out, progress, &stopRequested(), {},
                                  p.isSet(skipDamaged) ? &skipped : nullptr);
    if (tty) std::fprintf(stderr, "\n");
    if (out != stdout) std::fclose(out);
    if (!n) {
        err("archivist: export failed: " + n.error().message);
        return kExitFailure;
    }
    err(QString("exported %1 events").arg(humanCount(*n)));
    if (skipped)
        err(QString("archivist: skipped %1 events whose archive frames are damaged or quarantined "
                    "(run `archivist salvage` to recover what they hold)")
                .arg(humanCount(skipped)));
    return kExitOk;
}

int cmdVerify(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription("Check that archive and index agree. Exit 0 only if they do.");
    Common c;
    QCommandLineOption json("json", "Print the report as one JSON object on standard output.");
    p.addOptions({c.dataDir, json});
    p.addHelpOption();
    if (const int code = parseCommand(p, args, false); code >= 0) return code;
    observe::MetricsRegistry metrics;
    auto store = openStore(dataDirOf(p, c), {}, metrics);
    if (!store) return kExitFailure;
    const bool tty = ::isatty(STDERR_FILENO);
    auto progress = [&](const engine::WorkProgress& w) {
        if (tty) std::fprintf(stderr, "\rverify: %llu / %llu events\x1b[K", (unsigned long long)w.done, (unsigned long long)w.total);
    };
    auto rep = engine::verifyStore(**store, progress, &stopRequested());
    if (tty) std::fprintf(stderr, "\n");
    if (!rep) {
        err("archivist: verify failed: " + rep.error().message);
        return kExitFailure;
    }
    for (const auto& d : rep->details) err("  " + d);
    if (rep->problems > rep->details.size())
        err(QString("  … and %1 more").arg(rep->problems - rep->details.size()));
    for (const auto& n : rep->notes) err("  " + n);
    if (p.isSet(json))
        std::printf("{\"ok\":%s,\"archived_events\":%llu,\"indexed_events\":%llu,\"frames\":%llu,\"segments\":%llu,"
                    "\"problems\":%llu,\"damaged_regions\":%llu,\"quarantine_pending\":%llu,"
                    "\"quarantine_done\":%llu}\n",
                    rep->ok() ? "true" : "false", (unsigned long long)rep->archived_events,
                    (unsigned long long)rep->indexed_events, (unsigned long long)rep->frames,
                    (unsigned long long)rep->segments, (unsigned long long)rep->problems,
                    (unsigned long long)rep->damaged_regions, (unsigned long long)rep->quarantine_pending,
                    (unsigned long long)rep->quarantine_done);
    err(QString("verify: %1 — %2 archived events, %3 indexed, %4 frames in %5 segments, %6 problems")
            .arg(rep->ok() ? "OK" : "FAILED")
            .arg(humanCount(rep->archived_events), humanCount(rep->indexed_events), humanCount(rep->frames),
                 humanCount(rep->segments), humanCount(rep->problems)));
    return rep->ok() ? kExitOk : kExitFailure;
}

int cmdReindex(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription("Rebuild the index from the archive segments (also upgrades an index of an older "
                                "Archivist). Damaged archive bytes are quarantined (see `archivist salvage`). Which "
                                "relays carried each event is not in the archive: those records are replaced by the "
                                "source 'reindex'.");
    Common c;
    p.addOptions({c.dataDir});
    p.addHelpOption();
    if (const int code = parseCommand(p, args, false); code >= 0) return code;
    observe::MetricsRegistry metrics;
    engine::StoreOptions opts;
    opts.fresh_index = true;
    engine::OpenReport opened;
    auto store = openStore(dataDirOf(p, c), opts, metrics, &opened);
    if (!store) {
        err("archivist: reindex failed");
        return kExitFailure;
    }
    if (auto closed = (*store)->shutdown(); !closed) {
        err("archivist: " + closed.error().message);
        return kExitFailure;
    }
    // openStore has said what was built, re-indexed after damage and quarantined.
    return opened.damaged_lines || opened.quarantine_pending ? kExitFailure : kExitOk;
}

// `archivist salvage`: quarantine damaged archive bytes and store again what they still hold.
int cmdSalvage(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription(
        "Find damaged bytes in the archive, quarantine them (archive/quarantine/) and recover every intact frame "
        "and every readable event they hold (each re-verified: id and signature). Reports exactly what was lost. "
        "Exit 0 when no quarantine entry is left pending.");
    Common c;
    QCommandLineOption json("json", "Print the report as one JSON object on standard output.");
    QCommandLineOption acceptLoss("accept-loss",
                                  "Mark quarantine entries whose bytes cannot be read as accepted losses, so "
                                  "`verify` passes again.");
    p.addOptions({c.dataDir, json, acceptLoss});
    p.addHelpOption();
    if (const int code = parseCommand(p, args, false); code >= 0) return code;
    const auto dir = dataDirOf(p, c);
    auto config = engine::loadConfig(engine::DataDirPaths(dir).config);
    if (!config) {
        err("archivist: " + config.error().message);
        return kExitUsage;
    }
    observe::MetricsRegistry metrics;
    engine::StoreOptions opts;
    opts.archive.min_free_bytes = config->min_free_bytes;
    auto store = openStore(dir, opts, metrics);
    if (!store) return kExitFailure;
    const bool tty = ::isatty(STDERR_FILENO);
    auto progress = [&](const engine::WorkProgress& w) {
        const QString line =
            w.phase == "scan" ? QString("salvage: scanning %1 of %2").arg(humanBytes(w.done), humanBytes(w.total))
            : w.phase == "reindex" ? QString("salvage: rebuilding the index, %1 of %2").arg(humanBytes(w.done), humanBytes(w.total))
                                   : QString("salvage: recovering %1 of %2 quarantined regions").arg(w.done).arg(w.total);
        std::fprintf(stderr, tty ? "\r%s\x1b[K" : "%s\n", line.toLocal8Bit().constData());
    };
    engine::SalvageHooks hooks;
    hooks.rebuild_index = [&](const engine::ProgressFn& fn) -> Expected<void> {
        auto r = engine::reindexStore(**store, fn, &stopRequested());
        if (!r) return r.error();
        return {};
    };
    bool started = false;
    hooks.store_lines = [&](const std::string& source, std::vector<std::string>&& lines) -> Expected<engine::StoredCounts> {
        if (!started) {
            (*store)->start();
            started = true;
        }
        // Stops (like import) on a full or failing disk and on a signal.
        return engine::storeLines(**store, source, std::move(lines), &stopRequested(), true);
    };
    engine::SalvageOptions so;
    so.accept_loss = p.isSet(acceptLoss);
    auto rep = engine::salvageStore(**store, so, hooks, progress, &stopRequested());
    if (tty) std::fprintf(stderr, "\n");
    auto closed = (*store)->shutdown();
    if (!rep) {
        err("archivist: salvage failed: " + rep.error().message);
        return kExitFailure;
    }
    if (!closed) {
        err("archivist: " + closed.error().message);
        return kExitFailure;
    }
    for (const auto& line : engine::describeSalvage(*rep)) err("salvage: " + line);
    if (p.isSet(json)) std::printf("%s\n", engine::salvageJson(*rep).c_str());
    return rep->still_pending ? kExitFailure : kExitOk;
}

int cmdCompact(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription("Flush the index's hot files into parts and run the merges that are due to the "
                                "end (what a running engine does in the background). With --full, merge each "
                                "month into as few parts as the part size cap allows.");
    Common c;
    QCommandLineOption full("full", "Merge each month's parts into as few as possible.");
    p.addOptions({c.dataDir, full});
    p.addHelpOption();
    if (const int code = parseCommand(p, args, false); code >= 0) return code;
    observe::MetricsRegistry metrics;
    auto store = openStore(dataDirOf(p, c), {}, metrics);
    if (!store) return kExitFailure;
    auto idx = (*store)->index();
    auto before = engine::storeStats(**store);
    if (!before) {
        err("archivist: " + before.error().message);
        return kExitFailure;
    }
    const auto t0 = std::chrono::steady_clock::now();
    if (auto r = idx->freezeAll(); !r) {
        err("archivist: " + r.error().message);
        return kExitFailure;
    }
    while (!idx->waitIdle(std::chrono::seconds(1))) {
        if (stopRequested().load()) {
            err("archivist: compact interrupted; what was merged so far is kept");
            return kExitFailure;
        }
    }
    if (p.isSet(full))
        for (index::Bucket b : idx->partBuckets())
            if (auto r = idx->compactBucket(b); !r) {
                err("archivist: compact failed: " + r.error().message);
                return kExitFailure;
            }
    (*store)->indexWriter().refresh();  // lets go of the replaced files (removed with their last user)
    auto after = engine::storeStats(**store);
    if (!after) {
        err("archivist: " + after.error().message);
        return kExitFailure;
    }
    err(QString("compacted the index in %1 s: %2 parts and %3 hot files before, %4 parts in %5 months after; %6 → %7")
            .arg(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0, 'f', 1)
            .arg(before->parts)
            .arg(before->hot_files)
            .arg(after->parts)
            .arg(after->buckets)
            .arg(humanBytes(before->index_bytes), humanBytes(after->index_bytes)));
    return kExitOk;
}

bool parseKinds(const QString& text, std::vector<uint16_t>& out) {
    for (const QString& part : text.split(',', Qt::SkipEmptyParts)) {
        bool ok = false;
        const uint v = part.trimmed().toUInt(&ok);
        if (!ok || v > 65535) return false;
        out.push_back(uint16_t(v));
    }
    return !out.empty();
}

// --since/--until/--kinds of stats and snapshot (whole UTC days: engine/research_stats.h).
struct RangeOptions {
    QCommandLineOption since{"since", "From the start of the UTC day of T (unix seconds or ISO 8601).", "T"};
    QCommandLineOption until{"until", "To the end of the UTC day of T (unix seconds or ISO 8601).", "T"};
    QCommandLineOption kinds{"kinds", "Only these kinds (comma-separated).", "K,..."};
    // Fills `req`; returns a usage message on error.
    QString apply(const QCommandLineParser& p, engine::StatsRequest& req, bool with_kinds = true) const {
        int64_t t = 0;
        if (p.isSet(since)) {
            if (!parseTime(p.value(since), t)) return "bad --since: " + p.value(since);
            req.since = t;
        }
        if (p.isSet(until)) {
            if (!parseTime(p.value(until), t)) return "bad --until: " + p.value(until);
            req.until = t;
        }
        if (with_kinds && p.isSet(kinds) && !parseKinds(p.value(kinds), req.kinds)) return "bad --kinds: " + p.value(kinds);
        return {};
    }
};

int cmdStats(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription(
        "Show what the archive holds.\n\n"
        "With --by: research statistics from the index's rollups (the numbers of the console's Statistics "
        "dock):\n"
        "  day, week      events and distinct authors per UTC day / week (Monday)\n"
        "  kind           events per kind\n"
        "  relay          distinct events each source carried, novel (first to deliver) and duplicate\n"
        "  author         events per author (an exact scan of the range)\n"
        "  delay          first seen - created_at histogram (log2 bins; future-dated events apart)\n"
        "  replication    events by the number of sources that carried them\n"
        "  day-kind       events per day and kind (--top N kinds, the rest as \"other\")");
    Common c;
    RangeOptions range;
    QCommandLineOption json("json", "Print one JSON object on standard output (same as --format json).");
    QCommandLineOption by("by", "day, week, kind, relay, author, delay, replication or day-kind.", "WHAT");
    QCommandLineOption format("format", "table (default), csv or json.", "FORMAT", "table");
    QCommandLineOption top("top", "Only the N largest rows (kind, relay, author; day-kind: N kinds).", "N");
    QCommandLineOption basis("day-basis", "created (default: the event's created_at) or first-seen.", "BASIS", "created");
    p.addOptions({c.dataDir, json, by, range.since, range.until, range.kinds, format, top, basis});
    p.addHelpOption();
    if (const int code = parseCommand(p, args, false); code >= 0) return code;
    const bool research = p.isSet(by);
    if (!research && (p.isSet(range.since) || p.isSet(range.until) || p.isSet(range.kinds) || p.isSet(top) ||
                      p.isSet(format) || p.isSet(basis)))
        return usage(p, "--since, --until, --kinds, --top, --format and --day-basis go with --by");
    engine::StatsRequest req;
    std::string fmt = p.isSet(json) ? "json" : p.value(format).toStdString();
    if (research) {
        const auto b = engine::statsByFromName(p.value(by).toStdString());
        if (!b) return usage(p, "unknown --by " + p.value(by));
        req.by = *b;
        if (const QString e = range.apply(p, req); !e.isEmpty()) return usage(p, e);
        if (p.isSet(top)) {
            bool ok = false;
            const uint n = p.value(top).toUInt(&ok);
            if (!ok || n == 0) return usage(p, "bad --top: " + p.value(top));
            req.top = n;
        }
        if (fmt != "table" && fmt != "csv" && fmt != "json") return usage(p, "unknown --format " + p.value(format));
        if (p.value(basis) == "first-seen") req.basis = index::DayBasis::FirstSeen;
        else if (p.value(basis) != "created") return usage(p, "unknown --day-basis " + p.value(basis));
    }
    observe::MetricsRegistry metrics;
    auto store = openStore(dataDirOf(p, c), {}, metrics);
    if (!store) return kExitFailure;
    if (research) {
        const bool tty = isatty(STDERR_FILENO);
        auto t = engine::researchStats((*store)->index(), req, [&](uint64_t done, uint64_t total) {
            if (tty && total > 1) std::fprintf(stderr, "\rscanning index files %llu/%llu", (unsigned long long)done,
                                               (unsigned long long)total);
            if (tty && total > 1 && done == total) std::fprintf(stderr, "\n");
        });
        if (!t) {
            err("archivist: " + t.error().message);
            return t.error().code == "usage" ? kExitUsage : kExitFailure;
        }
        if (fmt == "json") std::printf("%s\n", engine::statsTableJson(*t, req).c_str());
        else if (fmt == "csv") std::fputs(engine::statsTableCsv(*t).c_str(), stdout);
        else std::fputs(engine::statsTableText(*t).c_str(), stdout);
        return kExitOk;
    }
    auto s = engine::storeStats(**store);
    if (!s) {
        err("archivist: " + s.error().message);
        return kExitFailure;
    }
    if (p.isSet(json)) {
        std::printf("%s\n", engine::statsJson(*s).c_str());
        return kExitOk;
    }
    std::printf("data directory  %s\n", (*store)->paths().root.c_str());
    std::printf("events          %s\n", humanCount(s->events).toLocal8Bit().constData());
    std::printf("segments        %u (%s frames)\n", s->segments, humanCount(s->frames).toLocal8Bit().constData());
    std::printf("archive bytes   %s\n", humanBytes(s->archive_bytes).toLocal8Bit().constData());
    std::printf("index bytes     %s%s\n", humanBytes(s->index_bytes).toLocal8Bit().constData(),
                s->fts ? " (with full-text search)" : "");
    std::printf("index files     %llu parts in %llu months, %llu hot files\n", (unsigned long long)s->parts,
                (unsigned long long)s->buckets, (unsigned long long)s->hot_files);
    if (s->events)
        std::printf("bytes/event     %.1f archive, %.1f index\n", double(s->archive_bytes) / double(s->events),
                    double(s->index_bytes) / double(s->events));
    if (!s->kinds.empty()) {
        std::printf("kinds\n");
        for (const auto& [kind, count] : s->kinds)
            std::printf("  %-6u %s\n", kind, humanCount(count).toLocal8Bit().constData());
    }
    return kExitOk;
}


// `archivist snapshot --output DIR [--since --until --kinds]`: verified segments + manifest.json
// for analysis tools (docs/analysis.md).
int cmdSnapshot(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription(
        "Write the archive (or the events of a range of whole UTC days and kinds) as archive segments "
        "that DuckDB, ClickHouse and pandas read directly, with manifest.json (counts per kind and day, "
        "created_at range, per-file SHA-256). Unfiltered, sealed segments are hard links and the open "
        "segment's committed frames are rewritten; filtered, new segments hold just the matching events. "
        "The manifest's counts equal `archivist stats` for the same range (docs/analysis.md).");
    Common c;
    RangeOptions range;
    QCommandLineOption output("output", "The directory to create (must be empty if it exists).", "DIR");
    QCommandLineOption json("json", "Print the manifest on standard output.");
    p.addOptions({c.dataDir, output, range.since, range.until, range.kinds, json});
    p.addHelpOption();
    if (const int code = parseCommand(p, args, false); code >= 0) return code;
    if (!p.isSet(output)) return usage(p, "--output DIR is required");
    engine::StatsRequest req;
    if (const QString e = range.apply(p, req); !e.isEmpty()) return usage(p, e);
    engine::SnapshotOptions o;
    o.output = p.value(output).toStdString();
    o.since = req.since;
    o.until = req.until;
    o.kinds = req.kinds;
    observe::MetricsRegistry metrics;
    auto store = openStore(dataDirOf(p, c), {}, metrics);
    if (!store) return kExitFailure;
    const bool tty = ::isatty(STDERR_FILENO);
    auto r = engine::snapshotStore(**store, o, [tty](const engine::WorkProgress& w) {
        if (!tty) return;
        std::fprintf(stderr, "\rsnapshot: %s of %s\x1b[K", humanBytes(w.done).toLocal8Bit().constData(),
                     humanBytes(w.total).toLocal8Bit().constData());
    });
    if (tty) std::fprintf(stderr, "\n");
    if (!r) {
        err("archivist: snapshot failed: " + r.error().message);
        return r.error().code == "usage" ? kExitUsage : kExitFailure;
    }
    if (p.isSet(json)) std::fputs(r->manifest.c_str(), stdout);
    size_t links = 0;
    for (const auto& f : r->files) links += f.linked;
    err(QString("snapshot: %1 events in %2 files (%3 hard links) in %4")
            .arg(humanCount(r->events))
            .arg(r->files.size())
            .arg(links)
            .arg(QString::fromStdString(o.output.string())));
    if (r->events != r->index_events) {
        err(QString("archivist: the archive holds %1 events for this range, the index counts %2 (%3 archived more than "
                    "once); run `archivist verify`")
                .arg(r->events)
                .arg(r->index_events)
                .arg(r->archived_duplicates));
        return kExitFailure;
    }
    return kExitOk;
}

// `archivist coverage [--since --until] [--json] [--missing]`: referenced ids held vs not.
int cmdCoverage(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription(
        "How complete is the archive: of the event ids that archived events reference in e and q tags, how "
        "many it holds, by month (UTC, created_at) and kind of the referencing events. Reads the events of "
        "the range. --missing prints the ids not held, one per line (a file for a backfill of just those).");
    Common c;
    RangeOptions range;
    QCommandLineOption json("json", "Print one JSON object on standard output.");
    QCommandLineOption missing("missing", "Print the referenced ids not held (64-hex, sorted), one per line.");
    p.addOptions({c.dataDir, range.since, range.until, json, missing});
    p.addHelpOption();
    if (const int code = parseCommand(p, args, false); code >= 0) return code;
    if (p.isSet(json) && p.isSet(missing)) return usage(p, "--json and --missing exclude each other");
    engine::StatsRequest req;
    if (const QString e = range.apply(p, req, false); !e.isEmpty()) return usage(p, e);
    observe::MetricsRegistry metrics;
    auto store = openStore(dataDirOf(p, c), {}, metrics);
    if (!store) return kExitFailure;
    const bool tty = ::isatty(STDERR_FILENO);
    engine::CoverageRequest q{req.since, req.until, p.isSet(missing)};
    auto r = engine::computeCoverage((*store)->index(), (*store)->paths().archive, q,
                                     [tty](const std::string& month, uint64_t done) {
                                         if (tty) std::fprintf(stderr, "\rcoverage: %s (%llu events)\x1b[K", month.c_str(),
                                                               (unsigned long long)done);
                                     });
    if (tty) std::fprintf(stderr, "\n");
    if (!r) {
        err("archivist: coverage failed: " + r.error().message);
        return r.error().code == "usage" ? kExitUsage : kExitFailure;
    }
    if (p.isSet(missing)) {
        for (const auto& id : r->missing) std::printf("%s\n", protocol::toHex(id).c_str());
        err(QString("coverage: %1 of %2 referenced ids held (%3%), %4 missing")
                .arg(r->held)
                .arg(r->referenced)
                .arg(100.0 * r->coverage(), 0, 'f', 1)
                .arg(r->missing.size()));
    } else if (p.isSet(json)) {
        std::printf("%s\n", engine::coverageJson(*r).c_str());
    } else {
        std::fputs(engine::coverageText(*r).c_str(), stdout);
    }
    return kExitOk;
}

// `archivist relays [--json] [...]` lists the relay directory; `archivist relays ACTION URL...` changes it.
// Works on relays.sqlite alone (SQLite's own locking makes it safe next to a running engine, which
// sees pins and blocks at its next optimizer cycle or restart).
int cmdRelays(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription(
        "List the relay directory with status and score, or change it.\n\n"
        "  archivist relays [--json] [--limit N] [--status S] [--source S] [--search TEXT]\n"
        "  archivist relays add|pin|unpin|block|unblock URL...");
    Common c;
    QCommandLineOption json("json", "Print one JSON object on standard output.");
    QCommandLineOption limit("limit", "List at most N relays (default 200, at most 5000).", "N", "200");
    QCommandLineOption status("status", "Only relays with this status (candidate, connected, backing_off, failing, refused, restricted, blocked, stopped, …).", "S");
    QCommandLineOption source("source", "Only relays from this source (seed, user, cli, config, nip65, kind3, nip66, hint).", "S");
    QCommandLineOption search("search", "Only relays whose URL contains TEXT.", "TEXT");
    QCommandLineOption order("order", "score (best first, default), url or last_seen.", "ORDER", "score");
    p.addOptions({c.dataDir, json, limit, status, source, search, order});
    p.addPositionalArgument("action", "add, pin, unpin, block or unblock (none: list)", "[action]");
    p.addPositionalArgument("urls", "relay URLs (ws:// or wss://)", "[URL...]");
    p.addHelpOption();
    if (const int code = parseCommand(p, args, true); code >= 0) return code;
    const auto dir = dataDirOf(p, c);
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        err("archivist: no data directory at " + dir.string());
        return kExitFailure;
    }
    const engine::DataDirPaths paths(dir);
    const QStringList pos = p.positionalArguments();
    const QString action = pos.value(0);
    static const QStringList kActions = {"add", "pin", "unpin", "block", "unblock"};
    if (!action.isEmpty() && !kActions.contains(action)) return usage(p, "unknown action '" + action + "'");
    if (!action.isEmpty() && pos.size() < 2) return usage(p, action + " needs at least one relay URL");
    if (!applyProcessSettings(dir)) return kExitFailure;
    auto store = relays::RelayStateStore::open(paths.relays);
    if (!store) {
        err("archivist: " + store.error().message);
        return kExitFailure;
    }
    const int64_t now = QDateTime::currentMSecsSinceEpoch();
    if (!action.isEmpty()) {
        int failures = 0;
        for (int i = 1; i < pos.size(); ++i) {
            auto url = net::normalizeRelayUrl(pos[i].toStdString());
            if (!url) {
                err("archivist: " + pos[i] + ": " + QString::fromStdString(url.error().message));
                ++failures;
                continue;
            }
            const std::string& u = url->text;
            auto& dir = (*store)->directory();
            Expected<void> r;
            if (action == "add" || action == "pin") {
                auto up = dir.upsert(u, "user", now);
                if (!up) r = toError(up.error());
            }
            if (r && (action == "pin" || action == "unpin"))
                if (auto pinned = dir.setPinned(u, action == "pin"); !pinned) r = toError(pinned.error());
            if (r && (action == "block" || action == "unblock")) {
                auto known = dir.find(u);
                if (!known) r = toError(known.error());
                else if (!*known && action == "block") {
                    auto up = dir.upsert(u, "user", now);
                    if (!up) r = toError(up.error());
                }
                if (r && known && (*known || action == "block")) {
                    if (auto b = dir.setBlocked(u, action == "block"); !b) r = toError(b.error());
                } else if (r && known && !*known) {
                    r = makeError("unknown", "not in the directory");
                }
            }
            if (!r) {
                err("archivist: " + QString::fromStdString(u) + ": " + QString::fromStdString(r.error().message));
                ++failures;
                continue;
            }
            const char* done = action == "add"     ? "added"
                               : action == "pin"   ? "pinned"
                               : action == "unpin" ? "unpinned"
                               : action == "block" ? "blocked"
                                                   : "unblocked";
            std::printf("%s %s\n", done, u.c_str());
        }
        return failures ? kExitFailure : kExitOk;
    }
    bool ok = false;
    const int n = p.value(limit).toInt(&ok);
    if (!ok || n < 1 || n > 5000) return usage(p, "--limit wants a number from 1 to 5000");
    relays::DirectoryQuery q;
    q.limit = size_t(n);
    if (p.isSet(status)) {
        const auto st = observe::relayStateFromName(p.value(status).toStdString());
        if (st == observe::RelayState::Count) return usage(p, "--status wants a relay state (candidate, connected, backing_off, …), got '" + p.value(status) + "'");
        q.status = st;
    }
    q.source = p.value(source).toStdString();
    q.text = p.value(search).toStdString();
    q.now_ms = now;
    const QString o = p.value(order);
    if (o == "score") q.order = relays::DirectoryQuery::Order::Score;
    else if (o == "url") q.order = relays::DirectoryQuery::Order::Url;
    else if (o == "last_seen") q.order = relays::DirectoryQuery::Order::LastSeen;
    else return usage(p, "--order wants score, url or last_seen");
    auto page = (*store)->directory().page(q);
    if (!page) {
        err("archivist: " + page.error().message);
        return kExitFailure;
    }
    if (p.isSet(json)) {
        namespace pj = protocol::json;
        std::string out = "{\"total\":" + std::to_string(page->total_matching) + ",\"relays\":[";
        auto num = [](double d) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.4g", d);
            return std::string(buf);
        };
        bool first = true;
        for (const auto& row : page->rows) {
            const auto& r = row.record;
            if (!first) out += ',';
            first = false;
            out += "{\"url\":";
            pj::appendQuoted(out, r.url);
            out += ",\"source\":";
            pj::appendQuoted(out, r.source);
            out += ",\"status\":";
            pj::appendQuoted(out, observe::relayStateName(r.status));
            out += ",\"score\":" + (row.score ? num(*row.score) : std::string("null"));
            out += ",\"pinned\":" + std::string(r.pinned ? "true" : "false");
            out += ",\"blocked\":" + std::string(r.blocked ? "true" : "false");
            out += ",\"consecutive_failures\":" + std::to_string(r.consecutive_failures);
            out += ",\"last_error\":";
            pj::appendQuoted(out, r.last_error);
            out += ",\"uptime_24h\":" + (row.uptime_24h >= 0 ? num(row.uptime_24h) : std::string("null"));
            out += ",\"uptime_7d\":" + (row.uptime_7d >= 0 ? num(row.uptime_7d) : std::string("null"));
            out += ",\"first_seen_ms\":" + std::to_string(r.first_seen_ms);
            out += ",\"last_seen_ms\":" + std::to_string(r.last_seen_ms);
            // How its history is kept complete: NIP-77 support judged by behaviour (why unusable,
            // when it is tried again), the last reconciliation of the whole history, the events
            // it found missing that predate the pass before it ("late"), and recorded gaps.
            out += ",\"sync\":{\"method\":";
            pj::appendQuoted(out, r.negentropy.support == observe::NegentropySupport::Unusable ? "req" : "negentropy");
            out += ",\"negentropy\":";
            pj::appendQuoted(out, observe::negentropySupportName(r.negentropy.support));
            out += ",\"negentropy_reason\":";
            pj::appendQuoted(out, r.negentropy.reason);
            out += ",\"negentropy_retry_after_ms\":" + std::to_string(r.negentropy.retry_after_ms);
            out += ",\"reconciled_ms\":" + std::to_string(r.reconciled_ms);
            out += ",\"late_events\":" + std::to_string(r.late_events);
            auto gaps = (*store)->sync().gapCount(r.url);
            out += ",\"gaps\":" + (gaps ? std::to_string(*gaps) : std::string("null")) + "}";
            // Rejections by reason over the statistics window (8 days): validation ("bad_signature")
            // and subscription discipline ("unknown_subscription", "outside_filter").
            out += ",\"rejected\":{";
            bool firstReason = true;
            for (const auto& [reason, count] : row.rejected) {
                if (!firstReason) out += ',';
                firstReason = false;
                pj::appendQuoted(out, reason);
                out += ":" + std::to_string(count);
            }
            out += "}}";
        }
        out += "]}";
        std::printf("%s\n", out.c_str());
        return kExitOk;
    }
    std::printf("%-48s %-9s %-11s %6s %7s %s\n", "URL", "SOURCE", "STATUS", "SCORE", "UPTIME", "FLAGS");
    for (const auto& row : page->rows) {
        const auto& r = row.record;
        const std::string score = row.score ? QString::number(*row.score, 'f', 2).toStdString() : "-";
        const std::string up = row.uptime_24h >= 0 ? QString::number(row.uptime_24h * 100, 'f', 0).toStdString() + "%" : "-";
        std::string flags;
        if (r.pinned) flags += "pinned ";
        if (r.blocked) flags += "blocked ";
        if (r.consecutive_failures) flags += std::to_string(r.consecutive_failures) + " failures ";
        std::printf("%-48s %-9s %-11s %6s %7s %s\n", r.url.c_str(), r.source.c_str(), observe::relayStateName(r.status), score.c_str(),
                    up.c_str(), flags.c_str());
    }
    std::printf("%zu of %llu relays\n", page->rows.size(), static_cast<unsigned long long>(page->total_matching));
    return kExitOk;
}

}  // namespace

bool isCommand(const QString& word) { return kCommands.contains(word); }

bool startMetricsServer(const QString& spec, observe::MetricsHttpServer& server, int& exitCode) {
    const int colon = spec.lastIndexOf(':');
    bool ok = false;
    const uint port = colon > 0 ? spec.mid(colon + 1).toUInt(&ok) : 0;
    if (colon <= 0 || !ok || port > 65535) {
        err("archivist: --metrics-listen wants HOST:PORT, got '" + spec + "'");
        exitCode = kExitUsage;
        return false;
    }
    QString host = spec.left(colon);
    if (host.startsWith('[') && host.endsWith(']')) host = host.mid(1, host.size() - 2);
    auto bound = server.start(host.toStdString(), uint16_t(port));
    if (!bound) {
        err("archivist: cannot serve metrics on " + spec + ": " + QString::fromStdString(bound.error().message));
        exitCode = kExitFailure;
        return false;
    }
    err(QString("metrics on http://%1:%2/metrics").arg(host).arg(*bound));
    return true;
}

int runCommand(const QStringList& args) {
    const QString cmd = args.value(0);
    // QCommandLineParser expects argv[0] first: keep "archivist <cmd>" as the program name.
    QStringList rest = args;
    rest[0] = "archivist " + cmd;
    if (cmd == "import") return cmdImport(rest);
    if (cmd == "export") return cmdExport(rest);
    if (cmd == "verify") return cmdVerify(rest);
    if (cmd == "reindex") return cmdReindex(rest);
    if (cmd == "salvage") return cmdSalvage(rest);
    if (cmd == "compact") return cmdCompact(rest);
    if (cmd == "stats") return cmdStats(rest);
    if (cmd == "snapshot") return cmdSnapshot(rest);
    if (cmd == "coverage") return cmdCoverage(rest);
    if (cmd == "relays") return cmdRelays(rest);
    if (cmd == "ship") return cmdShip(rest);
    err("archivist: unknown command " + cmd);
    return kExitUsage;
}

}  // namespace archivist::app
