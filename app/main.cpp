// Composition root: parses the command line, then runs a command, the headless engine or the console.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTimer>
#include <cstdio>
#include <memory>

#include "app/cli.h"
#include "app/signals.h"
#include "core/engine/data_dir.h"
#include "core/engine/engine.h"
#include "core/observe/log_ring.h"
#include "core/observe/memory_stats.h"
#include "core/observe/metrics.h"
#include "core/observe/metrics_http_server.h"

#ifdef ARCHIVIST_HAVE_UI
#include <QApplication>

#include "ui/main_window.h"
#endif

using namespace archivist;

namespace {

struct RunOptions {
    bool headless = false;
    std::filesystem::path data_dir;
    QString metrics_listen;
    double duration_s = 0;  // 0 = until a signal
};

int usageError(const QCommandLineParser& p, const QString& msg) {
    std::fprintf(stderr, "archivist: %s\n%s", msg.toLocal8Bit().constData(), p.helpText().toLocal8Bit().constData());
    return app::kExitUsage;
}

// Parses the options of the engine modes (console and --headless).
int parseRunOptions(const QStringList& args, RunOptions& out, bool& handled) {
    handled = false;
    QCommandLineParser p;
    p.setApplicationDescription(
        "Archivist — a Nostr archive with an operator console.\n\n"
        "Commands:\n"
        "  import [--json] [--no-verify] FILE...|-   import JSONL / JSONL.zst events\n"
        "  export [--filter JSON] [--since T] [--until T]   write events as JSONL, oldest first\n"
        "  verify                                    check that archive and index agree\n"
        "  reindex                                   rebuild the index from the archive\n"
        "  stats [--json]                            what the archive holds\n"
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
    p.addOptions({headless, dataDir, metrics, duration});
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
    int metricsExit = 0;
    if (!opts.metrics_listen.isEmpty() && !app::startMetricsServer(opts.metrics_listen, server, metricsExit))
        return metricsExit;

    auto engine = engine::EngineImpl::open(opts.data_dir, {}, metrics);
    if (!engine) {
        std::fprintf(stderr, "archivist: %s\n", engine.error().message.c_str());
        observe::uninstallLogRingHandler();
        return app::kExitFailure;
    }
    server.setReady(true);

    // Signals and --duration end the event loop; shutdown then drains and commits.
    QTimer stopPoll;
    QObject::connect(&stopPoll, &QTimer::timeout, [&] {
        if (app::stopRequested().load()) qapp->quit();
    });
    stopPoll.start(50);
    if (opts.duration_s > 0) QTimer::singleShot(int(opts.duration_s * 1000), qapp.get(), &QCoreApplication::quit);

    QTimer statusLine;
    if (opts.headless) {
        std::fprintf(stderr, "archivist: engine running on %s (Ctrl-C stops it)\n", opts.data_dir.c_str());
        QObject::connect(&statusLine, &QTimer::timeout, [&] {
            const auto s = (*engine)->snapshot();
            std::fprintf(stderr, "archivist: %llu events, %.0f stored/s, %.1f MiB RSS\n",
                         (unsigned long long)s.events_total, s.stored_per_s, double(s.rss_bytes) / (1 << 20));
        });
        statusLine.start(10000);
    }

    int code = 0;
#ifdef ARCHIVIST_HAVE_UI
    std::unique_ptr<ui::MainWindow> window;
    if (!opts.headless) {
        window = std::make_unique<ui::MainWindow>(engine->get());
        window->show();
    }
#endif
    code = qapp->exec();
    server.setReady(false);
    auto closed = (*engine)->shutdown();
#ifdef ARCHIVIST_HAVE_UI
    window.reset();
#endif
    engine->reset();
    server.stop();
    observe::uninstallLogRingHandler();
    if (!closed) {
        std::fprintf(stderr, "archivist: %s\n", closed.error().message.c_str());
        return app::kExitFailure;
    }
    if (opts.headless) std::fprintf(stderr, "archivist: stopped cleanly\n");
    return code;
}

}  // namespace

int main(int argc, char** argv) {
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
        const int code = parseRunOptions(args, opts, handled);
        if (code >= 0) return code;
    }
    return runEngine(argc, argv, opts);
}
