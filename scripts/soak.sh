#!/usr/bin/env bash
# The console's long soak: the real window under Xvfb, archiving from RELAYS loopback relays
# (bench/relay_farm) that push a fixed pool of POOL signed events again and again (new on the first
# pass, duplicates after it), NEW_PER_S new events a second, and a disconnect storm every
# STORM_EVERY seconds (STORM_FRACTION of the relays drop every connection). Every SAMPLE_EVERY
# seconds it records the console's RSS, open file descriptors and threads (/proc), and from its
# /metrics the events stored and duplicate, the relays open and the console's own UI lag
# (archivist_ui_loop_lag_ms p50/p99 over the last minute). At the end it reports, over the samples
# after WARMUP seconds: the RSS slope (least squares, MB per 10 minutes), fd and thread growth, and
# the worst and 99th-percentile UI lag p99; the pass marks are an RSS slope < 5 MB / 10 min, no fd
# or thread growth, UI lag p99 < 50 ms. Then SIGTERM, and the exit must come within 5 s.
#
# Usage: scripts/soak.sh [BUILD_DIR=build]
#   env DURATION (3600 s), RELAYS (200), POOL (200000), REPLAY_PER_S (400), NEW_PER_S (50),
#   STORM_EVERY (120 s), STORM_FRACTION (0.3), SAMPLE_EVERY (10 s), WARMUP (900 s),
#   SOAK_OUT (directory for samples.csv and the logs; default a new mktemp directory, kept).
# Needs Xvfb, curl, python3. Results: docs/testing.md ("Soak").
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
DURATION=${DURATION:-3600}
RELAYS=${RELAYS:-200}
POOL=${POOL:-200000}
REPLAY_PER_S=${REPLAY_PER_S:-400}
NEW_PER_S=${NEW_PER_S:-50}
STORM_EVERY=${STORM_EVERY:-120}
STORM_FRACTION=${STORM_FRACTION:-0.3}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
WARMUP=${WARMUP:-900}
out=${SOAK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/archivist-soak.XXXXXX")}
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/archivist-soak-work.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]+"${pids[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]+"${pids[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; done
    exec 6>&- 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for tool in Xvfb curl python3; do command -v "$tool" >/dev/null || { echo "soak: $tool is required" >&2; exit 2; }; done
[[ -x $build/archivist && -x $build/bench/relay_farm ]] || { echo "soak: build archivist and relay_farm first" >&2; exit 2; }

echo "soak: $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); output in $out"
echo "soak: duration ${DURATION}s, $RELAYS relays, pool $POOL replayed at ${REPLAY_PER_S}/s, $NEW_PER_S new/s, storm every ${STORM_EVERY}s (fraction $STORM_FRACTION)"

mkfifo "$work/farm.stdin"
"$build/bench/relay_farm" --relays "$RELAYS" --replay-pool "$POOL" --replay-per-s "$REPLAY_PER_S" \
    --new-per-s "$NEW_PER_S" --storm-every "$STORM_EVERY" --storm-fraction "$STORM_FRACTION" \
    <"$work/farm.stdin" >"$out/farm.out" 2>"$out/farm.err" &
pids+=($!)
exec 6>"$work/farm.stdin"
for _ in $(seq 1 1200); do grep -q '^ready ' "$out/farm.out" 2>/dev/null && break; sleep 0.1; done
read -r -a ready < <(grep -m1 '^ready ' "$out/farm.out")
args=()
for port in "${ready[@]:3}"; do args+=(--relay "ws://127.0.0.1:$port"); done
echo "soak: farm ready with $(( ${#args[@]} / 2 )) relays"

# A display of our own: the first free :N from 90.
for n in $(seq 90 140); do [[ -e /tmp/.X11-unix/X$n || -e /tmp/.X$n-lock ]] || { display=:$n; break; }; done
Xvfb "$display" -screen 0 1600x1000x24 >"$out/xvfb.log" 2>&1 &
pids+=($!)
sleep 1
mkdir -p "$work/data"
cat >"$work/data/config.json" <<EOF
{"seed_relays": false, "auto_relays": false, "max_relays": $((RELAYS + 10)), "allow_addresses": ["127.0.0.1/32"]}
EOF
DISPLAY=$display XDG_CONFIG_HOME="$work/config" "$build/archivist" --data-dir "$work/data" --no-seed-relays \
    --metrics-listen 127.0.0.1:0 "${args[@]}" >"$out/app.log" 2>&1 &
app=$!
pids+=($app)
for _ in $(seq 1 300); do grep -q 'metrics on http' "$out/app.log" 2>/dev/null && break; sleep 0.1; done
metrics=$(grep -m1 -o 'http://[^ ]*/metrics' "$out/app.log")
echo "soak: console pid $app, $metrics, display $display"

metric() { awk -v k="$1" '$1 == k {print $2; exit}' <<<"$2"; }
echo "t_s,rss_mb,sqlite_mb,fds,threads,stored,duplicate,relays_open,lag_p50_ms,lag_p99_ms,load1" >"$out/samples.csv"
start=$(date +%s)
while :; do
    now=$(date +%s)
    t=$((now - start))
    ((t > DURATION)) && break
    kill -0 "$app" 2>/dev/null || { echo "soak: FAIL — the console exited at ${t}s" >&2; tail -20 "$out/app.log" >&2; exit 1; }
    rss=$(awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$app/status")
    thr=$(awk '/^Threads:/{print $2}' "/proc/$app/status")
    fds=$(ls "/proc/$app/fd" | wc -l)
    m=$(curl -s --max-time 5 "$metrics" || true)
    stored=$(metric archivist_events_stored_total "$m")
    dup=$(metric archivist_events_duplicate_total "$m")
    open=$(metric 'archivist_relays{state="open"}' "$m")
    p50=$(metric 'archivist_ui_loop_lag_ms{quantile="0.5"}' "$m")
    p99=$(metric 'archivist_ui_loop_lag_ms{quantile="0.99"}' "$m")
    sqlite=$(metric archivist_sqlite_memory_bytes "$m")
    sqlite=$(awk -v b="${sqlite:-0}" 'BEGIN{printf "%.1f", b/1048576}')
    echo "$t,$rss,$sqlite,$fds,$thr,${stored:-},${dup:-},${open:-},${p50:-},${p99:-},$(cut -d' ' -f1 /proc/loadavg)" >>"$out/samples.csv"
    if ((t % 300 < SAMPLE_EVERY)); then
        echo "soak: t=${t}s rss=${rss}MB fds=$fds threads=$thr stored=${stored:-?} duplicate=${dup:-?} open=${open:-?} lag p99=${p99:-?}ms load=$(cut -d' ' -f1 /proc/loadavg)"
    fi
    sleep "$SAMPLE_EVERY"
done

# Stop: SIGTERM must be answered within 5 s.
t0=$(date +%s%N)
kill -TERM "$app"
while kill -0 "$app" 2>/dev/null; do
    (( ($(date +%s%N) - t0) / 1000000 > 20000 )) && break
    sleep 0.05
done
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
set +e
wait "$app"
app_rc=$?
set -e
echo "soak: SIGTERM answered in ${stop_ms} ms (exit code $app_rc)"

python3 - "$out/samples.csv" "$WARMUP" "$stop_ms" "$app_rc" <<'PY'
import csv, sys
path, warmup, stop_ms, rc = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = [r for r in csv.DictReader(open(path))]
def col(name, rs):
    return [float(r[name]) for r in rs if r[name] not in ("", None)]
after = [r for r in rows if float(r["t_s"]) >= warmup]
if len(after) < 10:
    print("soak: too few samples after the warm-up"); sys.exit(1)
def slope(xs, ys):
    n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
t = col("t_s", after)
rss = col("rss_mb", after); fds = col("fds", after); thr = col("threads", after)
rss_slope = slope(t, rss) * 600           # MB per 10 minutes
sqlite = col("sqlite_mb", after)
net = [r - q for r, q in zip(rss, sqlite)] if len(sqlite) == len(rss) else rss
net_slope = slope(t, net) * 600           # RSS less SQLite's page caches (growth by design, gauged)
fd_slope = slope(t, fds) * 600
thr_slope = slope(t, thr) * 600
third = max(1, len(after) // 3)
fd_growth = max(fds[-third:]) - max(fds[:third])
thr_growth = max(thr[-third:]) - max(thr[:third])
p99 = sorted(col("lag_p99_ms", rows))
worst = p99[-1] if p99 else float("nan")
p99_of_p99 = p99[min(len(p99) - 1, int(0.99 * len(p99)))] if p99 else float("nan")
stored = col("stored", rows); dup = col("duplicate", rows)
print(f"soak: {len(rows)} samples, {len(after)} after the {warmup:.0f} s warm-up; "
      f"stored {stored[-1]:.0f}, duplicate {dup[-1]:.0f}" if stored and dup else "soak: no /metrics samples")
print(f"soak: RSS {rss[0]:.1f} → {rss[-1]:.1f} MB after warm-up (max {max(col('rss_mb', rows)):.1f}); slope {rss_slope:+.2f} MB / 10 min")
if sqlite:
    print(f"soak: SQLite memory {sqlite[0]:.1f} → {sqlite[-1]:.1f} MB (page caches filling, bounded by cache_size); "
          f"RSS less SQLite: slope {net_slope:+.2f} MB / 10 min")
print(f"soak: fds {min(fds):.0f}–{max(fds):.0f} (slope {fd_slope:+.2f} / 10 min, last third max − first third max {fd_growth:+.0f}); "
      f"threads {min(thr):.0f}–{max(thr):.0f} (slope {thr_slope:+.2f} / 10 min, growth {thr_growth:+.0f})")
print(f"soak: UI lag p99 (the console's own, 1-minute window): worst {worst:.1f} ms, 99th percentile of the samples {p99_of_p99:.1f} ms")
ok = min(rss_slope, net_slope) < 5 and fd_growth <= 0 and thr_growth <= 0 and p99_of_p99 < 50 and stop_ms <= 5000 and rc == 0
print("soak: " + ("PASS" if ok else "FAIL") +
      f" (marks: RSS slope (less the gauged SQLite caches) < 5 MB/10 min, no fd/thread growth, UI lag p99 < 50 ms, SIGTERM ≤ 5 s: {stop_ms} ms, exit {rc})")
sys.exit(0 if ok else 1)
PY
