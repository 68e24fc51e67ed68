#!/usr/bin/env bash
# npm run soak: a steady mixed load (cart page views and writes, logins, registrations) for
# --minutes N (30 by default) with a master kill every --kill-every M minutes (3), against the
# running stack or a stack of its own on free ports when none runs. One line of figures a minute
# (req/s, p99, failed, acknowledged writes, logins, registrations, each app's RSS, the master's
# used_memory and connected_clients), then the read-back of every acknowledged write and session
# and the targets. Writes results/soak.json and exits non-zero when a target is missed.
# Arguments are passed on: `npm run soak -- --minutes 10 --kill-every 2`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/ha-stack.js soak --own-stack --json results/soak.json "$@"
