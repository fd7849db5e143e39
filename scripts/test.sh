#!/usr/bin/env bash
# herald's whole test suite: installs what it needs, builds, type-checks,
# lints, then runs the unit and integration tests (real kube-apiserver and
# etcd, real network namespaces; needs root, as CI has).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n[herald] %s\n' "$*" >&2; }

./scripts/ensure-deps.sh
./scripts/ensure-controlplane.sh
say "container image (scripts/build-image.sh; cached by its inputs)"
./scripts/build-image.sh >/dev/null
say "build and typecheck (tsc, strict)"
npx tsc -p tsconfig.json
say "lint (eslint, type-aware)"
npx eslint --max-warnings 0 .
say "unit and integration tests (node:test)"
# One file at a time: each integration file starts its own control plane.
exec node --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 dist/test/unit dist/test/integration
