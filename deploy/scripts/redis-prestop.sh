#!/bin/sh
# The pre-stop hook of a Redis pod: when this node is the master, a planned failover as
# `ha-stack failover` does locally, so that stopping the master (a rolling update, a drained node, a
# deleted pod) costs clients a short wait instead of a down-after outage, and nothing acknowledged.
#   1. Unless this node reports role master and a Sentinel names it (REDIS_ANNOUNCE_HOST:REDIS_PORT)
#      master, exit 0 at once: a replica has nothing to hand over.
#   2. CLIENT PAUSE <PRESTOP_PAUSE_MS> WRITE: writers wait instead of failing while the replicas catch
#      up. The pause ends by itself after PRESTOP_PAUSE_MS, even if this hook is killed.
#   3. SENTINEL FAILOVER on the first Sentinel that accepts it.
#   4. Wait, at most PRESTOP_TIMEOUT seconds, until every Sentinel that answers, SENTINEL_QUORUM of
#      them at least, names one other master; then CLIENT UNPAUSE (the Sentinels' own messages to
#      this node wait behind the pause too) and REPLICAOF the new master, which Sentinel would do only
#      at its next look: no moment with two masters.
# Exit 1 with a message when the hand-over failed (Kubernetes stops the container all the same).
#   REDIS_SENTINELS (host:port,...), MASTER_NAME, SENTINEL_PASSWORD, REDIS_OPERATOR_PASSWORD (the
#   operator ACL user runs the commands on this node, over 127.0.0.1), REDIS_PORT (default 6379).
# The commands go through valkey-cli (the Valkey image), or redis-cli where there is none.
set -eu
ENTRYPOINT_NAME=redis-prestop
. "$(dirname "$0")/passwords.sh"
# A partial TLS setting stops here, naming the variable missing.
tls_on || :
CLI="$(command -v valkey-cli || echo redis-cli)"
say() { echo "$ENTRYPOINT_NAME: $*" >&2; }

NAME="${MASTER_NAME:-mymaster}"
PORT="${REDIS_PORT:-6379}"
SELF="${REDIS_ANNOUNCE_HOST:?set REDIS_ANNOUNCE_HOST}:$PORT"
PAUSE_MS="${PRESTOP_PAUSE_MS:-5000}"
TIMEOUT_S="${PRESTOP_TIMEOUT:-10}"
QUORUM="${SENTINEL_QUORUM:-2}"
SENTINEL_PASS="$(password SENTINEL_PASSWORD)"
OPERATOR_PASS="$(password REDIS_OPERATOR_PASSWORD)"

node() {
  REDISCLI_AUTH="$OPERATOR_PASS" timeout 2 "$CLI" $(cli_tls) --no-auth-warning --raw --user operator \
    -h 127.0.0.1 -p "$PORT" "$@" 2>/dev/null || true
}
# host:port of the master each Sentinel that answers names, one a line.
masters() {
  for s in $(echo "$REDIS_SENTINELS" | tr ',' ' '); do
    REDISCLI_AUTH="$SENTINEL_PASS" timeout 2 "$CLI" $(cli_tls) --no-auth-warning --raw -h "${s%:*}" -p "${s##*:}" \
      sentinel get-master-addr-by-name "$NAME" 2>/dev/null |
      awk 'NR==1{h=$0} NR==2{p=$0} END{if (h ~ /^[A-Za-z0-9.:_-]+$/ && p ~ /^[0-9]+$/) print h ":" p}' || true
  done
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

started="$(now_ms)"
role="$(node role | head -n 1)"
if [ "$role" != master ] || ! masters | grep -qxF "$SELF"; then
  say "not the master the Sentinels name (role ${role:-unknown}): nothing to hand over"
  exit 0
fi

[ "$(node client pause "$PAUSE_MS" write)" = OK ] || say "CLIENT PAUSE failed: failing over without it"
asked=""
for s in $(echo "$REDIS_SENTINELS" | tr ',' ' '); do
  reply="$(REDISCLI_AUTH="$SENTINEL_PASS" timeout 2 "$CLI" $(cli_tls) --no-auth-warning --raw -h "${s%:*}" \
    -p "${s##*:}" sentinel failover "$NAME" 2>&1 || true)"
  if [ "$reply" = OK ]; then asked="$s"; break; fi
  say "$s refused the failover: $reply"
done
if [ -z "$asked" ]; then
  node client unpause >/dev/null
  say "no Sentinel accepted SENTINEL FAILOVER: stopping as master"
  exit 1
fi

deadline=$(( started + TIMEOUT_S * 1000 ))
while :; do
  named="$(masters)"
  next="$(printf '%s\n' "$named" | sort -u)"
  count="$(printf '%s\n' "$named" | grep -c . || true)"
  # One answer from every Sentinel that answers, enough of them, and not this node.
  if [ -n "$next" ] && [ "$next" = "$(printf '%s\n' "$next" | head -n 1)" ] && [ "$next" != "$SELF" ] &&
    [ "$count" -ge "$QUORUM" ]; then
    break
  fi
  if [ "$(now_ms)" -ge "$deadline" ]; then
    node client unpause >/dev/null
    say "the Sentinels named no other master within ${TIMEOUT_S} s (asked $asked)"
    exit 1
  fi
  sleep 0.1
done
node client unpause >/dev/null
node replicaof "${next%:*}" "${next##*:}" >/dev/null
say "handed over to $next in $(( $(now_ms) - started )) ms"
