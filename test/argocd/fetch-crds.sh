#!/usr/bin/env bash
# Copies Argo CD's CRDs (Application, ApplicationSet, AppProject) from the pinned Argo CD Go module
# into a cache dir and prints that dir. The module comes through the Go module proxy (checksummed
# by sum.golang.org); nothing of it is committed to this repository.
# Usage: test/argocd/fetch-crds.sh [CACHE_DIR]   (default: $XDG_CACHE_HOME/dbtopo/argocd-crds/<version>)
set -euo pipefail
ARGOCD_MODULE="github.com/argoproj/argo-cd/v3"
# the Argo CD the gitops tests run (test/cluster/versions.env), unless DBTOPO_ARGOCD_VERSION says otherwise
pinned="$(sed -n 's/^ARGOCD_VERSION=\([^[:space:]#]*\).*/\1/p' "$(cd "$(dirname "${BASH_SOURCE[0]}")/../cluster" && pwd)/versions.env")"
ARGOCD_VERSION="${DBTOPO_ARGOCD_VERSION:-$pinned}"
[[ -n "$ARGOCD_VERSION" ]] || { echo "fetch-crds: no ARGOCD_VERSION in test/cluster/versions.env" >&2; exit 1; }
cache="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/argocd-crds/${ARGOCD_VERSION}}"
crds=(application-crd.yaml applicationset-crd.yaml appproject-crd.yaml)

complete=1
for f in "${crds[@]}"; do [[ -s "$cache/$f" ]] || complete=0; done
if [[ $complete == 1 ]]; then echo "$cache"; exit 0; fi

command -v go >/dev/null || { echo "fetch-crds: go is not installed; install Go >= 1.22 or put the CRDs into $cache" >&2; exit 1; }
# `go mod download -json` prints the module's extracted Dir in the module cache.
json="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "${ARGOCD_MODULE}@${ARGOCD_VERSION}")"
dir="$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
[[ -n "$dir" && -d "$dir/manifests/crds" ]] || { echo "fetch-crds: no manifests/crds in ${ARGOCD_MODULE}@${ARGOCD_VERSION}: $json" >&2; exit 1; }
mkdir -p "$cache"
for f in "${crds[@]}"; do
  cp "$dir/manifests/crds/$f" "$cache/$f.tmp" && chmod u+w "$cache/$f.tmp" && mv "$cache/$f.tmp" "$cache/$f"
done
echo "$cache"
