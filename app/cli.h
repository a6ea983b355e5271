#pragma once
// Command-line front end: `archivist import|export|verify|reindex|stats …`.
// Exit codes: 0 ok, 1 failure, 2 usage.
#include <QStringList>

namespace archivist::app {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

bool isCommand(const QString& word);
// Runs one command; args[0] is the command name. A QCoreApplication exists.
int runCommand(const QStringList& args);

}  // namespace archivist::app
