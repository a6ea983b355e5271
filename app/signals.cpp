#include "app/signals.h"

#include <csignal>

namespace archivist::app {

namespace {
std::atomic<bool> g_stop{false};

void onSignal(int) { g_stop.store(true); }
}  // namespace

void installStopSignals() {
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    // No SA_RESTART: a read blocked on a pipe or standard input (import of `-` or a FIFO whose
    // writer is idle) returns EINTR, so a stop is answered even then. Everything else here retries
    // on EINTR, and a stop signal ends the process anyway.
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

const std::atomic<bool>& stopRequested() { return g_stop; }

}  // namespace archivist::app
