#!/usr/bin/env python3
"""Compares two `perf record` profiles of imports as CPU time per event, by thread and by symbol:
where the cost of an event grows between a small and a big import (or moves between two builds).

Usage: scripts/perf-per-event.py A.perf.data EVENTS_A B.perf.data EVENTS_B [HZ] [ROWS]
e.g.   perf record -F 499 -o /tmp/a.data -- build/archivist import --json --data-dir /tmp/d1 events-1M.jsonl
       perf record -F 499 -o /tmp/b.data -- build/archivist import --json --data-dir /tmp/d10 events-10M.jsonl
       scripts/perf-per-event.py /tmp/a.data 1000000 /tmp/b.data 10000000 499

HZ is the sampling frequency both were recorded at (perf's -F; default 499): a sample stands for
1/HZ s of one thread's CPU. Threads are grouped by name (the engine names them: verify,
ix-lane<n> counted together as ix-lane, ix-merge, ix-flush, writer); symbols of libraries
without symbols are grouped per library (sqlite?, secp, zstd). Prints µs per event for each
thread in A and in B, then the ROWS (default 40) (thread, library, symbol) rows whose cost moved
most. Sampled: differences under ~0.05 µs an event are noise."""
import collections
import subprocess
import sys


def load(path, events, hz):
    out = subprocess.run(["perf", "report", "-i", path, "--sort", "comm,dso,sym", "--stdio", "-n",
                          "--percent-limit", "0"], capture_output=True, text=True, check=True).stdout
    cost = collections.Counter()
    for line in out.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        try:
            samples = int(fields[1])
        except (IndexError, ValueError):
            continue
        comm, dso, sym = fields[2], fields[3], " ".join(fields[5:])
        if comm.startswith("ix-lane"):
            comm = "ix-lane"
        if comm.startswith("archivist"):
            comm = "archivist"
        if dso.startswith("archivist"):
            dso = "archivist"
        for lib, name in (("libsqlite3", "sqlite?"), ("libsecp256k1", "secp"), ("libzstd", "zstd")):
            if dso.startswith(lib) and (name != "sqlite?" or sym.startswith("0x")):
                sym = name
        cost[(comm, dso.split(".so")[0], sym[:100])] += samples * 1e6 / hz / events
    return cost


if len(sys.argv) < 5:
    sys.exit(__doc__)
hz = float(sys.argv[5]) if len(sys.argv) > 5 else 499.0
rows = int(sys.argv[6]) if len(sys.argv) > 6 else 40
a = load(sys.argv[1], float(sys.argv[2]), hz)
b = load(sys.argv[3], float(sys.argv[4]), hz)
threads_a, threads_b = collections.Counter(), collections.Counter()
for k, v in a.items():
    threads_a[k[0]] += v
for k, v in b.items():
    threads_b[k[0]] += v
print(f"{'thread':12s} {'A µs/ev':>8s} {'B µs/ev':>8s} {'B − A':>7s}")
for t in sorted(set(threads_a) | set(threads_b), key=lambda t: -threads_b[t]):
    print(f"{t:12s} {threads_a[t]:8.2f} {threads_b[t]:8.2f} {threads_b[t] - threads_a[t]:+7.2f}")
print(f"{'all':12s} {sum(threads_a.values()):8.2f} {sum(threads_b.values()):8.2f} "
      f"{sum(threads_b.values()) - sum(threads_a.values()):+7.2f}")
print()
moved = {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b)}
for k, v in sorted(moved.items(), key=lambda kv: -abs(kv[1]))[:rows]:
    print(f"{v:+7.3f}  {a.get(k, 0):7.3f} -> {b.get(k, 0):7.3f}  {k[0]:10s} {k[1]:12s} {k[2]}")
