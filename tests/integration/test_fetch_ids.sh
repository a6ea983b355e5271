#!/usr/bin/env bash
# `archivist fetch-ids` against real relays (tests/relay/relay.mjs): a corpus where 30 % of the
# referenced events are withheld (make_research_corpus.mjs) reports exactly that in
# `archivist coverage`; the missing ids (`coverage --missing`) fetched from two relays — one holding
# 20 of the 30, the other all 30 — bring coverage to 100 %. The report counts what was stored and,
# per relay, what it returned; ids already held are skipped, a line that is no id is counted, an id
# no relay holds is "not found". SIGTERM while the job waits for a relay stops it cleanly.
# Usage: bash test_fetch_ids.sh /path/to/archivist
source "$(dirname "$0")/lib.sh"

D=$WORK/data
C=$WORK/corpus
node "$CORPUS_TOOLS/make_research_corpus.mjs" "$C" 300 "$(date +%s)" || fail "make_research_corpus.mjs failed"
cli import import --json --data-dir "$D" "$C/all.jsonl"
expect_rc 0 import "import of the corpus"

cli cov coverage --data-dir "$D" --json
expect_rc 0 cov "coverage --json"
expect_eq "$(single_json cov | jq -c '[.referenced, .held, .missing]')" "[100,70,30]" "coverage with 30 % withheld"
expect_eq "$(jq '.by_month | length > 0 and all(.as_of_ms > 0 and .held <= .referenced)' "$WORK/cov.out")" true \
    "per-month rows with their as-of time"
cli miss coverage --data-dir "$D" --missing
expect_rc 0 miss "coverage --missing"
expect_eq "$(cat "$WORK/miss.out")" "$(cat "$C/withheld.ids")" "the missing ids are the withheld ones"

# Relay a holds 20 of the withheld events, relay b all 30 (their databases seeded before they start).
head -n 20 "$C/withheld.jsonl" >"$WORK/a.jsonl"
node "$TESTS_DIR/relay/seed.mjs" --db "$WORK/a.sqlite" --events "$WORK/a.jsonl" | grep -q '^SEEDED 20$' || fail "seed a"
node "$TESTS_DIR/relay/seed.mjs" --db "$WORK/b.sqlite" --events "$C/withheld.jsonl" | grep -q '^SEEDED 30$' || fail "seed b"
named_relay a --db "$WORK/a.sqlite" --default-limit 1
named_relay b --db "$WORK/b.sqlite" --default-limit 1

# The ids file: the missing ids, one already held (skipped), one no relay holds, a line that is no id.
HELD=$(head -n 1 "$C/all.jsonl" | jq -r .id)
NOWHERE=$(printf 'nowhere' | sha256sum | cut -c1-64)
{ cat "$WORK/miss.out"; echo "$HELD"; echo "$NOWHERE"; echo "not an id"; echo; } >"$WORK/ids.txt"

# --default-limit 1 makes the relays' NIP-11 max_limit 10 (the harness caps every REQ there): the
# 31 ids go out in chunks of at most 10 — a chunk above the limit would lose events.
cli fetch fetch-ids --data-dir "$D" --json --relay "$URL_a" --relay "$URL_b" --allow-address 127.0.0.1/32 \
    --no-seed-relays "$WORK/ids.txt"
expect_rc 0 fetch "fetch-ids"
single_json fetch >/dev/null
expect_eq "$(jq -c '[.lines, .invalid_lines, .ids, .already_held, .asked, .found, .not_found, .stopped]' "$WORK/fetch.out")" \
    "[34,1,32,1,31,30,1,null]" "fetch-ids report: 30 found, 1 not found, 1 already held, 1 line no id"
expect_eq "$(jq -c --arg a "$URL_a" --arg b "$URL_b" '[.relays[] | {url, asked, returned}] | sort_by(.url)' "$WORK/fetch.out")" \
    "$(jq -nc --arg a "$URL_a" --arg b "$URL_b" '[{url: $a, asked: 31, returned: 20}, {url: $b, asked: 31, returned: 30}] | sort_by(.url)')" \
    "per relay: a returned 20 of 31, b 30 of 31"
grep -q "fetch-ids: 32 ids: 1 already held, 31 asked, 30 found, 1 not found" "$WORK/fetch.err" ||
    fail "no summary on stderr: $(tail -20 "$WORK/fetch.err")"

cli cov2 coverage --data-dir "$D" --json
expect_rc 0 cov2 "coverage after fetch-ids"
expect_eq "$(single_json cov2 | jq -c '[.referenced, .held, .missing, .coverage]')" "[100,100,0,1]" "coverage 100 %"
cli verify verify --data-dir "$D"
expect_rc 0 verify "archive and index agree after fetch-ids"

# Again: everything is held now, nothing is asked.
cli again fetch-ids --data-dir "$D" --json --relay "$URL_b" --allow-address 127.0.0.1/32 --no-seed-relays "$WORK/miss.out"
expect_rc 0 again "fetch-ids of held ids"
expect_eq "$(single_json again | jq -c '[.ids, .already_held, .asked, .found]')" "[30,30,0,0]" "held ids are not asked again"

# SIGTERM while the job waits for a relay that never opens (nothing listens on the port): a clean
# stop with a report that says so.
DEAD=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
"$ARCHIVIST" fetch-ids --data-dir "$D" --json --relay "ws://127.0.0.1:$DEAD" --allow-address 127.0.0.1/32 \
    --no-seed-relays "$WORK/ids.txt" >"$WORK/term.out" 2>"$WORK/term.err" &
pid=$!
track_pid $pid
for _ in $(seq 1 200); do
    grep -q "fetch-ids: asking" "$WORK/term.err" 2>/dev/null && break
    sleep 0.05
done
sleep 0.5
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
expect_eq "$rc" 1 "fetch-ids stopped by SIGTERM exits 1"
grep -q "stopped cleanly" "$WORK/term.err" || fail "no clean stop: $(tail -20 "$WORK/term.err")"
grep -q "fetch-ids interrupted" "$WORK/term.err" || fail "the stop is not reported: $(tail -20 "$WORK/term.err")"
expect_eq "$(jq -c '[.stopped, .found]' "$WORK/term.out")" '["cancelled",0]' "the report says cancelled"

note "ok"
