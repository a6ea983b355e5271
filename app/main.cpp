// Composition root: parses the command line, then runs a command, the headless engine or the console.
#include <malloc.h>
#include <sys/resource.h>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QFileInfo>
#include <QProcess>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <memory>

#include "app/cli.h"
#include "app/signals.h"
#include "core/engine/data_dir.h"
#include "core/engine/config.h"
#include "core/engine/engine_impl.h"
#include "core/net/address_policy.h"
#include "core/net/relay_url.h"
#include "core/observe/log_ring.h"
#include "core/observe/memory_stats.h"
#include "core/observe/metrics.h"
#include "core/observe/metrics_http_server.h"
#include "core/observe/sqlite_heap.h"

#ifdef ARCHIVIST_HAVE_UI
#include <QApplication>
#include <QProgressDialog>
#include <QSettings>

#include "ui/main_window.h"
#include "ui/start_failure.h"
#include "ui/translations.h"
#endif

using namespace archivist;

namespace {

struct RunOptions {
    bool headless = false;
    std::filesystem::path data_dir;
    QString metrics_listen;
    double duration_s = 0;        // 0 = until a signal
    double exit_when_idle_s = 0;  // 0 = never
    std::vector<std::string> relays;
    std::vector<std::string> allow_addresses;
    bool no_seed_relays = false;
    bool no_backfill = false;
    QString clickhouse_url;       // overrides config.json clickhouse.url
    bool rebuild_index = false;  // start a live index rebuild right away (as File → Rebuild index…)
    QString screenshot_dir;    // developer aid for docs: save each panel as PNG after screenshot_after_s
    QStringList import_files;  // --import: started once the engine runs
    double screenshot_after_s = 10;
    // `archivist fetch-ids FILE`: the engine runs with relays opened for these ids only, then exits.
    QString fetch_ids_file;
    bool fetch_ids_json = false;
};

int usageError(const QCommandLineParser& p, const QString& msg) {
    std::fprintf(stderr, "archivist: %s\n%s", msg.toLocal8Bit().constData(), p.helpText().toLocal8Bit().constData());
    return app::kExitUsage;
}

// --relay and --allow-address values into `out`: "" or what is wrong.
QString takeRelayOptions(const QCommandLineParser& p, const QCommandLineOption& relay, const QCommandLineOption& allow,
                         RunOptions& out) {
    for (const auto& r : p.values(relay)) {
        if (auto u = net::normalizeRelayUrl(r.toStdString()); !u)
            return "--relay " + r + ": " + QString::fromStdString(u.error().message);
        out.relays.push_back(r.toStdString());
    }
    for (const auto& a : p.values(allow)) {
        if (auto c = net::AddressPolicy::parseCidr(a.toStdString()); !c)
            return "--allow-address " + a + ": " + QString::fromStdString(c.error().message);
        out.allow_addresses.push_back(a.toStdString());
    }
    return {};
}

// Parses the options of the engine modes (console and --headless).
int parseRunOptions(const QStringList& args, RunOptions& out, bool& handled) {
    handled = false;
    QCommandLineParser p;
    p.setApplicationDescription(
        "Archivist — a Nostr archive with an operator console.\n\n"
        "Commands:\n"
        "  import [--json] [--no-verify] FILE...|-   import JSONL / JSONL.zst events\n"
        "  export [--filter JSON] [--since T] [--until T] [--skip-damaged]   write events as JSONL, oldest first\n"
        "  verify                                    check that archive and index agree\n"
        "  reindex                                   rebuild the index from the archive\n"
        "  salvage [--accept-loss]                   quarantine damaged archive bytes, recover what they hold\n"
        "  compact [--full]                          flush and merge the index's files now\n"
        "  stats [--json] [--by day|week|kind|relay|author|delay|replication|day-kind]   what the archive holds\n"
        "  snapshot --output DIR                     verified segments + manifest for DuckDB/ClickHouse/pandas\n"
        "  coverage [--missing]                      how many referenced event ids the archive holds\n"
        "  fetch-ids [--relay URL…] FILE             fetch exactly these event ids from the relays\n"
        "  relays [--json] | relays add|pin|unpin|block|unblock URL...   the relay directory\n"
        "  ship [--since all|TIME|SEG:OFF]           ship the archive into ClickHouse (docs/clickhouse.md)\n"
        "Run `archivist COMMAND --help` for a command's options.\n\n"
        "Without a command: the console (or the engine alone with --headless).");
    p.addHelpOption();
    p.addVersionOption();
    QCommandLineOption headless("headless", "Run the engine without a window.");
    QCommandLineOption dataDir("data-dir",
                               "Data directory (default: " + QString::fromStdString(engine::defaultDataDir().string()) + ").",
                               "dir");
    QCommandLineOption metrics("metrics-listen", "Serve /metrics, /healthz and /readyz on HOST:PORT.", "host:port");
    QCommandLineOption duration("duration", "Stop cleanly after S seconds.", "S");
    QCommandLineOption relay("relay", "Connect to this relay (repeatable; ws:// or wss://).", "url");
    QCommandLineOption allow("allow-address",
                             "Allow connections to this address range although the address policy refuses it "
                             "(repeatable), e.g. 127.0.0.1/32 for a relay on this machine.",
                             "cidr");
    QCommandLineOption idle("exit-when-idle",
                            "Exit 0 once every relay's backfill is done and nothing new was stored for S seconds.",
                            "S");
    QCommandLineOption noSeeds("no-seed-relays", "Connect only to the relays named (--relay, config, pinned): no built-in seed relays and no relays the optimizer chooses.");
    QCommandLineOption noBackfill("no-backfill", "Only follow new events; do not fetch relays' history.");
    QCommandLineOption clickhouse("clickhouse-url",
                                  "Ship the archive into ClickHouse at this URL (overrides config.json clickhouse.url; "
                                  "docs/clickhouse.md).",
                                  "url");
    QCommandLineOption rebuild("rebuild-index",
                               "Rebuild the index from the archive while the engine runs (as File → Rebuild index…); "
                               "progress and the result go to standard error.");
    QCommandLineOption shots("screenshot-panels",
                             "Console: after --screenshot-after S seconds, save a PNG of every panel into DIR and "
                             "exit (used by scripts/screenshot.sh for the documentation).",
                             "dir");
    QCommandLineOption shotsAfter("screenshot-after", "Seconds before --screenshot-panels takes its pictures.", "S");
    QCommandLineOption importAtStart("import",
                                     "Import FILE (JSONL, .zst) as File → Import does, 2 s after the console opens "
                                     "(at once with --headless); bench/ui_lag.sh measures the console during it.",
                                     "file");
    p.addOptions({headless, dataDir, metrics, duration, relay, allow, idle, noSeeds, noBackfill, rebuild, clickhouse, shots,
                  shotsAfter, importAtStart});
    if (!p.parse(args)) return usageError(p, p.errorText());
    if (p.isSet("help")) {
        std::printf("%s", p.helpText().toLocal8Bit().constData());
        handled = true;
        return app::kExitOk;
    }
    if (p.isSet("version")) {
        std::printf("archivist %s\n", ARCHIVIST_VERSION);
        handled = true;
        return app::kExitOk;
    }
    if (!p.positionalArguments().isEmpty())
        return usageError(p, "unknown command '" + p.positionalArguments().first() + "'");
    out.headless = p.isSet(headless);
    out.data_dir = p.isSet(dataDir) ? std::filesystem::path(p.value(dataDir).toStdString()) : engine::defaultDataDir();
    out.metrics_listen = p.value(metrics);
    if (p.isSet(duration)) {
        bool ok = false;
        out.duration_s = p.value(duration).toDouble(&ok);
        if (!ok || out.duration_s <= 0) return usageError(p, "--duration wants a positive number of seconds");
    }
    if (p.isSet(idle)) {
        bool ok = false;
        out.exit_when_idle_s = p.value(idle).toDouble(&ok);
        if (!ok || out.exit_when_idle_s <= 0) return usageError(p, "--exit-when-idle wants a positive number of seconds");
    }
    if (const QString e = takeRelayOptions(p, relay, allow, out); !e.isEmpty()) return usageError(p, e);
    out.screenshot_dir = p.value(shots);
    out.import_files = p.values(importAtStart);
    if (p.isSet(shotsAfter)) {
        bool ok = false;
        out.screenshot_after_s = p.value(shotsAfter).toDouble(&ok);
        if (!ok || out.screenshot_after_s < 0) return usageError(p, "--screenshot-after wants a number of seconds");
    }
    out.no_seed_relays = p.isSet(noSeeds);
    out.no_backfill = p.isSet(noBackfill);
    out.clickhouse_url = p.value(clickhouse);
    out.rebuild_index = p.isSet(rebuild);
    return -1;
}

// `archivist fetch-ids [--data-dir D] [--relay URL…] [--allow-address CIDR…] [--no-seed-relays] [--json] FILE`.
int parseFetchIdsOptions(const QStringList& args, RunOptions& out, bool& handled) {
    handled = false;
    QCommandLineParser p;
    p.setApplicationDescription(
        "Fetches exactly the events whose ids FILE lists (one 64-hex id per line, as `archivist coverage --missing` "
        "writes them) from the relays — those named with --relay, in config.json and pinned or added in the "
        "directory, and the seed relays unless --no-seed-relays — with REQ {\"ids\"} in batches within each "
        "relay's limits, and stores what comes back through the verified pipeline. Ids the archive holds are "
        "skipped. Reports how many were found, and per relay how many it returned. Ctrl-C stops it cleanly.");
    p.addHelpOption();
    QCommandLineOption dataDir("data-dir",
                               "Data directory (default: " + QString::fromStdString(engine::defaultDataDir().string()) + ").",
                               "dir");
    QCommandLineOption relay("relay", "Ask this relay (repeatable; ws:// or wss://).", "url");
    QCommandLineOption allow("allow-address", "Allow connections to this address range (repeatable), e.g. 127.0.0.1/32.",
                             "cidr");
    QCommandLineOption noSeeds("no-seed-relays", "Ask only the relays named (--relay, config, pinned).");
    QCommandLineOption json("json", "Print the report as one JSON object on standard output.");
    p.addOptions({dataDir, relay, allow, noSeeds, json});
    p.addPositionalArgument("FILE", "The ids, one per line.");
    if (!p.parse(args)) return usageError(p, p.errorText());
    if (p.isSet("help")) {
        std::printf("%s", p.helpText().toLocal8Bit().constData());
        handled = true;
        return app::kExitOk;
    }
    if (p.positionalArguments().size() != 1) return usageError(p, "fetch-ids wants exactly one FILE");
    out.headless = true;
    out.data_dir = p.isSet(dataDir) ? std::filesystem::path(p.value(dataDir).toStdString()) : engine::defaultDataDir();
    if (const QString e = takeRelayOptions(p, relay, allow, out); !e.isEmpty()) return usageError(p, e);
    out.no_seed_relays = p.isSet(noSeeds);
    out.fetch_ids_file = p.positionalArguments().first();
    out.fetch_ids_json = p.isSet(json);
    if (!QFileInfo(out.fetch_ids_file).isReadable()) return usageError(p, "cannot read " + out.fetch_ids_file);
    return -1;
}

// Runs the engine until a signal, --duration, or (console) the window closes.
int runEngine(int argc, char** argv, const RunOptions& opts) {
    observe::MetricsRegistry metrics;
    observe::registerMemoryGauges(metrics);
    observe::LogRing logRing;
    observe::MetricsHttpServer server(metrics);

#ifdef ARCHIVIST_HAVE_UI
    std::unique_ptr<QCoreApplication> qapp;
    if (opts.headless) qapp = std::make_unique<QCoreApplication>(argc, argv);
    else qapp = std::make_unique<QApplication>(argc, argv);
#else
    if (!opts.headless) {
        std::fprintf(stderr, "archivist: built without the console; use --headless\n");
        return app::kExitUsage;
    }
    auto qapp = std::make_unique<QCoreApplication>(argc, argv);
#endif
    observe::installLogRingHandler(&logRing);
    auto config = engine::loadConfig(engine::DataDirPaths(opts.data_dir).config);
    if (!config) {
        std::fprintf(stderr, "archivist: %s\n", config.error().message.c_str());
        observe::uninstallLogRingHandler();
        return app::kExitUsage;
    }
    const QString metricsListen =
        opts.metrics_listen.isEmpty() ? QString::fromStdString(config->metrics_listen) : opts.metrics_listen;
    int metricsExit = 0;
    if (!metricsListen.isEmpty() && !app::startMetricsServer(metricsListen, server, metricsExit)) {
        observe::uninstallLogRingHandler();
        return metricsExit;
    }

    engine::EngineOptions eo;
    eo.config = *config;
    eo.config.metrics_listen = metricsListen.toStdString();  // what runs (Settings shows it)
    eo.cli_relays = opts.relays;
    for (const auto& a : opts.allow_addresses) eo.config.allow_addresses.push_back(a);
    if (opts.no_seed_relays) {
        // Only the relays named (flags, config, directory pins): no seeds, no optimizer-chosen relays.
        eo.config.seed_relays = false;
        eo.config.auto_relays = false;
    }
    if (opts.no_backfill) eo.config.backfill = false;
    const bool fetchIds = !opts.fetch_ids_file.isEmpty();
    if (fetchIds) {
        eo.relay_sync = false;         // the relays are asked for these ids only
        eo.config.auto_relays = false;  // no optimizer swaps in the middle
        eo.config.clickhouse.url.clear();
    }
    if (!opts.clickhouse_url.isEmpty()) {
        eo.config.clickhouse.url = opts.clickhouse_url.toStdString();
        if (auto why = engine::checkClickHouseConfig(eo.config.clickhouse); !why.empty()) {
            std::fprintf(stderr, "archivist: --clickhouse-url: %s\n", why.c_str());
            observe::uninstallLogRingHandler();
            return app::kExitUsage;
        }
    }
    // Opening rebuilds a damaged or missing index from the archive before intake starts: say how far.
    int64_t lastOpenReport = 0;
#ifdef ARCHIVIST_HAVE_UI
    std::unique_ptr<QProgressDialog> openDialog;
#endif
    eo.open_progress = [&](uint64_t done, uint64_t total) {
        const double pct = total ? 100.0 * double(done) / double(total) : 100.0;
#ifdef ARCHIVIST_HAVE_UI
        if (!opts.headless) {
            if (!openDialog) {
                openDialog = std::make_unique<QProgressDialog>(
                    QCoreApplication::translate("main", "Indexing the archive before archiving starts…"), QString(), 0,
                    1000);
                openDialog->setWindowTitle(QCoreApplication::translate("main", "Opening the archive"));
                openDialog->setMinimumDuration(0);
            }
            openDialog->setValue(int(pct * 10));
            QCoreApplication::processEvents();
            return;
        }
#endif
        const int64_t now = QDateTime::currentMSecsSinceEpoch();
        if (now - lastOpenReport < 2000 && done != total) return;
        lastOpenReport = now;
        std::fprintf(stderr, "archivist: indexing the archive before archiving starts: %.1f%% (%.1f of %.1f MiB)\n", pct,
                     double(done) / (1 << 20), double(total) / (1 << 20));
    };
    auto engine = engine::EngineImpl::open(opts.data_dir, eo, metrics);
#ifdef ARCHIVIST_HAVE_UI
    openDialog.reset();
#endif
    if (!engine) {
        std::fprintf(stderr, "archivist: %s\n", engine.error().message.c_str());
#ifdef ARCHIVIST_HAVE_UI
        // Started from a menu there is no terminal: say it in a window too.
        if (!opts.headless) {
            ui::installTranslations(*qapp, QSettings().value("ui/language").toString());
            ui::showStartFailure(QString::fromStdString(opts.data_dir.string()), QString::fromStdString(engine.error().code),
                                 QString::fromStdString(engine.error().message));
        }
#endif
        observe::uninstallLogRingHandler();
        return app::kExitFailure;
    }
    server.setReady(true);
    // /readyz: not ready, with the reason, while the writer is paused (disk full, below the
    // low-disk threshold, I/O errors); intake resumes by itself once writing succeeds again.
    QObject::connect(engine->get(), &engine::Engine::snapshotReady, [&server](const engine::EngineSnapshot& s) {
        if (s.writer_paused) server.setNotReady("intake paused: " + s.last_error.toStdString());
        else server.setReady(true);
    });

    if (opts.rebuild_index) {
        qint64 lastReport = 0;
        QObject::connect(engine->get(), &engine::Engine::jobProgress,
                         [lastReport](const QString& kind, double fraction, const QString& text) mutable {
                             const qint64 now = QDateTime::currentMSecsSinceEpoch();
                             if (kind != "reindex" || now - lastReport < 2000) return;
                             lastReport = now;
                             std::fprintf(stderr, "archivist: index rebuild %.0f%%: %s\n", fraction * 100,
                                          text.toLocal8Bit().constData());
                         });
        QObject::connect(engine->get(), &engine::Engine::jobFinished,
                         [](const QString& kind, bool ok, const QString& summary) {
                             if (kind != "reindex") return;
                             std::fprintf(stderr, "archivist: index rebuild %s: %s\n", ok ? "finished" : "failed",
                                          summary.toLocal8Bit().constData());
                         });
        (*engine)->startReindex();
    }

    // fetch-ids: the job starts once every relay has opened (or after 5 s), the loop ends when it
    // finishes; a signal cancels it (it stops after the requests in flight) and waits for its report.
    bool fetchDone = false, fetchOk = false, fetchCancelled = false;
    QString fetchSummary;
    QTimer fetchStart;
    if (fetchIds) {
        const qint64 startedAt = QDateTime::currentMSecsSinceEpoch();
        QObject::connect(engine->get(), &engine::Engine::jobFinished, [&](const QString& kind, bool ok, const QString& summary) {
            if (kind != "fetch-ids") return;
            fetchDone = true;
            fetchOk = ok;
            fetchSummary = summary;
            qapp->quit();
        });
        qint64 lastReport = 0;
        QObject::connect(engine->get(), &engine::Engine::jobProgress,
                         [lastReport](const QString& kind, double fraction, const QString& text) mutable {
                             const qint64 now = QDateTime::currentMSecsSinceEpoch();
                             if (kind != "fetch-ids" || now - lastReport < 1000) return;
                             lastReport = now;
                             std::fprintf(stderr, "archivist: fetch-ids %s%s\n",
                                          fraction >= 0 ? (QString::number(fraction * 100, 'f', 0) + "%: ").toLocal8Bit().constData() : "",
                                          text.toLocal8Bit().constData());
                         });
        QObject::connect(&fetchStart, &QTimer::timeout, [&, startedAt] {
            const auto s = (*engine)->snapshot();
            const bool allOpen = s.taken_at_ms && s.relays_known > 0 && s.relays_open >= s.relays_known;
            if (!allOpen && QDateTime::currentMSecsSinceEpoch() - startedAt < 5000) return;
            fetchStart.stop();
            std::fprintf(stderr, "archivist: fetch-ids: asking %d open relay(s) of %d for the ids in %s\n", s.relays_open,
                         s.relays_known, opts.fetch_ids_file.toLocal8Bit().constData());
            (*engine)->startFetchIds(opts.fetch_ids_file);
        });
        fetchStart.start(100);
    }

    // Signals and --duration end the event loop; shutdown then drains and commits.
    QTimer stopPoll;
    qint64 cancelledAt = 0;
    QObject::connect(&stopPoll, &QTimer::timeout, [&] {
        if (!app::stopRequested().load()) return;
        if (!fetchIds || fetchDone || fetchStart.isActive()) {
            qapp->quit();
            return;
        }
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (!cancelledAt) {
            cancelledAt = now;
            fetchCancelled = true;
            std::fprintf(stderr, "archivist: fetch-ids: stopping…\n");
            (*engine)->cancelJob();
        } else if (now - cancelledAt > 10000) {
            qapp->quit();  // the job's report did not arrive: shutdown joins it
        }
    });
    stopPoll.start(50);
    if (opts.duration_s > 0) QTimer::singleShot(int(opts.duration_s * 1000), qapp.get(), &QCoreApplication::quit);

    // --exit-when-idle: every relay synced (or unreachable) and nothing stored for S seconds.
    QTimer idlePoll;
    qint64 idleSince = 0;
    if (opts.exit_when_idle_s > 0) {
        QObject::connect(&idlePoll, &QTimer::timeout, [&] {
            const auto s = (*engine)->snapshot();
            const qint64 now = QDateTime::currentMSecsSinceEpoch();
            if (!s.taken_at_ms || !s.sync_idle) {
                idleSince = 0;
                return;
            }
            if (!idleSince) idleSince = now;
            const qint64 quietSince = std::max(idleSince, s.last_stored_at_ms);
            if (now - quietSince >= qint64(opts.exit_when_idle_s * 1000)) {
                std::fprintf(stderr, "archivist: idle for %.0f s, every relay synced; exiting\n", opts.exit_when_idle_s);
                qapp->quit();
            }
        });
        idlePoll.start(200);
    }

    QTimer statusLine;
    if (opts.headless && !opts.import_files.isEmpty()) (*engine)->startImport(opts.import_files);
    if (opts.headless) {
        std::fprintf(stderr, "archivist: engine running on %s (Ctrl-C stops it)\n", opts.data_dir.c_str());
        QObject::connect(&statusLine, &QTimer::timeout, [&] {
            const auto s = (*engine)->snapshot();
            std::string sink;
            if (s.sink.configured)
                sink = ", ClickHouse " + s.sink.phase.toStdString() + ": " + std::to_string(s.sink.lag_events) +
                       " events (" + std::to_string(int64_t(s.sink.lag_seconds)) + " s) behind, sightings " +
                       std::to_string(s.sink.lag_sightings_bytes) + " log bytes behind" +
                       (s.sink.consecutive_failures ? ", last error: " + s.sink.last_error.toStdString() : std::string());
            std::fprintf(stderr, "archivist: %llu events, %.0f stored/s, relays %d open / %d, %.1f MiB RSS%s%s%s\n",
                         (unsigned long long)s.events_total, s.stored_per_s, s.relays_open, s.relays_known,
                         double(s.rss_bytes) / (1 << 20), sink.c_str(), s.writer_paused ? "; INTAKE PAUSED: " : "",
                         s.writer_paused ? s.last_error.toLocal8Bit().constData() : "");
        });
        statusLine.start(10000);
    }

    int code = 0;
#ifdef ARCHIVIST_HAVE_UI
    std::unique_ptr<ui::MainWindow> window;
    if (!opts.headless) {
        ui::MainWindowOptions wo;
        wo.log_ring = &logRing;  // both outlive the window (declared above, reset after it)
        wo.metrics = &metrics;
        ui::installTranslations(*qapp, QSettings().value("ui/language").toString());
        window = std::make_unique<ui::MainWindow>(engine->get(), wo);
        window->show();
        if (!opts.import_files.isEmpty())  // once the window has settled (its first layout and paint)
            QTimer::singleShot(2000, window.get(), [&] { window->importFiles(opts.import_files); });
        if (!opts.screenshot_dir.isEmpty()) {
            QTimer::singleShot(int(opts.screenshot_after_s * 1000), window.get(), [&] {
                const int saved = window->savePanelScreenshots(opts.screenshot_dir);
                std::fprintf(stderr, "archivist: saved %d panel screenshots in %s\n", saved,
                             opts.screenshot_dir.toLocal8Bit().constData());
                qapp->quit();
            });
        }
    }
#endif
    code = qapp->exec();
    server.setReady(false);
    if (opts.headless) {
        // One line per relay: what this run got from it (tests and operators read these).
        for (const auto& r : (*engine)->snapshot().relays) {
            const std::string refused =
                r.refused() ? ", refused " + std::to_string(r.refused()) + " (not asked for)" : std::string();
            std::fprintf(stderr,
                         "archivist: relay %s: %s, received %llu, stored %llu, duplicate %llu, invalid %llu%s, "
                         "backfill %s, gaps %llu, sync %s, negentropy %s%s%s, missing %llu, late %llu, bytes %llu, sent %llu%s%s\n",
                         r.url.c_str(), observe::relayStateName(r.state), (unsigned long long)r.events_received,
                         (unsigned long long)r.stored, (unsigned long long)r.duplicate, (unsigned long long)r.invalid,
                         refused.c_str(), observe::backfillStateName(r.backfill), (unsigned long long)r.backfill_gaps,
                         observe::syncMethodName(r.method), observe::negentropySupportName(r.negentropy),
                         r.negentropy_reason.empty() ? "" : " (", r.negentropy_reason.empty() ? "" : (r.negentropy_reason + ")").c_str(),
                         (unsigned long long)r.reconcile_missing, (unsigned long long)r.late_events,
                         (unsigned long long)r.bytes_received, (unsigned long long)r.bytes_sent,
                         r.last_error.empty() ? "" : ", last error: ", r.last_error.c_str());
        }
    }
#ifdef ARCHIVIST_HAVE_UI
    std::unique_ptr<QWidget> finishing;
    if (window) {
        window->hide();
        finishing.reset(ui::MainWindow::showFinishing((*engine)->snapshot()));
    }
#endif
    auto closed = (*engine)->shutdown();
    const std::optional<engine::FetchIdsReport> fetchReport = (*engine)->lastFetchIds();
#ifdef ARCHIVIST_HAVE_UI
    finishing.reset();
    window.reset();
#endif
    engine->reset();  // the data directory's lock is released here
#ifdef ARCHIVIST_HAVE_UI
    if (qapp->property(ui::MainWindow::kRestartProperty).toBool()) {
        const QStringList args = QCoreApplication::arguments().mid(1);
        if (!QProcess::startDetached(QCoreApplication::applicationFilePath(), args))
            std::fprintf(stderr, "archivist: could not start again; start it yourself\n");
    }
#endif
    server.stop();
    observe::uninstallLogRingHandler();
    if (!closed) {
        std::fprintf(stderr, "archivist: %s\n", closed.error().message.c_str());
        return app::kExitFailure;
    }
    if (opts.headless) std::fprintf(stderr, "archivist: stopped cleanly\n");
    if (fetchIds) {
        if (!fetchDone) {
            std::fprintf(stderr, "archivist: fetch-ids interrupted before it %s\n",
                         fetchStart.isActive() ? "started" : "reported");
            return app::kExitFailure;
        }
        std::fprintf(stderr, "archivist: fetch-ids: %s\n", fetchSummary.toLocal8Bit().constData());
        if (fetchReport && opts.fetch_ids_json) std::printf("%s\n", engine::fetchIdsJson(*fetchReport).c_str());
        else if (fetchReport) std::printf("%s\n", engine::fetchIdsText(*fetchReport).c_str());
        if (fetchCancelled) std::fprintf(stderr, "archivist: fetch-ids interrupted; what was found so far is stored\n");
        return fetchOk ? code : app::kExitFailure;
    }
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    // A dozen engine threads allocate: glibc's default of 8 arenas per core leaves memory
    // fragmented across many arenas (peak RSS ≈ +100 MB at 1M imported events, measured).
    mallopt(M_ARENA_MAX, 4);
    // Index readers keep a connection (one descriptor) to each part they visit, lookups to the
    // parts they probe, relays a socket each: the usual soft limit of 1,024 open files is too low
    // for a backfilled archive of thousands of parts, so take what the hard limit allows (capped).
    // Should a set still run out, it closes half its connections and says so (FileConnections).
    if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        const rlim_t want = std::min<rlim_t>(rl.rlim_max, rlim_t(1) << 16);
        if (want > rl.rlim_cur) {
            rl.rlim_cur = want;
            (void)::setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    // Before anything opens SQLite: its heap counted without a process-wide mutex (decision 0022).
    observe::installSqliteMemory();
    QCoreApplication::setOrganizationName("archivist");
    QCoreApplication::setApplicationName("archivist");
    QCoreApplication::setApplicationVersion(ARCHIVIST_VERSION);
    app::installStopSignals();

    QStringList args;
    for (int i = 0; i < argc; ++i) args << QString::fromLocal8Bit(argv[i]);

    // Commands need no event loop beyond a QCoreApplication for Qt's helpers.
    if (args.size() > 1 && app::isCommand(args[1])) {
        QCoreApplication qapp(argc, argv);
        return app::runCommand(args.mid(1));
    }
    RunOptions opts;
    bool handled = false;
    {
        QCoreApplication probe(argc, argv);  // QCommandLineParser wants an application instance
        QStringList fetchArgs = args;
        if (args.size() > 1 && args[1] == "fetch-ids") fetchArgs.removeAt(1), fetchArgs[0] = "archivist fetch-ids";
        const int code = args.size() > 1 && args[1] == "fetch-ids" ? parseFetchIdsOptions(fetchArgs, opts, handled)
                                                                    : parseRunOptions(args, opts, handled);
        if (code >= 0) return code;
    }
    return runEngine(argc, argv, opts);
}
