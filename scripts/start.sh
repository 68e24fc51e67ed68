#!/usr/bin/env bash
# npm start: installs what is missing, builds the app when the build is older than the sources,
# then runs the whole stack in the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -f dist/server.js ] || [ -n "$(find src -newer dist/server.js -print -quit)" ]; then
  echo "start: building the app (npm run build)"
  npm run --silent build
fi
exec node bin/ha-stack.js up "$@"
