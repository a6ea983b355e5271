#!/usr/bin/env bash
# Installs whatever Debian packages and npm packages the build and the tests need and are missing.
# Idempotent and quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  build-essential cmake pkg-config
  qt6-base-dev qt6-websockets-dev qt6-charts-dev libqt6sql6-sqlite qt6-tools-dev qt6-tools-dev-tools
  qt6-l10n-tools libgl-dev
  libsqlite3-dev libzstd-dev libsecp256k1-dev libssl-dev
  zstd jq nodejs npm xvfb xauth
  zlib1g-dev
  # The ClickHouse sink's tests start a private server on 127.0.0.1 (docs/clickhouse.md); the
  # packages' own service is not needed and may stay stopped.
  clickhouse-server clickhouse-client
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from elsewhere than Debian (node + npm on PATH is enough).
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for the integration tests (nostr-tools, a real relay), from the committed lockfile.
if [[ -f tests/package-lock.json ]]; then
  stamp=tests/node_modules/.archivist-lock
  if [[ ! -f $stamp ]] || ! cmp -s tests/package-lock.json "$stamp"; then
    echo "Installing npm packages for the tests"
    (cd tests && npm_config_nodedir=/usr npm ci --no-audit --no-fund --loglevel=error)
    cp tests/package-lock.json "$stamp"
  fi
fi
