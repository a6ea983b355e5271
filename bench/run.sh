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
