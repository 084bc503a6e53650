#!/usr/bin/env bash
# Copies the Multi-Cluster Services API's ServiceExport CRD (sigs.k8s.io/mcs-api, KEP-1645) from
# its pinned Go module into a cache dir and prints that dir: what an MCS implementation (Submariner,
# Cilium ClusterMesh's MCS support) installs in a member cluster, and what the rendered
# ServiceExports of spread shards need to be accepted (docs/federation.md). Nothing of the module
# is committed to this repository.
# Usage: test/cluster/fetch-mcs-crds.sh [CACHE_DIR]   (default: $XDG_CACHE_HOME/dbtopo/mcs-crds/<version>)
set -euo pipefail
MODULE="sigs.k8s.io/mcs-api"
VERSION="$(sed -n 's/^MCS_API_VERSION=\([^[:space:]#]*\).*/\1/p' "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/versions.env")"
[[ -n "$VERSION" ]] || { echo "fetch-mcs-crds: no MCS_API_VERSION in test/cluster/versions.env" >&2; exit 1; }
cache="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/mcs-crds/${VERSION}}"
crd=multicluster.x-k8s.io_serviceexports.yaml
if [[ -s "$cache/$crd" ]]; then echo "$cache"; exit 0; fi
command -v go >/dev/null || { echo "fetch-mcs-crds: go is not installed; install Go >= 1.22 or put $crd into $cache" >&2; exit 1; }
json="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "${MODULE}@${VERSION}")"
dir="$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
[[ -n "$dir" && -s "$dir/config/crd/$crd" ]] || { echo "fetch-mcs-crds: no config/crd/$crd in ${MODULE}@${VERSION}: $json" >&2; exit 1; }
mkdir -p "$cache"
cp "$dir/config/crd/$crd" "$cache/$crd.tmp" && chmod u+w "$cache/$crd.tmp" && mv "$cache/$crd.tmp" "$cache/$crd"
echo "$cache"
