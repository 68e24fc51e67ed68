#!/usr/bin/env bash
# The test command: sets itself up, then lint, type check, unit and integration tests on this
# machine's Node.js, then the unit and process-management tests on the other supported releases.
set -euo pipefail
cd "$(dirname "$0")/.."
# docker-compose validates deploy/compose.yaml (no Docker engine is needed for that); chromium runs
# the browser tests; iptables: the packet filter of the partition-master chaos scenario (root only).
bash scripts/setup.sh docker-compose chromium $([ "$(id -u)" = 0 ] && echo iptables)
npx biome check .
npx tsc -p tsconfig.json --noEmit
node --import tsx --test --test-reporter=spec test/unit/*.test.ts
node --import tsx --test --test-reporter=spec --test-concurrency=1 test/*.test.ts
bash scripts/node-versions.sh
