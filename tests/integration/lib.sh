# Shared helpers for tests/integration/test_*.sh. Source it after setting nothing; it:
#   - resolves the archivist binary from $1 (what ctest passes), else $ARCHIVIST, else build/archivist
#     or the newest build-*/archivist;
#   - creates a private temporary directory $WORK, removed (and background jobs we started killed)
#     on exit;
#   - provides cli/expect/fail helpers and the cached corpora generated with nostr-tools.
# Requirements: bash, jq, node + tests/node_modules (scripts/install-deps.sh), zstd for .zst tests.
set -euo pipefail

ITEST_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TESTS_DIR=$REPO_ROOT/tests
CORPUS_TOOLS=$TESTS_DIR/corpus
CLI_TIMEOUT_S=${CLI_TIMEOUT_S:-300}

fail() {
    echo "FAIL [$ITEST_NAME]: $*" >&2
    exit 1
}

note() {
    echo "[$ITEST_NAME] $*" >&2
}

resolve_binary() {
    local candidate=${1:-${ARCHIVIST:-}}
    if [[ -z $candidate ]]; then
        if [[ -x $REPO_ROOT/build/archivist ]]; then
            candidate=$REPO_ROOT/build/archivist
        else
            candidate=$(ls -t "$REPO_ROOT"/build-*/archivist "$REPO_ROOT"/build*/app/archivist 2>/dev/null | head -n 1 || true)
        fi
    fi
    [[ -n $candidate && -x $candidate ]] || fail "archivist binary not found (pass it as \$1 or set ARCHIVIST)"
    realpath "$candidate"
}

ARCHIVIST=$(resolve_binary "${1:-}")
BUILD_DIR=$(dirname "$ARCHIVIST")
# Generated corpora are cached next to the binary (the build directory) unless told otherwise.
CACHE_DIR=${ARCHIVIST_TEST_CACHE:-$BUILD_DIR/test-cache}

for tool in jq node; do
    command -v "$tool" >/dev/null || fail "$tool is required"
done
[[ -d $TESTS_DIR/node_modules/nostr-tools ]] ||
    fail "tests/node_modules is missing: run scripts/install-deps.sh (or: cd tests && npm_config_nodedir=/usr npm ci)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/archivist-$ITEST_NAME.XXXXXX")
