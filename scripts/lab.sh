#!/usr/bin/env bash
# herald's main job end to end on this machine (see lab/main.ts).
# Installs what it needs, builds, and runs the lab; pass --keep to explore.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
./scripts/ensure-controlplane.sh
printf '[herald] building (tsc)\n' >&2
npx tsc -p tsconfig.json
exec node dist/lab/main.js "$@"
