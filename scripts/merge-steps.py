#!/usr/bin/env python3
"""Times each step of a part merge, as core/index/part_builder.cpp's mergeAll and finish() run
them, on the parts of an existing index: for each of the first MONTHS months, all of its parts
are merged into one scratch file. Prints the CPU time of each step per merged event.

Usage: scripts/merge-steps.py INDEX_GENERATION_DIR [MONTHS] [PAGE_SIZE]
e.g.   scripts/merge-steps.py /tmp/d/index/g1 12 4096

The index is only read (its parts are attached read-only); the scratch file is a temporary file.
Python's sqlite3 module uses the system's libsqlite3, the library the engine links: the SQL
steps cost what they cost there. The read-back step pays Python's per-row overhead on top."""
import collections
import glob
import os
import sqlite3
import sys
import tempfile
import time

if len(sys.argv) < 2:
    sys.exit(__doc__)
gen = sys.argv[1]
months = int(sys.argv[2]) if len(sys.argv) > 2 else 12
page = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
groups = collections.defaultdict(list)
for f in sorted(glob.glob(os.path.join(gen, "part-*.sqlite"))):
    name = os.path.basename(f).split("-")
    groups[name[1] + "-" + name[2]].append(f)
cols = "rk, id, pubkey, kind, created_at, first_seen_at, segment, offset, length, line, flags, sighash"
cpu = collections.Counter()
events = 0
with tempfile.TemporaryDirectory() as tmp:
    for month in sorted(groups)[:months]:
        parts = groups[month][:10]  # SQLite attaches at most 10 files
        out = os.path.join(tmp, "out.sqlite")
        if os.path.exists(out):
            os.remove(out)
        c = sqlite3.connect(out, isolation_level=None)
        c.executescript(f"PRAGMA page_size={page}; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                        "PRAGMA cache_size=-16384;")
        src = sqlite3.connect(f"file:{parts[0]}?mode=ro", uri=True)
        for (sql,) in src.execute("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                  "AND name IN ('events', 'sightings', 'tags')"):
            c.execute(sql)
        src.close()
        ev, tg, sg = [], [], []
        for i, f in enumerate(parts):
            c.execute(f"ATTACH DATABASE 'file:{f}?mode=ro&immutable=1' AS m{i}")
            ev.append(f"SELECT {cols} FROM m{i}.events")
            tg.append(f"SELECT key, rk FROM m{i}.tags")
            sg.append(f"SELECT rk, source, seen_at FROM m{i}.sightings")

        def step(name, sql):
            t = time.process_time()
            c.execute(sql)
            cpu[name] += time.process_time() - t

        c.execute("BEGIN")
        step("events rows", f"INSERT INTO main.events({cols}) SELECT * FROM ({' UNION ALL '.join(ev)}) ORDER BY rk")
        step("tag rows", f"INSERT OR IGNORE INTO main.tags(key, rk) SELECT * FROM ({' UNION ALL '.join(tg)}) "
                         "ORDER BY key, rk")
        step("sightings", f"INSERT INTO main.sightings(rk, source, seen_at) SELECT * FROM ({' UNION ALL '.join(sg)}) "
                          "ORDER BY rk, source ON CONFLICT(rk, source) DO UPDATE SET seen_at = min(seen_at, excluded.seen_at)")
        c.execute("COMMIT")
        for i in range(len(parts)):
            c.execute(f"DETACH DATABASE m{i}")
        c.execute("BEGIN")
        t = time.process_time()
        n = sum(1 for _ in c.execute("SELECT id, kind, created_at FROM events"))
        cpu["read back"] += time.process_time() - t
        step("index id", "CREATE UNIQUE INDEX events_id ON events(id)")
        step("index author", "CREATE INDEX events_pubkey_created ON events(pubkey, created_at)")
        step("index kind", "CREATE INDEX events_kind_created ON events(kind, created_at)")
        step("index timeline", "CREATE INDEX events_created ON events(created_at, id)")
        step("orphan check", "SELECT count(*) FROM (SELECT rk FROM sightings EXCEPT SELECT rk FROM events)")
        c.execute("COMMIT")
        c.close()
        events += n
if not events:
    sys.exit(f"no parts in {gen}")
print(f"{events} events merged from the parts of {min(months, len(groups))} months, page size {page}")
for name, s in cpu.items():
    print(f"{name:16s} {1e6 * s / events:6.2f} us CPU per event")
print(f"{'total':16s} {1e6 * sum(cpu.values()) / events:6.2f} us CPU per event")
