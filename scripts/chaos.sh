#!/usr/bin/env bash
# npm run chaos: every scenario against the running stack, or against a stack of its own on free
# ports when none runs; writes results/chaos.json and exits non-zero when a goal is missed.
#
# Scenarios: kill-master (CHAOS_ROUNDS times in a row, 50 by default), pause-master,
# partition-master, restart-old-master, kill-app, term-app, kill-replica, kill-sentinel,
# double-fault, lose-two-nodes, sentinel-tilt (about a minute: TILT lasts 30 s), quorum-loss.
# Arguments are passed on: `npm run chaos -- double-fault lose-two-nodes --users 8`.
# `npm run chaos -- --alerts [FAULT...]`: the per-alert round instead (a stack of its own with
# --monitoring; each alert's time to fire and to resolve, docs/monitoring.md), results/chaos-alerts.json.
#
# Columns: requests (page/api), failed reads, failed writes, acked, lost, sess lost, stale,
# window s, p99 ms, max ms, mode seen (the degraded modes the apps' /readyz reported), goal.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=()
# The packet filter for partition-master; without root the scenario is skipped and says why.
if [ "$(id -u)" = 0 ]; then extra+=(iptables); fi
bash scripts/setup.sh "${extra[@]}"
for a in "$@"; do
  if [ "$a" = --alerts ]; then exec node bin/ha-stack.js chaos --json results/chaos-alerts.json "$@"; fi
done
exec node bin/ha-stack.js chaos --own-stack --rounds "${CHAOS_ROUNDS:-50}" --json results/chaos.json "$@"
