#!/usr/bin/env bash
# Builds one pinned Go command-line tool from its Go module (through the Go module proxy) into
# ${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/<tool>/<version>/ once, and prints that directory.
#   ensure-go-tool.sh <tool> <VERSION_VAR> <package> [<ldflags -X of the version>]
# <VERSION_VAR> names the pin in test/cluster/versions.env; <package> is the main package
# (`@version` is added); a `%v` in the last argument is replaced by the version. Idempotent: a
# warm cache is a no-op. DBTOPO_<TOOL>_BIN_DIR points at a directory that already holds the
# binary (the build is skipped). Concurrent builds of one version wait for each other (flock).
# Progress on stderr. Used by test/gitops/ensure-actionlint.sh and test/bench/ensure-helm.sh.
set -euo pipefail
main() {
local tool="$1" var="$2" pkg="$3" xflag="${4:-}"
local here; here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
local version="${!var:-}"
log() { printf '[%s] %s\n' "$tool" "$*" >&2; }
[[ -n "$version" ]] || { log "ERROR: $var missing from test/cluster/versions.env"; exit 1; }
local override_var; override_var="DBTOPO_$(tr '[:lower:]-' '[:upper:]_' <<<"$tool")_BIN_DIR"
local override="${!override_var:-}"
if [[ -n "$override" ]]; then
  [[ -x "$override/$tool" ]] || { log "ERROR: no $tool in $override_var=$override"; exit 1; }
  echo "$override"; exit 0
fi
local out="${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/$tool/$version"
if [[ -x "$out/$tool" ]]; then log "cache warm: $out"; echo "$out"; exit 0; fi
command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { log "ERROR: 'go' not found; install Go >= 1.24 or set $override_var"; exit 1; }
mkdir -p "$out"
exec 9>"$out/.build-lock"
command -v flock >/dev/null 2>&1 && flock 9
if [[ -x "$out/$tool" ]]; then echo "$out"; exit 0; fi
local start; start=$(date +%s)
stage="$out/.stage.$$"
trap 'rm -rf "$stage"' EXIT
log "go install $pkg@$version"
GOBIN="$stage" CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off \
  go install -trimpath -ldflags "-s -w ${xflag//%v/$version}" "$pkg@$version" >&2
mv -f "$stage/$tool" "$out/$tool"
log "built $out/$tool in $(( $(date +%s) - start ))s"
echo "$out"
}
main "$@"
exit $?
