#!/usr/bin/env bash
# Builds kube-apiserver, kubectl, kube-controller-manager, kube-scheduler,
# kube-proxy and etcd from their Go modules (hack/controlplane), the
# kube-apiserver of the oldest supported Kubernetes (hack/controlplane/kubernetes-oldest),
# helm from its Go module (hack/helm, for the chart's tests), and Cilium's
# operator (cilium-operator-generic, hack/cilium-operator, to test herald beside
# it), and Prometheus' rule and PromQL parsers (hack/promql-check, for the
# monitoring files' tests), and caches them by version under $HERALD_CACHE (default ~/.cache/herald).
# Idempotent: a second run with the same versions does nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${HERALD_CACHE:-$HOME/.cache/herald}
k8s_dir=$here/hack/controlplane/kubernetes
oldest_dir=$here/hack/controlplane/kubernetes-oldest
etcd_dir=$here/hack/controlplane/etcd
k8s_ver=$(awk '/^require k8s.io\/kubernetes/{print $3}' "$k8s_dir/go.mod")
oldest_ver=$(awk '/^require k8s.io\/kubernetes/{print $3}' "$oldest_dir/go.mod")
etcd_ver=$(awk '/^require go.etcd.io\/etcd\/server\/v3/{print $3}' "$etcd_dir/go.mod")
helm_dir=$here/hack/helm
helm_ver=$(awk '/^require helm.sh\/helm\/v3/{print $3}' "$helm_dir/go.mod")
k8s_out=$cache/bin/kubernetes-$k8s_ver
oldest_out=$cache/bin/kubernetes-$oldest_ver
etcd_out=$cache/bin/etcd-$etcd_ver
helm_out=$cache/bin/helm-$helm_ver
cop_dir=$here/hack/cilium-operator
cop_ver=$(awk '/^require github.com\/cilium\/cilium/{print $3}' "$cop_dir/go.mod")
cop_out=$cache/bin/cilium-operator-$cop_ver
pq_dir=$here/hack/promql-check
pq_ver=$(awk '$1 == "github.com/prometheus/prometheus" {print $2}' "$pq_dir/go.mod")
# Keyed by its own source too, so a change to the checker rebuilds it.
pq_out=$cache/bin/promql-check-$pq_ver-$(cat "$pq_dir/main.go" "$pq_dir/go.mod" | sha256sum | cut -c1-12)

say() { printf '[herald] %s\n' "$*" >&2; }

build() { # dir out-dir pkg... ($ldflags adds linker flags)
  local dir=$1 out=$2; shift 2
  local tmp; tmp=$(mktemp -d "$cache/bin/.build.XXXXXX")
  ( cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 10 go build -trimpath -ldflags="-s -w ${ldflags:-}" -o "$tmp/" "$@" )
  rm -rf "$out"; mv "$tmp" "$out"   # the version folder appears only when complete
}

mkdir -p "$cache/bin"
command -v go >/dev/null || { say "Go is needed to build the test control plane; install golang"; exit 1; }
k8s_core=(kube-apiserver kubectl)
# The lab's real cluster (L2Lab.start({ cluster: 'real' })): controllers,
# scheduler and each node's kube-proxy, from the same module.
k8s_cluster=(kube-controller-manager kube-scheduler kube-proxy)
k8s_pkgs() { local c; for c in "$@"; do printf 'k8s.io/kubernetes/cmd/%s\n' "$c"; done; }
# Stamped with their version, as release builds are: helm checks a chart's
# kubeVersion against it, and kubectl and clients read it. A folder built
# before the stamp (no .version-stamped) is rebuilt.
version_ldflags() { # version
  echo "-X k8s.io/component-base/version.gitVersion=$1 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$1" | cut -d. -f2)"
}
missing() { [ -f "$k8s_out/.version-stamped" ] || return 0; local c; for c in "$@"; do [ -x "$k8s_out/$c" ] || return 0; done; return 1; }
if missing "${k8s_core[@]}" "${k8s_cluster[@]}"; then
  start=$(date +%s)
  say "building ${k8s_core[*]} ${k8s_cluster[*]} $k8s_ver from the Go module proxy (cold: about 5 minutes on 2 cores)..."
  # shellcheck disable=SC2046
  ldflags=$(version_ldflags "$k8s_ver") build "$k8s_dir" "$k8s_out" $(k8s_pkgs "${k8s_core[@]}" "${k8s_cluster[@]}")
  touch "$k8s_out/.version-stamped"
  say "built kubernetes $k8s_ver in $(( $(date +%s) - start ))s"
