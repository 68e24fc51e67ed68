#!/usr/bin/env bash
# npm test: the quick check to run before every commit, a few minutes on two cores.
#   1. set-up: what the stack needs (redis-server, redis-sentinel, haproxy; scripts/setup.sh)
#   2. lint (biome) and type check (tsc)
#   3. every unit test (test/unit/*.test.ts)
#   4. the web app against one real stack: Redis master + 2 replicas + 3 Sentinels and two app
#      instances (test/app.test.ts)
# Everything else (the other integration tests with their own stacks, failovers, chaos, browser,
# deployment renders, the other Node.js releases, the Docker engine) is in npm run test:all
# (scripts/test-all.sh), which CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx biome check .
npx tsc -p tsconfig.json --noEmit
node --import tsx --test --test-reporter=spec test/unit/*.test.ts
node --import tsx --test --test-reporter=spec --test-concurrency=1 test/app.test.ts
