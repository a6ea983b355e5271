#!/usr/bin/env bash
# Long crash-safety soak: CRASH_ROUNDS (200) rounds, each SIGKILLing archivist at a random moment of
# one operation, in turn (CRASH_OPS, default all four):
#   import   an import of CRASH_EVENTS (20000) events into a fresh data directory;
#   reindex  `archivist reindex` of a complete data directory;
#   rebuild  the live index rebuild (`archivist --headless --rebuild-index`) of a complete one;
#   migrate  the first open of a complete data directory whose index is at schema version 1 (its
#            tags as text rows, made by tests/tools/index_to_v1.mjs), which migrates it.
# The kill moment is drawn uniformly from the operation's own duration, measured first, so every
# operation is hit at every stage (whatever the index does inside it: flushes and merges included).
# After each kill: `verify` exits 0; the data directory holds no event that was not imported and
# (import) finishing the import stores exactly the rest, (the others) exactly the whole set is
# there; a tag query answers exactly as before the operation; every 10th round and the last, the
# exported id set equals the generated one. Nothing lost, nothing duplicated.
# Usage: scripts/crash-soak.sh [/path/to/archivist]
#   env CRASH_ROUNDS, CRASH_EVENTS, CRASH_OPS (comma list), CRASH_SEED (default random; printed —
#   rerun with it to repeat the same sequence of kill moments).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/integration/lib.sh

ROUNDS=${CRASH_ROUNDS:-200}
COUNT=${CRASH_EVENTS:-20000}
IFS=, read -r -a OPS <<<"${CRASH_OPS:-import,reindex,rebuild,migrate}"
SEED=${CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
note "rounds=$ROUNDS events=$COUNT ops=${OPS[*]} seed=$SEED (repeat with CRASH_SEED=$SEED); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
started_s=$(date +%s)

EVENTS=$(ensure_events "$COUNT" crash)
IDS=$EVENTS.ids
expect_eq "$(wc -l <"$IDS")" "$COUNT" "generated events"
# A tag query whose answer must survive every operation: the events that name the most frequent p.
TAG=$(jq -r '.tags[] | select(.[0] == "p") | .[1]' "$EVENTS" | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
TAG_COUNT=$(jq -c --arg t "$TAG" 'select(any(.tags[]; .[0] == "p" and .[1] == $t))' "$EVENTS" | wc -l)
note "tag query: #p $TAG → $TAG_COUNT events"

# The complete data directories the reindex/rebuild/migrate rounds start from.
BASE=$WORK/base
cli base_import import --json --data-dir "$BASE" "$EVENTS"
expect_rc 0 base_import "base import"
expect_eq "$(single_json base_import | jq .stored)" "$COUNT" "base import: stored"
BASE_V1=$WORK/base-v1
cp -a "$BASE" "$BASE_V1"
node tests/tools/index_to_v1.mjs "$BASE_V1/index.sqlite" "$EVENTS" || fail "index_to_v1.mjs failed"

# start_op OP DIR — starts the operation in the background (in this shell); its pid in OP_PID.
start_op() {
    local op=$1 dir=$2
    case $op in
        import) "$ARCHIVIST" import --data-dir "$dir" "$EVENTS" >"$WORK/op.out" 2>"$WORK/op.err" & ;;
        reindex) "$ARCHIVIST" reindex --data-dir "$dir" >"$WORK/op.out" 2>"$WORK/op.err" & ;;
        rebuild) "$ARCHIVIST" --headless --data-dir "$dir" --no-seed-relays --no-backfill --rebuild-index \
                     >"$WORK/op.out" 2>"$WORK/op.err" & ;;
        migrate) "$ARCHIVIST" stats --json --data-dir "$dir" >"$WORK/op.out" 2>"$WORK/op.err" & ;;
        *) fail "unknown operation $op" ;;
    esac
    OP_PID=$!
    track_pid "$OP_PID"
}

# prepare OP DIR — the data directory the operation starts from.
prepare() {
    local op=$1 dir=$2
    rm -rf "$dir"
    case $op in
        import) ;;
        migrate) cp -a "$BASE_V1" "$dir" ;;
        *) cp -a "$BASE" "$dir" ;;
    esac
}

