#!/bin/sh
# Restores a backup of redis-backup.sh into the running stack (docs/backups.md): every key of the
# stack is replaced by the backup's. Close the site first (stop the apps): nothing may write meanwhile.
#   redis-restore.sh BACKUP_ID --yes     (BACKUP_ID: backup-<UTC time>, a manifest in BACKUP_DIR,
#                                         or `latest`: the newest backup there)
#  1. The RDB's SHA-256 against its manifest, then the RDB checker (valkey-check-rdb or redis-check-rdb).
#  2. A scratch server inside this container loads it (no port: a unix socket in /tmp).
#  3. The Sentinels name the master; as the operator (REDIS_OPERATOR_PASSWORD) it is emptied
#     (FLUSHALL) and the scratch server moves every key into it (MIGRATE ... REPLACE, lifetimes kept);
#     the replicas copy them as any write. The password reaches MIGRATE on the scratch server's
#     socket, never a command line.
#  4. Checked: the scratch server is left empty, and the master holds as many keys as it loaded.
set -eu
ENTRYPOINT_NAME=redis-restore
. "$(dirname "$0")/passwords.sh"
# A partial TLS setting stops here, naming the variable missing.
tls_on || :
. "$(dirname "$0")/sentinel-ask.sh"
CHECK="$(command -v valkey-check-rdb || echo redis-check-rdb)"
SERVER="$(command -v valkey-server || echo redis-server)"
DIR="${BACKUP_DIR:-/backups}"
log() { echo "$ENTRYPOINT_NAME: $*" >&2; }

id="${1:-}" confirm="${2:-}"
if [ "$id" = latest ]; then
  id="$(ls "$DIR" | sed -n 's/^\(backup-[0-9]\{8\}T[0-9]\{6\}Z\)\.json$/\1/p' | sort -r | head -n 1)"
  [ -n "$id" ] || fail "no backup in $DIR"
fi
id="${id%.json}" id="${id%.rdb}"
case "$id" in
  backup-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z) ;;
  *) fail "usage: redis-restore.sh backup-<UTC time> --yes (the backups: ls $DIR)" ;;
esac
[ "$confirm" = "--yes" ] || fail "a restore replaces every key of the stack: add --yes"
[ -r "$DIR/$id.json" ] && [ -r "$DIR/$id.rdb" ] || fail "no backup $id in $DIR (its .json and .rdb)"
OP_PASS="$(password REDIS_OPERATOR_PASSWORD)"
export OP_PASS

want="$(sed -n 's/.*"sha256": "\([0-9a-f]\{64\}\)".*/\1/p' "$DIR/$id.json")"
have="$(sha256sum "$DIR/$id.rdb" | cut -d ' ' -f 1)"
[ -n "$want" ] && [ "$want" = "$have" ] || fail "$id.rdb does not match its manifest's SHA-256: refused"
check="$("$CHECK" "$DIR/$id.rdb" 2>&1)" || fail "$CHECK refuses $id.rdb: $(echo "$check" | tail -n 2 | tr '\n' ' ')"

sock=/tmp/scratch.sock
scratch() { "$CLI" -s "$sock" "$@"; }
"$SERVER" --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$DIR" --dbfilename "$id.rdb" \
  --appendonly no --save '' --logfile /tmp/scratch.log --daemonize no &
scratch_pid=$!
trap 'scratch shutdown nosave >/dev/null 2>&1 || kill "$scratch_pid" 2>/dev/null || true' EXIT
tries=0
until [ "$(scratch ping 2>/dev/null)" = PONG ]; do
  tries=$((tries + 1))
  [ "$tries" -le 600 ] || fail "the scratch server did not load $id.rdb: $(tail -n 3 /tmp/scratch.log | tr '\n' ' ')"
  sleep 0.5
done
total="$(scratch dbsize)"
log "$id: $total keys loaded in a scratch server"

master="$(newest_master)"
[ -n "$master" ] || fail "no Sentinel names a master: nothing restored"
set -- $master
mhost="$2" mport="$3"
on_master() { REDISCLI_AUTH="$OP_PASS" "$CLI" $(cli_tls) --no-auth-warning --user operator -h "$mhost" -p "$mport" "$@"; }
[ "$(on_master flushall)" = OK ] || fail "FLUSHALL on $mhost:$mport failed: nothing restored"
log "emptied the master $mhost:$mport; moving the keys"

export MHOST="$mhost" MPORT="$mport"
pass=0
while [ "$(scratch dbsize)" -gt 0 ]; do
  pass=$((pass + 1))
  [ "$pass" -le 3 ] || fail "keys left in the scratch server after 3 passes: $(scratch dbsize)"
  # Each key quoted as valkey-cli reads a command line; 500 keys per MIGRATE.
  errors="$(scratch --scan | sed 's/[\\"]/\\&/g; s/^/"/; s/$/"/' | awk '
    BEGIN { pre = "MIGRATE " ENVIRON["MHOST"] " " ENVIRON["MPORT"] " \"\" 0 10000 AUTH2 operator " ENVIRON["OP_PASS"] " REPLACE KEYS" }
    { keys = keys " " $0; n++ } n == 500 { print pre keys; keys = ""; n = 0 } END { if (n) print pre keys }' |
    scratch 2>&1 | grep -v -e '^OK$' -e '^NOKEY$' || true)"
  [ -z "$errors" ] || fail "MIGRATE refused: $(echo "$errors" | head -n 3 | tr '\n' ' ')"
done
on_master wait 1 10000 >/dev/null || true
restored="$(on_master dbsize)"
log "restored $id into $mhost:$mport: $restored keys (the backup loaded $total)"
[ "$restored" -ge "$total" ] || fail "the master holds $restored keys, fewer than $total: check before opening the site"
