#!/usr/bin/env bash
# Runs the unit tests and the process-management tests (the supervisor, the ha-stack command) on
# each pinned Node.js release, the whole stack included: the launcher starts the apps with its own
# `process.execPath`, so they run on the release under test too.
#
# The binaries come from the npm registry's node-linux-<arch> packages, which ship the official
# `bin/node` inside the tarball (nothing is fetched by an install script). Each release is
# unpacked once into $NODE_VERSIONS_CACHE/<version> (default ~/.cache/redis-ha-stack/node) and
# reused by later runs.
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
cache="${NODE_VERSIONS_CACHE:-$HOME/.cache/redis-ha-stack/node}"
optional="${NODE_VERSIONS_OPTIONAL:-0}"

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    echo "node-versions: no node-linux package for $(uname -m)" >&2
    exit 1
    ;;
esac

# Puts Node <version> into $cache/<version> unless a working copy is already there.
install_node() {
  local version=$1 dir="$cache/$1" tmp
  if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" -v 2>/dev/null)" = "v$version" ]; then
    return 0
  fi
  echo "node-versions: fetching node-linux-$arch@$version from the npm registry into $dir"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  # npm pack only downloads the tarball (checked against the registry's integrity hash).
  if ! (cd "$tmp" && npm pack --loglevel=error "node-linux-$arch@$version" >/dev/null) ||
    ! tar -xzf "$tmp/node-linux-$arch-$version.tgz" -C "$tmp" package/bin/node package/LICENSE ||
    [ "$("$tmp/package/bin/node" -v 2>/dev/null)" != "v$version" ]; then
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
  rm -rf "$tmp"
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