# run_to_end OP DIR — runs the operation to its natural end (the rebuild: until it says so, then
# SIGTERM); how long that took goes to DURATION_MS[OP].
declare -A DURATION_MS
run_to_end() {
    local op=$1 dir=$2 t0
    t0=$(now_ms)
    start_op "$op" "$dir"
    if [[ $op == rebuild ]]; then
        for _ in $(seq 1 6000); do
            grep -q 'index rebuild \(finished\|failed\)' "$WORK/op.err" 2>/dev/null && break
            sleep 0.05
        done
        grep -q 'index rebuild finished' "$WORK/op.err" || fail "calibration: the rebuild did not finish: $(tail -5 "$WORK/op.err")"
        DURATION_MS[$op]=$(( $(now_ms) - t0 ))
        kill -TERM "$OP_PID"
        wait "$OP_PID" || fail "calibration: the engine did not stop cleanly"
        return
    fi
    wait "$OP_PID" || fail "calibration: $op failed: $(tail -5 "$WORK/op.err")"
    DURATION_MS[$op]=$(( $(now_ms) - t0 ))
}

for op in "${OPS[@]}"; do
    prepare "$op" "$WORK/calibration"
    run_to_end "$op" "$WORK/calibration"
    note "$op takes ${DURATION_MS[$op]} ms"
done
rm -rf "$WORK/calibration"

# check_tag NAME DIR — the tag query answers exactly as it should.
check_tag() {
    cli "$1" export --data-dir "$2" --filter "{\"#p\":[\"$TAG\"]}"
    expect_rc 0 "$1" "tag query"
    expect_eq "$(wc -l <"$WORK/$1.out")" "$TAG_COUNT" "$1: events tagged #p $TAG"
}

declare -A HIT
for round in $(seq 1 "$ROUNDS"); do
    op=${OPS[$(( (round - 1) % ${#OPS[@]} ))]}
    D=$WORK/data-$round
    prepare "$op" "$D"
    dur=${DURATION_MS[$op]}
    delay_ms=$(( (RANDOM * 32768 + RANDOM) % (dur + 1) ))
    start_op "$op" "$D"
    pid=$OP_PID
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then state=killed; else state="had already finished"; fi
    set +e
    wait "$pid" 2>/dev/null
    set -e
    HIT[$op]=$(( ${HIT[$op]:-0} + 1 ))

    cli verify verify --data-dir "$D"
    expect_rc 0 verify "round $round ($op, seed $SEED): verify after SIGKILL at ${delay_ms} ms"
    cli stats stats --json --data-dir "$D"
    expect_rc 0 stats "round $round: stats after SIGKILL"
    before=$(single_json stats | jq .events)
    if [[ $op == import ]]; then
        ((before <= COUNT)) || fail "round $round (seed $SEED): $before events stored, more than the $COUNT imported"
        cli finish import --json --data-dir "$D" "$EVENTS"
        expect_rc 0 finish "round $round: finishing the import"
        GOT=$(single_json finish)
        expect_eq "$(jq .stored <<<"$GOT")" "$((COUNT - before))" "round $round: finishing stores exactly the events missing after the kill"
        expect_eq "$(jq '.stored + .duplicate' <<<"$GOT")" "$COUNT" "round $round: stored + duplicate"
    else
        expect_eq "$before" "$COUNT" "round $round ($op, seed $SEED): events after SIGKILL at ${delay_ms} ms"
    fi
    [[ -e $D/index.rebuild.sqlite ]] && fail "round $round: the rebuild's work file survived a reopen"
    check_tag tag "$D"
    cli final_verify verify --data-dir "$D"
    expect_rc 0 final_verify "round $round: verify at the end"
    if ((round == ROUNDS || round % 10 == 0)); then
        cli final_export export --data-dir "$D"
        expect_rc 0 final_export "round $round: export"
        jq -r .id "$WORK/final_export.out" | LC_ALL=C sort >"$WORK/exported.ids"
        cmp -s "$IDS" "$WORK/exported.ids" ||
            fail "round $round: exported ids differ from the generated set (seed $SEED):
$(diff "$IDS" "$WORK/exported.ids" | head -n 10)"
    fi
    note "round $round: $op, SIGKILL at ${delay_ms} of ${dur} ms ($state), $before events after; verify ok"
    rm -rf "$D"
done

summary=""
for op in "${OPS[@]}"; do summary+=" $op=${HIT[$op]:-0}"; done
note "PASS ($ROUNDS rounds:$summary; $COUNT events, seed $SEED, $(( $(date +%s) - started_s )) s; load $(cut -d' ' -f1-3 /proc/loadavg))"
