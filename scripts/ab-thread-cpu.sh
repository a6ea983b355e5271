#!/bin/bash
# Imports FILE with two builds in turn, PAIRS times (A, B, A, B, …), each into a fresh data
# directory, and prints each run's wall time and CPU seconds by thread (scripts/thread-cpu.py):
# an A/B pair on a shared machine whose speed moves, as docs/benchmarks.md asks for.
#
# Usage: scripts/ab-thread-cpu.sh FILE PAIRS ARCHIVIST_A ARCHIVIST_B [IMPORT_ARGS...]
# e.g.   scripts/ab-thread-cpu.sh /tmp/i14bench/import-events-backfill-1000000.jsonl 2 /tmp/old build/archivist
set -euo pipefail
if [ $# -lt 4 ]; then sed -n '2,7p' "$0"; exit 2; fi
file=$1; pairs=$2; a=$3; b=$4; shift 4
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for _ in $(seq 1 "$pairs"); do
  for bin in "$a" "$b"; do
    rm -rf "$dir/data"
    python3 "$here/thread-cpu.py" "$bin" import --json "$@" --data-dir "$dir/data" "$file" > /dev/null 2> "$dir/err"
    printf '%s  wall %s  ' "$bin" "$(sed -n 's/^imported .* in \([0-9.]*\) s.*/\1/p' "$dir/err")"
    awk '/^(verify|ix-lane[0-9]+|writer|ix-merge|ix-flush|total) / { printf "%s=%s ", $1, $2 } END { print "" }' "$dir/err"
  done
done
