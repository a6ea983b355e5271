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
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

const std::atomic<bool>& stopRequested() { return g_stop; }

}  // namespace archivist::app
