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
# (host:port,...), MASTER_NAME and SENTINEL_PASSWORD, it first asks the Sentinels which node is the
# master. Named another one, it starts as that one's replica (--replicaof, which overrides its
# config); named itself (REDIS_ANNOUNCE_HOST), as master. No Sentinel answering (the first start
# of the deployment, before them) leaves its config as it is.
set -eu
ENTRYPOINT_NAME=redis-entrypoint
. "$(dirname "$0")/passwords.sh"

[ "$#" -gt 0 ] || fail "no command given"
for arg do
  shift
  case "$arg" in
    '>$'*_PASSWORD) arg=">$(password "${arg#'>$'}")" ;;
    '$'*_PASSWORD) arg="$(password "${arg#'$'}")" ;;
  esac
  set -- "$@" "$arg"
done

if [ -n "${REDIS_SENTINELS:-}" ]; then
  SENTINEL_PASS="$(password SENTINEL_PASSWORD)"
  NAME="${MASTER_NAME:-mymaster}"
  SELF="${REDIS_ANNOUNCE_HOST:-}"
  master=""
  for s in $(echo "$REDIS_SENTINELS" | tr ',' ' '); do
    answer="$(REDISCLI_AUTH="$SENTINEL_PASS" timeout 2 redis-cli --no-auth-warning --raw -h "${s%:*}" -p "${s##*:}" \
      sentinel get-master-addr-by-name "$NAME" 2>/dev/null)" || continue
    host="$(echo "$answer" | sed -n 1p)"
    port="$(echo "$answer" | sed -n 2p)"
    case "$port" in ''|*[!0-9]*) continue ;; esac
    case "$host" in ''|*[!A-Za-z0-9.:_-]*) continue ;; esac
    master="$host $port"
    break
  done
  if [ -z "$master" ]; then
    echo "$ENTRYPOINT_NAME: no Sentinel named a master: starting as configured" >&2
  elif [ "${master% *}" = "$SELF" ]; then
    echo "$ENTRYPOINT_NAME: the Sentinels name this node master: starting as master" >&2
    set -- "$@" --replicaof no one
  else
    echo "$ENTRYPOINT_NAME: the Sentinels name ${master% *}:${master#* } master: starting as its replica" >&2
    set -- "$@" --replicaof "${master% *}" "${master#* }"
  fi
fi
exec "$@"
