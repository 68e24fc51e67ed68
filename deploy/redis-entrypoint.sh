#!/bin/sh
# Starts redis-server with the passwords of its ACL users taken from the environment, each checked.
# The command (compose's `command:`) names a password by its variable instead of holding it:
#   $NAME    an argument that is the password itself (--masterauth $REDIS_REPLICATION_PASSWORD)
#   >$NAME   a password of an ACL user (--user app on >$REDIS_APP_PASSWORD ~... +get ...)
# NAME must end in _PASSWORD; its value comes from $NAME or the file $NAME_FILE and must be at least
# 32 characters of [A-Za-z0-9._~+/=-], or the container stops at once with exit code 2 and a message
# naming the variable. redis-server hides its arguments from the process list once started.
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
exec "$@"
