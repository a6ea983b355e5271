#!/usr/bin/env bash
# Archivist against a real relay (@nostr-relay from npm, tests/relay/relay.mjs) on 127.0.0.1:
#   1. backfill archives exactly the relay's set, including one second holding more events than
#      the relay returns per query;
#   2. live events published while Archivist runs arrive;
#   3. a restart resumes from the cursor instead of downloading everything again;
#   4. a loopback relay without an --allow-address rule is refused;
#   5. below the low-disk threshold intake pauses (incident, /readyz 503 with the reason), SIGTERM
#      is answered within 5 s, and a later run with room archives everything.
source "$(dirname "$0")/lib.sh"

RELAY_DIR=$TESTS_DIR/relay
D=$WORK/data


ids_of_export() {  # export → sorted ids
    sed -E 's/^\{"id":"([0-9a-f]{64})".*/\1/' "$1" | sort
}

start_relay --default-limit 10
note "relay on $URL"

# 300 events, 150 of them in one second spread over 5 kinds: more than the relay's cap (10 × 10).
node "$RELAY_DIR/publish.mjs" --url "$URL" --count 300 --same-second 150 --kinds-in-second 5 --seed 7 \
    --ids-out "$WORK/published.txt" >"$WORK/publish.out" 2>&1 || { cat "$WORK/publish.out" >&2; fail "publish failed"; }
[[ $(wc -l <"$WORK/published.txt") -eq 300 ]] || fail "publisher did not publish 300 events"

# 1. Backfill.
cli sync1 --headless --data-dir "$D" --relay "$URL" --allow-address 127.0.0.1/32 --no-seed-relays \
    --exit-when-idle 2 --duration 120
[[ $RC -eq 0 ]] || { cat "$WORK/sync1.err" >&2; fail "first sync exited $RC"; }
grep -q "idle for" "$WORK/sync1.err" || { cat "$WORK/sync1.err" >&2; fail "first sync did not finish by --exit-when-idle"; }
cli export1 export --data-dir "$D"
[[ $RC -eq 0 ]] || fail "export failed"
ids_of_export "$WORK/export1.out" >"$WORK/archived1.txt"
diff -u "$WORK/published.txt" "$WORK/archived1.txt" >"$WORK/diff1" || { head -20 "$WORK/diff1" >&2; fail "backfill did not archive exactly the relay's set"; }
note "backfill: $(wc -l <"$WORK/archived1.txt") events, exactly the relay's set"

# 2. Live: publish while Archivist runs.
"$ARCHIVIST" --headless --data-dir "$D" --relay "$URL" --allow-address 127.0.0.1/32 --no-seed-relays \
    --duration 60 >"$WORK/live.out" 2>"$WORK/live.err" &
LIVE_PID=$!
track_pid "$LIVE_PID"
sleep 3
node "$RELAY_DIR/publish.mjs" --url "$URL" --live-every-ms 100 --live-count 20 --seed 8 \
    --ids-out "$WORK/live_ids.txt" >"$WORK/publish_live.out" 2>&1 || { cat "$WORK/publish_live.out" >&2; fail "live publish failed"; }
sleep 3
t0=$(date +%s%N)
kill -TERM "$LIVE_PID"
set +e
wait "$LIVE_PID"
live_rc=$?
set -e
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ $live_rc -eq 0 ]] || { cat "$WORK/live.err" >&2; fail "SIGTERM did not stop the engine cleanly (exit $live_rc)"; }
(( stop_ms < 5000 )) || fail "SIGTERM took ${stop_ms} ms to stop (limit 5000)"
note "SIGTERM: clean exit in ${stop_ms} ms"
cli export2 export --data-dir "$D"
ids_of_export "$WORK/export2.out" >"$WORK/archived2.txt"
missing=$(comm -23 "$WORK/live_ids.txt" "$WORK/archived2.txt" | wc -l)
[[ $missing -eq 0 ]] || fail "$missing live events were not archived"
note "live: all $(wc -l <"$WORK/live_ids.txt") live events archived"

# 3. Restart: resumes from the cursor (receives far fewer than the relay holds).
cli sync3 --headless --data-dir "$D" --relay "$URL" --allow-address 127.0.0.1/32 --no-seed-relays \
    --exit-when-idle 2 --duration 120
[[ $RC -eq 0 ]] || { cat "$WORK/sync3.err" >&2; fail "restart exited $RC"; }
received=$(grep -oE "relay $URL: [a-z_]+, received [0-9]+" "$WORK/sync3.err" | grep -oE '[0-9]+$' || echo missing)
[[ $received != missing ]] || { cat "$WORK/sync3.err" >&2; fail "no relay summary line"; }
total=$(( $(wc -l <"$WORK/archived2.txt") ))
(( received < total / 4 )) || fail "restart downloaded $received of $total events again (cursor not used)"
note "restart: received $received events (relay holds $total)"

