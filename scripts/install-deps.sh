#!/usr/bin/env bash
# Installs the Debian 12 packages (and the tests' npm packages) that are missing.
# Idempotent, and silent when everything is present.
#
# Usage: scripts/install-deps.sh [GROUP...]        (no GROUP: main)
#   main         configure, build, `make test`, `make run`, `make demo`, `make package`, `make bench`
#   fuzz         `make fuzz` (clang and its libFuzzer/sanitizer runtime; ~250 MB, so not in main)
#   fresh-check  scripts/fresh-check.sh on the host (mmdebstrap)
#
# Why each package is here (which CMake config, header or command needs it) and how to redo the
# derivation: docs/dependencies.md (scripts/derive-deps.sh checks this list against a build).
set -euo pipefail
cd "$(dirname "$0")/.."

# --- main ----------------------------------------------------------------------------------------
# Configure + build: the Qt 6 components CMakeLists.txt finds, and every Qt6*Config.cmake that
# their *Dependencies.cmake files require in turn (Debian's qt6-charts-dev does not pull in
# libqt6opengl6-dev, yet Qt6ChartsDependencies.cmake requires Qt6OpenGL and Qt6OpenGLWidgets).
MAIN_BUILD=(
  build-essential cmake pkg-config
  qt6-base-dev qt6-base-dev-tools qt6-websockets-dev qt6-charts-dev libqt6opengl6-dev
  qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools
  libsqlite3-dev libzstd-dev libsecp256k1-dev libssl-dev
  zlib1g-dev libjemalloc-dev
)
# Commands the tests and scripts call (jq, zstd; curl and Xvfb for `make bench` and screenshots),
# and Qt's own German catalogue (qtbase_de.qm: "Cancel" → "Abbrechen"; tst_translations checks it).
MAIN_RUN=(
  jq zstd curl xvfb qt6-translations-l10n
)
# The ClickHouse sink's tests start a private server on 127.0.0.1 (docs/clickhouse.md); the
# packages' own service is not needed and may stay stopped.
MAIN_CLICKHOUSE=(clickhouse-server clickhouse-client)
# The tests' npm packages (tests/package-lock.json): Debian's Node 18 and npm 9; better-sqlite3
# compiles from source with node-gyp (python3, a C++ compiler, make) against Debian's Node headers.
MAIN_NODE=(nodejs npm libnode-dev node-gyp python3)
# `make package`: cpack's DEB generator runs dpkg-shlibdeps (dpkg-dev) and file.
MAIN_PACKAGE=(dpkg-dev file)

FUZZ=(clang libclang-rt-14-dev)
FRESH_CHECK=(mmdebstrap)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
foreign_node() {
  command -v node >/dev/null && command -v npm >/dev/null && [[ -f /usr/include/node/node_api.h ]] || return 1
  ! installed nodejs || dpkg-query -W -f='${Version}' nodejs | grep -q nodesource
}

groups=("$@")
((${#groups[@]})) || groups=(main)
want=()
for g in "${groups[@]}"; do
  case $g in
    main)
      want+=("${MAIN_BUILD[@]}" "${MAIN_RUN[@]}" "${MAIN_CLICKHOUSE[@]}" "${MAIN_PACKAGE[@]}")
      # A Node.js that is not Debian's (NodeSource's, say) is fine: it brings its own headers
      # where node-gyp is told to look (npm_config_nodedir=/usr), and Debian's npm would conflict.
      if foreign_node; then want+=(python3); else want+=("${MAIN_NODE[@]}"); fi
      ;;
    fuzz) want+=("${FUZZ[@]}") ;;
    fresh-check) want+=("${FRESH_CHECK[@]}") ;;
    *) echo "install-deps: unknown group '$g' (main, fuzz, fresh-check)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  log=$(mktemp)
  # (env, not a prefix assignment: sudo would drop it)
  if ! { $SUDO apt-get update -qq &&
         $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
       } >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "install-deps: apt-get failed (above); the packages: ${missing[*]}" >&2
    exit 1
  fi
  rm -f "$log"
fi

# npm packages for the integration tests (nostr-tools, a real relay), from the committed lockfile.
if [[ " ${groups[*]} " == *" main "* && -f tests/package-lock.json ]]; then
  stamp=tests/node_modules/.archivist-lock
  if [[ ! -f $stamp ]] || ! cmp -s tests/package-lock.json "$stamp"; then
    echo "Installing npm packages for the tests"
    # From source against the system Node headers, the same on every machine: a prebuilt
    # better-sqlite3 would be a download from outside the package registries.
    (cd tests && npm_config_nodedir=/usr npm_config_build_from_source=true \
       npm ci --no-audit --no-fund --loglevel=error)
    cp tests/package-lock.json "$stamp"
  fi
fi
