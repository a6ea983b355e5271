#!/usr/bin/env bash
# Bytes on the wire per event when syncing with a NIP-77 relay (tests/relay/relay.mjs
# --negentropy real, an independent responder) on 127.0.0.1 — docs/benchmarks.md:
#   resync      an archive that already holds every event the relay has (the one the empty sync
#               made), synced again: what reconciliation costs when nothing is missing (target ≤ 2 %
#               of the JSON bytes; wire bytes = received + sent, WebSocket framing included, per
#               event the relay holds); resync_superset: an archive that also holds the older
#               versions of replaceable events the relay replaced (imported from the generator).
#   empty       a full sync from an empty archive, without and with permessage-deflate, and with
#               a responder that sends its whole id list in one NEG-MSG (no frame limit).
# Usage: bench/resync_bytes.sh BUILD_DIR [EVENTS]   (default 20000)
set -euo pipefail
BUILD=$(realpath "${1:-build}")
N=${2:-20000}
source "$(dirname "$0")/../tests/integration/lib.sh" "$BUILD/archivist"
MAKE_EVENTS=$BUILD/tools/make_events
[[ -x $MAKE_EVENTS ]] || fail "$MAKE_EVENTS missing: cmake --build $BUILD --target make_events"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
events=$CACHE_DIR/bench-resync-$N.jsonl
mkdir -p "$CACHE_DIR"
[[ -f $events ]] || "$MAKE_EVENTS" "$events" "$N" 7 365 >/dev/null
json_bytes=$(stat -c %s "$events")
node "$TESTS_DIR/relay/seed.mjs" --db "$WORK/relay.sqlite" --events "$events" >"$WORK/seed.out"
grep -q '^SEEDED ' "$WORK/seed.out" || fail "seeding: $(cat "$WORK/seed.out")"

run() {  # run NAME DATA_DIR RELAY_ARGS... → prints a table row
    local name=$1 dir=$2 port line
    shift 2
    rm -f "$WORK/relay.stdin"
    start_relay --negentropy real "$@"
    cli "$name" --headless --data-dir "$dir" --relay "$URL" --allow-address 127.0.0.1/32 --no-seed-relays \
        --exit-when-idle 2 --duration 600
    expect_rc 0 "$name" "sync $name"
    line=$(grep -E "relay $URL: " "$WORK/$name.err")
    kill "$RELAY_PID"
    wait "$RELAY_PID" 2>/dev/null || true
    exec 7>&-
    local received bytes sent
    received=$(grep -oE 'received [0-9]+' <<<"$line" | grep -oE '[0-9]+')
    bytes=$(grep -oE 'bytes [0-9]+' <<<"$line" | grep -oE '[0-9]+')
    sent=$(grep -oE 'sent [0-9]+' <<<"$line" | grep -oE '[0-9]+')
    awk -v n="${relay_events:-1}" -v name="$name" -v r="$received" -v b="$bytes" -v s="$sent" -v j="${json_bytes:-1}" 'BEGIN {
        printf "| %s | %d | %d | %d | %d | %.2f | %.3f %% |\n", name, n, r, b, s, (b + s) / n, 100 * (b + s) / j }'
}

cli import import --no-verify --data-dir "$WORK/full" "$events"
expect_rc 0 import "import"
echo "events: $N generated"
run empty_plain "$WORK/plain" >"$WORK/first_row"
# The relay keeps only the newest version of replaceable events (metadata, contact lists): it holds
# fewer than were generated. Its set is what the empty sync archived; figures are per event of it.
cli export_plain export --data-dir "$WORK/plain"
relay_events=$(wc -l <"$WORK/export_plain.out")
json_bytes=$(stat -c %s "$WORK/export_plain.out")
echo "the relay holds $relay_events events, $json_bytes bytes of JSON ($(( json_bytes / relay_events )) per event)"
printf '| run | relay events | events received | bytes received | bytes sent | wire B/event | wire / JSON bytes |\n'
printf '|---|---|---|---|---|---|---|\n'
awk -v n="$relay_events" -v j="$json_bytes" -F'|' '{ b = $5 + 0; s = $6 + 0;
    printf "|%s| %d |%s|%s|%s| %.2f | %.3f %% |\n", $2, n, $4, $5, $6, (b + s) / n, 100 * (b + s) / j }' "$WORK/first_row"
run resync "$WORK/plain"                # the archive the relay's set made: complete, nothing extra
run resync_superset "$WORK/full"        # also holds the superseded replaceable events the relay dropped
run empty_deflate "$WORK/deflate" --deflate on
# Frame sizes: a responder without a frame limit answers an empty archive with one id list of
# every id (khatru-like: > 1 MiB of hex for ≥ 16,400 events), received under the raised limit.
run empty_unlimited_frames "$WORK/unlimited" --neg-frame-limit 0
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
