#!/usr/bin/env bash
# Builds herald's container image from the Dockerfile with podman, on this
# machine and without any image registry: the builder and runtime bases are
# Debian root filesystems made with mmdebstrap from Debian's packages, passed
# to the Dockerfile as build arguments (docs/image.md).
#
# Writes the image into podman's storage as ghcr.io/herald-lb/herald:<version>
# and as an OCI archive under $HERALD_CACHE/image; prints `image=<name>` and
# `archive=<path>` on stdout. Cached: the bases are keyed by their package
# lists, the image by a hash of its inputs (labelled on the image), so a
# second run with nothing changed builds nothing. HERALD_IMAGE_REBUILD=1
# builds anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[herald] %s\n' "$*" >&2; }
sha() { sha256sum | cut -c1-16; }

cache=${HERALD_CACHE:-$HOME/.cache/herald}/image
mkdir -p "$cache"
# One build at a time (the test suite and the lab may both ask).
exec 9>"$cache/.lock"
flock 9
version=$(node -p 'require("./package.json").version')
image=ghcr.io/herald-lb/herald:$version
label=io.herald.image.inputs

# This VM's quirks, harmless elsewhere: crun cannot run on its hybrid
# cgroups, and without CAP_SYS_RESOURCE the default rlimits (above the host's
# hard limits) cannot be set. The image does not depend on them.
quirks=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# The Debian release of both bases: its nodejs must be 20 or newer.
suite=trixie
path_env='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# The builder trusts what this machine trusts, so npm works behind a
# TLS-inspecting proxy; only the builder, never the runtime image.
host_ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
[ -f "$host_ca" ] || host_ca=

build_packages=nodejs,npm,libnode-dev,g++,make,python3,ca-certificates
build_hooks=(
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*'
)
if [ -n "$host_ca" ]; then
  build_hooks+=(--customize-hook="cp '$host_ca' \"\$1\"/etc/ssl/certs/build-host-ca.crt")
fi
build_env=("$path_env" ${host_ca:+NODE_EXTRA_CA_CERTS=/etc/ssl/certs/build-host-ca.crt})

runtime_packages=nodejs,iproute2
runtime_hooks=(
  # No software can be installed in the runtime image: npm is not included;
  # corepack (which fetches package managers), dpkg and what only dpkg's
  # scripts use are removed. dpkg's status file stays for scanners.
  --customize-hook='rm -rf "$1"/usr/bin/corepack "$1"/usr/share/nodejs/corepack'
  # (dpkg warns at length about removing essential packages; its exit code still counts.)
  --customize-hook='chroot "$1" dpkg --purge --force-remove-essential --force-depends debconf perl-base dpkg >/dev/null 2>&1'
  --customize-hook='rm -rf "$1"/etc/dpkg "$1"/var/cache/* "$1"/var/log/* "$1"/usr/share/doc "$1"/usr/share/man "$1"/usr/share/info "$1"/usr/share/locale'
  # No set-user-ID or set-group-ID programs (su, unix_chkpwd): nothing to escalate with.
  --customize-hook='find "$1" -xdev -type f -perm /6000 -exec chmod ug-s {} +'
)
runtime_env=("$path_env")

# base NAME VARIANT PACKAGES ENV_ARRAY HOOK_ARRAY: prints the tag of a base
# image, building it with mmdebstrap unless podman already has it.
base() {
  local name=$1 variant=$2 packages=$3
  local -n env=$4 hooks=$5
  local key tag changes=() e
  key=$( { echo "$suite $variant $packages"; printf '%s\n' "${env[@]}" "${hooks[@]}"; [ -z "$host_ca" ] || [ "$name" != build ] || cat "$host_ca"; } | sha)
  tag=localhost/herald-base-$name:$key
  if podman image exists "$tag"; then echo "$tag"; return; fi
  say "building the $name base ($suite, $packages) with mmdebstrap"
  local tar; tar=$(mktemp "$cache/base-$name.XXXXXX.tar")
  # shellcheck disable=SC2064  # base runs in a subshell: this is its own EXIT
  trap "rm -f '$tar'" EXIT
  mmdebstrap --quiet --variant="$variant" --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    "${hooks[@]}" "$suite" "$tar" >&2
  for e in "${env[@]}"; do changes+=(--change "ENV $e"); done
  podman import --quiet "${changes[@]}" --change "LABEL io.herald.base=$name" "$tar" "$tag" >/dev/null
  echo "$tag"
}

started=$(date +%s)
build_base=$(base build apt "$build_packages" build_env build_hooks)
runtime_base=$(base runtime essential "$runtime_packages" runtime_env runtime_hooks)

# Everything the image is made of: the files the Dockerfile copies, the
# Dockerfile, this script and the bases.
inputs=$( {
  echo "$build_base $runtime_base"
  find Dockerfile .dockerignore package.json package-lock.json tsconfig.json src native scripts/build-image.sh \
    -path native/build -prune -o -type f -print0 | sort -z | xargs -0 sha256sum
} | sha)
archive=$cache/herald-$version-$inputs.oci.tar

commit=unknown
if head=$(git rev-parse --short=12 HEAD 2>/dev/null); then
  commit=$head
  # Uncommitted changes to the inputs: say so in `herald version`.
  if [ -n "$(git status --porcelain -- Dockerfile .dockerignore package.json package-lock.json tsconfig.json src native)" ]; then
    commit=$head-dirty
  fi
fi

have=$(podman image inspect --format "{{index .Labels \"$label\"}}" "$image" 2>/dev/null || true)
if [ "$have" != "$inputs" ] && [ -f "$archive" ] && [ "${HERALD_IMAGE_REBUILD:-}" != 1 ]; then
  say "loading $image from $archive"
  podman load --quiet -i "$archive" >/dev/null
  have=$(podman image inspect --format "{{index .Labels \"$label\"}}" "$image" 2>/dev/null || true)
fi
if [ "$have" != "$inputs" ] || [ "${HERALD_IMAGE_REBUILD:-}" = 1 ]; then
  say "building $image (inputs $inputs, commit $commit)"
  podman build "${quirks[@]}" --layers --file Dockerfile --tag "$image" \
    --build-arg BUILD_BASE="$build_base" --build-arg RUNTIME_BASE="$runtime_base" \
    --build-arg HERALD_COMMIT="$commit" \
    --label "$label=$inputs" --label org.opencontainers.image.version="$version" \
    . >&2
  rm -f "$archive"
  # What earlier builds left: the images of other inputs and the build
  # stage's layers (a rebuild's npm ci takes seconds), and bases of other
  # package lists. Only images built from herald's bases carry that label.
  podman image prune --force --filter label=io.herald.base >/dev/null
  podman images --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/herald-base-(build|runtime):' \
    | grep -vxF -e "$build_base" -e "$runtime_base" | xargs -r podman rmi >/dev/null || true
fi
if [ ! -f "$archive" ]; then
  podman save --quiet --format oci-archive -o "$archive.tmp" "$image"
  mv "$archive.tmp" "$archive"
  # Archives of earlier inputs only take space.
  find "$cache" -maxdepth 1 -name 'herald-*.oci.tar' ! -path "$archive" -delete
fi
say "$image ready in $(( $(date +%s) - started )) s"
echo "image=$image"
echo "archive=$archive"
