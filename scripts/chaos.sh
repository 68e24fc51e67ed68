#!/usr/bin/env bash
# npm run chaos: every scenario (kill-master 20 times in a row) against the running stack, or against
# a stack of its own on free ports when none runs. Writes results/chaos.json.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=()
# The packet filter for partition-master; without root the scenario is skipped and says why.
if [ "$(id -u)" = 0 ]; then extra+=(iptables); fi
bash scripts/setup.sh "${extra[@]}"
exec node --import tsx src/cli.ts chaos --own-stack --rounds "${CHAOS_ROUNDS:-20}" --json results/chaos.json "$@"
