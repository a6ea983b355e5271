// `archivist ship`: ships the archive into ClickHouse with the engine's sink (the same code path as
// a running engine), from the sink's saved position, or from --since, up to the archive's end.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QRegularExpression>
#include <QTimer>
#include <cstdio>
#include <unistd.h>

#include "app/cli.h"
#include "app/signals.h"
#include "core/engine/data_dir.h"
#include "core/engine/maintenance.h"
#include "core/engine/sink_setup.h"
#include "core/engine/store.h"
#include "core/net/address_policy.h"
#include "core/observe/memory_stats.h"
#include "core/observe/metrics.h"
#include "core/observe/metrics_http_server.h"
#include "core/observe/sqlite_heap.h"
#include "core/protocol/json.h"
#include "core/sink/archive_batcher.h"
#include "core/sink/sightings_batcher.h"

namespace archivist::app {

namespace {

void say(const QString& s) { std::fprintf(stderr, "%s\n", s.toLocal8Bit().constData()); }

int usageError(QCommandLineParser& p, const QString& message) {
    say("archivist: " + message);
    say(p.helpText());
    return kExitUsage;
}

QString positionText(const sink::SourcePosition& p) { return QString("%1:%2").arg(p.segment).arg(p.offset); }

}  // namespace

int cmdShip(const QStringList& args) {
    QCommandLineParser p;
    p.setApplicationDescription(
        "Ship the archive into ClickHouse (docs/clickhouse.md) up to its current end, then exit.\n"
        "Uses config.json's \"clickhouse\" section; resumes where the sink stopped (exactly once).\n"
        "Stop a running engine on the same data directory first (it holds the directory's lock).");
    QCommandLineOption dataDir("data-dir",
                               "Data directory (default: " + QString::fromStdString(engine::defaultDataDir().string()) + ").",
                               "dir");
    QCommandLineOption url("clickhouse-url", "The server's HTTP interface (overrides config.json clickhouse.url).", "url");
    QCommandLineOption allow("allow-address", "Allow this address range although the address policy refuses it "
                                              "(repeatable), e.g. 127.0.0.1/32 for a server on this machine.",
                             "cidr");
    QCommandLineOption since("since",
                             "Replay from an earlier point: 'all' (the whole archive), a time (unix seconds or ISO "
                             "8601: from the segment that was being written then) or SEGMENT:OFFSET; sightings are replayed "
                             "too (from the log file open at that time, or from its start). Never skips "
                             "what was not shipped yet.",
                             "all|TIME|SEG:OFF");
    QCommandLineOption json("json", "Print one JSON summary object on standard output.");
    QCommandLineOption metricsListen("metrics-listen", "Serve /metrics, /healthz, /readyz on HOST:PORT.", "host:port");
    p.addOptions({dataDir, url, allow, since, json, metricsListen});
    p.addHelpOption();
    if (!p.parse(args)) return usageError(p, p.errorText());
    if (p.isSet("help")) {
        std::printf("%s", p.helpText().toLocal8Bit().constData());
        return kExitOk;
    }
    if (!p.positionalArguments().isEmpty())
        return usageError(p, "unexpected argument '" + p.positionalArguments().first() + "'");
    const std::filesystem::path dir =
        p.isSet(dataDir) ? std::filesystem::path(p.value(dataDir).toStdString()) : engine::defaultDataDir();
    auto config = engine::loadConfig(engine::DataDirPaths(dir).config);
    if (!config) {
        say("archivist: " + QString::fromStdString(config.error().message));
        return kExitUsage;
    }
    observe::setSqliteHeapLimit(config->sqlite_heap_limit_bytes);  // before the store opens
    if (p.isSet(url)) config->clickhouse.url = p.value(url).toStdString();
    if (config->clickhouse.url.empty())
        return usageError(p, "no ClickHouse server: set clickhouse.url in config.json or pass --clickhouse-url");
    auto policy = std::make_shared<net::AddressPolicy>();
    for (const auto& a : config->allow_addresses)
        if (auto r = policy->allowText(a); !r) return usageError(p, QString::fromStdString(r.error().message));
    for (const auto& a : p.values(allow))
        if (auto r = policy->allowText(a.toStdString()); !r) return usageError(p, QString::fromStdString(r.error().message));
    auto options = engine::clickHouseSinkOptions(config->clickhouse, dir, policy);
    if (!options) return usageError(p, QString::fromStdString(options.error().message));

    observe::MetricsRegistry metrics;
    observe::registerMemoryGauges(metrics);  // RSS, heap and SQLite's heap on --metrics-listen
    observe::MetricsHttpServer server(metrics);
    int code = kExitOk;
    if (p.isSet(metricsListen) && !startMetricsServer(p.value(metricsListen), server, code)) return code;

    engine::OpenReport report;
    auto store = engine::Store::open(dir, {}, metrics, &report);
    if (!store) {
        say("archivist: " + QString::fromStdString(store.error().message));
        return kExitFailure;
    }
    auto stats = engine::storeStats(**store);
    if (!stats) {
        say("archivist: " + QString::fromStdString(stats.error().message));
        return kExitFailure;
    }
    const sink::SourcePosition end = engine::archiveEnd((*store)->paths().archive);
    const archive::LogCursor logEnd = (*store)->sightingsLog()->end();
    const sink::SourcePosition sightingsEnd{logEnd.file, logEnd.offset};

    if (p.isSet(since)) {
        const QString s = p.value(since).trimmed();
        const auto m = QRegularExpression("^(\\d+):(\\d+)$").match(s);
        int64_t t = 0;
        // Sightings are replayed too: from the log file that was open at that time (a time), or
        // from the start of the log (all, or an archive position: the log has no such position).
        if (s == "all") {
            options->replay_from = sink::SourcePosition{};
            options->replay_sightings_from = sink::SourcePosition{};
        } else if (m.hasMatch()) {
            options->replay_from = sink::SourcePosition{m.captured(1).toUInt(), m.captured(2).toULongLong()};
            options->replay_sightings_from = sink::SourcePosition{};
        } else if (parseTime(s, t)) {
            sink::ArchiveBatcher batcher(options->archive_dir, options->node);
            options->replay_from = batcher.positionForTime(t);
            sink::SightingsBatcher sightings(options->archive_dir, options->sightings_dir, options->node);
            options->replay_sightings_from = sightings.positionForTime(t);
        } else {
            return usageError(p, "--since wants all, a time or SEGMENT:OFFSET, got '" + s + "'");
        }
        if (sink::positionLess(end, *options->replay_from))
            return usageError(p, "--since " + s + " lies beyond the archive's end " + positionText(end));
    }

    auto sinkOr = sink::ClickHouseSink::create(std::move(*options), &metrics);
    if (!sinkOr) {
        say("archivist: " + QString::fromStdString(sinkOr.error().message));
        return kExitFailure;
    }
    sink::ClickHouseSink& sink = **sinkOr;
    const qint64 started = QDateTime::currentMSecsSinceEpoch();
    sink.start(end, stats->events, sightingsEnd);
    server.setReady(true);
    const bool tty = ::isatty(STDERR_FILENO);
    bool done = false, interrupted = false;
    QTimer poll;
    qint64 lastLine = 0;
    std::string lastError;
    QObject::connect(&poll, &QTimer::timeout, [&] {
        const sink::SinkStatus st = sink.status();
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (st.last_error != lastError && !st.last_error.empty()) {
            lastError = st.last_error;
            say("ship: " + QString::fromStdString(st.last_error) + " (retrying)");
        }
        if (st.phase == sink::SinkPhase::CaughtUp && !st.pending && st.position == end && !st.sightings_pending &&
            !sink::positionLess(st.sightings_position, sightingsEnd)) {
            done = true;
            QCoreApplication::quit();
            return;
        }
        if (stopRequested().load()) {
            interrupted = true;
            QCoreApplication::quit();
            return;
        }
        if (now - lastLine >= (tty ? 250 : 5000)) {
            lastLine = now;
            const QString line = QString("ship: %1 events shipped, %2 to go, %3 events/s, %4")
                                     .arg(st.shipped_events)
                                     .arg(st.lag_events)
                                     .arg(st.events_per_s, 0, 'f', 0)
                                     .arg(sink::sinkPhaseName(st.phase));
            std::fprintf(stderr, tty ? "\r%s\x1b[K" : "%s\n", line.toLocal8Bit().constData());
        }
    });
    poll.start(50);
    QCoreApplication::exec();
    poll.stop();
    if (tty) std::fprintf(stderr, "\n");
    sink.stop();
    const sink::SinkStatus st = sink.status();
    const double seconds = double(QDateTime::currentMSecsSinceEpoch() - started) / 1000.0;
    auto closed = (*store)->shutdown();
    if (p.isSet(json)) {
        std::string out = "{\"ok\":" + std::string(done ? "true" : "false") +
                          ",\"shipped_events\":" + std::to_string(st.shipped_events) +
                          ",\"shipped_sightings\":" + std::to_string(st.shipped_sightings) +
                          ",\"skipped_sightings\":" + std::to_string(st.skipped_sightings) +
                          ",\"batches\":" + std::to_string(st.shipped_batches) +
                          ",\"requests\":" + std::to_string(st.requests) + ",\"errors\":" + std::to_string(st.errors) +
                          ",\"parts_confirmed\":" + std::to_string(st.parts_confirmed) +
                          ",\"parts_resent\":" + std::to_string(st.parts_resent) +
                          ",\"skipped_lines\":" + std::to_string(st.skipped_lines) +
                          ",\"wire_bytes\":" + std::to_string(st.wire_bytes) +
                          ",\"body_bytes\":" + std::to_string(st.body_bytes) +
                          ",\"archive_bytes\":" + std::to_string(st.archive_bytes) +
                          ",\"seconds\":" + std::to_string(seconds) + ",\"node\":";
        protocol::json::appendQuoted(out, st.node);
        out += ",\"position\":";
        protocol::json::appendQuoted(out, positionText(st.position).toStdString());
        out += "}";
        std::printf("%s\n", out.c_str());
    }
    say(QString("shipped %1 events and %8 sightings in %2 s (%3 events/s) as node %4: %5 bytes on the wire, "
                "%6 archive bytes; position %7")
            .arg(st.shipped_events)
            .arg(seconds, 0, 'f', 2)
            .arg(seconds > 0 ? double(st.shipped_events) / seconds : 0, 0, 'f', 0)
            .arg(QString::fromStdString(st.node))
            .arg(st.wire_bytes)
            .arg(st.archive_bytes)
            .arg(positionText(st.position))
            .arg(st.shipped_sightings));
    if (!closed) {
        say("archivist: " + QString::fromStdString(closed.error().message));
        return kExitFailure;
    }
    if (interrupted) {
        say("archivist: ship interrupted; `archivist ship` resumes where it stopped");
        return kExitFailure;
    }
    return done ? kExitOk : kExitFailure;
}

}  // namespace archivist::app
