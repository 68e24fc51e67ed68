#!/bin/sh
# Backups of the stack from a replica, never the master (compose's `backup` service, the Kubernetes
# backup component's CronJob); the same rules as `ha-stack backup` (docs/backups.md):
#  1. The Sentinels name the master (the newest configuration among those that answer) and its
#     replicas; the one taken is a replica of that master, link up, not down, furthest ahead.
#  2. `valkey-cli --rdb` (redis-cli where there is none) streams its data set into
#     BACKUP_DIR/.<id>.rdb.partial, logged in as BACKUP_USER (`backup`: SYNC, PSYNC, REPLCONF,
#     PING, and SET of one key, nothing else). Files are created 0600 (umask 077).
#  3. Refused when the Sentinels name another master afterwards (a failover during the copy) or the
#     RDB checker (valkey-check-rdb, or redis-check-rdb) refuses the file.
#  4. Renamed into place as <id>.rdb, then <id>.json, its manifest, last. Then its start time (unix
#     seconds) is SET in ha-stack:backup:last-good on the master the Sentinels name, as `ha-stack
#     backup` does: the apps export it for the BackupTooOld alert. Only a backup written gets there.
#  5. The retention: the newest backup of each of the last BACKUP_KEEP_HOURLY (24) hours, of each of
#     the last BACKUP_KEEP_DAILY (7) days (UTC), and always the newest.
# Then every BACKUP_INTERVAL_MINUTES (15), or once with BACKUP_ONCE=1 (exit 1 when refused).
# Passwords: SENTINEL_READER_PASSWORD (the Sentinels' read-only user) and REDIS_BACKUP_PASSWORD,
# each from $NAME or the file $NAME_FILE, checked by passwords.sh; never on a command line.
#   redis-backup.sh --plan-prune HOURLY DAILY   reads backup ids (newest first) on stdin and prints
#                                               those the retention deletes (the tests use it).
set -eu
ENTRYPOINT_NAME=redis-backup

# ids newest first on stdin; prints the ids to delete.
plan_prune() {
  awk -v hourly="$1" -v daily="$2" '
    { hour = substr($0, 8, 11); day = substr($0, 8, 8)
      keep = (NR == 1)
      if (!(hour in h) && nh < hourly) { h[hour] = 1; nh++; keep = 1 } else if (!(hour in h)) h[hour] = 0
      if (!(day in d) && nd < daily) { d[day] = 1; nd++; keep = 1 } else if (!(day in d)) d[day] = 0
      if (!keep) print }'
}
if [ "${1:-}" = "--plan-prune" ]; then plan_prune "$2" "$3"; exit 0; fi

. "$(dirname "$0")/passwords.sh"
# A partial TLS setting stops here, naming the variable missing.
tls_on || :
. "$(dirname "$0")/sentinel-ask.sh"
CHECK="$(command -v valkey-check-rdb || echo redis-check-rdb)"
DIR="${BACKUP_DIR:-/backups}"
USER_NAME="${BACKUP_USER:-backup}"
LAST_GOOD_KEY=ha-stack:backup:last-good
INTERVAL="${BACKUP_INTERVAL_MINUTES:-15}" HOURLY="${BACKUP_KEEP_HOURLY:-24}" DAILY="${BACKUP_KEEP_DAILY:-7}"
for n in "$INTERVAL" "$HOURLY" "$DAILY"; do
  case "$n" in ''|*[!0-9]*) fail "BACKUP_INTERVAL_MINUTES, BACKUP_KEEP_HOURLY and BACKUP_KEEP_DAILY are whole numbers" ;; esac
done
[ "$INTERVAL" -ge 1 ] || fail "BACKUP_INTERVAL_MINUTES must be at least 1"
BACKUP_PASS="$(password REDIS_BACKUP_PASSWORD)"
umask 077
log() { echo "$ENTRYPOINT_NAME: $*" >&2; }

# "offset host port" of the best replica of master $1:$2 as Sentinel $3 sees it.
best_replica() {
  ask "$3" replicas | awk -v mh="$1" -v mp="$2" '
    function done_() { if (ip != "" && flags == "slave" && link == "ok" && host == mh && port == mp &&
      !(ip == mh && p == mp)) print off, ip, p }
    $1 == "name" { done_(); ip = ""; p = ""; flags = ""; link = ""; host = ""; port = ""; off = 0 }
    $1 == "ip" { ip = $2 } $1 == "port" { p = $2 } $1 == "flags" { flags = $2 }
    $1 == "master-link-status" { link = $2 } $1 == "master-host" { host = $2 }
    $1 == "master-port" { port = $2 } $1 == "slave-repl-offset" { off = $2 }
    END { done_() }' | sort -n -r | head -n 1
}

