#!/bin/sh
# Writes this Sentinel's configuration from the environment, then starts it.
#   SENTINEL_QUORUM      Sentinels that must agree the master is down (default 2)
#   SENTINEL_DOWN_AFTER  milliseconds without a valid reply before a node is considered down (default and lowest 2000)
#   SENTINEL_FAILOVER    failover timeout in milliseconds (default 3000)
#   MASTER_NAME, MASTER_HOST, MASTER_PORT, SENTINEL_PORT, SENTINEL_ANNOUNCE_HOST, SENTINEL_DIR (default /data)
#   SENTINEL_PASSWORD             the Sentinels' own password (requirepass, sentinel-pass)
#   REDIS_SENTINEL_USER_PASSWORD  password of the Redis ACL user "sentinel" (sentinel auth-user/auth-pass)
#   SENTINEL_READER_PASSWORD      password of this Sentinel's read-only user "reader", which the apps
#                                 log in as (find the master, follow failovers; never reconfigure)
#   (each password also as <NAME>_FILE; required, at least 32 characters of [A-Za-z0-9._~+/=-])
# A config already in SENTINEL_DIR is kept: Sentinel rewrites it with what it learned (the current
# master, the other Sentinels, the epoch), and a restart must not forget that. Its password lines
# are written again from the environment at every start (a changed password takes effect then).
# With REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE (all three) it listens on TLS
# only and reaches the nodes and the other Sentinels over TLS (docs/tls.md); a kept config follows
# a change to or from TLS (its port lines written again).
# Once the Sentinel answers, a background loop sets its timers (below).
# SENTINEL_DRY_RUN=1 writes the config and prints its path instead of starting the Sentinel.
# The Sentinel is valkey-sentinel (the Valkey image), or redis-sentinel where there is none.
set -eu

ENTRYPOINT_NAME=sentinel-entrypoint
. "$(dirname "$0")/passwords.sh"
number() { # name value
  case "$2" in ''|*[!0-9]*) fail "$1 must be a whole number, got '$2'" ;; esac
}

QUORUM="${SENTINEL_QUORUM:-2}"
DOWN_AFTER="${SENTINEL_DOWN_AFTER:-2000}"
FAILOVER="${SENTINEL_FAILOVER:-3000}"
number SENTINEL_QUORUM "$QUORUM"
number SENTINEL_DOWN_AFTER "$DOWN_AFTER"
number SENTINEL_FAILOVER "$FAILOVER"
[ "$QUORUM" -ge 1 ] || fail "SENTINEL_QUORUM must be at least 1"
[ "$DOWN_AFTER" -ge 2000 ] || fail "SENTINEL_DOWN_AFTER must be at least 2000 ms, got $DOWN_AFTER: below it a Sentinel can judge the master it has just elected down before it has reconnected to it, and fail back to the old one (docs/failover-and-chaos.md, Fail-back)"
[ "$FAILOVER" -ge 1000 ] || fail "SENTINEL_FAILOVER must be at least 1000 ms"

NAME="${MASTER_NAME:-mymaster}"
HOST="${MASTER_HOST:-redis-master}"
PORT="${MASTER_PORT:-6379}"
SPORT="${SENTINEL_PORT:-26379}"
number MASTER_PORT "$PORT"
number SENTINEL_PORT "$SPORT"
DIR="${SENTINEL_DIR:-/data}"
# A partial TLS setting stops here, naming the variable missing.
tls_on || :
listen() {
  if tls_on; then tls_conf_lines "$SPORT"; else echo "port $SPORT"; fi
}

SENTINEL_PASS="$(password SENTINEL_PASSWORD)"
AUTH_PASS="$(password REDIS_SENTINEL_USER_PASSWORD)"
READER_PASS="$(password SENTINEL_READER_PASSWORD)"
# The same rules as SENTINEL_READER_RULES in src/ops/render/acl.ts (test/deploy.test.ts).
READER_RULES="&* -@all +ping +info +client|setname +subscribe +psubscribe +unsubscribe +punsubscribe +sentinel|get-master-addr-by-name +sentinel|master +sentinel|masters +sentinel|replicas +sentinel|slaves +sentinel|sentinels +sentinel|ckquorum"

# The password lines, last in the file as in renderSentinelConf.
secrets() {
  echo "sentinel auth-user $NAME sentinel"
  echo "sentinel auth-pass $NAME $AUTH_PASS"
  echo "requirepass $SENTINEL_PASS"
  echo "sentinel sentinel-pass $SENTINEL_PASS"
  echo "user reader on >$READER_PASS $READER_RULES"
}

CONF="$DIR/sentinel.conf"
mkdir -p "$DIR"
# The file holds passwords.
umask 077

if [ -s "$CONF" ] && grep -q "^sentinel monitor $NAME " "$CONF"; then
  echo "sentinel-entrypoint: keeping $CONF (what this Sentinel learned survives a restart)" >&2
  # Sentinel's own rewrite keeps the default user's password as a "user default" line.
  # Its listening lines stay where they are unless TLS was switched on or off since it was written.
  strip='requirepass|user (default|reader)|sentinel (auth-user|auth-pass|sentinel-user|sentinel-pass)'
  had_tls=0 relisten=0
  grep -q '^tls-port ' "$CONF" && had_tls=1
  if tls_on; then [ "$had_tls" = 1 ] || relisten=1; else [ "$had_tls" = 0 ] || relisten=1; fi
  [ "$relisten" = 0 ] || strip="$strip|port|tls-(port|cert-file|key-file|ca-cert-file|auth-clients|replication)"
  grep -Ev "^($strip) " "$CONF" > "$CONF.tmp" || true
  { [ "$relisten" = 0 ] || listen; secrets; } >> "$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
else
  {
    # The same lines, in the same order, as renderSentinelConf for compose (test/deploy.test.ts).
    echo "# written by sentinel-entrypoint.sh; Sentinel rewrites this file as it learns the topology"
    echo "bind 0.0.0.0"
    listen
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
    secrets
  } > "$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
fi

if [ "${SENTINEL_DRY_RUN:-0}" = "1" ]; then
  echo "$CONF"
  exit 0
fi
# Sentinel's own timers, set once it answers (SENTINEL DEBUG; not kept in its config file, so at every
# start): the values of src/ha/sentinel/timers.ts (test/deploy.test.ts), docs/failover-and-chaos.md.
TIMERS="info-period 1000 ping-period 400"
CLI="$(command -v valkey-cli || echo redis-cli)"
set_timers() {
  i=0
  while [ "$i" -lt 120 ]; do
    sleep 0.5
    if REDISCLI_AUTH="$SENTINEL_PASS" "$CLI" $(cli_tls) --no-auth-warning -p "$SPORT" \
      sentinel debug $TIMERS 2>/dev/null | grep -q '^OK'; then
      echo "sentinel-entrypoint: Sentinel's timers set ($TIMERS)" >&2
      return 0
    fi
    i=$((i + 1))
  done
  echo "sentinel-entrypoint: Sentinel's timers could not be set in 60 s ($TIMERS)" >&2
}
set_timers &
exec "$(command -v valkey-sentinel || echo redis-sentinel)" "$CONF"
