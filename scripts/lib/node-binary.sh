# shellcheck shell=bash
# Sourced by scripts/node-versions.sh and scripts/offline-images.sh: a pinned Node.js release from
# the npm registry's node-linux-<arch> package, which ships the official `bin/node` inside the
# tarball (nothing runs at install time). Each release is unpacked once into
# $NODE_VERSIONS_CACHE/<version> (default ~/.cache/redis-ha-stack/node) and reused later.

node_cache="${NODE_VERSIONS_CACHE:-$HOME/.cache/redis-ha-stack/node}"

# Prints the npm package's architecture suffix for this machine, or fails.
node_arch() {
  case "$(uname -m)" in
    x86_64 | amd64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) return 1 ;;
  esac
}

# Puts Node <version> into $node_cache/<version> unless a working copy is already there.
install_node() {
  local version=$1 dir="$node_cache/$1" arch tmp
  if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" -v 2>/dev/null)" = "v$version" ]; then
    return 0
  fi
  arch=$(node_arch) || {
    echo "node-binary: no node-linux package for $(uname -m)" >&2
    return 1
  }
  echo "node-binary: fetching node-linux-$arch@$version from the npm registry into $dir" >&2
  mkdir -p "$node_cache"
  tmp=$(mktemp -d "$node_cache/.fetch.XXXXXX")
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
