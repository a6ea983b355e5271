#!/usr/bin/env python3
"""Runs a command and prints the CPU time (user + system) each of its threads used, summed by
thread name (the engine names its threads: writer, verify, ix-lane<n>, ix-flush, ix-merge, ...).

Usage: scripts/thread-cpu.py COMMAND [ARGS...]
e.g.   scripts/thread-cpu.py build/archivist import --no-verify --data-dir /tmp/d events.jsonl

Samples /proc/PID/task/*/stat every 0.2 s: the last samples of a thread that exits between two
samples are missed (at most 0.2 s of its time). Linux only. Output goes to stderr so the
command's own stdout stays clean."""
import collections
import os
import subprocess
import sys
import time

if len(sys.argv) < 2:
    sys.exit(__doc__)
proc = subprocess.Popen(sys.argv[1:])
ticks = os.sysconf("SC_CLK_TCK")
last = {}
while proc.poll() is None:
    try:
        tids = os.listdir(f"/proc/{proc.pid}/task")
    except OSError:
        tids = []
    for tid in tids:
        try:
            with open(f"/proc/{proc.pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        last[tid] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
    time.sleep(0.2)
by_name = collections.Counter()
for name, t in last.values():
    by_name[name] += t / ticks
for name, seconds in sorted(by_name.items(), key=lambda kv: -kv[1]):
    print(f"{name:16s} {seconds:9.2f} s", file=sys.stderr)
print(f"{'total':16s} {sum(by_name.values()):9.2f} s", file=sys.stderr)
sys.exit(proc.returncode)
