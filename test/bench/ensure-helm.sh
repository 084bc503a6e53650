#!/usr/bin/env bash
# Builds the pinned Helm (HELM_VERSION in test/cluster/versions.env) from its Go module
# (helm.sh/helm/v3, through the Go module proxy) into ${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/helm/<version>/
# once, and prints that directory. The compile benchmark runs `helm template` from it as the
# comparison with what a user would otherwise pick.
# Idempotent: a warm cache is a no-op. DBTOPO_HELM_BIN_DIR points at a directory that already
# holds a helm binary (the build is skipped). Progress on stderr.
set -euo pipefail
main() {
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../cluster/versions.env
source "$here/../cluster/versions.env"
: "${HELM_VERSION:?HELM_VERSION missing from test/cluster/versions.env}"
log() { printf '[helm] %s\n' "$*" >&2; }
if [[ -n "${DBTOPO_HELM_BIN_DIR:-}" ]]; then
  [[ -x "$DBTOPO_HELM_BIN_DIR/helm" ]] || { log "ERROR: no helm in DBTOPO_HELM_BIN_DIR=$DBTOPO_HELM_BIN_DIR"; exit 1; }
  echo "$DBTOPO_HELM_BIN_DIR"; exit 0
fi
out="${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/helm/$HELM_VERSION"
if [[ -x "$out/helm" ]]; then log "cache warm: $out"; echo "$out"; exit 0; fi
command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { log "ERROR: 'go' not found; install Go >= 1.24 or set DBTOPO_HELM_BIN_DIR"; exit 1; }
mkdir -p "$out"
exec 9>"$out/.build-lock"
command -v flock >/dev/null 2>&1 && flock 9
if [[ -x "$out/helm" ]]; then echo "$out"; exit 0; fi
start=$(date +%s)
stage="$out/.stage.$$"
trap 'rm -rf "$stage"' EXIT
log "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
# The version Helm reports (`helm version`) is set the way its Makefile does.
GOBIN="$stage" CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off \
  go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
mv -f "$stage/helm" "$out/helm"
log "built $out/helm in $(( $(date +%s) - start ))s"
echo "$out"
}
main "$@"
exit $?
