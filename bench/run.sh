#!/usr/bin/env bash
# Runs the benchmarks and prints their tables; see docs/benchmarks.md for recorded results.
# Usage: bench/run.sh BUILD_DIR [EVENTS...]   (default: 100000 1000000)
set -euo pipefail
build=${1:-build}; shift || true
sizes=("$@"); [[ ${#sizes[@]} -gt 0 ]] || sizes=(100000 1000000)
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for n in "${sizes[@]}"; do
  echo "== bench_import --events $n"
  "$build/bench/bench_import" --archivist "$build/archivist" --events "$n"
done
# Relay network: 200 flooding relays + 1,000 idle connections (relay_farm is a separate process).
echo "== bench_relays --events 200000 --relays 200 --idle-relays 1000"
"$build/bench/bench_relays" --archivist "$build/archivist" --farm "$build/bench/relay_farm" \
  --events 200000 --relays 200 --idle-relays 1000
