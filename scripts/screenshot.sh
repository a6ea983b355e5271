#!/usr/bin/env bash
# Screenshot of the console in a real window under Xvfb, into docs/screenshots/.
# Usage: scripts/screenshot.sh [BUILD_DIR]   (needs xvfb, xauth, imagemagick's `import` or xwd)
set -euo pipefail
build=${1:-build}
out=docs/screenshots
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill ${app:-} 2>/dev/null || true; rm -rf "$work"' EXIT
"$build/tools/make_events" "$work/events.jsonl" 3000 7 2>/dev/null
"$build/archivist" import --data-dir "$work/data" "$work/events.jsonl" 2>/dev/null
export DISPLAY=:97
Xvfb :97 -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill ${app:-} $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 1
"$build/archivist" --data-dir "$work/data" >/dev/null 2>&1 &
app=$!
sleep 4
xwd -root -silent | /usr/bin/convert xwd:- "$out/main-window.png"
kill -TERM $app; wait $app || true
echo "wrote $out/main-window.png"
