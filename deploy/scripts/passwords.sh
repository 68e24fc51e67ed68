# Sourced by the entrypoints: reads a password from the environment and refuses a missing or weak one.
#   password NAME   prints the value of $NAME, or of the file named by $NAME_FILE (a compose or swarm
#                   secret); exits 2 with a message when it is missing, shorter than 32 characters or
#                   holds anything but [A-Za-z0-9._~+/=-] (a config line or an argument holds it).
fail() { echo "${ENTRYPOINT_NAME:-entrypoint}: $*" >&2; exit 2; }

password() {
  case "$1" in ''|*[!A-Z0-9_]*) fail "not a variable name: '$1'" ;; esac
  eval "value=\"\${$1:-}\" file=\"\${$1_FILE:-}\""
  if [ -n "$file" ]; then
    [ -r "$file" ] || fail "$1_FILE $file is not readable"
    value="$(cat "$file")"
  fi
  [ -n "$value" ] || fail "set $1 (or $1_FILE), see README"
  [ "${#value}" -ge 32 ] || fail "$1 is too short: at least 32 characters (openssl rand -hex 24)"
  # Nothing that could end the line or start another.
  case "$value" in *[!A-Za-z0-9._~+/=-]*) fail "$1 may hold only A-Z a-z 0-9 . _ ~ + / = -" ;; esac
  printf '%s' "$value"
}

# TLS (docs/tls.md): REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE, all three or none.
# With them the node or Sentinel listens on TLS only and every valkey-cli of the scripts shows that
# certificate and checks the server's against the CA.
tls_on() {
  [ -n "${REDIS_TLS_CA_FILE:-}${REDIS_TLS_CERT_FILE:-}${REDIS_TLS_KEY_FILE:-}" ] || return 1
  for v in REDIS_TLS_CA_FILE REDIS_TLS_CERT_FILE REDIS_TLS_KEY_FILE; do
    eval "f=\"\${$v:-}\""
    [ -n "$f" ] || fail "set $v too: REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together"
    [ -r "$f" ] || fail "$v $f is not readable"
  done
}
# valkey-cli's TLS arguments (nothing without TLS); paths without spaces.
cli_tls() {
  if tls_on; then
    printf -- '--tls --cacert %s --cert %s --key %s' "$REDIS_TLS_CA_FILE" "$REDIS_TLS_CERT_FILE" "$REDIS_TLS_KEY_FILE"
  fi
}
# The server's TLS settings, as render/redis.ts tlsLines writes them, one per line: plain port 0.
tls_conf_lines() { # port
  printf '%s\n' 'port 0' "tls-port $1" "tls-cert-file $REDIS_TLS_CERT_FILE" "tls-key-file $REDIS_TLS_KEY_FILE" \
    "tls-ca-cert-file $REDIS_TLS_CA_FILE" 'tls-auth-clients yes' 'tls-replication yes'
}