# 4. Without an allow rule the loopback relay is refused, visibly, and nothing is stored.
cli refused --headless --data-dir "$WORK/refused" --relay "$URL" --no-seed-relays --exit-when-idle 1 --duration 60
[[ $RC -eq 0 ]] || { cat "$WORK/refused.err" >&2; fail "refused run exited $RC"; }
grep -qE "relay $URL: refused, received 0" "$WORK/refused.err" || { cat "$WORK/refused.err" >&2; fail "loopback relay was not refused"; }
grep -q "address_refused" "$WORK/refused.err" || fail "the refusal does not say why"
cli stats_refused stats --json --data-dir "$WORK/refused"
[[ $(jq .events "$WORK/stats_refused.out") -eq 0 ]] || fail "events stored from a refused relay"
note "refused: loopback relay refused without an allow rule"
# 5. A disk below the low-disk threshold (min_free_bytes larger than any disk): intake pauses with
#    an incident, /readyz answers 503 with the reason, nothing is dropped or acknowledged, and
#    SIGTERM is still answered within 5 s (exit 1: the refused commit is reported). Started again
#    with room, the engine archives everything.
# http_get URL — "<status> <body>" (node: no other HTTP client is a dependency).
http_get() {
    node -e 'require("http").get(process.argv[1], (r) => { let b = ""; r.on("data", (d) => (b += d));
        r.on("end", () => process.stdout.write(r.statusCode + " " + b)); }).on("error", () => process.exit(1))' "$1"
}
P=$WORK/paused
mkdir -p "$P"
echo '{"min_free_bytes": 1125899906842624}' >"$P/config.json"
"$ARCHIVIST" --headless --data-dir "$P" --relay "$URL" --allow-address 127.0.0.1/32 --no-seed-relays \
    --metrics-listen 127.0.0.1:0 --duration 60 >"$WORK/paused.out" 2>"$WORK/paused.err" &
PAUSED_PID=$!
track_pid "$PAUSED_PID"
for _ in $(seq 1 100); do grep -q 'metrics on http' "$WORK/paused.err" 2>/dev/null && break; sleep 0.1; done
METRICS=$(grep -m1 -o 'http://[^ ]*/metrics' "$WORK/paused.err") || { cat "$WORK/paused.err" >&2; fail "no metrics address"; }
READYZ=${METRICS%/metrics}/readyz
ready=""
for _ in $(seq 1 200); do
    ready=$(http_get "$READYZ" || true)
    [[ $ready == *"intake paused"* ]] && break
    sleep 0.1
done
[[ $ready == "503 not ready: intake paused"*"low-disk threshold"* ]] ||
    { cat "$WORK/paused.err" >&2; fail "/readyz while paused below the threshold: '$ready'"; }
incident=""
for _ in $(seq 1 40); do
    incident=$(http_get "$METRICS" | awk '$1 == "archivist_incidents_open{kind=\"intake_paused\"}" {print $2}')
    [[ $incident == 1 ]] && break
    sleep 0.1
done
[[ $incident == 1 ]] || fail "no intake_paused incident on /metrics (got '$incident')"
t0=$(date +%s%N)
kill -TERM "$PAUSED_PID"
set +e
wait "$PAUSED_PID"
paused_rc=$?
set -e
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
(( stop_ms < 5000 )) || fail "SIGTERM while paused took ${stop_ms} ms (limit 5000)"
[[ $paused_rc -eq 1 ]] || { cat "$WORK/paused.err" >&2; fail "stopped while paused: exit $paused_rc, expected 1"; }
cli stats_paused stats --json --data-dir "$P"
[[ $(jq .events "$WORK/stats_paused.out") -eq 0 ]] || fail "events stored below the low-disk threshold"
echo '{"min_free_bytes": 0}' >"$P/config.json"
cli resumed --headless --data-dir "$P" --relay "$URL" --allow-address 127.0.0.1/32 --no-seed-relays \
    --exit-when-idle 2 --duration 120
[[ $RC -eq 0 ]] || { cat "$WORK/resumed.err" >&2; fail "run with room exited $RC"; }
cli export_resumed export --data-dir "$P"
ids_of_export "$WORK/export_resumed.out" >"$WORK/archived_resumed.txt"
cmp -s "$WORK/archived2.txt" "$WORK/archived_resumed.txt" || fail "after the pause, not exactly the relay's set was archived"
note "low disk: intake paused (/readyz 503, intake_paused incident), SIGTERM in ${stop_ms} ms (exit 1), then everything archived"
echo "PASS [$ITEST_NAME]"
