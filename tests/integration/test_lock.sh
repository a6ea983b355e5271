#!/usr/bin/env bash
# One process per data directory: while an import holds it, a second import/stats exits 1 with a
# message about the lock; after the holder is killed with SIGKILL, the next command starts fine.
# Usage: bash test_lock.sh /path/to/archivist
source "$(dirname "$0")/lib.sh"

EVENTS=$(ensure_events 2000 lock)
head -n 200 "$EVENTS" >"$WORK/first.jsonl"
sed -n '201,300p' "$EVENTS" >"$WORK/other.jsonl"
D=$WORK/data

# A long import: stdin is a fifo we keep open, so the importer waits for more input forever.
mkfifo "$WORK/feed"
"$ARCHIVIST" import --data-dir "$D" - <"$WORK/feed" >"$WORK/holder.out" 2>"$WORK/holder.err" &
HOLDER=$!
track_pid "$HOLDER"
exec 3>"$WORK/feed"
cat "$WORK/first.jsonl" >&3

# Wait until the holder has created its data directory, then give it a moment to lock it.
for _ in $(seq 1 100); do
    [[ -d $D && -n $(ls -A "$D" 2>/dev/null) ]] && break
    kill -0 "$HOLDER" 2>/dev/null || fail "the holding import exited early: $(cat "$WORK/holder.err")"
    sleep 0.1
done
[[ -d $D ]] || fail "the holding import never created $D"
sleep 1
kill -0 "$HOLDER" 2>/dev/null || fail "the holding import exited early: $(cat "$WORK/holder.err")"

lock_message='lock|another (archivist )?process|in use|already (running|open)|pid'
cli second_import import --data-dir "$D" "$WORK/other.jsonl"
expect_rc 1 second_import "a second import on a locked data directory"
grep -Eqi "$lock_message" "$WORK/second_import.err" ||
    fail "the second import's error does not mention the lock / the other process: $(cat "$WORK/second_import.err")"
cli second_stats stats --json --data-dir "$D"
expect_rc 1 second_stats "stats on a locked data directory"
grep -Eqi "$lock_message" "$WORK/second_stats.err" ||
    fail "stats' error does not mention the lock / the other process: $(cat "$WORK/second_stats.err")"
cli second_verify verify --data-dir "$D"
expect_rc 1 second_verify "verify on a locked data directory"
kill -0 "$HOLDER" 2>/dev/null || fail "the holding import died while others were refused: $(cat "$WORK/holder.err")"

# Kill the holder the hard way; its lock must not outlive it.
kill -9 "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
exec 3>&-

cli after_stats stats --json --data-dir "$D"
expect_rc 0 after_stats "stats after the holder was killed (a stale lock must not block)"
before=$(single_json after_stats | jq .events)
((before >= 0 && before <= 200)) || fail "stats events after the kill is $before, expected 0…200"
cli after_verify verify --data-dir "$D"
expect_rc 0 after_verify "verify after the holder was killed"
cli after_import import --json --data-dir "$D" "$WORK/first.jsonl" "$WORK/other.jsonl"
expect_rc 0 after_import "import after the holder was killed"
GOT=$(single_json after_import)
expect_eq "$(jq .stored <<<"$GOT")" "$((300 - before))" "events stored by the import after the kill"
cli final_stats stats --json --data-dir "$D"
expect_rc 0 final_stats "final stats"
expect_eq "$(single_json final_stats | jq .events)" 300 "final stats events"

note "PASS (holder had committed $before of 200 events before SIGKILL)"
