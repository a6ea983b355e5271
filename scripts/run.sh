#!/usr/bin/env bash
# `make run`: the console when there is a display, headless otherwise.
set -euo pipefail
bin=$1; shift
if [[ -n ${DISPLAY:-} || -n ${WAYLAND_DISPLAY:-} ]]; then
  exec "$bin" "$@"
else
  echo "No display: starting headless (Ctrl-C stops it cleanly)."
  exec "$bin" --headless "$@"
fi