fi
if [ ! -x "$etcd_out/etcd" ]; then
  start=$(date +%s)
  say "building etcd $etcd_ver from the Go module proxy..."
  build "$etcd_dir" "$etcd_out" .
  say "built etcd $etcd_ver in $(( $(date +%s) - start ))s"
fi
if [ ! -x "$oldest_out/kube-apiserver" ]; then
  # The oldest Kubernetes herald supports (README): its CRDs and seed 001 are tested there too.
  start=$(date +%s)
  say "building kube-apiserver $oldest_ver (the oldest supported) from the Go module proxy..."
  ldflags=$(version_ldflags "$oldest_ver") build "$oldest_dir" "$oldest_out" k8s.io/kubernetes/cmd/kube-apiserver
  say "built kube-apiserver $oldest_ver in $(( $(date +%s) - start ))s"
fi
if [ ! -x "$helm_out/helm" ]; then
  start=$(date +%s)
  say "building helm $helm_ver from the Go module proxy..."
  # As helm's Makefile does: its version, and the Kubernetes version of its
  # client-go as the default for `helm template` and `helm lint` (else 1.20).
  k8s_minor=$(awk '$1 == "k8s.io/client-go" {split($2, v, "."); print v[2]}' "$helm_dir/go.mod")
  ldflags="-X helm.sh/helm/v3/internal/version.version=$helm_ver \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor" \
    build "$helm_dir" "$helm_out" helm.sh/helm/v3/cmd/helm
  say "built helm $helm_ver in $(( $(date +%s) - start ))s"
fi
if [ ! -x "$cop_out/cilium-operator-generic" ]; then
  start=$(date +%s)
  say "building cilium-operator-generic $cop_ver from the Go module proxy (cold: about 4 minutes on 2 cores)..."
  # As Cilium's operator/Makefile builds cilium-operator-generic: its tags, the binary's name.
  ( cd "$cop_dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 10 go build -trimpath -tags ipam_provider_operator,osusergo \
      -ldflags="-s -w" -o "$cache/bin/.cilium-operator-generic.tmp" github.com/cilium/cilium/operator )
  mkdir -p "$cop_out"; mv "$cache/bin/.cilium-operator-generic.tmp" "$cop_out/cilium-operator-generic"
  say "built cilium-operator-generic $cop_ver in $(( $(date +%s) - start ))s"
fi
if [ ! -x "$pq_out/promql-check" ]; then
  start=$(date +%s)
  say "building promql-check (Prometheus $pq_ver's rule and PromQL parsers) from the Go module proxy..."
  build "$pq_dir" "$pq_out" .
  say "built promql-check in $(( $(date +%s) - start ))s"
fi
# A stable place for the test helper and the lab to find the current versions.
ln -sfn "$k8s_out" "$cache/bin/kubernetes"
ln -sfn "$etcd_out" "$cache/bin/etcd-current"
ln -sfn "$helm_out" "$cache/bin/helm-current"
ln -sfn "$oldest_out" "$cache/bin/kubernetes-oldest"
ln -sfn "$cop_out" "$cache/bin/cilium-operator-current"
ln -sfn "$pq_out" "$cache/bin/promql-check-current"
say "control plane binaries: $k8s_out, $oldest_out, $etcd_out, $helm_out, $cop_out, $pq_out"
