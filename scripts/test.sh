#!/usr/bin/env bash
# The test command: sets itself up, then lint, type check, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh chromium
npx biome check .
npx tsc -p tsconfig.json --noEmit
node --import tsx --test --test-reporter=spec test/unit/*.test.ts
node --import tsx --test --test-reporter=spec --test-concurrency=1 test/*.test.ts
