#!/usr/bin/env bash
# Makes sure the images deploy/compose.yaml and the Dockerfile name are present in the local Docker
# engine: valkey/valkey:8.0, haproxy:2.6, node:24-bookworm-slim. For each one missing it tries `docker pull`
# (short timeout); when that fails (no registry reachable) it builds a stand-in with the SAME name
# from Debian bookworm packages with mmdebstrap, and says so. The stand-ins keep the official
# images' contract as far as this project uses it:
#   valkey/valkey:8.0      valkey-server, valkey-sentinel, valkey-cli on PATH (Debian's valkey
#                          packages from $DEBIAN_SUITE-backports: 8.0.1 there, older than the
#                          8.0.x the official tag carries, so a stand-in for tests, never for
#                          production); user valkey; /data owned by valkey and the working
#                          directory; /usr/local/etc/redis
#   haproxy:2.6            haproxy on PATH (and bash: the compose health check runs it); user
#                          haproxy; /usr/local/etc/haproxy
#   node:24-bookworm-slim  Node 24 (the npm registry's node-linux-<arch> binary, as
#                          scripts/node-versions.sh installs it) and npm in /usr/local; user node
#                          (uid 1000); the host's CA bundle with NODE_EXTRA_CA_CERTS, so `npm ci`
#                          inside `docker build` trusts what the host trusts
#   prom/prometheus:v2.53.4, prom/alertmanager:v0.27.0, oliver006/redis_exporter:v1.45.0
#                          the `monitoring` profile (with --monitoring only): Debian's prometheus
#                          2.42, prometheus-alertmanager 0.25 and prometheus-redis-exporter 1.45
#                          (the local stack's own binaries; older than the tags, so stand-ins for
#                          tests); /bin/prometheus, /bin/alertmanager, /redis_exporter as the
#                          images have them; /prometheus and /alertmanager owned by nobody
#   redis-ha-stack-certs   the certs service of deploy/compose.tls.yaml: built from deploy/certs/
#                          (Debian with openssl) where debian:bookworm-slim can be pulled, otherwise
#                          the same Debian root file system (openssl comes with ca-certificates)
# RedisInsight (redis/redisinsight, compose profile "tools") has no stand-in: it is not a Debian
# package and cannot be built offline; leave that service out.
#
# Usage: scripts/offline-images.sh [--force] [--monitoring]   (--force rebuilds the stand-ins even
#        when present; --monitoring also makes the monitoring profile's images)
# Environment: NODE_STANDIN_VERSION (24.22.3), NODE_VERSIONS_CACHE, PULL_TIMEOUT (seconds, 20),
#              DEBIAN_SUITE (bookworm)
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
monitoring=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --monitoring) monitoring=1 ;;
    *)
      echo "offline-images: unknown argument $arg" >&2
      exit 2
      ;;
  esac
done
suite="${DEBIAN_SUITE:-bookworm}"
node_version="${NODE_STANDIN_VERSION:-24.22.3}"
pull_timeout="${PULL_TIMEOUT:-20}"
host_ca=/etc/ssl/certs/ca-certificates.crt

log() { echo "offline-images: $*" >&2; }

command -v docker >/dev/null || {
  log "docker is missing (scripts/setup.sh docker.io docker-compose mmdebstrap)"
  exit 1
}

# shellcheck source=lib/node-binary.sh
source scripts/lib/node-binary.sh
cache=$node_cache

# The npm to put beside it: the machine's own, or the registry's npm package.
npm_dir() {
  local global
  global="$(npm root -g 2>/dev/null || true)/npm"
  if [ -f "$global/bin/npm-cli.js" ]; then
    echo "$global"
    return
  fi
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --loglevel=error npm@11 >/dev/null && tar -xzf npm-*.tgz) || return 1
  echo "$tmp/package"
}

# One Debian root file system serves the three stand-ins (each imported from it with its own
# command): one mmdebstrap run instead of three, as a fresh machine builds them all. It holds
# Valkey, HAProxy and Node together; each image uses only its own part. Built on first use.
# Valkey 8.0 is in the backports suite: its line is added beside the suite's own, on the same
# mirror (the setup hook runs before apt reads the lists).
rootfs=""
monitoring_rootfs=""
cleanup_rootfs() {
  [ -z "$rootfs" ] || rm -rf "$(dirname "$rootfs")"
  [ -z "$monitoring_rootfs" ] || rm -rf "$(dirname "$monitoring_rootfs")"
}
trap cleanup_rootfs EXIT
build_rootfs() {
  [ -z "$rootfs" ] || return 0
  local npm dir
  install_node "$node_version" || {
    log "cannot get Node v$node_version from the npm registry"
    return 1
  }
  npm=$(npm_dir) || {
    log "no npm to put into the image"
    return 1
  }
  [ -r "$host_ca" ] || {
    log "no CA bundle at $host_ca"
    return 1
  }
  dir=$(mktemp -d)
  log "building a Debian $suite root file system with mmdebstrap (once for every stand-in)"
  mmdebstrap --quiet --variant=apt \
    --include=valkey-server,valkey-sentinel,valkey-tools,haproxy,bash,ca-certificates,libstdc++6 \
    --setup-hook="sed -n 's|^deb \\(.*\\) $suite main\$|deb \\1 $suite-backports main|p' \"\$1/etc/apt/sources.list\" >\"\$1/etc/apt/sources.list.d/backports.list\" && grep -q . \"\$1/etc/apt/sources.list.d/backports.list\"" \
    --customize-hook='mkdir -p "$1/data" "$1/usr/local/etc/redis" && chroot "$1" chown valkey:valkey /data' \
    --customize-hook='mkdir -p "$1/usr/local/etc/haproxy" "$1/var/lib/haproxy"' \
    --customize-hook="copy-in $cache/$node_version/bin/node /usr/local/bin" \
    --customize-hook='mkdir -p "$1/usr/local/lib/node_modules" "$1/usr/local/share/host-ca"' \
    --customize-hook="copy-in $npm /usr/local/lib/node_modules" \
    --customize-hook="copy-in $host_ca /usr/local/share/host-ca" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" groupadd -g 1000 node && chroot "$1" useradd -m -u 1000 -g node -s /bin/bash node' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$suite" "$dir/rootfs.tar"
  rootfs="$dir/rootfs.tar"
}

