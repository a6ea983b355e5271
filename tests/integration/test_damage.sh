#!/usr/bin/env bash
# Never lose a byte, through the command line: a damaged frame in the middle of the open segment
# costs that frame only (reindex, or a lost index, keeps every later frame; the segment is not
# shortened); verify fails until salvage ran; export --skip-damaged says how many it left out;
# salvage recovers what the frame still holds and reports the loss; a truncated or overwritten
# index is set aside and rebuilt by any command; a damaged relays.sqlite is set aside and the
# import goes on; import names the real problem with an input (directory, missing, unreadable) and
# reads pipes; an import stopped by SIGTERM answers within 5 s and reports exactly what it stored.
# Usage: bash test_damage.sh /path/to/archivist
source "$(dirname "$0")/lib.sh"

COUNT=12000
EVENTS=$(ensure_events "$COUNT" damage)
IDS=$EVENTS.ids

# flip FILE OFFSET N — inverts N bytes at OFFSET.
flip() {
    node -e '
const fs = require("fs");
const [file, at, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const fd = fs.openSync(file, "r+");
const b = Buffer.alloc(n);
fs.readSync(fd, b, 0, n, at);
for (let i = 0; i < n; ++i) b[i] = ~b[i] & 0xff;
fs.writeSync(fd, b, 0, n, at);
fs.closeSync(fd);' "$1" "$2" "$3"
}

events_of() { cli "$1" stats --json --data-dir "$2"; expect_rc 0 "$1" "stats of $2"; single_json "$1" | jq .events; }

# --- A complete archive, one open segment of several frames.
D=$WORK/d1
cli import import --json --data-dir "$D" "$EVENTS"
expect_rc 0 import "import"
expect_eq "$(single_json import | jq .stored)" "$COUNT" "import: stored"
SEG=$D/archive/segment-000001.jsonl.zst
SIZE=$(stat -c %s "$SEG")
cp -a "$D" "$WORK/pristine"

# --- D1 through reindex: the damaged frame is quarantined, every later frame kept.
flip "$SEG" $((SIZE / 2)) 16
cli reindex reindex --data-dir "$D"
expect_rc 1 reindex "reindex over a damaged frame exits 1"
grep -q "quarantined" "$WORK/reindex.err" || fail "reindex does not say it quarantined the damage: $(cat "$WORK/reindex.err")"
grep -q "archivist salvage" "$WORK/reindex.err" || fail "reindex does not point to salvage"
expect_eq "$(stat -c %s "$SEG")" "$SIZE" "the segment is not shortened"
AFTER=$(events_of st1 "$D")
((AFTER < COUNT && AFTER >= COUNT - 4096)) || fail "after reindex $AFTER events: more than one frame (4096 events) lost, or nothing"
ls "$D"/archive/quarantine/*.bin >/dev/null || fail "no quarantine entry"
zstd -dc "$SEG" | wc -l | grep -qx "$AFTER" || fail "zstd does not read the segment with its quarantine marker"
cli verify verify --data-dir "$D"
expect_rc 1 verify "verify while a quarantine entry awaits salvage"
grep -q "awaiting salvage" "$WORK/verify.err" || fail "verify does not list the quarantine entry: $(cat "$WORK/verify.err")"
cli skip export --skip-damaged --data-dir "$D"
expect_rc 0 skip "export --skip-damaged"
expect_eq "$(wc -l <"$WORK/skip.out")" "$AFTER" "export --skip-damaged: events"

cli salvage salvage --json --data-dir "$D"
expect_rc 0 salvage "salvage"
S=$(single_json salvage)
RECOVERED=$(jq .recovered <<<"$S")
LOST=$(jq .lost <<<"$S")
FINAL=$(events_of st2 "$D")
expect_eq "$FINAL" "$((AFTER + RECOVERED))" "salvage stored what it recovered"
((LOST > 0 && FINAL + LOST >= COUNT - 200 && FINAL + LOST <= COUNT + 200)) ||
    fail "salvage's loss estimate ($LOST) is far from the truth ($((COUNT - FINAL)))"
cli verify2 verify --data-dir "$D"
expect_rc 0 verify2 "verify after salvage"
cli all export --data-dir "$D"
expect_rc 0 all "export after salvage"
jq -r .id "$WORK/all.out" | LC_ALL=C sort >"$WORK/got.ids"
expect_eq "$(LC_ALL=C comm -13 "$IDS" "$WORK/got.ids" | wc -l)" 0 "every exported event is one that was imported"
expect_eq "$(wc -l <"$WORK/got.ids")" "$FINAL" "export after salvage: events"
note "D1/reindex: $AFTER kept, salvage recovered $RECOVERED, lost $LOST (truly $((COUNT - FINAL)))"

# --- D1 with the index lost: recovery itself quarantines, and export without the flag says why it stops.
D=$WORK/d2
cp -a "$WORK/pristine" "$D"
flip "$D/archive/segment-000001.jsonl.zst" $((SIZE / 3)) 16
cli export_bad export --data-dir "$D"
expect_rc 1 export_bad "export over damage without --skip-damaged"
grep -q "skip-damaged" "$WORK/export_bad.err" || fail "export does not say how to get around the damage: $(cat "$WORK/export_bad.err")"
rm -r "$D"/index
cli st3 stats --json --data-dir "$D"
expect_rc 0 st3 "stats after losing the index"
grep -q "quarantined" "$WORK/st3.err" || fail "stats does not say what it quarantined"
N=$(single_json st3 | jq .events)
((N < COUNT && N >= COUNT - 4096)) || fail "with the index lost, $N events: more than one frame lost"

# --- D5: a truncated, then an overwritten index catalog is set aside (the whole index/) and rebuilt
# by any command.
for damage in truncate overwrite; do
    D=$WORK/d5-$damage
    cp -a "$WORK/pristine" "$D"
    CAT=$(ls "$D"/index/g*/catalog.sqlite | head -1)
    if [[ $damage == truncate ]]; then
        truncate -s $(( $(stat -c %s "$CAT") / 2 )) "$CAT"
    else
        printf 'this is not a database at all, not even close%.0s' {1..200} | dd of="$CAT" conv=notrunc status=none
    fi
    cli d5 stats --json --data-dir "$D"
    expect_rc 0 d5 "stats with a $damage index"
    grep -q "index was damaged" "$WORK/d5.err" || fail "$damage index: no message: $(cat "$WORK/d5.err")"
    expect_eq "$(single_json d5 | jq .events)" "$COUNT" "$damage index rebuilt: events"
    ls -d "$D"/index.corrupt-* >/dev/null || fail "$damage index: the damaged index was not kept"
    cli d5v verify --data-dir "$D"
    expect_rc 0 d5v "verify after the $damage index was rebuilt"