backup_once() {
  master="$(newest_master)"
  [ -n "$master" ] || { log "no Sentinel names a master: no backup taken"; return 1; }
  set -- $master
  mhost="$2" mport="$3"
  replica="$(best_replica "$mhost" "$mport" "$4")"
  [ -n "$replica" ] || { log "no replica of $mhost:$mport is in sync: a backup is never taken from the master"; return 1; }
  set -- $replica
  rhost="$2" rport="$3"
  started="$(date +%s)"
  id="backup-$(date -u -d "@$started" +%Y%m%dT%H%M%SZ)" at="$(date -u -d "@$started" +%Y-%m-%dT%H:%M:%SZ)"
  partial="$DIR/.$id.rdb.partial"
  log "copying the data set of $rhost:$rport (a replica of $mhost:$mport) with $CLI --rdb"
  if ! REDISCLI_AUTH="$BACKUP_PASS" "$CLI" $(cli_tls) --no-auth-warning --user "$USER_NAME" -h "$rhost" -p "$rport" \
    --rdb "$partial" >/dev/null 2>"$DIR/.$id.log"; then
    log "$CLI --rdb from $rhost:$rport failed: $(tail -n 2 "$DIR/.$id.log" | tr '\n' ' ')"
    rm -f "$partial" "$DIR/.$id.log"; return 1
  fi
  rm -f "$DIR/.$id.log"
  after="$(newest_master)"
  set -- $after
  if [ "${2:-}:${3:-}" != "$mhost:$mport" ]; then
    log "the Sentinels now name ${2:-no master}:${3:-} master, not $mhost:$mport: refused, no backup written"
    rm -f "$partial"; return 1
  fi
  if ! check="$("$CHECK" "$partial" 2>&1)"; then
    log "$CHECK refuses the copy: $(echo "$check" | tail -n 3 | tr '\n' ' ')"
    rm -f "$partial"; return 1
  fi
  aux() { echo "$check" | sed -n "s/.*AUX FIELD $1 = '\\([^']*\\)'.*/\\1/p" | head -n 1; }
  keys="$(echo "$check" | sed -n 's/.*\[info\] \([0-9]*\) keys read.*/\1/p' | head -n 1)"
  bytes="$(wc -c <"$partial" | tr -d ' ')"
  sha="$(sha256sum "$partial" | cut -d ' ' -f 1)"
  offset="$(aux repl-offset)"
  printf '{\n  "id": "%s",\n  "time": "%s",\n  "seconds": %s,\n  "source": {"node": "%s", "master": "%s", "server": "%s"},\n  "replid": "%s",\n  "offset": %s,\n  "keys": %s,\n  "rdb": {"file": "%s.rdb", "bytes": %s, "sha256": "%s"}\n}\n' \
    "$id" "$at" "$(( $(date +%s) - started ))" "$rhost:$rport" "$mhost:$mport" \
    "$(basename "$CLI" -cli)" "$(aux repl-id)" "${offset:-0}" "${keys:-0}" "$id" "$bytes" "$sha" >"$DIR/.$id.json.partial"
  # Called as an `if` condition, where `set -e` does not act: each step says when it fails.
  [ -s "$DIR/.$id.json.partial" ] && [ "${#sha}" = 64 ] || { log "the manifest could not be written"; rm -f "$partial" "$DIR/.$id.json.partial"; return 1; }
  mv "$partial" "$DIR/$id.rdb" && mv "$DIR/.$id.json.partial" "$DIR/$id.json" && sync || {
    log "could not rename $id into place"; rm -f "$partial" "$DIR/.$id.json.partial"; return 1; }
  log "backup $id: ${keys:-?} keys, $bytes bytes from $rhost:$rport"
  record_last_good "$started"
}

# SET of the last good backup's time on the master the Sentinels name now. The backup is written
# whatever happens here: a failure is logged, and BackupTooOld tells the operator in time.
record_last_good() {
  good="$1" now_master="$(newest_master)"
  set -- $now_master
  [ -n "${2:-}" ] || { log "warning: no Sentinel names a master: the time of $id is not recorded"; return 0; }
  reply="$(REDISCLI_AUTH="$BACKUP_PASS" timeout 5 "$CLI" $(cli_tls) --no-auth-warning --raw --user "$USER_NAME" \
    -h "$2" -p "$3" set "$LAST_GOOD_KEY" "$good" 2>&1)" || true
  if [ "$reply" = OK ]; then log "recorded $good in $LAST_GOOD_KEY on $2:$3"
  else log "warning: the time of $id could not be recorded on $2:$3: $(echo "$reply" | head -n 1)"; fi
}

prune() {
  ls "$DIR" | sed -n 's/^\(backup-[0-9]\{8\}T[0-9]\{6\}Z\)\.json$/\1/p' | sort -r | plan_prune "$HOURLY" "$DAILY" |
    while read -r old; do
      # The manifest first: without it the RDB is no longer a backup.
      rm -f "$DIR/$old.json" "$DIR/$old.rdb"
      log "retention removed $old"
    done
}

[ -d "$DIR" ] && [ -w "$DIR" ] || fail "BACKUP_DIR $DIR is not a writable folder"
log "backups every $INTERVAL min into $DIR (keeping $HOURLY hourly, $DAILY daily)"
while :; do
  if backup_once; then prune; status=0; else status=1; fi
  [ "${BACKUP_ONCE:-0}" = 1 ] && exit "$status"
  sleep "$(( INTERVAL * 60 ))"
done
