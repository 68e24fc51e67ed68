#!/usr/bin/env bash
# npm start: installs what is missing, then runs the whole stack in the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx src/cli.ts up "$@"
