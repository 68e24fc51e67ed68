#!/bin/sh
# Writes this Sentinel's configuration from the environment, then starts it.
#   SENTINEL_QUORUM      Sentinels that must agree the master is down (default 2)
#   SENTINEL_DOWN_AFTER  milliseconds without a valid reply before a node is considered down (default 1500)
#   SENTINEL_FAILOVER    failover timeout in milliseconds (default 3000)
#   MASTER_NAME, MASTER_HOST, MASTER_PORT, SENTINEL_PORT, REDIS_PASSWORD (or REDIS_PASSWORD_FILE),
#   SENTINEL_ANNOUNCE_HOST, SENTINEL_DIR (default /data)
# A config already in SENTINEL_DIR is kept: Sentinel rewrites it with what it learned (the current
# master, the other Sentinels, the epoch), and a restart must not forget that.
# SENTINEL_DRY_RUN=1 writes the config and prints its path instead of starting the Sentinel.
set -eu

fail() { echo "sentinel-entrypoint: $*" >&2; exit 2; }
number() { # name value
  case "$2" in ''|*[!0-9]*) fail "$1 must be a whole number, got '$2'" ;; esac
}

QUORUM="${SENTINEL_QUORUM:-2}"
DOWN_AFTER="${SENTINEL_DOWN_AFTER:-1500}"
FAILOVER="${SENTINEL_FAILOVER:-3000}"
number SENTINEL_QUORUM "$QUORUM"
number SENTINEL_DOWN_AFTER "$DOWN_AFTER"
number SENTINEL_FAILOVER "$FAILOVER"
[ "$QUORUM" -ge 1 ] || fail "SENTINEL_QUORUM must be at least 1"
[ "$DOWN_AFTER" -ge 100 ] || fail "SENTINEL_DOWN_AFTER must be at least 100 ms"
[ "$FAILOVER" -ge 1000 ] || fail "SENTINEL_FAILOVER must be at least 1000 ms"

NAME="${MASTER_NAME:-mymaster}"
HOST="${MASTER_HOST:-redis-master}"
PORT="${MASTER_PORT:-6379}"
SPORT="${SENTINEL_PORT:-26379}"
number MASTER_PORT "$PORT"
number SENTINEL_PORT "$SPORT"
DIR="${SENTINEL_DIR:-/data}"
if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
  [ -r "$REDIS_PASSWORD_FILE" ] || fail "REDIS_PASSWORD_FILE $REDIS_PASSWORD_FILE is not readable"
  REDIS_PASSWORD="$(cat "$REDIS_PASSWORD_FILE")"
fi
CONF="$DIR/sentinel.conf"
mkdir -p "$DIR"
# The file holds the Redis password.
umask 077

if [ -s "$CONF" ] && grep -q "^sentinel monitor $NAME " "$CONF"; then
  echo "sentinel-entrypoint: keeping $CONF (what this Sentinel learned survives a restart)" >&2
else
  {
    # The same lines, in the same order, as renderSentinelConf for compose (test/deploy.test.ts).
    echo "# written by sentinel-entrypoint.sh; Sentinel rewrites this file as it learns the topology"
    echo "bind 0.0.0.0"
    echo "port $SPORT"
    echo "protected-mode no"
    echo "daemonize no"
    echo 'logfile ""'
    echo "dir $DIR"
    echo "sentinel resolve-hostnames yes"
    echo "sentinel announce-hostnames yes"
    if [ -n "${SENTINEL_ANNOUNCE_HOST:-}" ]; then echo "sentinel announce-ip $SENTINEL_ANNOUNCE_HOST"; fi
    echo "sentinel monitor $NAME $HOST $PORT $QUORUM"
    echo "sentinel down-after-milliseconds $NAME $DOWN_AFTER"
    echo "sentinel failover-timeout $NAME $FAILOVER"
    echo "sentinel parallel-syncs $NAME 1"
    if [ -n "${REDIS_PASSWORD:-}" ]; then echo "sentinel auth-pass $NAME $REDIS_PASSWORD"; fi
  } > "$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
fi

if [ "${SENTINEL_DRY_RUN:-0}" = "1" ]; then
  echo "$CONF"
  exit 0
fi
exec redis-sentinel "$CONF"
