#!/usr/bin/env bash
# Long crash-safety soak: tests/integration/test_crash_kill.sh with 200 SIGKILL rounds (instead of
# ctest's 20); each round uses a fresh data directory. Roughly 15–30 minutes on 2 cores.
# Usage: scripts/crash-soak.sh [/path/to/archivist]
#   env CRASH_ROUNDS (default 200), CRASH_EVENTS (default 20000), CRASH_SEED (default random;
#   printed at the start — rerun with it to repeat a failing sequence of kill times).
set -euo pipefail
cd "$(dirname "$0")/.."
export CRASH_ROUNDS=${CRASH_ROUNDS:-200}
exec bash tests/integration/test_crash_kill.sh "$@"
