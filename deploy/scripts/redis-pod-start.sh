#!/bin/sh
# The Redis container of a pod of the Kubernetes StatefulSet (deploy/kubernetes/). Every pod shares
# one command, so the role a pod takes when no Sentinel names a master yet (the deployment's very
# first start) comes from its ordinal: pod 0 is that master, every other pod its replica. After that
# the Sentinels decide: redis-entrypoint.sh asks them first, and its --replicaof, which comes later on
# the command line, wins over this one.
#   POD_NAME             <statefulset>-<ordinal>, from the downward API
#   INITIAL_MASTER_HOST  the stable host name of pod 0 (through the headless Service)
#   INITIAL_MASTER_PORT  its port (default 6379)
# Everything else is redis-entrypoint.sh's (passwords, REDIS_SENTINELS, REDIS_ANNOUNCE_HOST, ...).
set -eu
ordinal="${POD_NAME:-}"
ordinal="${ordinal##*-}"
case "${POD_NAME:-}:$ordinal" in
  *-*:|*:*[!0-9]*|:*) echo "redis-pod-start: POD_NAME must end in -<ordinal>, got '${POD_NAME:-}'" >&2; exit 2 ;;
esac
if [ "$ordinal" != 0 ]; then
  set -- "$@" --replicaof "${INITIAL_MASTER_HOST:?set INITIAL_MASTER_HOST}" "${INITIAL_MASTER_PORT:-6379}"
fi
exec sh "$(dirname "$0")/redis-entrypoint.sh" "$@"
