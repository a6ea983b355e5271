#!/usr/bin/env bash
# The console's responsiveness while ingesting at full speed: the real window under Xvfb,
# connected to N simulated relays (bench/relay_farm) that push pre-signed events as fast as the
# engine takes them; /metrics is scraped every second for archivist_ui_loop_lag_ms (p50, p99 over
# the monitor's sliding window) and archivist_events_stored_total.
# Usage: bench/ui_lag.sh BUILD_DIR EVENTS_JSONL [RELAYS=20] [MAX_SECONDS=180]
# (EVENTS_JSONL: e.g. the cache bench_relays writes, build/bench/relay-events-200000.jsonl)
# MODE=import: no relays; the console imports EVENTS_JSONL (--import, as File → Import does).
# The default MODE=relays is a fast backfill: the farm's relays answer the engine's history
# queries as fast as it asks.
set -euo pipefail
build=$1
events=$2
relays=${3:-20}
max_s=${4:-180}
mode=${MODE:-relays}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    exec 6>&- 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
args=()
if [[ $mode == import ]]; then
    distinct=$(sort -u "$events" | wc -l)
    args+=(--import "$events")
    relays=0
else
    mkfifo "$work/farm.stdin"
    "$build/bench/relay_farm" --relays "$relays" --events "$events" <"$work/farm.stdin" >"$work/farm.out" 2>"$work/farm.err" &
    pids+=($!)
    exec 6>"$work/farm.stdin"
    for _ in $(seq 1 600); do grep -q '^ready ' "$work/farm.out" && break; sleep 0.1; done
    read -r -a ready < <(grep -m1 '^ready ' "$work/farm.out")
    distinct=${ready[1]}
    for port in "${ready[@]:3}"; do args+=(--relay "ws://127.0.0.1:$port"); done
fi
# A free display and port (others may run benches on this machine at the same time).
Xvfb -displayfd 7 -screen 0 1600x1000x24 7>"$work/display" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [[ -s $work/display ]] && break; sleep 0.1; done
export DISPLAY=:$(cat "$work/display")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
XDG_CONFIG_HOME="$work/config" "$build/archivist" --data-dir "$work/data" --no-seed-relays \
    --allow-address 127.0.0.1/32 --metrics-listen 127.0.0.1:$port "${args[@]}" >"$work/app.log" 2>&1 &
app=$!
pids+=($app)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1 /proc/loadavg)"
echo "mode $mode, relays $relays, distinct events $distinct"
printf '%6s %10s %10s %10s\n' "t(s)" stored "p50(ms)" "p99(ms)"
worst=0
for t in $(seq 1 "$max_s"); do
    sleep 1
    m=$(curl -s "127.0.0.1:$port/metrics" || true)
    stored=$(awk '/^archivist_events_stored_total /{print $2}' <<<"$m")
    p50=$(awk -F' ' '/^archivist_ui_loop_lag_ms\{quantile="0.5"\}/{print $2}' <<<"$m")
    p99=$(awk -F' ' '/^archivist_ui_loop_lag_ms\{quantile="0.99"\}/{print $2}' <<<"$m")
    printf '%6s %10s %10s %10s\n' "$t" "${stored:-?}" "${p50:-?}" "${p99:-?}"
    if [[ -n ${p99:-} ]] && awk -v a="$p99" -v b="$worst" 'BEGIN{exit !(a>b)}'; then worst=$p99; fi
    [[ -n ${stored:-} && ${stored%.*} -ge $distinct ]] && break
done
echo "worst p99 loop lag while ingesting: ${worst} ms (target < 50 ms)"
