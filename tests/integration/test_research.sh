#!/usr/bin/env bash
# The researcher's workbench on a generated corpus with known counts (make_research_corpus.mjs):
# backdated and future-dated events, a third of them replicated by a second source, 30 % of the
# referenced events withheld. `archivist stats --by …` (from the rollups) must equal jq counts over
# the corpus and over `archivist export`, before and after `archivist reindex`.
# Usage: bash test_research.sh /path/to/archivist
source "$(dirname "$0")/lib.sh"

D=$WORK/data
C=$WORK/corpus
NOW=$(date +%s)
node "$CORPUS_TOOLS/make_research_corpus.mjs" "$C" 600 "$NOW" || fail "make_research_corpus.mjs failed"
N=$(wc -l <"$C/all.jsonl")
R=$(wc -l <"$C/replica.jsonl")

cli import import --json --data-dir "$D" "$C/all.jsonl"
expect_rc 0 import "import of the corpus"
expect_eq "$(single_json import | jq .stored)" "$N" "events stored"
cli import2 import --json --data-dir "$D" "$C/replica.jsonl"
expect_rc 0 import2 "import of the replica"
expect_eq "$(single_json import2 | jq .duplicate)" "$R" "replicated events are duplicates"

# stats --by WHAT [ARGS…] → $WORK/by.out (JSON); prints the rows compactly.
by() {
    cli by stats --data-dir "$D" --format json --by "$@"
    expect_rc 0 by "stats --by $*"
    single_json by >/dev/null
    jq -c '.rows' "$WORK/by.out"
}

# Per kind, against the corpus.
want=$(jq -sc 'group_by(.kind) | map({kind: (.[0].kind | tostring), events: length}) | sort_by(.kind)' "$C/all.jsonl")
expect_eq "$(by kind | jq -c 'sort_by(.kind)')" "$want" "stats --by kind equals the corpus"
expect_eq "$(jq .events "$WORK/by.out")" "$N" "events in stats --by kind"
expect_eq "$(by kind --top 2 | jq -c 'map(.kind)')" "$(echo "$want" | jq -c 'sort_by(-.events) | .[:2] | map(.kind)')" "--top 2"

# Per day: events and exact distinct authors.
want=$(jq -sc 'group_by(.created_at / 86400 | floor) | map({day: (.[0].created_at | strftime("%Y-%m-%d")),
    events: length, authors: (map(.pubkey) | unique | length), authors_approximate: false})' "$C/all.jsonl")
expect_eq "$(by day)" "$want" "stats --by day equals the corpus"
want=$(jq -sc '[.[] | select(.kind == 1 or .kind == 7)] | group_by(.created_at / 86400 | floor)
    | map({day: (.[0].created_at | strftime("%Y-%m-%d")), events: length, authors: null, authors_approximate: false})' "$C/all.jsonl")
expect_eq "$(by day --kinds 1,7)" "$want" "stats --by day --kinds 1,7"
# Weeks (Monday) over the old days.
want=$(jq -sc '[.[] | select(.created_at < 1720000000)] | group_by((.created_at / 86400 | floor) + 3 | . - (. % 7))
    | map({week: (((.[0].created_at / 86400 | floor) + 3 | . - (. % 7) - 3) * 86400 | strftime("%Y-%m-%d")),
           events: length, authors: (map(.pubkey) | unique | length), authors_approximate: false})' "$C/all.jsonl")
expect_eq "$(by week --until 2024-06-01)" "$want" "stats --by week"
# A range of whole days.
want=$(jq -sc '[.[] | select(.created_at >= 1710028800 and .created_at < 1710288000)] | group_by(.kind)
    | map({kind: (.[0].kind | tostring), events: length}) | sort_by(.kind)' "$C/all.jsonl")
expect_eq "$(by kind --since 2024-03-10 --until 2024-03-12T23:00:00 | jq -c 'sort_by(.kind)')" "$want" "--since/--until (whole days)"

# Sources: every event from the first import (novel), a third again from the replica.
expect_eq "$(by relay)" "[{\"relay\":\"import:all.jsonl\",\"events\":$N,\"novel\":$N,\"duplicate\":0},{\"relay\":\"import:replica.jsonl\",\"events\":$R,\"novel\":0,\"duplicate\":$R}]" \
    "stats --by relay"
expect_eq "$(by replication)" "[{\"sources\":\"1\",\"events\":$((N - R))},{\"sources\":\"2\",\"events\":$R}]" "stats --by replication"

# Publication delay: the future-dated events fall in negative bins, the rest in positive ones.
by delay >/dev/null
future=$(jq '[.[] | select(.created_at > '"$NOW"')] | length' -s "$C/all.jsonl")
expect_eq "$(jq '[.rows[] | select(.delay | startswith("future")) | .events] | add' "$WORK/by.out")" "$future" "future-dated events"
expect_eq "$(jq '[.rows[] | .events] | add' "$WORK/by.out")" "$N" "every event in the delay histogram"

# Authors: an exact scan.
want=$(jq -sc 'group_by(.pubkey) | map({author: .[0].pubkey, events: length}) | sort_by(-.events, .author) | .[:5]' "$C/all.jsonl")
expect_eq "$(by author --top 5)" "$want" "stats --by author --top 5"

# First-seen days: everything was first seen today (or, around midnight, yesterday).
expect_eq "$(by day --day-basis first-seen | jq '[.[].events] | add')" "$N" "first-seen basis"

# Formats: CSV has the same numbers; usage errors are usage errors.
cli csv stats --data-dir "$D" --by kind --format csv
expect_rc 0 csv "stats --format csv"
expect_eq "$(tail -n +2 "$WORK/csv.out" | awk -F, '{s += $2} END {print s}')" "$N" "CSV sum"
cli bad stats --data-dir "$D" --by relay --kinds 1
expect_rc 2 bad "--by relay --kinds is a usage error"
cli bad2 stats --data-dir "$D" --by month
expect_rc 2 bad2 "unknown --by"

# The export, counted by jq, says the same.
cli export export --data-dir "$D" --output "$WORK/export.jsonl"
expect_rc 0 export "export"
want=$(jq -sc 'group_by(.kind) | map({kind: (.[0].kind | tostring), events: length}) | sort_by(.kind)' "$WORK/export.jsonl")
expect_eq "$(by kind | jq -c 'sort_by(.kind)')" "$want" "stats --by kind equals the export"

# After reindex: the same days and kinds; sightings are not in the archive, so one source each.
cli reindex reindex --data-dir "$D"
expect_rc 0 reindex "reindex"
expect_eq "$(by kind | jq -c 'sort_by(.kind)')" "$want" "stats --by kind after reindex"
want=$(jq -sc 'group_by(.created_at / 86400 | floor) | map({day: (.[0].created_at | strftime("%Y-%m-%d")),
    events: length, authors: (map(.pubkey) | unique | length), authors_approximate: false})' "$C/all.jsonl")
expect_eq "$(by day)" "$want" "stats --by day after reindex"
expect_eq "$(by replication)" "[{\"sources\":\"1\",\"events\":$N}]" "replication after reindex"

note "ok"
