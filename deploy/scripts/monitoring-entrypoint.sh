#!/bin/sh
# Starts Prometheus or Alertmanager in compose's `monitoring` profile (docs/monitoring.md). Writes,
# 0600 in the container's tmpfs /tmp/monitoring, what their configs read from files:
#   web.yml              basic auth of their web port: user `monitoring`, MONITORING_PASSWORD_HASH
#                        (a bcrypt hash, `$2y$...`, of MONITORING_PASSWORD)
#   monitoring.password  MONITORING_PASSWORD: Prometheus's login to Alertmanager
#   operator.password    HAPROXY_OPERATOR_PASSWORD, when set: Prometheus's login to the operator front
# Each password from $NAME or the file $NAME_FILE, checked by passwords.sh; then runs the command.
set -eu
ENTRYPOINT_NAME=monitoring-entrypoint
. "$(dirname "$0")/passwords.sh"
umask 077
dir="${MONITORING_SECRETS_DIR:-/tmp/monitoring}"
mkdir -p "$dir"
hash="${MONITORING_PASSWORD_HASH:-}"
if [ -n "${MONITORING_PASSWORD_HASH_FILE:-}" ]; then hash="$(cat "$MONITORING_PASSWORD_HASH_FILE")"; fi
case "$hash" in
  '$2'[aby]'$'[0-9][0-9]'$'*) ;;
  *) fail "set MONITORING_PASSWORD_HASH to a bcrypt hash of MONITORING_PASSWORD (docs/monitoring.md)" ;;
esac
case "$hash" in *[!A-Za-z0-9./\$]*) fail "MONITORING_PASSWORD_HASH is not a bcrypt hash" ;; esac
printf 'basic_auth_users:\n  monitoring: "%s"\n' "$hash" >"$dir/web.yml"
password MONITORING_PASSWORD >"$dir/monitoring.password"
if [ -n "${HAPROXY_OPERATOR_PASSWORD:-}${HAPROXY_OPERATOR_PASSWORD_FILE:-}" ]; then
  password HAPROXY_OPERATOR_PASSWORD >"$dir/operator.password"
fi
exec "$@"
