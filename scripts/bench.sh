#!/usr/bin/env bash
# npm run bench: throughput and latency of the stack beside a bare ceiling and an Express peer, on a
# stack of its own on free ports (or the running one with --url); `npm run bench -- failover --rounds N`
# measures the failover window. Writes results/bench.json or results/bench-failover.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/ha-stack.js bench "$@"
