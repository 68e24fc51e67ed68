#!/usr/bin/env bash
# npm run test:docker: runs deploy/compose.yaml on this machine's Docker engine (test/docker/compose.test.ts).
#   1. installs docker.io, docker-compose and mmdebstrap when missing (scripts/setup.sh, as root)
#   2. starts dockerd for the run when no engine answers, and stops it afterwards
#   3. makes sure the images compose and the Dockerfile name exist (scripts/offline-images.sh:
#      pulls them, or builds same-named stand-ins from Debian packages when no registry is reachable)
#   4. runs the tests: build, up (with the monitoring profile), journey, failover, app crash,
#      Sentinel settings, fronts, every target scraped, the failover and a stopped replica paging
#      Alertmanager, down -v;
#      then the same with compose.tls.yaml (HTTPS, redirect, TLS-only nodes, a failover on TLS)
# npm run test:all runs it last, as root or when an engine answers (scripts/test-all.sh); about 1.5 minutes
# once the images exist.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

missing=()
command -v docker >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null; then missing+=(docker.io); fi
# Exit code 77: the test cannot run on this machine (no engine can be installed or started);
# npm run test:all then says so and goes on, unless TEST_DOCKER=1 asked for it.
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-docker: installing ${missing[*]}"
  bash scripts/setup.sh "${missing[@]}" || {
    echo "test-docker: could not install ${missing[*]}" >&2
    exit 77
  }
fi

dockerd_pid=""
stop_dockerd() {
  if [ -n "$dockerd_pid" ]; then
    echo "test-docker: stopping the dockerd this run started (pid $dockerd_pid)"
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
  fi
}
trap stop_dockerd EXIT

if ! docker info >/dev/null 2>&1; then
  log="${TMPDIR:-/tmp}/redis-ha-stack-dockerd.log"
  echo "test-docker: no Docker engine answers; starting dockerd for this run (log: $log)"
  dockerd --storage-driver=overlay2 >"$log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || {
    tail -20 "$log" >&2
    echo "test-docker: dockerd did not start on this machine" >&2
    exit 77
  }
fi

# Leftovers of a run that was killed before its clean-up (project rhsdocker<pid><hex>, see
# test/docker/compose.test.ts): removed when that pid no longer runs.
for project in $(docker ps -a --format '{{.Label "com.docker.compose.project"}}' |
  grep -E '^rhsdocker[0-9]+[0-9a-f]{6}$' | sort -u); do
  pid=${project#rhsdocker}
  pid=${pid%??????}
  kill -0 "$pid" 2>/dev/null && continue
  echo "test-docker: removing the leftovers of an earlier run ($project)"
  docker ps -aq --filter "label=com.docker.compose.project=$project" | xargs -r docker rm -f >/dev/null
  docker network ls -q --filter "label=com.docker.compose.project=$project" | xargs -r docker network rm >/dev/null
  docker volume ls -q --filter "label=com.docker.compose.project=$project" | xargs -r docker volume rm >/dev/null
done

images_start=$(date +%s)
bash scripts/offline-images.sh --monitoring
echo "test-docker: images ready in $(($(date +%s) - images_start)) s"

status=0
node --import tsx --test --test-reporter=spec --test-concurrency=1 test/docker/compose.test.ts test/docker/compose-tls.test.ts || status=$?
echo "test-docker: $([ "$status" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
exit "$status"
