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

# snapshot: the manifest matches stats, and DuckDB (@duckdb/node-api) reading the segments the way
# docs/analysis.md shows counts the same per kind — whole archive, then a range of days and kinds.
duck_kinds() {
    node "$CORPUS_TOOLS/duckdb_query.mjs" "SELECT kind::VARCHAR AS kind, count(*) AS events
        FROM read_json('$1/segment-*.jsonl.zst', format = 'newline_delimited') GROUP BY kind" |
        jq -c 'map({kind, events: (.events | tonumber)}) | sort_by(.kind)'
}
for args in "" "--since 2024-03-10 --until 2024-03-12 --kinds 1,7"; do
    rm -rf "$WORK/snap"
    # shellcheck disable=SC2086
    cli snap snapshot --data-dir "$D" --output "$WORK/snap" --json $args
    expect_rc 0 snap "snapshot $args"
    # shellcheck disable=SC2086
    stats=$(by kind $args | jq -c 'sort_by(.kind)')
    expect_eq "$(jq -c '.kinds | to_entries | map({kind: .key, events: .value}) | sort_by(.kind)' "$WORK/snap/manifest.json")" \
        "$stats" "manifest kinds equal stats --by kind $args"
    expect_eq "$(jq .events "$WORK/snap/manifest.json")" "$(jq .events "$WORK/by.out")" "manifest events $args"
    expect_eq "$(duck_kinds "$WORK/snap")" "$stats" "DuckDB over the snapshot equals stats --by kind $args"
    while read -r name sum; do
        expect_eq "$(sha256sum "$WORK/snap/$name" | cut -d' ' -f1)" "$sum" "manifest sha256 of $name"
    done < <(jq -r '.files[] | "\(.name) \(.sha256)"' "$WORK/snap/manifest.json")
done
# The open segment itself is never handed over: the snapshot rewrote it (one file, not a link).
expect_eq "$(jq '[.files[] | select(.linked)] | length' "$WORK/snap/manifest.json")" 0 "no links in a filtered snapshot"

# ClickHouse (Debian's 18.16, when installed): file() cannot read .zst there, zstdcat | INSERT can.
CH=/usr/sbin/clickhouse-server
if [[ -x $CH ]] && command -v clickhouse-client >/dev/null; then
    free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
    chp=$(free_port)
    chh=$(free_port)
    mkdir -p "$WORK/ch"
    cat >"$WORK/ch/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$WORK/ch/log</log><errorlog>$WORK/ch/err</errorlog></logger>
  <listen_host>127.0.0.1</listen_host><tcp_port>$chp</tcp_port><http_port>$chh</http_port>
  <path>$WORK/ch/data/</path><tmp_path>$WORK/ch/tmp/</tmp_path><user_files_path>$WORK/ch/files/</user_files_path>
  <format_schema_path>$WORK/ch/schemas/</format_schema_path><mark_cache_size>5368709</mark_cache_size>
  <users_config>users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
</yandex>
XML
    cat >"$WORK/ch/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex><profiles><default/></profiles><quotas><default/></quotas>
  <users><default><password/><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
</yandex>
XML
    "$CH" --config-file="$WORK/ch/config.xml" >"$WORK/ch/out" 2>&1 &
    track_pid $!
    chc() { clickhouse-client --host 127.0.0.1 --port "$chp" "$@"; }
    for _ in $(seq 1 100); do chc --query "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
    chc --query "CREATE DATABASE nostr" || fail "ClickHouse did not start: $(tail -5 "$WORK/ch/err" 2>/dev/null)"
    chc --query "CREATE TABLE nostr.events (id FixedString(64), pubkey FixedString(64), created_at UInt64,
        kind UInt16, tags Array(Array(String)), content String, sig FixedString(128))
        ENGINE = MergeTree ORDER BY (kind, created_at, id)"
    zstdcat "$WORK/snap"/segment-*.jsonl.zst | chc --query "INSERT INTO nostr.events FORMAT JSONEachRow"
    got=$(chc --query "SELECT toString(kind) AS kind, count() AS events FROM nostr.events GROUP BY kind FORMAT JSONEachRow" |
        jq -sc 'map({kind, events: (.events | tonumber)}) | sort_by(.kind)')
    expect_eq "$got" "$stats" "ClickHouse over the snapshot equals stats --by kind"
else
    note "clickhouse-server not installed: ClickHouse commands of docs/analysis.md not run"
fi

# After reindex: the same days and kinds, and — restored from the durable sightings log — the
# same relays and replication.
cli reindex reindex --data-dir "$D"
expect_rc 0 reindex "reindex"
expect_eq "$(by kind | jq -c 'sort_by(.kind)')" "$want" "stats --by kind after reindex"
want=$(jq -sc 'group_by(.created_at / 86400 | floor) | map({day: (.[0].created_at | strftime("%Y-%m-%d")),
    events: length, authors: (map(.pubkey) | unique | length), authors_approximate: false})' "$C/all.jsonl")
expect_eq "$(by day)" "$want" "stats --by day after reindex"
expect_eq "$(by replication)" "[{\"sources\":\"1\",\"events\":$((N - R))},{\"sources\":\"2\",\"events\":$R}]" \
    "replication after reindex"
expect_eq "$(by relay)" "[{\"relay\":\"import:all.jsonl\",\"events\":$N,\"novel\":$N,\"duplicate\":0},{\"relay\":\"import:replica.jsonl\",\"events\":$R,\"novel\":0,\"duplicate\":$R}]" \
    "stats --by relay after reindex"

# Coverage: 30 of the 100 referenced events were withheld.
cli cov coverage --data-dir "$D" --json
expect_rc 0 cov "coverage --json"
expect_eq "$(single_json cov | jq -c '[.referenced, .held, .missing]')" "[100,70,30]" "coverage with 30 % withheld"
expect_eq "$(jq '[.months[].referenced] | add >= 100' "$WORK/cov.out")" true "per-month rows"
cli miss coverage --data-dir "$D" --missing
expect_rc 0 miss "coverage --missing"
expect_eq "$(cat "$WORK/miss.out")" "$(cat "$C/withheld.ids")" "the missing ids are the withheld ones"
# The withheld events arrive: coverage is complete.
cli import3 import --json --data-dir "$D" "$C/withheld.jsonl"
expect_rc 0 import3 "import of the withheld events"
cli cov2 coverage --data-dir "$D" --json
expect_rc 0 cov2 "coverage after the withheld events arrived"
expect_eq "$(single_json cov2 | jq -c '[.referenced, .held, .missing, .coverage]')" "[100,100,0,1]" "coverage 100 %"

note "ok"