build_valkey() {
  build_rootfs &&
    docker import --change 'WORKDIR /data' --change 'EXPOSE 6379' \
      --change 'CMD ["valkey-server"]' "$rootfs" valkey/valkey:8.0 >/dev/null &&
    docker run --rm valkey/valkey:8.0 sh -c 'valkey-server --version && id valkey' >&2
}

build_haproxy() {
  build_rootfs &&
    docker import --change 'CMD ["haproxy","-f","/usr/local/etc/haproxy/haproxy.cfg"]' \
      "$rootfs" haproxy:2.6 >/dev/null
}

build_node() {
  local major=${node_version%%.*}
  build_rootfs &&
    docker import --change "ENV NODE_VERSION=$node_version" \
      --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca/ca-certificates.crt' \
      --change 'CMD ["node"]' "$rootfs" "node:$major-bookworm-slim" >/dev/null &&
    docker run --rm "node:$major-bookworm-slim" sh -c 'node -v && npm -v && id node' >&2
}

# The monitoring's three stand-ins share a root file system of their own (the stack's images stay
# without Prometheus), built on first use. The paths are the official images': the compose file
# runs /bin/prometheus and /bin/alertmanager (bookworm's /bin is /usr/bin) and the exporter's
# image runs /redis_exporter with the flags as its command.
build_monitoring_rootfs() {
  [ -z "$monitoring_rootfs" ] || return 0
  local dir
  dir=$(mktemp -d)
  log "building a Debian $suite root file system with Prometheus, Alertmanager and the Redis exporter"
  mmdebstrap --quiet --variant=apt \
    --include=prometheus,prometheus-alertmanager,prometheus-redis-exporter,ca-certificates \
    --customize-hook='ln -s prometheus-alertmanager "$1/usr/bin/alertmanager"' \
    --customize-hook='ln -s usr/bin/prometheus-redis-exporter "$1/redis_exporter"' \
    --customize-hook='mkdir -p "$1/prometheus" "$1/alertmanager" && chroot "$1" chown nobody:nogroup /prometheus /alertmanager' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$suite" "$dir/rootfs.tar"
  monitoring_rootfs="$dir/rootfs.tar"
}

# One of the three: `image` running `entrypoint` as `user` in `workdir`, listening on `port`.
import_monitoring() { # image entrypoint user workdir port
  build_monitoring_rootfs &&
    docker import --change "WORKDIR $4" --change "USER $3" --change "EXPOSE $5" \
      --change "ENTRYPOINT [\"$2\"]" "$monitoring_rootfs" "$1" >/dev/null &&
    docker run --rm "$1" --version >&2 2>&1
}

build_prometheus() { import_monitoring prom/prometheus:v2.53.4 /bin/prometheus nobody /prometheus 9090; }
build_alertmanager() { import_monitoring prom/alertmanager:v0.27.0 /bin/alertmanager nobody /alertmanager 9093; }
build_redis_exporter() { import_monitoring oliver006/redis_exporter:v1.45.0 /redis_exporter 59000:59000 / 9121; }

build_certs() {
  if timeout "$pull_timeout" docker pull -q debian:bookworm-slim >/dev/null 2>&1 &&
    docker build -q -t redis-ha-stack-certs deploy/certs >/dev/null; then
    return
  fi
  build_rootfs &&
    docker import --change 'CMD ["openssl","version"]' "$rootfs" redis-ha-stack-certs >/dev/null &&
    docker run --rm redis-ha-stack-certs openssl version >&2
}

ensure() { # image builder
  local image=$1 builder=$2 start
  if [ "$force" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
    log "$image: present"
    return
  fi
  if [ "$force" = 0 ] && timeout "$pull_timeout" docker pull -q "$image" >/dev/null 2>&1; then
    log "$image: pulled"
    return
  fi
  command -v mmdebstrap >/dev/null || {
    log "$image: cannot pull it and mmdebstrap is missing (scripts/setup.sh docker.io docker-compose mmdebstrap)"
    exit 1
  }
  log "$image: cannot pull it; building a STAND-IN from Debian $suite packages with mmdebstrap"
  start=$(date +%s)
  "$builder" || {
    log "$image: the stand-in could not be built"
    exit 1
  }
  log "$image: stand-in built in $(($(date +%s) - start)) s"
}

ensure valkey/valkey:8.0 build_valkey
ensure haproxy:2.6 build_haproxy
ensure "node:${node_version%%.*}-bookworm-slim" build_node
# Not on a registry: made here (docker pull of it fails at once), as compose would build it.
ensure redis-ha-stack-certs build_certs
if [ "$monitoring" = 1 ]; then
  ensure prom/prometheus:v2.53.4 build_prometheus
  ensure prom/alertmanager:v0.27.0 build_alertmanager
  ensure oliver006/redis_exporter:v1.45.0 build_redis_exporter
fi
log "redis/redisinsight: no stand-in (not a Debian package, cannot be built offline); leave it out"
