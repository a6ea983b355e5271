#!/usr/bin/env python3
"""The SQLite floor of the index: how fast can ONE SQLite connection insert event rows with the
index's B-tree layout, before any parsing, hashing, compression or verification?

Inserts N rows shaped like the index's `events` table (random 32-byte ids, 2,000 authors, random
created_at) in transactions of 4,096 rows sorted by id, exactly as the commit writer does, with
different sets of secondary indexes. Uses Python's sqlite3 module (the per-row Python overhead is
included, so the figures are an upper bound on what SQLite alone costs).

Usage: python3 bench/sqlite_floor.py [N]     (default 100000; writes to a temporary directory)
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
GROUP = 4096
VARIANTS = {
    "id only (UNIQUE)": [],
    "+ (pubkey, created_at)": ["CREATE INDEX a ON events(pubkey, created_at)"],
    "+ (created_at, id)": ["CREATE INDEX c ON events(created_at, id)"],
    "all four of the schema": [
        "CREATE INDEX a ON events(pubkey, created_at)",
        "CREATE INDEX b ON events(kind, created_at)",
        "CREATE INDEX c ON events(created_at, id)",
        "CREATE INDEX d ON events(frame, line)",
    ],
}

rng = random.Random(7)
authors = [rng.randbytes(32) for _ in range(2000)]
rows = [(rng.randbytes(32), rng.choice(authors), 1, rng.randint(1_600_000_000, 1_700_000_000), 0,
         i // GROUP, i % GROUP, 0) for i in range(N)]

with tempfile.TemporaryDirectory() as tmp:
    for name, indexes in VARIANTS.items():
        path = os.path.join(tmp, name.replace(" ", "_") + ".db")
        db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
            db.execute("PRAGMA " + pragma)
        db.execute("CREATE TABLE events(rowid INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, pubkey BLOB NOT NULL, "
                   "kind INTEGER NOT NULL, created_at INTEGER NOT NULL, first_seen_at INTEGER NOT NULL, "
                   "frame INTEGER NOT NULL, line INTEGER NOT NULL, flags INTEGER NOT NULL)")
        for sql in indexes:
            db.execute(sql)
        start = time.perf_counter()
        for g in range(0, N, GROUP):
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO events(id, pubkey, kind, created_at, first_seen_at, frame, line, flags) "
                           "VALUES (?,?,?,?,?,?,?,?)", sorted(rows[g:g + GROUP]))
            db.execute("COMMIT")
        seconds = time.perf_counter() - start
        db.close()
        print(f"{name:26s} {N / seconds:10.0f} rows/s  {seconds * 1e6 / N:6.1f} us/row")
