#!/usr/bin/env bash
# Runs the unit tests and the process-management tests (the supervisor, the ha-stack command) on
# each pinned Node.js release, the whole stack included: the launcher starts the apps with its own
# `process.execPath`, so they run on the release under test too.
#
# The binaries come from the npm registry's node-linux-<arch> packages (scripts/lib/node-binary.sh).
#
# Environment:
#   NODE_VERSIONS           the releases to test, space separated (default: the pinned ones below)
#   NODE_VERSIONS_CACHE     where the binaries are kept
#   NODE_VERSIONS_OPTIONAL  1: a release that cannot be fetched is skipped with a warning instead
#                           of failing the run
set -euo pipefail
cd "$(dirname "$0")/.."

PINNED="22.23.5 24.22.3"
read -r -a versions <<<"${NODE_VERSIONS:-$PINNED}"
optional="${NODE_VERSIONS_OPTIONAL:-0}"

# shellcheck source=lib/node-binary.sh
source scripts/lib/node-binary.sh
cache=$node_cache
arch=$(node_arch) || {
  echo "node-versions: no node-linux package for $(uname -m)" >&2
  exit 1
}

passed=()
failed=()
skipped=()
for version in "${versions[@]}"; do
  if ! install_node "$version"; then
    echo "node-versions: cannot get Node v$version (npm package node-linux-$arch@$version): is the npm registry reachable?" >&2
    if [ "$optional" = 1 ]; then
      skipped+=("v$version")
      continue
    fi
    echo "node-versions: set NODE_VERSIONS_OPTIONAL=1 to skip the releases that cannot be fetched" >&2
    exit 1
  fi
  echo
  echo "== Node v$version: unit + process-management tests =="
  PATH="$cache/$version/bin:$PATH" node -p '`node on PATH: ${process.version} at ${process.execPath}`'
  ok=1
  # Both steps run, so one run shows every failure; `node` is the release under test.
  PATH="$cache/$version/bin:$PATH" node --import tsx --test --test-reporter=spec test/unit/*.test.ts || ok=0
  PATH="$cache/$version/bin:$PATH" node --import tsx --test --test-reporter=spec --test-concurrency=1 \
    test/stack.test.ts test/stack-cli.test.ts || ok=0
  if [ "$ok" = 1 ]; then passed+=("v$version"); else failed+=("v$version"); fi
done

echo
echo "node-versions: passed: ${passed[*]:-none}; failed: ${failed[*]:-none}; skipped: ${skipped[*]:-none}"
[ ${#failed[@]} -eq 0 ]
