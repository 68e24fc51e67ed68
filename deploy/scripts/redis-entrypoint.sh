#!/bin/sh
# Starts redis-server with the passwords of its ACL users taken from the environment, each checked.
# The command (compose's `command:`) names a password by its variable instead of holding it:
#   $NAME    an argument that is the password itself (--masterauth $REDIS_REPLICATION_PASSWORD)
#   >$NAME   a password of an ACL user (--user app on >$REDIS_APP_PASSWORD ~... +get ...)
# NAME must end in _PASSWORD; its value comes from $NAME or the file $NAME_FILE and must be at least
# 32 characters of [A-Za-z0-9._~+/=-], or the container stops at once with exit code 2 and a message
# naming the variable. redis-server hides its arguments from the process list once started.
#
# A node that starts again must not come back as a second master: with REDIS_SENTINELS set
# (host:port,...), MASTER_NAME and SENTINEL_PASSWORD, it first asks every Sentinel for the master of
# its newest configuration. Named another node, it starts as that one's replica (--replicaof, which
# overrides its config). Named itself (REDIS_ANNOUNCE_HOST), it waits, as a failover may be under
# way, and starts as master only if they still name it after 2 x (SENTINEL_DOWN_AFTER +
# SENTINEL_FAILOVER). No Sentinel answering (the deployment's first start) leaves its config as it is.
# The Sentinels are asked with valkey-cli (the Valkey image), or redis-cli where there is none.
# With REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE the node runs on TLS only and
# asks the Sentinels over TLS (passwords.sh, docs/tls.md).
set -eu
ENTRYPOINT_NAME=redis-entrypoint
. "$(dirname "$0")/passwords.sh"
CLI="$(command -v valkey-cli || echo redis-cli)"

[ "$#" -gt 0 ] || fail "no command given"
for arg do
  shift
  case "$arg" in
    '>$'*_PASSWORD) arg=">$(password "${arg#'>$'}")" ;;
    '$'*_PASSWORD) arg="$(password "${arg#'$'}")" ;;
  esac
  set -- "$@" "$arg"
done

# TLS (passwords.sh tls_on): the node listens on TLS only, on REDIS_PORT (6379), and requires a
# client certificate of the CA; its own links to a master are TLS too. Given after the config file,
# these arguments win over its `port` line.
if tls_on; then
  set -- "$@" $(tls_conf_lines "${REDIS_PORT:-6379}" | sed 's/^/--/')
fi

# "host port epoch" of the master in the newest configuration (highest config epoch) among the
# Sentinels that answer; nothing when none does. All are asked at once: a Sentinel not started yet
# has a fixed address that nothing answers on (compose.yaml's network), a 2 s wait each.
newest_master() {
  for s in $(echo "$REDIS_SENTINELS" | tr ',' ' '); do
    REDISCLI_AUTH="$SENTINEL_PASS" timeout 2 "$CLI" $(cli_tls) --no-auth-warning --raw -h "${s%:*}" \
      -p "${s##*:}" sentinel master "$NAME" 2>/dev/null | awk 'NR%2==1{k=$0} NR%2==0{v[k]=$0}
      END{if (v["ip"] ~ /^[A-Za-z0-9.:_-]+$/ && v["port"] ~ /^[0-9]+$/ && v["config-epoch"] ~ /^[0-9]+$/)
        print v["config-epoch"], v["ip"], v["port"]}' &
  done | sort -n -r | awk 'NR==1{printf "%s %s %s", $2, $3, $1}'
}

if [ -n "${REDIS_SENTINELS:-}" ]; then
  SENTINEL_PASS="$(password SENTINEL_PASSWORD)"
  NAME="${MASTER_NAME:-mymaster}"
  SELF="${REDIS_ANNOUNCE_HOST:-}"
  # While the Sentinels name this node a failover may be under way: wait as long as one can take.
  WAIT_S=$(( (2 * (${SENTINEL_DOWN_AFTER:-2000} + ${SENTINEL_FAILOVER:-3000}) + 999) / 1000 ))
  polls=$(( WAIT_S * 2 ))
  while :; do
    view="$(newest_master)"
    if [ -z "$view" ]; then
      echo "$ENTRYPOINT_NAME: no Sentinel named a master: starting as configured" >&2
      break
    fi
    host="${view%% *}" rest="${view#* }"
    port="${rest%% *}"
    if [ "$host" != "$SELF" ]; then
      echo "$ENTRYPOINT_NAME: the Sentinels name $host:$port master: starting as its replica" >&2
      set -- "$@" --replicaof "$host" "$port"
      break
    fi
    if [ "$polls" -le 0 ]; then
      echo "$ENTRYPOINT_NAME: the Sentinels still name this node master after ${WAIT_S} s: starting as master" >&2
      set -- "$@" --replicaof no one
      break
    fi
    # Half a second between two looks: WAIT_S seconds of sleep at least before it is master.
    sleep 0.5
    polls=$(( polls - 1 ))
  done
fi
exec "$@"
