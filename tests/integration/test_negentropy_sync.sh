#!/usr/bin/env bash
# NIP-77 reconciliation against a real relay whose NIP-77 side is an implementation independent of
# ours (tests/relay/relay.mjs --negentropy: @nostr-dev-kit/sync's responder over the relay's own
# SQLite store):
#   1. full sync from empty: exactly the relay's set, every event found by reconciliation;
#   2. 50 % overlap: only the missing half is downloaded;
#   3. restart after 1,000 new and 200 backdated (2023) events were published while stopped:
#      exactly those 1,200 are fetched (no 300 s look-back limit, no live overlap), and the bytes
#      received beyond them stay ≤ 5 % of the relay's other events;
#   4. a periodic re-reconciliation finds a backdated event published while connected;
#   5. a window refused with "too many" is split and still covered exactly; a relay that refuses
#      every window ends in bounded splits and REQ pagination;
#   6. permessage-deflate is used when the relay accepts it (fewer bytes, same archive);
#   7. fake support (NOTICE, silence, CLOSED): judged unusable with the reason and a retry-after
#      (relays --json), and the relay is served by REQ.
source "$(dirname "$0")/lib.sh"

RELAY_DIR=$TESTS_DIR/relay
DB=$WORK/relay.sqlite

ids_of_export() {  # export → sorted ids
    sed -E 's/^\{"id":"([0-9a-f]{64})".*/\1/' "$1" | LC_ALL=C sort
}

# relay NAME ARGS... — one more relay.mjs process on the shared store; sets URL_<NAME>.
relay() {
    local name=$1
    shift
    named_relay "$name" --db "$DB" --default-limit 50 "$@"
}

publish() {  # publish URL NAME ARGS...
    local url=$1 name=$2
    shift 2
    node "$RELAY_DIR/publish.mjs" --url "$url" --ids-out "$WORK/$name.ids" "$@" >"$WORK/$name.pub" 2>&1 ||
        { cat "$WORK/$name.pub" >&2; fail "publish $name failed"; }
}

# sync NAME DATA_DIR URL [ARGS...] — archivist until idle; the relay's summary line → $WORK/NAME.line
sync_dir() {
    local name=$1 dir=$2 url=$3
    shift 3
    cli "$name" --headless --data-dir "$dir" --relay "$url" --allow-address 127.0.0.1/32 --no-seed-relays \
        --exit-when-idle 2 --duration 120 "$@"
    expect_rc 0 "$name" "sync $name"
    grep -E "relay $url: " "$WORK/$name.err" >"$WORK/$name.line" || { show "$name" >&2; fail "$name: no relay summary line"; }
}
field() {  # field NAME KEY — a number from the summary line ("received 12" → 12)
    grep -oE "$2 [0-9]+" "$WORK/$1.line" | head -1 | grep -oE '[0-9]+$'
}
exported_ids() {  # exported_ids NAME DATA_DIR → $WORK/NAME.archived
    cli "$1.export" export --data-dir "$2"
    expect_rc 0 "$1.export" "export $2"
    ids_of_export "$WORK/$1.export.out" >"$WORK/$1.archived"
}

relay real --negentropy real
publish "$URL_real" base --count 1000 --seed 11
cp "$WORK/base.ids" "$WORK/all.ids"

# 1. Full sync from empty.
sync_dir first "$WORK/d1" "$URL_real"
grep -q "sync negentropy, negentropy usable" "$WORK/first.line" || fail "first sync did not use NIP-77: $(cat "$WORK/first.line")"
expect_eq "$(field first missing)" 1000 "events found missing by reconciliation in the first sync"
exported_ids first "$WORK/d1"
diff -q "$WORK/all.ids" "$WORK/first.archived" >/dev/null || fail "first sync did not archive exactly the relay's set"
note "full sync from empty: 1000 events, all by reconciliation"

