#!/usr/bin/env bash
# herald's main job end to end on this machine (see lab/main.ts).
# Installs what it needs, builds, and runs the lab; pass --keep to explore,
# --image to run herald from its container image (built here, cached),
# --stand-in for the lighter lab without controllers, kube-proxy or pods.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
./scripts/ensure-controlplane.sh
for arg in "$@"; do
  if [ "$arg" = --image ]; then ./scripts/build-image.sh >/dev/null; fi
done
printf '[herald] building (tsc)\n' >&2
npx tsc -p tsconfig.json
exec node dist/lab/main.js "$@"
