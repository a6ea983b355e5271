#!/usr/bin/env bash
# Shipping into ClickHouse (docs/clickhouse.md): rate, bytes on the wire per event against the
# archive's bytes per event, and the CPU each side spends, with a real clickhouse-server on
# 127.0.0.1 (private config, as the integration test starts it). Results: docs/benchmarks.md.
# Usage: bench/clickhouse_ship.sh BUILD_DIR [EVENTS]   (default 200000)
# Two archives of EVENTS events each: created_at within days (live traffic: one month partition)
# and spread over three years (a history backfill: ~36 partitions per batch); each shipped with
# the default batch (8 MiB) and with 1 MiB batches, each into a fresh database.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
N=${2:-200000}
source "$(dirname "$0")/../tests/integration/lib.sh" "$BUILD/archivist"
source "$(dirname "$0")/../tests/integration/clickhouse.sh"
MAKE_EVENTS=$BUILD/tools/make_events
[[ -x $MAKE_EVENTS ]] || fail "$MAKE_EVENTS missing: cmake --build $BUILD --target make_events"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start_clickhouse
echo "clickhouse-server $(chq 'SELECT version()')"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

printf '| archive | batch | events | seconds shipping (whole command) | events/s | archive B/event | body B/event | wire B/event | wire / archive | archivist CPU µs/event | server CPU µs/event | ClickHouse B/event on disk (after OPTIMIZE) | batches |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for shape in live:0 history:1095; do
    name=${shape%%:*}
    days=${shape##*:}
    events=$CACHE_DIR/bench-sink-$N-$days.jsonl
    [[ -f $events ]] || "$MAKE_EVENTS" "$events" "$N" 5 "$days" 2>/dev/null
    D=$WORK/$name
    cli import_$name import --no-verify --json --data-dir "$D" "$events"
    expect_rc 0 "import_$name" "import"
    cli stats_$name stats --json --data-dir "$D"
    archive_bytes=$(jq .archive_bytes "$WORK/stats_$name.out")
    for batch in 8388608 1048576; do
        db=bench_${name}_$batch
        jq -n --arg url "$CH_URL" --arg db "$db" --argjson b "$batch" \
            '{allow_addresses: ["127.0.0.1/32"], clickhouse: {url: $url, database: $db, batch_bytes: $b}}' >"$D/config.json"
        server0=$(cpu_ticks "$CH_PID")
        t0=$(date +%s%N)
        TIMEFORMAT='%U %S'
        { time "$ARCHIVIST" ship --json --data-dir "$D" >"$WORK/ship.json" 2>"$WORK/ship.err"; } 2>"$WORK/time.txt" ||
            fail "ship failed: $(tail -n 3 "$WORK/ship.err")"
        t1=$(date +%s%N)
        server1=$(cpu_ticks "$CH_PID")
        read -r cu cs <"$WORK/time.txt"
        shipped=$(jq .shipped_events "$WORK/ship.json")
        [[ $shipped == "$N" ]] || fail "shipped $shipped of $N"
        chq "OPTIMIZE TABLE $db.events FINAL"
        disk=$(chq "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '$db' AND table = 'events' AND active")
        jq -n --argjson s "$(cat "$WORK/ship.json")" --arg name "$name" --argjson batch "$batch" --argjson n "$N" \
            --argjson archive "$archive_bytes" --argjson wall "$(( (t1 - t0) / 1000000 ))" \
            --argjson server "$(( server1 - server0 ))" --argjson hz "$HZ" --argjson disk "$disk" \
            --argjson client "$(awk -v u="$cu" -v s="$cs" 'BEGIN {print u + s}')" -r '
            def r(x): (x * 10 | round) / 10; def r2(x): (x * 100 | round) / 100;
            "| \($name) | \($batch / 1048576) MiB | \($n) | \(r($s.seconds)) (\(r($wall / 1000))) | \(($n / $s.seconds) | round) | \(r($archive / $n)) | \(r($s.body_bytes / $n)) | \(r($s.wire_bytes / $n)) | \(r2($s.wire_bytes / $archive)) | \(r($client * 1e6 / $n)) | \(r($server / $hz * 1e6 / $n)) | \(r($disk / $n)) | \($s.batches) |"'
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The encoding's cost on the same JSON (the sink uses gzip level 1): bytes and seconds for the
# history archive's lines, by the command-line gzip (zlib, as the sink).
zstdcat "$WORK"/history/archive/segment-*.jsonl.zst >"$WORK/history.jsonl"
raw=$(stat -c %s "$WORK/history.jsonl")
for level in 1 6; do
    t0=$(date +%s%N)
    gz=$(gzip -"$level" -c "$WORK/history.jsonl" | wc -c)
    t1=$(date +%s%N)
    echo "gzip -$level: $raw → $gz bytes ($(awk -v a="$gz" -v b="$raw" 'BEGIN {printf "%.1f %%", 100 * a / b}')), $(( (t1 - t0) / 1000000 )) ms"
done
stop_clickhouse
