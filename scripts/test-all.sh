#!/usr/bin/env bash
# npm run test:all: the whole suite, what CI runs (.ci/run); about 20 minutes on two cores.
#   1. set-up, with docker-compose and chromium (and iptables as root)
#   2. lint (biome) and type check (tsc)
#   3. every unit test (test/unit/*.test.ts)
#   4. every integration test (test/*.test.ts): real Redis, Sentinel and HAProxy processes, one
#      stack or more per file (failovers, healing, rotation, chaos, soak, bench, browser, security,
#      the rendered compose and Kubernetes deployments)
#      then the Valkey entry: test/stack.test.ts with REDIS_SERVER=valkey
#   5. the unit and process-management tests on the other supported Node.js releases
#      (scripts/node-versions.sh)
#   6. the compose deployment on a real Docker engine where one can run (scripts/test-docker.sh)
# npm test (scripts/test.sh) is the quick part of it: steps 2 and 3 and the web app's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# docker-compose validates deploy/compose.yaml (no Docker engine is needed for that); chromium runs
# the browser tests; Alertmanager and the Redis exporter the live alert test (test/alerts.test.ts);
# iptables: the packet filter of the partition-master chaos scenario; keepalived: the host test bed's
# floating address (test/hosts.test.ts); both root only.
# valkey: Valkey 8.0 from bookworm-backports, for the upgrade test and the Valkey entry below.
bash scripts/setup.sh valkey docker-compose chromium prometheus-alertmanager prometheus-redis-exporter \
  $([ "$(id -u)" = 0 ] && echo iptables keepalived)
npx biome check .
npx tsc -p tsconfig.json --noEmit
node --import tsx --test --test-reporter=spec test/unit/*.test.ts
node --import tsx --test --test-reporter=spec --test-concurrency=1 test/*.test.ts
# The Valkey entry of the matrix: the stack (start, failovers, healing) on Valkey 8.0 instead of
# Redis 7.0 (a few minutes; test/upgrade.test.ts above moves a Redis stack to Valkey and back).
REDIS_SERVER=valkey node --import tsx --test --test-reporter=spec --test-concurrency=1 test/stack.test.ts
bash scripts/node-versions.sh
# As root the Docker test installs docker.io and starts dockerd for its run; otherwise it runs only
# when an engine already answers. TEST_DOCKER=0 leaves it out; TEST_DOCKER=1 makes it required, also
# where no engine can run.
docker_test="${TEST_DOCKER:-auto}"
if [ "$docker_test" = 1 ] || { [ "$docker_test" != 0 ] && { [ "$(id -u)" = 0 ] || docker info >/dev/null 2>&1; }; }; then
  status=0
  bash scripts/test-docker.sh || status=$?
  # 77: no engine could be installed or started here (a failing test is any other non-zero code).
  if [ "$status" = 77 ] && [ "$docker_test" != 1 ]; then
    echo "test: the Docker deployment test is left out: no Docker engine can run on this machine"
  elif [ "$status" != 0 ]; then
    exit "$status"
  fi
else
  echo "test: the Docker deployment test (npm run test:docker) is left out: not root and no Docker engine answers (TEST_DOCKER=$docker_test)"
fi
