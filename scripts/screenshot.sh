#!/usr/bin/env bash
# Screenshot of the console in a real window under Xvfb, into docs/screenshots/: the engine
# archives a real relay on 127.0.0.1 (tests/relay/relay.mjs, seeded through nostr-tools, with a
# trickle of live events) so every panel shows live data.
# Usage: scripts/screenshot.sh [BUILD_DIR]   (needs Xvfb and node)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=docs/screenshots
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    exec 5>&- 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/relay.stdin"
node tests/relay/relay.mjs --port 0 --db "$work/relay.db" --default-limit 200 \
    <"$work/relay.stdin" >"$work/relay.out" 2>/dev/null &
pids+=($!)
exec 5>"$work/relay.stdin"
for _ in $(seq 1 100); do
    port=$(awk '/^LISTENING /{print $2}' "$work/relay.out" 2>/dev/null)
    [[ -n ${port:-} ]] && break
    sleep 0.1
done
url=ws://127.0.0.1:$port
node tests/relay/publish.mjs --url "$url" --count 1500 --same-second 150 --kinds-in-second 3 \
    --created-at-base "$(date +%s)" --seed screenshot >/dev/null
node tests/relay/publish.mjs --url "$url" --count 0 --live-every-ms 100 --live-count 0 --seed shot-live \
    >/dev/null 2>&1 &
pids+=($!)

# Relay URLs found in events (NIP-65, kind 3, NIP-66, hints) fill the Discovery panel; the first
# optimizer cycle runs after 10 s so the Scoring panel has scores.
node tests/corpus/make_relay_lists.mjs "$work/lists.jsonl"
"$build/archivist" import --data-dir "$work/data" "$work/lists.jsonl" >/dev/null 2>&1
# Weeks of history (backdated, future-dated and replicated events) for the Statistics panel.
node tests/corpus/make_research_corpus.mjs "$work/research" 1500 "$(date +%s)"
"$build/archivist" import --data-dir "$work/data" "$work/research/all.jsonl" "$work/research/replica.jsonl" >/dev/null 2>&1
echo '{"optimizer_interval_s": 10}' >"$work/data/config.json"

export DISPLAY=${SCREENSHOT_DISPLAY:-:97}
Xvfb "$DISPLAY" -screen 0 1600x1000x24 >/dev/null 2>&1 &
pids+=($!)
sleep 1
# A relay that is refused by the address policy shows up too (and raises an incident).
# After 16 s the console saves each panel (raised in turn) and exits by itself.
XDG_CONFIG_HOME="$work/config" "$build/archivist" --data-dir "$work/data" --no-seed-relays \
    --relay "$url" --allow-address 127.0.0.1/32 --relay ws://10.0.0.1:7777 \
    --screenshot-panels "$work/panels" --screenshot-after 16 >/dev/null 2>&1 &
app=$!
pids+=($app)
wait $app || true
# The console saves the whole window (main-window.png, grabbed from the real window) and then
# each panel raised in turn.
cp "$work"/panels/main-window.png "$work"/panels/panel-*.png "$out"/
echo "wrote $(ls "$work"/panels | wc -l) screenshots in $out"
