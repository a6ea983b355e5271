#!/usr/bin/env bash
# The relay harness itself: tests/relay/relay.mjs (a real relay from npm, on 127.0.0.1) with
# --default-limit 10, seeded by publish.mjs with 300 events of which 120 share one second over
# 3 kinds, queried back with nostr-tools (query.mjs). Proves the facts archivist-level tests will
# rely on: NIP-11 max_limit is the real cap, one query cannot return a whole busy second, and
# every published event is stored. Does not run archivist (lib.sh only needs its path).
# Usage: bash test_real_relay_smoke.sh /path/to/archivist
source "$(dirname "$0")/lib.sh"

RELAY_DIR=$TESTS_DIR/relay
T=1710000000

start_relay --default-limit 10
expect_eq "$(wc -l <"$WORK/relay.out")" 1 "relay.mjs stdout lines"
note "relay on $URL"

q() {  # q NAME ARGS... → stdout JSON in $WORK/NAME.json
    local name=$1
    shift
    node "$RELAY_DIR/query.mjs" --url "$URL" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" ||
        fail "query $name ($*) failed: $(cat "$WORK/$name.err")"
}

q nip11 --nip11
expect_eq "$(jq -c '.limitation.max_limit' "$WORK/nip11.json")" 100 "NIP-11 max_limit (defaultLimit × 10)"
expect_eq "$(jq -c '.limitation.default_limit' "$WORK/nip11.json")" 10 "NIP-11 default_limit"
expect_eq "$(jq -c '.supported_nips | index(11) != null' "$WORK/nip11.json")" true "NIP-11 lists 11"

node "$RELAY_DIR/publish.mjs" --url "$URL" --count 300 --same-second 120 --kinds-in-second 3 \
    --created-at-base $T --seed smoke --ids-out "$WORK/ids.txt" >"$WORK/publish.out" 2>"$WORK/publish.err" ||
    fail "publish.mjs failed: $(cat "$WORK/publish.err")"
expect_eq "$(tail -n 1 "$WORK/publish.out")" "PUBLISHED 300" "publish.mjs summary"
expect_eq "$(wc -l <"$WORK/ids.txt")" 300 "ids written by publish.mjs"
LC_ALL=C sort -c "$WORK/ids.txt" || fail "ids.txt is not sorted"

# Every published event is stored (ids queried 100 per REQ; even an ids filter needs a limit,
# or the relay stops at defaultLimit).
q byid --ids-file "$WORK/ids.txt"
expect_eq "$(jq .count "$WORK/byid.json")" 300 "events found by id"
expect_eq "$(jq -r '.ids[]' "$WORK/byid.json" | LC_ALL=C sort | sha256sum)" "$(sha256sum <"$WORK/ids.txt")" "ids found = ids published"

# No limit → defaultLimit; a big limit → capped at max_limit.
q nolimit --filter '{}'
expect_eq "$(jq .count "$WORK/nolimit.json")" 10 "REQ without limit"
q biglimit --filter '{"limit":1000}'
expect_eq "$(jq .count "$WORK/biglimit.json")" 100 "REQ with limit 1000"

# The busy second holds 120 events: one query returns at most 100 of them …
q second --filter "{\"since\":$T,\"until\":$T,\"limit\":1000}"
expect_eq "$(jq .count "$WORK/second.json")" 100 "REQ for the busy second (capped)"
# … but split by kind (40 each) all 120 come back.
total=0
for kind in 1 7 6; do
    q "second_$kind" --filter "{\"since\":$T,\"until\":$T,\"kinds\":[$kind],\"limit\":1000}"
    n=$(jq .count "$WORK/second_$kind.json")
    expect_eq "$n" 40 "events of kind $kind in the busy second"
    total=$((total + n))
done
expect_eq "$total" 120 "events in the busy second over its 3 kinds"
# Nothing else was published at or after T.
q after --filter "{\"since\":$((T + 1)),\"limit\":1000}"
expect_eq "$(jq .count "$WORK/after.json")" 0 "events after the busy second"

# Stop: SIGTERM ends the relay cleanly.
kill -TERM "$RELAY_PID"
wait "$RELAY_PID" || fail "relay.mjs exited with $? on SIGTERM: $(cat "$WORK/relay.err")"
exec 4>&-

note "PASS (relay on port $PORT: 300 published, 120 in one second, caps 10/100 observed)"
