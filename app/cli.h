#pragma once
// Command-line front end: `archivist import|export|verify|reindex|stats …`.
// Exit codes: 0 ok, 1 failure, 2 usage.
#include <QStringList>
#include <cstdint>

namespace archivist::observe {
class MetricsHttpServer;
}

namespace archivist::app {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

bool isCommand(const QString& word);
// Starts `server` on HOST:PORT from --metrics-listen. On failure prints why and sets exitCode
// (usage for a malformed spec, failure when the address cannot be bound).
bool startMetricsServer(const QString& spec, observe::MetricsHttpServer& server, int& exitCode);
// Runs one command; args[0] is the command name. A QCoreApplication exists.
int runCommand(const QStringList& args);
// `archivist ship` (cli_ship.cpp): ships the archive into ClickHouse up to its end, then exits.
int cmdShip(const QStringList& args);
// Unix seconds or an ISO 8601 date/time (a bare date is UTC) → seconds; false if neither.
bool parseTime(const QString& s, int64_t& out);

}  // namespace archivist::app
