#!/usr/bin/env bash
# Builds pinned Kubernetes binaries from their Go modules, one set per call:
#   build-k8s.sh [control-plane]  etcd, kube-apiserver, kube-controller-manager into
#                                 ${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/k8s/<k8s-version>-etcd<etcd-version>/
#   build-k8s.sh node             kubelet, kube-proxy, kube-scheduler (the real node, test/node/) into
#                                 ${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/k8s/<k8s-version>-node/
# Both sets come from the same k8s.io/kubernetes module version, so the node's kubelet matches the
# API server. Idempotent: a warm cache is a fast no-op. Set DBTOPO_K8S_BIN_DIR (control plane) or
# DBTOPO_NODE_BIN_DIR (node) to use binaries you already have (the build is skipped). Progress
# goes to stderr; the last line on stdout is the binary directory.
set -euo pipefail

# Everything runs inside main(), which bash parses completely before running it, so editing or
# updating this file (git pull) during a long build cannot break the running build.
main() {

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

log() { printf '[build-k8s] %s\n' "$*" >&2; }
die() { printf '[build-k8s] ERROR: %s\n' "$*" >&2; exit 1; }

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/k8s"
set_name="${1:-control-plane}"
case "$set_name" in
  control-plane)
    binaries=(etcd kube-apiserver kube-controller-manager)
    commands=(kube-apiserver kube-controller-manager)
    override_var=DBTOPO_K8S_BIN_DIR
    out="$cache_root/${K8S_VERSION}-etcd${ETCD_VERSION}"
    cold="~7 min on 2 cores with empty Go caches" ;;
  node)
    binaries=(kubelet kube-proxy kube-scheduler)
    commands=(kubelet kube-proxy kube-scheduler)
    override_var=DBTOPO_NODE_BIN_DIR
    out="$cache_root/${K8S_VERSION}-node"
    cold="~5 min on 2 cores after the control plane's build" ;;
  *) die "unknown set '$set_name' (control-plane or node)" ;;
esac

override="${!override_var:-}"
if [[ -n "$override" ]]; then
  for b in "${binaries[@]}"; do
    [[ -x "$override/$b" ]] || die "$override_var=$override has no executable '$b' (needs: ${binaries[*]})"
  done
  log "using binaries from $override_var=$override (build skipped)"
  echo "$override"
  exit 0
fi

complete=1
for b in "${binaries[@]}"; do [[ -x "$out/$b" ]] || complete=0; done
if [[ $complete == 1 && -f "$out/.complete" ]]; then
  log "cache warm: $out$(sed -n 's/.*build_seconds=\([0-9]*\).*/, built cold in \1 s/p' "$out/.complete")"
  echo "$out"
  exit 0
fi

# --- locate go --------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    die "'go' not found on PATH nor in /usr/local/go/bin. Install Go >= 1.24 (https://go.dev/dl/, e.g. untar into /usr/local/go), or set DBTOPO_K8S_BIN_DIR to a directory holding ${binaries[*]}."
  fi
fi
gover="$(go env GOVERSION)"; gominor="${gover#go1.}"; gominor="${gominor%%.*}"
[[ "$gominor" =~ ^[0-9]+$ ]] && (( gominor >= 24 )) \
  || die "found $gover at $(command -v go); Kubernetes ${K8S_VERSION} needs Go >= 1.24 (https://go.dev/dl/), or set DBTOPO_K8S_BIN_DIR"
log "using $(go version) from $(command -v go)"

# one build at a time per cache dir
mkdir -p "$cache_root"
exec 9>"$cache_root/.build-lock"
if command -v flock >/dev/null 2>&1; then
  log "waiting for build lock $cache_root/.build-lock"
  flock 9
  complete=1
  for b in "${binaries[@]}"; do [[ -x "$out/$b" ]] || complete=0; done
  if [[ $complete == 1 && -f "$out/.complete" ]]; then
    log "cache warm (built by another process): $out"
    echo "$out"
    exit 0
  fi
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off
start=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/dbtopo-k8s-build.XXXXXX")"
stage="$out.partial.$$"
trap 'rm -rf "$work" "$stage"' EXIT
rm -rf "$stage"; mkdir -p "$stage"

# --- the k8s.io/kubernetes commands ------------------------------------------
k8s_minor="${K8S_VERSION#v1.}"          # 34.4
staging_version="v0.${k8s_minor}"       # v0.34.4
mkdir -p "$work/k8s"
cd "$work/k8s"
log "[k8s] fetching k8s.io/kubernetes@$K8S_VERSION go.mod"
modfile="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
[[ -f "$modfile" ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION (is the Go module proxy reachable?)"
# every staging module is required at v0.0.0 and replaced by ./staging upstream; we replace it
# with the published tag v0.<minor>.<patch> instead.
mapfile -t staging < <(grep -E '^[[:space:]]+k8s\.io/[^[:space:]]+ v0\.0\.0([[:space:]]|$)' "$modfile" | awk '{print $1}' | sort -u)
(( ${#staging[@]} > 10 )) || die "found only ${#staging[@]} staging modules in $modfile — unexpected go.mod layout"
log "[k8s] ${#staging[@]} staging modules -> $staging_version"
{
  echo "module dbtopo.local/k8sbuild"
  echo
  echo "go 1.24.0"
  echo
  echo "godebug default=go1.24"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  for m in "${staging[@]}"; do echo "	$m => $m $staging_version"; done
  echo ")"
} > go.mod
{
  printf '//go:build tools\n\npackage k8sbuild\n\nimport (\n'
  for c in "${commands[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
  printf ')\n'
} > tools.go
log "[k8s] resolving modules (go mod tidy)"
go mod tidy -e >&2 || die "go mod tidy failed for k8s.io/kubernetes@$K8S_VERSION"
ldflags="-s -w"
for kv in "gitVersion=$K8S_VERSION" "gitMajor=1" "gitMinor=${k8s_minor%%.*}" "gitTreeState=clean" "buildDate=1970-01-01T00:00:00Z"; do
  ldflags+=" -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
done
log "[k8s] go build ${commands[*]} (cold: $cold)"
go build -trimpath -ldflags "$ldflags" -o "$stage/" "${commands[@]/#/k8s.io/kubernetes/cmd/}" >&2 \
  || die "go build of ${commands[*]} failed"
log "[k8s] done after $(( $(date +%s) - start ))s"

# --- etcd (control plane only) -----------------------------------------------
if [[ "$set_name" == control-plane ]]; then
mkdir -p "$work/etcd"
cd "$work/etcd"
cat > go.mod <<GOMOD
module dbtopo.local/etcdbuild

go 1.24.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
log "[etcd] resolving modules (go mod tidy)"
go mod tidy >&2 || die "go mod tidy failed for go.etcd.io/etcd/server/v3@$ETCD_VERSION"
log "[etcd] go build etcd"
go build -trimpath -ldflags "-s -w" -o "$stage/etcd" . >&2 || die "go build of etcd failed"
fi

for b in "${binaries[@]}"; do [[ -x "$stage/$b" ]] || die "build finished but $b is missing"; done
rm -rf "$out"
mv "$stage" "$out"
elapsed=$(( $(date +%s) - start ))
printf 'set=%s k8s=%s etcd=%s go=%s build_seconds=%s\n' "$set_name" "$K8S_VERSION" "$ETCD_VERSION" "$(go env GOVERSION)" "$elapsed" > "$out/.complete"
log "built ${binaries[*]} into $out in ${elapsed}s"
echo "BUILD_SECONDS=$elapsed" >&2
echo "$out"
}

main "$@"
exit $?