# 2. 50 % overlap: half of the archive imported into a fresh directory, then synced.
awk 'NR % 2 == 0' "$WORK/first.export.out" >"$WORK/half.jsonl"
cli import_half import --data-dir "$WORK/d2" "$WORK/half.jsonl"
expect_rc 0 import_half "import half"
sync_dir overlap "$WORK/d2" "$URL_real"
expect_eq "$(field overlap received)" 500 "events downloaded with 50 % overlap"
exported_ids overlap "$WORK/d2"
diff -q "$WORK/all.ids" "$WORK/overlap.archived" >/dev/null || fail "overlap sync did not complete the archive"
note "50 % overlap: exactly the missing 500 downloaded"

# 3. Restart after 1,000 new and 200 backdated events published while stopped.
sync_dir idle "$WORK/d1" "$URL_real"  # a settled live cursor and reconciliation
expect_eq "$(field idle received)" 0 "events downloaded by a re-sync of a complete archive"
resync_bytes=$(field idle bytes)
publish "$URL_real" new --count 1000 --seed 12 --created-at-base "$(date +%s)"
publish "$URL_real" backdated --count 200 --seed 13 --created-at-base 1690000000
LC_ALL=C sort -m "$WORK/new.ids" "$WORK/backdated.ids" >"$WORK/fresh.ids"
sync_dir restart "$WORK/d1" "$URL_real"
expect_eq "$(field restart received)" 1200 "events downloaded at the restart (exactly the new and backdated ones)"
expect_eq "$(field restart stored)" 1200 "events stored at the restart"
late=$(field restart late)
((late >= 200)) || fail "the 200 backdated events were not counted as late ($late)"
exported_ids restart "$WORK/d1"
LC_ALL=C sort -m "$WORK/all.ids" "$WORK/fresh.ids" >"$WORK/all2.ids"
diff -q "$WORK/all2.ids" "$WORK/restart.archived" >/dev/null || fail "the restart did not archive the new and backdated events"
# Bytes: what the restart received beyond what the 1,200 events cost themselves — their JSON, the
# ["EVENT","nfN",…] framing and WebSocket header (≤ 24 bytes) and their id in a NEG-MSG id list
# (64 hex digits) — against the size of the relay's other events.
fresh_bytes=$(grep -F -f "$WORK/fresh.ids" "$WORK/restart.export.out" | wc -c)
other_bytes=$(grep -v -F -f "$WORK/fresh.ids" "$WORK/restart.export.out" | wc -c)
restart_bytes=$(field restart bytes)
overhead=$((restart_bytes - fresh_bytes - 1200 * (24 + 64)))
((overhead * 100 <= other_bytes * 5)) ||
    fail "restart received $restart_bytes bytes: $overhead beyond the new events, more than 5 % of the others ($other_bytes)"
note "restart: exactly 1200 fetched (200 late), $restart_bytes bytes received, $overhead beyond them (others: $other_bytes bytes); re-sync of the complete archive: $resync_bytes bytes"

# 4. Periodic re-reconciliation finds a backdated event published while connected.
echo '{"reconcile_interval_s": 2}' >"$WORK/d1/config.json"
"$ARCHIVIST" --headless --data-dir "$WORK/d1" --relay "$URL_real" \
    --allow-address 127.0.0.1/32 --no-seed-relays --duration 10 >"$WORK/periodic.out" 2>"$WORK/periodic.err" &
PERIODIC_PID=$!
track_pid "$PERIODIC_PID"
sleep 3
publish "$URL_real" late1 --count 1 --seed 14 --created-at-base 1680000000
wait "$PERIODIC_PID" || { cat "$WORK/periodic.err" >&2; fail "periodic run failed"; }
rm "$WORK/d1/config.json"
grep -E "relay $URL_real: " "$WORK/periodic.err" >"$WORK/periodic.line"
exported_ids periodic "$WORK/d1"
comm -23 "$WORK/late1.ids" "$WORK/periodic.archived" | grep -q . && fail "periodic re-reconciliation missed the backdated event"
grep -q "periodic reconciliation done" "$WORK/periodic.err" || fail "no periodic reconciliation ran"
note "periodic re-reconciliation found the backdated event published while connected"
LC_ALL=C sort -m "$WORK/all2.ids" "$WORK/late1.ids" >"$WORK/all3.ids"

