#pragma once
// SIGINT/SIGTERM → an atomic flag (async-signal-safe) that long commands and the headless loop poll.
#include <atomic>

namespace archivist::app {

void installStopSignals();
const std::atomic<bool>& stopRequested();
int stopSignal();  // the signal number that requested the stop, 0 if none

}  // namespace archivist::app
