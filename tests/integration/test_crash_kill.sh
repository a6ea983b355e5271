#!/usr/bin/env bash
# Crash safety under SIGKILL: CRASH_ROUNDS (default 20) times, start importing ~20k events into
# the same data directory and kill -9 the importer at a random moment within an import's
# duration; after every kill `verify` must pass and no committed event may disappear. Finally a
# complete import must leave exactly the generated set: nothing lost, nothing duplicated.
# The index runs with tiny thresholds (ARCHIVIST_INDEX_TUNING) so that hot files are flushed and
# parts merged all the time: kills land in the middle of flushes and merges (the next open says
# so when it removes what one left), and the test fails if none did.
# Usage: bash test_crash_kill.sh /path/to/archivist
#   env CRASH_ROUNDS=N (default 20), CRASH_EVENTS=N (default 20000), CRASH_SEED=S (default: random,
#   printed so a failing run can be repeated).
source "$(dirname "$0")/lib.sh"

ROUNDS=${CRASH_ROUNDS:-20}
COUNT=${CRASH_EVENTS:-20000}
SEED=${CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
note "rounds=$ROUNDS events=$COUNT seed=$SEED (repeat with CRASH_SEED=$SEED)"

# Hot files of 1,500 events per lane, parts merged two at a time: flushes and merges run
# throughout every import.
export ARCHIVIST_INDEX_TUNING=${CRASH_INDEX_TUNING:-lanes=2,hot_events=1500,fanin=2,max_parts=12,threads=2}
note "index tuning: $ARCHIVIST_INDEX_TUNING"

EVENTS=$(ensure_events "$COUNT" crash)
IDS=$EVENTS.ids
expect_eq "$(wc -l <"$IDS")" "$COUNT" "generated events"

# Calibrate: one clean import measures how long an import takes (and must store everything).
start=$(now_ms)
cli calibrate import --json --data-dir "$WORK/calibration" "$EVENTS"
expect_rc 0 calibrate "calibration import"
IMPORT_MS=$(( $(now_ms) - start ))
expect_eq "$(single_json calibrate | jq .stored)" "$COUNT" "calibration import: stored"
rm -rf "$WORK/calibration"
note "a full import takes ${IMPORT_MS} ms"

mid_compaction=0
fts_pending=0
# Every round kills an import into a FRESH data directory at a random moment while new events are
# being written, then checks recovery (verify), finishes the import and checks that exactly the
# generated set is stored: nothing lost, nothing duplicated.
for round in $(seq 1 "$ROUNDS"); do
    D=$WORK/data-$round
    delay_ms=$(( (RANDOM * 32768 + RANDOM) % (IMPORT_MS + 1) ))
    "$ARCHIVIST" import --data-dir "$D" "$EVENTS" >"$WORK/round.out" 2>"$WORK/round.err" &
    pid=$!
    track_pid "$pid"
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then state="killed"; else state="had already finished"; fi
    set +e
    wait "$pid" 2>/dev/null
    set -e

    cli verify verify --data-dir "$D"
    expect_rc 0 verify "round $round (seed $SEED): verify after SIGKILL at ${delay_ms} ms"
    if grep -qE "flush or merge that did not finish|files a flush or merge had replaced" "$WORK/verify.err"; then
        mid_compaction=$((mid_compaction + 1))
        state="$state during a flush or merge"
    fi
    grep -q "full-text documents a crash had left pending" "$WORK/verify.err" && fts_pending=$((fts_pending + 1))
    cli stats stats --json --data-dir "$D"
    expect_rc 0 stats "round $round: stats after SIGKILL"
    before=$(single_json stats | jq .events)
    ((before <= COUNT)) || fail "round $round (seed $SEED): $before events stored, more than the $COUNT distinct events imported"

    cli finish import --json --data-dir "$D" "$EVENTS"
    expect_rc 0 finish "round $round: finishing the import"
    GOT=$(single_json finish)
    expect_eq "$(jq .stored <<<"$GOT")" "$((COUNT - before))" "round $round: finishing stores exactly the events missing after the kill"
    expect_eq "$(jq '.stored + .duplicate' <<<"$GOT")" "$COUNT" "round $round: stored + duplicate"
    cli final_stats stats --json --data-dir "$D"
    expect_eq "$(single_json final_stats | jq .events)" "$COUNT" "round $round: events after finishing"
    cli final_verify verify --data-dir "$D"
    expect_rc 0 final_verify "round $round: verify after finishing"
    if ((round == ROUNDS || round % 10 == 0)); then
        cli final_export export --data-dir "$D"
        expect_rc 0 final_export "round $round: export"
        jq -r .id "$WORK/final_export.out" | LC_ALL=C sort >"$WORK/exported.ids"
        if ! cmp -s "$IDS" "$WORK/exported.ids"; then
            fail "round $round: exported ids differ from the generated set (seed $SEED):
$(diff "$IDS" "$WORK/exported.ids" | head -n 10)"
        fi
    fi
    note "round $round: SIGKILL at ${delay_ms} ms ($state) with $before events stored; finished to $COUNT, verify ok"
    rm -rf "$D"
done

note "$mid_compaction of $ROUNDS kills landed during a flush or merge; $fts_pending between a lane's commit and its full-text commit"
((mid_compaction > 0)) || fail "no kill landed during a flush or merge (seed $SEED): the test did not test them"
note "PASS ($ROUNDS rounds, $COUNT events, seed $SEED)"
