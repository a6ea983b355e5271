#!/usr/bin/env bash
# Relay discovery and the relay directory on the command line: importing events that carry relay
# URLs (NIP-65 lists, kind 3 relay maps, a NIP-66 report, e/p hints) fills the directory with
# exactly the public relays among them (junk refused); `archivist relays [--json]` lists them;
# add/pin/unpin/block/unblock change them; bad input is a usage error or a failure with a reason.
# Usage: bash test_cli_relays.sh /path/to/archivist
source "$(dirname "$0")/lib.sh"

D=$WORK/data
node "$CORPUS_TOOLS/make_relay_lists.mjs" "$WORK/lists.jsonl" || fail "make_relay_lists.mjs failed"

cli import import --json --data-dir "$D" "$WORK/lists.jsonl"
expect_rc 0 import "import of the relay lists"
expect_eq "$(single_json import | jq .stored)" 4 "events stored"

cli list relays --json --data-dir "$D" --order url
expect_rc 0 list "relays --json"
got=$(single_json list | jq -r '[.relays[].url] | join(" ")')
expect_eq "$got" "wss://relay.alpha.example wss://relay.beta.example wss://relay.delta.example wss://relay.epsilon.example wss://relay.gamma.example wss://relay.zeta.example" \
    "the directory after discovery (junk refused: https, private, loopback, credentials, onion, localhost)"
expect_eq "$(jq -r '.total' "$WORK/list.out")" 6 "total"
expect_eq "$(jq -r '.relays[] | select(.url == "wss://relay.alpha.example") | .source' "$WORK/list.out")" nip65 "source of a NIP-65 relay"
expect_eq "$(jq -r '.relays[] | select(.url == "wss://relay.delta.example") | .source' "$WORK/list.out")" kind3 "source of a kind 3 relay"
expect_eq "$(jq -r '.relays[] | select(.url == "wss://relay.epsilon.example") | .source' "$WORK/list.out")" nip66 "source of a NIP-66 relay"
expect_eq "$(jq -r '.relays[] | select(.url == "wss://relay.zeta.example") | .source' "$WORK/list.out")" hint "source of a hinted relay"
expect_eq "$(jq -r '[.relays[].status] | unique | join(",")' "$WORK/list.out")" candidate "status of discovered relays"

cli pin relays pin wss://relay.beta.example/ --data-dir "$D"
expect_rc 0 pin "relays pin"
cli block relays block wss://relay.zeta.example --data-dir "$D"
expect_rc 0 block "relays block"
cli add relays add wss://relay.new.example --data-dir "$D"
expect_rc 0 add "relays add"
cli list2 relays --json --data-dir "$D"
expect_rc 0 list2 "relays --json after changes"
expect_eq "$(jq -r '.relays[] | select(.url == "wss://relay.beta.example") | .pinned' "$WORK/list2.out")" true "pinned"
expect_eq "$(jq -r '.relays[] | select(.url == "wss://relay.zeta.example") | .blocked' "$WORK/list2.out")" true "blocked"
expect_eq "$(jq -r '.relays[] | select(.url == "wss://relay.new.example") | .source' "$WORK/list2.out")" user "source of an added relay"
cli unblock relays unblock wss://relay.zeta.example --data-dir "$D"
expect_rc 0 unblock "relays unblock"
cli list3 relays --json --data-dir "$D" --source hint
expect_eq "$(jq -r '.relays[] | select(.url == "wss://relay.zeta.example") | .blocked' "$WORK/list3.out")" false "unblocked"
expect_eq "$(jq -r '[.relays[].url] | sort | join(" ")' "$WORK/list3.out")" "wss://relay.gamma.example wss://relay.zeta.example" \
    "filter by source (hints in e and p tags)"

# The text listing names every relay.
cli text relays --data-dir "$D"
expect_rc 0 text "relays (text)"
grep -q "wss://relay.beta.example.*pinned" "$WORK/text.out" || fail "the text listing does not show the pin
$(show text)"

# Errors: a junk URL fails with its reason, an unknown action is a usage error.
cli junk relays add https://nope.example --data-dir "$D"
expect_rc 1 junk "relays add of a non-websocket URL"
grep -qi "ws" "$WORK/junk.err" || fail "no reason given for the refused URL
$(show junk)"
cli usage relays frobnicate wss://x.example --data-dir "$D"
expect_rc 2 usage "unknown action"
cli nodir relays --data-dir "$WORK/does-not-exist"
expect_rc 1 nodir "missing data directory"
note "relay discovery and directory commands behave"
