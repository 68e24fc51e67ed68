#!/bin/sh
# The `certs` service of deploy/compose.tls.yaml (docs/tls.md, Compose): makes the stack's
# certificates in the certificate volume when it holds none, or checks the operator's own there.
#   TLS_OUT         the certificate volume every TLS service mounts read-only (/tls): ca.crt, and
#                   <name>.crt and <name>.key per component, the file names of TLS_DIR in docs/tls.md
#   TLS_CA_DIR      the CA's own volume (/ca), mounted into this service alone: ca.key never leaves it
#   TLS_COMPONENTS  one "name:uid:dns,dns,..." per component, space separated: the key is made 0600
#                   and owned by the user (uid) of the service that reads it; the names go into the
#                   certificate (subject alternative names)
#   TLS_DAYS (397), TLS_CA_DAYS (3650)
# A volume with ca.crt is the operator's own (or made by an earlier run): nothing is made over it
# unless this CA's key is in TLS_CA_DIR and signed it; a missing file stops with exit code 2 naming
# it, and a key that others than its owner may read too.
set -eu
ENTRYPOINT_NAME=make-certs
fail() { echo "$ENTRYPOINT_NAME: $*" >&2; exit 2; }
OUT="${TLS_OUT:-/tls}"
CA_DIR="${TLS_CA_DIR:-/ca}"
[ -n "${TLS_COMPONENTS:-}" ] || fail "set TLS_COMPONENTS"
umask 077
command -v openssl >/dev/null || fail "openssl is missing from this image"
EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

own_ca=0
if [ ! -s "$OUT/ca.crt" ]; then
  if [ ! -s "$CA_DIR/ca.key" ] || [ ! -s "$CA_DIR/ca.crt" ]; then
    echo "$ENTRYPOINT_NAME: making a private CA in $CA_DIR" >&2
    # shellcheck disable=SC2086
    openssl req -x509 $EC -keyout "$CA_DIR/ca.key" -out "$CA_DIR/ca.crt" -days "${TLS_CA_DAYS:-3650}" \
      -subj '/CN=redis-ha-stack CA' -addext 'basicConstraints=critical,CA:TRUE' \
      -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
    chmod 600 "$CA_DIR/ca.key"
  fi
  cp "$CA_DIR/ca.crt" "$OUT/ca.crt.tmp" && chmod 644 "$OUT/ca.crt.tmp" && mv "$OUT/ca.crt.tmp" "$OUT/ca.crt"
fi
# This CA may sign what is missing only when it is the volume's own CA.
if [ -s "$CA_DIR/ca.key" ] && [ -s "$CA_DIR/ca.crt" ] && cmp -s "$CA_DIR/ca.crt" "$OUT/ca.crt"; then own_ca=1; fi

made="" kept=""
for c in $TLS_COMPONENTS; do
  name="${c%%:*}" rest="${c#*:}"
  uid="${rest%%:*}" dns="${rest#*:}"
  case "$name:$uid" in *[!a-z0-9:-]*|:*|*:) fail "bad TLS_COMPONENTS entry '$c'" ;; esac
  crt="$OUT/$name.crt" key="$OUT/$name.key"
  if [ -s "$crt" ] && [ -s "$key" ]; then
    [ "$(stat -c %a "$key")" = 600 ] || [ "$(stat -c %a "$key")" = 400 ] ||
      fail "$name.key is readable by others ($(stat -c %a "$key")): chmod 600 it and chown it to uid $uid"
    [ "$(stat -c %u "$key")" = "$uid" ] ||
      echo "$ENTRYPOINT_NAME: warning: $name.key is owned by uid $(stat -c %u "$key"), its service runs as $uid" >&2
    openssl verify -CAfile "$OUT/ca.crt" "$crt" >/dev/null 2>&1 || fail "$name.crt is not signed by ca.crt"
    kept="$kept $name"
    continue
  fi
  [ "$own_ca" = 1 ] || fail "$name.crt or $name.key is missing from the certificate volume (the operator's own: ca.crt and <name>.crt/.key for every component, docs/tls.md)"
  # An address as IP:, a name as DNS:.
  san="$(echo "$dns" | tr ',' '\n' | sed -E 's/^([0-9.]+)$/IP:\1/; /^IP:/!s/^/DNS:/' | paste -sd, -)"
  printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth,clientAuth' "subjectAltName=$san" >"$OUT/$name.ext"
  # shellcheck disable=SC2086
  openssl req -new $EC -keyout "$key.tmp" -out "$OUT/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$OUT/$name.csr" -CA "$CA_DIR/ca.crt" -CAkey "$CA_DIR/ca.key" -out "$crt.tmp" \
    -days "${TLS_DAYS:-397}" -set_serial "0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
    -extfile "$OUT/$name.ext" 2>/dev/null
  rm -f "$OUT/$name.ext" "$OUT/$name.csr"
  chmod 600 "$key.tmp" && chown "$uid:$uid" "$key.tmp" && mv "$key.tmp" "$key"
  chmod 644 "$crt.tmp" && mv "$crt.tmp" "$crt"
  made="$made $name"
done
chmod 755 "$OUT"
echo "$ENTRYPOINT_NAME: made:${made:- none}; kept:${kept:- none}; ca.crt $(openssl x509 -in "$OUT/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2 | cut -c1-11)" >&2