done
D=$WORK/d5-reindex
cp -a "$WORK/pristine" "$D"
truncate -s 4096 "$(ls "$D"/index/g*/catalog.sqlite | head -1)"
cli d5r reindex --data-dir "$D"
expect_rc 0 d5r "reindex with a damaged index"
expect_eq "$(events_of d5rs "$D")" "$COUNT" "reindex of a damaged index: events"

# --- relays.sqlite damaged: set aside, the import goes on.
D=$WORK/relays
cp -a "$WORK/pristine" "$D"
printf 'garbage%.0s' {1..500} >"$D/relays.sqlite"
cli relays import --json --data-dir "$D" "$EVENTS"
expect_rc 0 relays "import with a damaged relays.sqlite"
grep -q "relay directory .* is damaged" "$WORK/relays.err" || fail "no message about relays.sqlite: $(cat "$WORK/relays.err")"
ls "$D"/relays.sqlite.corrupt-* >/dev/null || fail "the damaged relays.sqlite was not kept"
expect_eq "$(single_json relays | jq .duplicate)" "$COUNT" "import with a fresh relay directory"

# --- Messages that name the real problem; pipes are read.
cli dir import --data-dir "$WORK/m" "$WORK"
expect_rc 1 dir "import of a directory"
grep -q "is a directory" "$WORK/dir.err" || fail "directory: $(cat "$WORK/dir.err")"
cli missing import --data-dir "$WORK/m" "$WORK/nothing-here.jsonl"
expect_rc 1 missing "import of a missing file"
grep -q "no such file" "$WORK/missing.err" || fail "missing: $(cat "$WORK/missing.err")"
if ((EUID != 0)); then
    cp "$EVENTS" "$WORK/locked.jsonl"
    chmod 000 "$WORK/locked.jsonl"
    cli perm import --data-dir "$WORK/m" "$WORK/locked.jsonl"
    expect_rc 1 perm "import of an unreadable file"
    grep -q "permission denied" "$WORK/perm.err" || fail "permissions: $(cat "$WORK/perm.err")"
fi
mkfifo "$WORK/events.fifo"
head -n 500 "$EVENTS" >"$WORK/events.fifo" &
cli fifo import --json --data-dir "$WORK/m" "$WORK/events.fifo"
expect_rc 0 fifo "import from a FIFO"
expect_eq "$(single_json fifo | jq .stored)" 500 "import from a FIFO: stored"

# --- SIGTERM during an import: answered within 5 s, and "stored" is what the archive holds.
# The events arrive through a pipe in 12 portions 0.3 s apart, so the import is still reading and
# storing when the signal comes (a file this size is imported in less than a second).
D=$WORK/term
feed() {
    local i
    for i in $(seq 0 11); do sed -n "$((i * 1000 + 1)),$(((i + 1) * 1000))p" "$EVENTS"; sleep 0.3; done
}
feed | "$ARCHIVIST" import --json --data-dir "$D" - >"$WORK/term.out" 2>"$WORK/term.err" &
pid=$!
track_pid "$pid"
for _ in $(seq 1 200); do grep -q "stored" "$WORK/term.err" 2>/dev/null && break; sleep 0.05; done
t0=$(now_ms)
kill -TERM "$pid" 2>/dev/null || true
set +e
wait "$pid"
rc=$?
set -e
took=$(( $(now_ms) - t0 ))
((took <= 5000)) || fail "SIGTERM answered after $took ms"
STORED=$(single_json term | jq .stored)
NOT=$(single_json term | jq .not_stored)
HELD=$(events_of termst "$D")
if ((rc == 1)); then
    grep -q "interrupted" "$WORK/term.err" || fail "no word of the interruption: $(tail -3 "$WORK/term.err")"
else
    expect_eq "$rc" 0 "import exit code after SIGTERM"  # it had finished already
fi
expect_eq "$STORED" "$HELD" "stored as reported = events the archive holds"
expect_eq "$(single_json term | jq '.stored + .duplicate + .invalid + .not_stored')" "$(single_json term | jq .read)" \
    "stored + duplicate + invalid + not_stored = read"
note "SIGTERM answered in $took ms: $STORED stored, $NOT not stored"

note "PASS"
