#!/usr/bin/env bash
# The fault-injection run: one import with ENOSPC, EIO and short writes at every write and fsync
# call site, in the archive (FaultInjectingFileSystem) and in every SQLite file (the FaultVfs shim,
# registered as the default VFS in the tests/tools/fault_sweep test build). Each case must end
# consistent (verify clean) and complete after a retry (tests/tools/fault_sweep.cpp says how).
# Usage: scripts/fault-injection.sh [BUILD_DIR=build]
#   env FAULT_EVENTS (1000 events of one import), FAULT_KINDS (enospc,eio,short),
#   FAULT_OPS (archive,sqlite), FAULT_STRIDE (1 = every call; K = every K-th).
# Results: docs/testing.md ("Fault injection").
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
[[ -x $build/tools/fault_sweep && -x $build/tools/make_events ]] ||
    cmake --build "$build" --target fault_sweep make_events
work=$(mktemp -d "${TMPDIR:-/tmp}/archivist-faults.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$build/tools/make_events" "$work/events.jsonl" "${FAULT_EVENTS:-1000}" 13
echo "fault-injection: $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# The engine's own log lines (paused, abandoned, recovered) go to fault_sweep's stderr.
"$build/tools/fault_sweep" "$work/events.jsonl" "$work/sweep" --kinds "${FAULT_KINDS:-enospc,eio,short}" \
    --ops "${FAULT_OPS:-archive,sqlite}" --stride "${FAULT_STRIDE:-1}" 2>"$work/engine.log"
