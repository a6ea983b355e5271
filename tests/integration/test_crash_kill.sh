#!/usr/bin/env bash
# Crash safety under SIGKILL: CRASH_ROUNDS (default 20) times, start importing ~20k events into
# the same data directory and kill -9 the importer at a random moment within an import's
# duration; after every kill `verify` must pass and no committed event may disappear. Finally a
# complete import must leave exactly the generated set: nothing lost, nothing duplicated.
# Usage: bash test_crash_kill.sh /path/to/archivist
#   env CRASH_ROUNDS=N (default 20), CRASH_EVENTS=N (default 20000), CRASH_SEED=S (default: random,
#   printed so a failing run can be repeated).
source "$(dirname "$0")/lib.sh"

ROUNDS=${CRASH_ROUNDS:-20}
COUNT=${CRASH_EVENTS:-20000}
SEED=${CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
note "rounds=$ROUNDS events=$COUNT seed=$SEED (repeat with CRASH_SEED=$SEED)"

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

D=$WORK/data
previous=0
for round in $(seq 1 "$ROUNDS"); do
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
    cli stats stats --json --data-dir "$D"
    expect_rc 0 stats "round $round: stats after SIGKILL"
    events=$(single_json stats | jq .events)
    ((events >= previous)) || fail "round $round (seed $SEED): stats events went from $previous down to $events — committed events were lost"
    ((events <= COUNT)) || fail "round $round (seed $SEED): stats events $events exceeds the $COUNT distinct events imported"
    note "round $round: SIGKILL at ${delay_ms} ms ($state), $events events stored, verify ok"
    previous=$events
done

# Finish: a complete import, then the archive holds exactly the generated set.
cli final import --json --data-dir "$D" "$EVENTS"
expect_rc 0 final "final import"
GOT=$(single_json final)
expect_eq "$(jq .stored <<<"$GOT")" "$((COUNT - previous))" "final import: stored (the events missing after the last round)"
expect_eq "$(jq '.stored + .duplicate' <<<"$GOT")" "$COUNT" "final import: stored + duplicate"
cli final_stats stats --json --data-dir "$D"
expect_rc 0 final_stats "final stats"
expect_eq "$(single_json final_stats | jq .events)" "$COUNT" "final stats events"
cli final_export export --data-dir "$D"
expect_rc 0 final_export "final export"
jq -r .id "$WORK/final_export.out" | LC_ALL=C sort >"$WORK/exported.ids"
if ! cmp -s "$IDS" "$WORK/exported.ids"; then
    fail "exported ids differ from the generated set (seed $SEED):
$(diff "$IDS" "$WORK/exported.ids" | head -n 10)
missing: $(comm -23 "$IDS" "$WORK/exported.ids" | wc -l), unexpected or repeated: $(comm -13 "$IDS" "$WORK/exported.ids" | wc -l)"
fi
cli final_verify verify --data-dir "$D"
expect_rc 0 final_verify "final verify"

note "PASS ($ROUNDS rounds, $COUNT events, seed $SEED)"
