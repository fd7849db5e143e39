#!/usr/bin/env bash
# Installs what herald's build, tests and lab need, idempotently:
# Debian packages that are missing, then npm packages when package-lock.json changed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${HERALD_CACHE:-$HOME/.cache/herald}
say() { printf '[herald] %s\n' "$*" >&2; }

# command -> Debian package that provides it
declare -A need=(
  [ip]=iproute2 [nft]=nftables [arping]=iputils-arping [ndisc6]=ndisc6 [ping]=iputils-ping
  [curl]=curl [make]=make [g++]=g++ [python3]=python3 [go]=golang-go
  [setpriv]=util-linux [sysctl]=procps
  # The container image (scripts/build-image.sh) and running it in the lab:
  # podman with runc (crun fails on hybrid cgroups), bases from mmdebstrap.
  [podman]=podman [buildah]=buildah [runc]=runc [mmdebstrap]=mmdebstrap
  [newuidmap]=uidmap [fuse-overlayfs]=fuse-overlayfs
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then say "need root to install ${missing[*]}"; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$cache"
stamp=$cache/npm-$(cd "$here" && cat package-lock.json package.json | sha256sum | cut -c1-16)
if [ ! -d "$here/node_modules" ] || [ ! -f "$stamp" ] || [ ! -f "$here/node_modules/.herald-stamp" ] \
   || [ "$(cat "$here/node_modules/.herald-stamp")" != "$stamp" ]; then
  say "installing npm packages (npm ci)..."
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"; echo "$stamp" > "$here/node_modules/.herald-stamp"
fi
