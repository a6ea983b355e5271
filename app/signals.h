#pragma once
// SIGINT/SIGTERM → an atomic flag (async-signal-safe) that long commands and the headless loop poll.
#include <atomic>

namespace archivist::app {

void installStopSignals();
const std::atomic<bool>& stopRequested();

}  // namespace archivist::app
