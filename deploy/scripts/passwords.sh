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
