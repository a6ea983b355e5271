#!/usr/bin/env bash
# The nostr-tools acceptance corpus through the real CLI: import counts per reason, stats, export
# fidelity and order, re-import, verify, reindex, .zst and stdin input, usage and missing-file
# exit codes. Usage: bash test_corpus.sh /path/to/archivist
source "$(dirname "$0")/lib.sh"

CORPUS=$(ensure_corpus)
EXPECTED=$CORPUS/expected.json
ex() { jq -c "$1" "$EXPECTED"; }
nonzero='with_entries(select(.value != 0))'

# check_import NAME LABEL — the import summary of `cli NAME import --json …` on a fresh data dir.
check_import() {
    local name=$1 label=$2 got
    got=$(single_json "$name")
    expect_eq "$(jq .read <<<"$got")" "$(ex .lines)" "$label: read (non-blank lines)"
    expect_eq "$(jq .stored <<<"$got")" "$(ex .stored)" "$label: stored"
    expect_eq "$(jq .duplicate <<<"$got")" "$(ex .duplicates)" "$label: duplicate"
    expect_eq "$(jq .invalid <<<"$got")" "$(ex .invalid)" "$label: invalid"
    expect_eq "$(jq -S -c ".invalid_by_reason | $nonzero" <<<"$got")" "$(jq -S -c ".invalid_by_reason | $nonzero" "$EXPECTED")" \
        "$label: invalid_by_reason (every reason exactly; see $CORPUS/labels.jsonl)"
}

# --- import into a fresh data directory ----------------------------------------------------
D=$WORK/data
cli import import --json --data-dir "$D" "$CORPUS/corpus.jsonl"
expect_rc 0 import "import --json of the corpus"
check_import import "first import"

# --- stats ----------------------------------------------------------------------------------
cli stats stats --json --data-dir "$D"
expect_rc 0 stats "stats --json"
STATS=$(single_json stats)
expect_eq "$(jq .events <<<"$STATS")" "$(ex .stored)" "stats events"
expect_eq "$(jq -S -c ".kinds | with_entries(.key |= tostring) | $nonzero" <<<"$STATS")" "$(jq -S -c ".kinds | $nonzero" "$EXPECTED")" "stats kinds"
for key in segments archive_bytes index_bytes; do
    jq -e ".$key | type == \"number\" and . > 0" <<<"$STATS" >/dev/null || fail "stats $key should be a positive number: $STATS"
done

# --- export: exactly the valid events, field for field, oldest first ---------------------------
cli export export --data-dir "$D"
expect_rc 0 export "export"
node "$CORPUS_TOOLS/check_export.mjs" "$CORPUS/valid.jsonl" "$WORK/export.out" >&2 || fail "export differs from the corpus (above)"
cp "$WORK/export.out" "$WORK/first_export.jsonl"

# --- export with a filter and a time window ---------------------------------------------------
jq -c 'select(.kind == 0)' "$CORPUS/valid.jsonl" >"$WORK/want_kind0.jsonl"
cli export_kind0 export --data-dir "$D" --filter '{"kinds":[0]}'
expect_rc 0 export_kind0 'export --filter {"kinds":[0]}'
node "$CORPUS_TOOLS/check_export.mjs" "$WORK/want_kind0.jsonl" "$WORK/export_kind0.out" >&2 || fail "export --filter kinds [0] (above)"
jq -c 'select(.created_at == 1700000100)' "$CORPUS/valid.jsonl" >"$WORK/want_second.jsonl"
expect_eq "$(wc -l <"$WORK/want_second.jsonl")" 50 "corpus events sharing one second"
cli export_second export --data-dir "$D" --since 1700000100 --until 1700000100
expect_rc 0 export_second "export --since T --until T"
node "$CORPUS_TOOLS/check_export.mjs" "$WORK/want_second.jsonl" "$WORK/export_second.out" >&2 ||
    fail "export --since 1700000100 --until 1700000100 should give exactly the 50 events of that second (above)"
jq -c 'select(.created_at >= 1099511627776)' "$CORPUS/valid.jsonl" >"$WORK/want_far.jsonl"
cli export_far export --data-dir "$D" --since 1099511627776
expect_rc 0 export_far "export --since 2^40"
node "$CORPUS_TOOLS/check_export.mjs" "$WORK/want_far.jsonl" "$WORK/export_far.out" >&2 || fail "export --since 2^40 (above)"

