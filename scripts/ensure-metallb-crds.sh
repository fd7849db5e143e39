#!/usr/bin/env bash
# MetalLB's CRDs, for the conversion test (test/integration/convert-metallb.test.ts):
# taken from MetalLB's Go module (config/crd/bases) through the Go module proxy
# and copied under $HERALD_CACHE (default ~/.cache/herald). Idempotent: a second
# run with the same version does nothing. Prints the directory holding them.
set -euo pipefail
version=${METALLB_VERSION:-v0.16.2}
cache=${HERALD_CACHE:-$HOME/.cache/herald}
out=$cache/metallb-crds-$version
if [ ! -f "$out/metallb.io_ipaddresspools.yaml" ]; then
  command -v go >/dev/null || { printf '[herald] Go is needed to fetch MetalLB %s CRDs\n' "$version" >&2; exit 1; }
  # Outside any module, so no go.mod around here is read or changed.
  ( cd / && go mod download "go.universe.tf/metallb@$version" )
  src=$(go env GOMODCACHE)/go.universe.tf/metallb@$version/config/crd/bases
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.metallb-crds.XXXXXX")
  cp "$src"/*.yaml "$tmp/"
  chmod -R u+w "$tmp"
  rm -rf "$out"; mv "$tmp" "$out"   # the version folder appears only when complete
fi
printf '%s\n' "$out"
