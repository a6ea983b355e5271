#!/usr/bin/env bash
# `make demo`: a real relay on 127.0.0.1 seeded with a few thousand events plus a trickle of live
# ones, and archivist archiving it (the console, or headless for 60 s without a display).
# Usage: bash scripts/demo.sh [BUILD_DIR]      (see docs/demo.md)
# Environment: DEMO_EVENTS (default 3000), DEMO_LIVE_EVERY_MS (default 2000),
#              DEMO_DURATION_S (headless only, default 60), DEMO_DATA_DIR (default below).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$BUILD/archivist
EVENTS=${DEMO_EVENTS:-3000}
LIVE_EVERY_MS=${DEMO_LIVE_EVERY_MS:-2000}
DURATION_S=${DEMO_DURATION_S:-60}
DATA_DIR=${DEMO_DATA_DIR:-${XDG_CACHE_HOME:-/tmp}/archivist-demo}

[[ -x $BIN ]] || { echo "demo: $BIN not found; run 'make build' first" >&2; exit 1; }
command -v node >/dev/null || { echo "demo: node is required (scripts/install-deps.sh)" >&2; exit 1; }
[[ -d tests/node_modules/@nostr-relay/core ]] || bash scripts/install-deps.sh

TMP=$(mktemp -d "${TMPDIR:-/tmp}/archivist-demo-relay.XXXXXX")
RELAY_PID=""
LIVE_PID=""
cleanup() {
    trap - EXIT INT TERM
    local pid
    for pid in $LIVE_PID $RELAY_PID; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    exec 5>&- 2>/dev/null || true
    rm -rf "$TMP"
    echo "demo: relay and publisher stopped; the archive stays in $DATA_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The relay watches its stdin (a fifo held open by this script): if we die, it exits too.
mkfifo "$TMP/relay.stdin"
node tests/relay/relay.mjs --port 0 --db "$TMP/relay.db" --default-limit 500 \
    <"$TMP/relay.stdin" >"$TMP/relay.out" 2>"$TMP/relay.err" &
RELAY_PID=$!
exec 5>"$TMP/relay.stdin"
PORT=""
for _ in $(seq 1 200); do
    PORT=$(awk '/^LISTENING /{print $2}' "$TMP/relay.out" 2>/dev/null)
    [[ -n $PORT ]] && break
    kill -0 "$RELAY_PID" 2>/dev/null || { echo "demo: relay failed: $(cat "$TMP/relay.err")" >&2; exit 1; }
    sleep 0.05
done
[[ -n $PORT ]] || { echo "demo: relay did not start" >&2; exit 1; }
URL=ws://127.0.0.1:$PORT
echo "demo: relay listening on $URL (NIP-11: curl -H 'Accept: application/nostr+json' http://127.0.0.1:$PORT)"

echo "demo: publishing $EVENTS events (300 of them in one second) …"
node tests/relay/publish.mjs --url "$URL" --count "$EVENTS" --same-second $((EVENTS < 300 ? EVENTS : 300)) \
    --kinds-in-second 3 --created-at-base "$(date +%s)" --seed demo >/dev/null
echo "demo: seeded; a new live event every ${LIVE_EVERY_MS} ms from now on"
node tests/relay/publish.mjs --url "$URL" --count 0 --live-every-ms "$LIVE_EVERY_MS" --live-count 0 \
    --seed "demo-live-$$" >"$TMP/live.out" 2>"$TMP/live.err" &
LIVE_PID=$!

mkdir -p "$DATA_DIR"
ARGS=(--data-dir "$DATA_DIR" --relay "$URL" --allow-address 127.0.0.1/32 --no-seed-relays)
# What the engine logs goes to the terminal and to $TMP/archivist.log (checked below).
set +e
if [[ -n ${DISPLAY:-} || -n ${WAYLAND_DISPLAY:-} ]]; then
    echo "demo: starting the console (close the window to stop the demo)"
    "$BIN" "${ARGS[@]}" 2>&1 | tee "$TMP/archivist.log"
else
    echo "demo: no display — running headless for ${DURATION_S} s (Ctrl-C stops earlier)"
    "$BIN" --headless --duration "$DURATION_S" "${ARGS[@]}" 2>&1 | tee "$TMP/archivist.log"
fi
rc=${PIPESTATUS[0]}
set -e
[[ $rc -eq 0 ]] || { echo "demo: archivist exited with status $rc" >&2; exit "$rc"; }
# A healthy local relay and the operator's own backfill raise no alert (docs/incidents.md): an
# alert that fires here is a false alarm or a real fault, and the demo says so and fails.
if grep -q "alert firing:" "$TMP/archivist.log"; then
    echo "demo: alerts fired during the demo (none are expected):" >&2
    grep "alert firing:" "$TMP/archivist.log" >&2
    exit 1
fi
echo "demo: no alert fired (as expected: one healthy relay on 127.0.0.1)"