# --- a second import of the same file stores nothing ------------------------------------------
cli reimport import --json --data-dir "$D" "$CORPUS/corpus.jsonl"
expect_rc 0 reimport "second import of the corpus"
GOT=$(single_json reimport)
expect_eq "$(jq .stored <<<"$GOT")" 0 "second import: stored"
expect_eq "$(jq .duplicate <<<"$GOT")" "$(jq '.stored + .duplicates' "$EXPECTED")" "second import: duplicate (every valid line)"
expect_eq "$(jq .invalid <<<"$GOT")" "$(ex .invalid)" "second import: invalid"
cli stats2 stats --json --data-dir "$D"
expect_rc 0 stats2 "stats after re-import"
expect_eq "$(single_json stats2 | jq .events)" "$(ex .stored)" "stats events after re-import"

# --- verify, reindex, verify, export unchanged -----------------------------------------------
cli verify verify --data-dir "$D"
expect_rc 0 verify "verify after import"
cli reindex reindex --data-dir "$D"
expect_rc 0 reindex "reindex"
cli verify2 verify --data-dir "$D"
expect_rc 0 verify2 "verify after reindex"
cli export2 export --data-dir "$D"
expect_rc 0 export2 "export after reindex"
cmp -s "$WORK/first_export.jsonl" "$WORK/export2.out" ||
    fail "export after reindex differs from the export before it: $(diff <(jq -r .id "$WORK/first_export.jsonl") <(jq -r .id "$WORK/export2.out") | head -n 10)"

# --- .jsonl.zst input ---------------------------------------------------------------------------
if command -v zstd >/dev/null; then
    zstd -q -3 "$CORPUS/corpus.jsonl" -o "$WORK/corpus.jsonl.zst"
    cli import_zst import --json --data-dir "$WORK/data_zst" "$WORK/corpus.jsonl.zst"
    expect_rc 0 import_zst "import --json of corpus.jsonl.zst"
    check_import import_zst ".zst import"
    cli export_zst export --data-dir "$WORK/data_zst"
    expect_rc 0 export_zst "export after .zst import"
    node "$CORPUS_TOOLS/check_export.mjs" "$CORPUS/valid.jsonl" "$WORK/export_zst.out" >&2 || fail "export after .zst import (above)"
else
    fail "zstd CLI not found (needed to build the .jsonl.zst input)"
fi

# --- stdin input ('-') ---------------------------------------------------------------------------
cli import_stdin import --json --data-dir "$WORK/data_stdin" - <"$CORPUS/corpus.jsonl"
expect_rc 0 import_stdin "import --json - (stdin)"
check_import import_stdin "stdin import"

# --- two files in one import: the second one is all duplicates ----------------------------------
cp "$CORPUS/corpus.jsonl" "$WORK/copy.jsonl"
cli import_two import --json --data-dir "$WORK/data_two" "$CORPUS/corpus.jsonl" "$WORK/copy.jsonl"
expect_rc 0 import_two "import of two files"
GOT=$(single_json import_two)
expect_eq "$(jq .read <<<"$GOT")" "$(jq '2 * .lines' "$EXPECTED")" "two files: read"
expect_eq "$(jq .stored <<<"$GOT")" "$(ex .stored)" "two files: stored"
expect_eq "$(jq .duplicate <<<"$GOT")" "$(jq '2 * .duplicates + .stored' "$EXPECTED")" "two files: duplicate"

# --- usage errors exit 2, a missing file exits 1 --------------------------------------------------
U=$WORK/data_usage
cli usage1 import --data-dir "$U" --no-such-option "$CORPUS/corpus.jsonl" </dev/null
expect_rc 2 usage1 "import with an unknown option"
cli usage2 import --data-dir "$U" </dev/null
expect_rc 2 usage2 "import without a FILE"
cli usage3 export --data-dir "$U" --since not-a-number
expect_rc 2 usage3 "export --since not-a-number"
cli usage4 export --data-dir "$U" --filter '{"kinds":'
expect_rc 2 usage4 "export --filter with broken JSON"
cli usage5 stats --data-dir
expect_rc 2 usage5 "stats --data-dir without a value"
cli missing import --data-dir "$WORK/data_missing" "$WORK/does-not-exist.jsonl"
expect_rc 1 missing "import of a missing file"
[[ -s $WORK/missing.err ]] || fail "import of a missing file printed nothing on stderr"

note "PASS ($(ex .lines) lines: $(ex .stored) stored, $(ex .duplicates) duplicates, $(ex .invalid) invalid)"