# 5. "too many": windows above 900 events are refused (strfry's maxSyncEvents), then always.
relay capped --negentropy real --neg-max-items 900
sync_dir capped "$WORK/d3" "$URL_capped"
exported_ids capped "$WORK/d3"
diff -q "$WORK/all3.ids" "$WORK/capped.archived" >/dev/null || fail "a relay refusing large windows was not covered exactly"
grep -q "reconciliation window split" "$WORK/capped.err" || fail "no window was split"
grep -q "REQ pagination covers" "$WORK/capped.err" && fail "a splittable window fell back to REQ"
note "\"too many\": windows split ($(grep -c 'window split' "$WORK/capped.err") times), archive exact"

relay toomany --negentropy too-many
sync_dir toomany "$WORK/d4" "$URL_toomany"
exported_ids toomany "$WORK/d4"
diff -q "$WORK/all3.ids" "$WORK/toomany.archived" >/dev/null || fail "a relay refusing every window was not covered by REQ"
splits=$(grep -c 'window split' "$WORK/toomany.err" || true)
((splits <= 32)) || fail "split storm: $splits splits for one window"
grep -q "REQ pagination covers" "$WORK/toomany.err" || fail "refused windows were not covered by REQ"
note "always \"too many\": $splits splits (bounded), then REQ pagination; archive exact"

# A responder that cuts its replies at a small frame limit (several round trips; @nostr-dev-kit's
# responder then fingerprints the rest wrongly, which a client holding nothing must not trust).
relay framed --negentropy real --neg-frame-limit 4096
sync_dir framed "$WORK/d7" "$URL_framed"
exported_ids framed "$WORK/d7"
diff -q "$WORK/all3.ids" "$WORK/framed.archived" >/dev/null || fail "a frame-limited responder was not reconciled exactly"
note "4,096-byte responder frames: archive exact"

# 6. permessage-deflate: the same full sync costs fewer bytes when the relay compresses.
relay deflate --negentropy real --deflate on
sync_dir plain "$WORK/d5" "$URL_real"
sync_dir deflated "$WORK/d6" "$URL_deflate"
exported_ids deflated "$WORK/d6"
diff -q "$WORK/all3.ids" "$WORK/deflated.archived" >/dev/null || fail "the sync with permessage-deflate was not exact"
plain_bytes=$(field plain bytes)
deflated_bytes=$(field deflated bytes)
((deflated_bytes * 100 < plain_bytes * 80)) || fail "permessage-deflate saved too little: $deflated_bytes vs $plain_bytes bytes"
note "permessage-deflate: full sync in $deflated_bytes bytes instead of $plain_bytes"

# 7. Fake support.
for mode in notice silence closed; do
    relay "$mode" --negentropy "$mode"
    url_var=URL_$mode
    mkdir -p "$WORK/d_$mode"
    echo '{"negentropy_timeout_s": 2}' >"$WORK/d_$mode/config.json"
    sync_dir "fake_$mode" "$WORK/d_$mode" "${!url_var}"
    grep -q "sync req, negentropy unusable" "$WORK/fake_$mode.line" || fail "$mode: not judged unusable: $(cat "$WORK/fake_$mode.line")"
    exported_ids "fake_$mode" "$WORK/d_$mode"
    diff -q "$WORK/all3.ids" "$WORK/fake_$mode.archived" >/dev/null || fail "$mode: the relay was not served by REQ"
    cli "relays_$mode" relays --json --data-dir "$WORK/d_$mode"
    row=$(jq -c '.relays[0].sync' "$WORK/relays_$mode.out")
    [[ $(jq -r .negentropy <<<"$row") == unusable ]] || fail "$mode: relays --json: $row"
    [[ -n $(jq -r .negentropy_reason <<<"$row") ]] || fail "$mode: no reason in relays --json: $row"
    (($(jq -r .negentropy_retry_after_ms <<<"$row") > $(now_ms))) || fail "$mode: no retry-after: $row"
    note "fake support ($mode): unusable ($(jq -r .negentropy_reason <<<"$row")), served by REQ"
done
echo "PASS [$ITEST_NAME]"
