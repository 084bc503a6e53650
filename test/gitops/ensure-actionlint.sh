#!/usr/bin/env bash
# Builds the pinned actionlint (ACTIONLINT_VERSION in test/cluster/versions.env) from its Go module
# into ${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/actionlint/<version>/ once, and prints that directory.
# Idempotent: a warm cache is a no-op. DBTOPO_ACTIONLINT_BIN_DIR points at a directory that already
# holds an actionlint binary (the build is skipped). Progress on stderr.
set -euo pipefail
main() {
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../cluster/versions.env
source "$here/../cluster/versions.env"
: "${ACTIONLINT_VERSION:?ACTIONLINT_VERSION missing from test/cluster/versions.env}"
log() { printf '[actionlint] %s\n' "$*" >&2; }
if [[ -n "${DBTOPO_ACTIONLINT_BIN_DIR:-}" ]]; then
  [[ -x "$DBTOPO_ACTIONLINT_BIN_DIR/actionlint" ]] || { log "ERROR: no actionlint in DBTOPO_ACTIONLINT_BIN_DIR=$DBTOPO_ACTIONLINT_BIN_DIR"; exit 1; }
  echo "$DBTOPO_ACTIONLINT_BIN_DIR"; exit 0
fi
out="${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/actionlint/$ACTIONLINT_VERSION"
if [[ -x "$out/actionlint" ]]; then log "cache warm: $out"; echo "$out"; exit 0; fi
command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { log "ERROR: 'go' not found; install Go >= 1.24 or set DBTOPO_ACTIONLINT_BIN_DIR"; exit 1; }
mkdir -p "$out"
exec 9>"$out/.build-lock"
command -v flock >/dev/null 2>&1 && flock 9
if [[ -x "$out/actionlint" ]]; then echo "$out"; exit 0; fi
start=$(date +%s)
stage="$out/.stage.$$"
trap 'rm -rf "$stage"' EXIT
log "go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
GOBIN="$stage" CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off \
  go install -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
  "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
mv -f "$stage/actionlint" "$out/actionlint"
log "built $out/actionlint in $(( $(date +%s) - start ))s"
echo "$out"
}
main "$@"
exit $?
