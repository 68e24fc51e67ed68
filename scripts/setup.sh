#!/usr/bin/env bash
# Installs what the stack needs on a Debian machine: system packages (as root) and npm dependencies.
# Usage: scripts/setup.sh [valkey] [extra debian packages...]
#   valkey: also Valkey 8.0 (valkey-server, valkey-sentinel, valkey-tools) from bookworm-backports,
#   with an apt pin that takes only valkey* packages from there (docs/upgrade.md).
set -euo pipefail
cd "$(dirname "$0")/.."

with_valkey=0
extras=()
for arg in "$@"; do
  if [ "$arg" = valkey ]; then with_valkey=1; else extras+=("$arg"); fi
done
set -- ${extras[@]+"${extras[@]}"}

# Valkey 8.0 is only in bookworm-backports: its source, and a pin so that nothing else comes from it
# (everything else stays at priority 100, below the release's 500, so no other package changes).
if [ "$with_valkey" = 1 ] && ! command -v valkey-server >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: Valkey 8.0 is missing; as root: scripts/setup.sh valkey (bookworm-backports)" >&2
    exit 1
  fi
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      > /etc/apt/sources.list.d/redis-ha-stack-bookworm-backports.sources
  fi
  cat > /etc/apt/preferences.d/redis-ha-stack-valkey <<'PIN'
Explanation: redis-ha-stack (scripts/setup.sh valkey): only valkey packages from bookworm-backports
Package: valkey*
Pin: release n=bookworm-backports
Pin-Priority: 500

Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100
PIN
  apt-get update -q >/tmp/redis-ha-stack-apt.log 2>&1
  set -- "$@" valkey-server valkey-sentinel valkey-tools
fi

declare -A provides=(
  [redis-server]=redis-server
  [redis-sentinel]=redis-sentinel
  [haproxy]=haproxy
  # promtool checks and unit-tests the alert rules (npm test).
  [promtool]=prometheus
  # up --monitoring hashes the monitoring password for Prometheus with Python's crypt (bcrypt).
  [python3]=python3
)
packages=()
for bin in "${!provides[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || packages+=("${provides[$bin]}")
done
for extra in "$@"; do
  dpkg -s "$extra" >/dev/null 2>&1 || packages+=("$extra")
done

if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${packages[*]}" >&2
    echo "setup: run as root, or install them first: sudo apt-get install -y ${packages[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The packages' own services must not grab the default ports: this project starts its own processes.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -q --no-install-recommends "${packages[@]}" >/tmp/redis-ha-stack-apt.log 2>&1 || {
    apt-get update -q >>/tmp/redis-ha-stack-apt.log 2>&1
    apt-get install -y -q --no-install-recommends "${packages[@]}" >>/tmp/redis-ha-stack-apt.log 2>&1 || {
      tail -20 /tmp/redis-ha-stack-apt.log >&2
      exit 1
    }
  }
fi

# npm dependencies: reinstall when the lock file changed since the last install. A node_modules that
# is a link (one install shared by several checkouts) is left alone: npm ci would empty its target
# under the other checkouts' feet.
if [ -L node_modules ]; then
  [ -f node_modules/.package-lock.json ] || {
    echo "setup: node_modules links to $(readlink node_modules), which holds no install" >&2
    exit 1
  }
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
