#!/usr/bin/env bash
# `archivist reindex` keeps every sighting and first-seen time (the durable sightings log,
# docs/archive-format.md): 1,500 events imported from three files — each event seen by three
# sources, some by a fourth — give the same `stats --by relay`, `--by replication` and `--by delay`
# (on both day bases, so first-seen times are compared too) before and after `reindex`, also
# after a crash left a torn tail on the log.
source "$(dirname "$0")/lib.sh"

EVENTS=$(ensure_events 1500 31)
D=$WORK/data
for name in a b c; do
    cp "$EVENTS" "$WORK/relay-$name.jsonl"
done
head -n 300 "$EVENTS" >"$WORK/relay-d.jsonl"
for name in a b c d; do
    cli import_$name import --json --data-dir "$D" "$WORK/relay-$name.jsonl"
    expect_rc 0 import_$name "import relay-$name"
done
expect_eq "$(single_json import_a | jq .stored)" 1500 "events stored by the first import"
expect_eq "$(single_json import_c | jq .duplicate)" 1500 "copies seen by the third source"

# stats_all TAG — every sightings-based view, on both day bases, into $WORK/TAG.txt.
stats_all() {
    : >"$WORK/$1.txt"
    local by basis
    for by in relay replication delay day; do
        for basis in created first-seen; do
            cli "stats_${1}_${by}_${basis}" stats --by "$by" --day-basis "$basis" --format csv --data-dir "$D"
            expect_rc 0 "stats_${1}_${by}_${basis}" "stats --by $by --day-basis $basis"
            { echo "## $by $basis"; cat "$WORK/stats_${1}_${by}_${basis}.out"; } >>"$WORK/$1.txt"
        done
    done
}

stats_all before
grep -q "import:relay-d.jsonl" "$WORK/before.txt" || fail "the fourth source is missing from stats --by relay"
ls "$D"/sightings/sightings-*.log.zst >/dev/null || fail "no sightings log in the data directory"

cli reindex reindex --data-dir "$D"
expect_rc 0 reindex "reindex"
stats_all after
diff -u "$WORK/before.txt" "$WORK/after.txt" >"$WORK/diff.txt" || fail "stats differ after reindex: $(head -n 20 "$WORK/diff.txt")"
note "reindex: $(grep -c . "$WORK/before.txt") lines of stats --by relay/replication/delay/day identical"

# A crash left half a frame at the end of the log: cut at the next open, nothing else changes.
last=$(ls "$D"/sightings/sightings-*.log.zst | tail -n 1)
printf '\x28\xb5\x2f\xfd\x24\x10\x00' >>"$last"
cli reindex2 reindex --data-dir "$D"
expect_rc 0 reindex2 "reindex after a torn log tail"
grep -q "torn tail" "$WORK/reindex2.err" || fail "the torn tail was not reported: $(tail -n 5 "$WORK/reindex2.err")"
stats_all torn
diff -u "$WORK/before.txt" "$WORK/torn.txt" >"$WORK/diff2.txt" || fail "stats differ after the torn tail: $(head -n 20 "$WORK/diff2.txt")"
ls "$D"/sightings/quarantine/torn-* >/dev/null || fail "no copy of the cut tail"
note "torn log tail cut (a copy kept), stats unchanged"
echo "PASS [$ITEST_NAME]"
