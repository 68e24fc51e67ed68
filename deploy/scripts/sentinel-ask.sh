# Sourced by redis-backup.sh and redis-restore.sh: asks the Sentinels, as their read-only user
# (SENTINEL_READER_USER, `reader`; its password SENTINEL_READER_PASSWORD, checked by passwords.sh),
# about the master MASTER_NAME (mymaster). REDIS_SENTINELS is host:port,... of every Sentinel.
CLI="$(command -v valkey-cli || echo redis-cli)"
NAME="${MASTER_NAME:-mymaster}"
READER="${SENTINEL_READER_USER:-reader}"
[ -n "${REDIS_SENTINELS:-}" ] || fail "set REDIS_SENTINELS (host:port,...)"
READER_PASS="$(password SENTINEL_READER_PASSWORD)"

# Asks one Sentinel; the reply as "key value" lines, one record per replica (`name` starts one).
ask() {
  REDISCLI_AUTH="$READER_PASS" timeout 3 "$CLI" $(cli_tls) --no-auth-warning --raw --user "$READER" \
    -h "${1%:*}" -p "${1##*:}" sentinel "$2" "$NAME" 2>/dev/null | awk 'NR%2==1{k=$0} NR%2==0{print k, $0}'
}

# "epoch host port sentinel" of the newest configuration's master; nothing when no Sentinel answers.
# All are asked at once: one that does not answer costs its timeout once, not once per Sentinel.
newest_master() {
  for s in $(echo "$REDIS_SENTINELS" | tr ',' ' '); do
    ask "$s" master | awk -v s="$s" '{v[$1]=$2} END{if (v["ip"] ~ /^[A-Za-z0-9.:_-]+$/ &&
      v["port"] ~ /^[0-9]+$/ && v["config-epoch"] ~ /^[0-9]+$/) print v["config-epoch"], v["ip"], v["port"], s}' &
  done | sort -n -r | head -n 1
}

