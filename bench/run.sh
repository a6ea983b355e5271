#!/usr/bin/env bash
# Runs the benchmarks and prints their tables; see docs/benchmarks.md for recorded results.
# Usage: bench/run.sh BUILD_DIR [EVENTS...]   (default: 100000 1000000)
set -euo pipefail
build=${1:-build}; shift || true
sizes=("$@"); [[ ${#sizes[@]} -gt 0 ]] || sizes=(100000 1000000)
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for n in "${sizes[@]}"; do
  echo "== bench_import --events $n (time order, then backfill-shaped)"
  "$build/bench/bench_import" --archivist "$build/archivist" --events "$n" --reindex --keep --work "$build/bench-work-$n"
  "$build/bench/bench_import" --archivist "$build/archivist" --events "$n" --shape backfill --no-noverify
  echo "== bench_query over the $n-event index"
  "$build/bench/bench_query" --data-dir "$build/bench-work-$n/data-verify"
  rm -rf "$build/bench-work-$n"
done
# Relay network: 200 flooding relays + 1,000 idle connections (relay_farm is a separate process),
# then the same flood with every event from five relays.
echo "== bench_relays --events 200000 --relays 200 --idle-relays 1000 --compare-copies 5"
"$build/bench/bench_relays" --archivist "$build/archivist" --farm "$build/bench/relay_farm" \
  --events 200000 --relays 200 --idle-relays 1000 --compare-copies 5
# SQLite's C API against Qt Sql (decision 0012); built only where Qt6::Sql is found.
if [[ -x "$build/bench/bench_qtsql" ]]; then
  echo "== bench_qtsql --rows 200000 --rounds 3"
  "$build/bench/bench_qtsql" --rows 200000 --rounds 3
fi