ITEST_PIDS=()
itest_cleanup() {
    local pid
    for pid in "${ITEST_PIDS[@]+"${ITEST_PIDS[@]}"}"; do
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap itest_cleanup EXIT
[[ -n ${ITEST_KEEP:-} ]] && trap - EXIT

# Remember a background process this test started so cleanup can end it.
track_pid() {
    ITEST_PIDS+=("$1")
}

# cli NAME ARGS... — runs archivist with ARGS (stdin inherited), stdout → $WORK/NAME.out,
# stderr → $WORK/NAME.err, exit code → $RC. Never aborts the script by itself.
cli() {
    local name=$1
    shift
    set +e
    timeout "$CLI_TIMEOUT_S" "$ARCHIVIST" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
    set -e
    if ((RC == 124)); then
        fail "archivist $* did not finish within ${CLI_TIMEOUT_S}s"
    fi
}

# show NAME — the captured output of a cli call, for failure messages.
show() {
    echo "--- stdout ($1):"
    head -c 3000 "$WORK/$1.out" 2>/dev/null || true
    echo "--- stderr ($1):"
    tail -c 3000 "$WORK/$1.err" 2>/dev/null || true
}

# expect_rc WANT NAME DESCRIPTION — after `cli NAME …`.
expect_rc() {
    local want=$1 name=$2
    shift 2
    if [[ $RC != "$want" ]]; then
        fail "$* — exit code $RC, expected $want
$(show "$name")"
    fi
}

# expect_eq ACTUAL EXPECTED DESCRIPTION
expect_eq() {
    if [[ "$1" != "$2" ]]; then
        fail "$3 — got '$1', expected '$2'"
    fi
}

# single_json NAME — asserts stdout of NAME is exactly one JSON object and prints it compactly.
single_json() {
    local n
    n=$(jq -s 'length' <"$WORK/$1.out" 2>/dev/null) || fail "stdout of $1 is not JSON
$(show "$1")"
    [[ $n == 1 ]] || fail "stdout of $1 holds $n JSON values, expected exactly one
$(show "$1")"
    jq -ce 'if type == "object" then . else error("not an object") end' <"$WORK/$1.out" >/dev/null ||
        fail "stdout of $1 is not a JSON object
$(show "$1")"
    jq -c . <"$WORK/$1.out"
}

# Cache key of a generator: its sources plus the lockfile (a different nostr-tools → regenerate).
generator_key() {
    cat "$CORPUS_TOOLS"/*.mjs "$TESTS_DIR/package-lock.json" | sha256sum | cut -c1-16
}

# ensure_corpus — prints the directory holding corpus.jsonl, valid.jsonl, expected.json.
ensure_corpus() {
    local dir
    dir=$CACHE_DIR/corpus-$(generator_key)
    if [[ ! -f $dir/expected.json ]]; then
        mkdir -p "$CACHE_DIR"
        rm -rf "$dir.tmp"
        node "$CORPUS_TOOLS/make_corpus.mjs" "$dir.tmp" >&2 || fail "make_corpus.mjs failed"
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

# ensure_events N SEED — prints the path of a cached JSONL file of N generated events; a sorted
# list of their ids sits next to it as <file>.ids.
ensure_events() {
    local n=$1 seed=$2 file
    file=$CACHE_DIR/events-$n-$seed-$(generator_key).jsonl
    if [[ ! -f $file.ids ]]; then
        mkdir -p "$CACHE_DIR"
        note "generating $n events (seed $seed) with nostr-tools — cached in $CACHE_DIR"
        node "$CORPUS_TOOLS/make_events.mjs" "$file.tmp" "$n" --seed "$seed" || fail "make_events.mjs failed"
        jq -r .id <"$file.tmp" | LC_ALL=C sort >"$file.ids.tmp"
        mv "$file.tmp" "$file"
        mv "$file.ids.tmp" "$file.ids"
    fi
    echo "$file"
}

# now_ms — wall clock in milliseconds.
now_ms() {
    date +%s%3N
}

# named_relay NAME ARGS... — one more tests/relay/relay.mjs on 127.0.0.1 with ARGS (give it --db);
# sets URL_<NAME>. Like start_relay, its stdin is a fifo held open by this shell.
named_relay() {
    local name=$1 port
    shift
    mkfifo "$WORK/$name.stdin"
    node "$TESTS_DIR/relay/relay.mjs" --port 0 "$@" \
        <"$WORK/$name.stdin" >"$WORK/$name.relay.out" 2>"$WORK/$name.relay.err" &
    track_pid $!
    eval "exec {fd_$name}>\"$WORK/$name.stdin\""
    for _ in $(seq 1 200); do
        grep -q '^LISTENING ' "$WORK/$name.relay.out" 2>/dev/null && break
        sleep 0.05
    done
    port=$(awk '/^LISTENING /{print $2}' "$WORK/$name.relay.out")
    [[ -n $port ]] || fail "relay $name did not start: $(cat "$WORK/$name.relay.err")"
    printf -v "URL_$name" 'ws://127.0.0.1:%s' "$port"
}

# start_relay [ARGS...] — tests/relay/relay.mjs on 127.0.0.1 (a real relay from npm) with ARGS,
# its database in $WORK; sets RELAY_PID, PORT and URL. Its stdin is a fifo held open on fd 7: if
# the test dies, the relay sees EOF and exits.
start_relay() {
    mkfifo "$WORK/relay.stdin"
    node "$TESTS_DIR/relay/relay.mjs" --port 0 --db "$WORK/relay.sqlite" "$@" \
        <"$WORK/relay.stdin" >"$WORK/relay.out" 2>"$WORK/relay.err" &
    RELAY_PID=$!
    track_pid "$RELAY_PID"
    exec 7>"$WORK/relay.stdin"
    for _ in $(seq 1 200); do
        grep -q '^LISTENING ' "$WORK/relay.out" 2>/dev/null && break
        kill -0 "$RELAY_PID" 2>/dev/null || fail "relay.mjs exited: $(cat "$WORK/relay.err")"
        sleep 0.05
    done
    PORT=$(awk '/^LISTENING /{print $2}' "$WORK/relay.out")
    [[ -n $PORT ]] || fail "relay.mjs did not print LISTENING: $(cat "$WORK/relay.err")"
    URL=ws://127.0.0.1:$PORT
}
