#!/usr/bin/env bash
# Builds the pinned Argo CD (ARGOCD_VERSION in test/cluster/versions.env) from its Go module into
# ${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/argocd/<version>/, plus dbtopo-argocd-health (Argo CD's own
# Lua health evaluation over ci/argocd/health, test/gitops/argocd-build/health-check/).
#
# Argo CD is one binary whose role is chosen by the name it is started under (cmd/main.go): the
# build writes `argocd` and symlinks argocd-server, argocd-repo-server,
# argocd-application-controller and argocd-applicationset-controller to it. The wrapper module
# requires github.com/argoproj/argo-cd/v3 at the pinned version and copies that module's `replace`
# block into its go.mod (replace directives of a dependency are not applied by Go, and Argo CD
# does not build without them). v3.3.13+ cannot be built as a dependency (argo-cd #29220); v3.2.12
# does not compile; v3.2.11 does.
#
# Idempotent: a warm cache is a fast no-op; only what is missing or changed is rebuilt (the health
# tool again when its source changes). DBTOPO_ARGOCD_BIN_DIR points at a directory that already
# has these files (the build is skipped). Progress goes to stderr; the last line on stdout is the
# binary directory.
set -euo pipefail

# Everything runs inside main(), which bash parses completely before running it, so editing this
# file during a long build cannot break the running build.
main() {

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../cluster/versions.env
source "$root/test/cluster/versions.env"
: "${ARGOCD_VERSION:?ARGOCD_VERSION missing from test/cluster/versions.env}"
module=github.com/argoproj/argo-cd/v3
roles=(argocd-server argocd-repo-server argocd-application-controller argocd-applicationset-controller)
src="$here/argocd-build"
crds=(application-crd.yaml applicationset-crd.yaml appproject-crd.yaml)

log() { printf '[build-argocd] %s\n' "$*" >&2; }
die() { printf '[build-argocd] ERROR: %s\n' "$*" >&2; exit 1; }

# The health tool's source, hashed: a change rebuilds it (seconds, against warm Go caches).
src_hash() { (cd "$src" && find . -type f -name '*.go' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16; }

complete_in() {
  local d="$1" r
  [[ -x "$d/argocd" && -x "$d/dbtopo-argocd-health" ]] || return 1
  for r in "${roles[@]}"; do [[ -x "$d/$r" ]] || return 1; done
  for c in "${crds[@]}"; do [[ -s "$d/crds/$c" ]] || return 1; done
  return 0
}

if [[ -n "${DBTOPO_ARGOCD_BIN_DIR:-}" ]]; then
  complete_in "$DBTOPO_ARGOCD_BIN_DIR" \
    || die "DBTOPO_ARGOCD_BIN_DIR=$DBTOPO_ARGOCD_BIN_DIR must hold argocd, ${roles[*]}, dbtopo-argocd-health and crds/{${crds[*]}} (Argo CD's manifests/crds)"
  log "using binaries from DBTOPO_ARGOCD_BIN_DIR=$DBTOPO_ARGOCD_BIN_DIR (build skipped)"
  echo "$DBTOPO_ARGOCD_BIN_DIR"
  exit 0
fi

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/argocd"
out="$cache_root/$ARGOCD_VERSION"
hash="$(src_hash)"
warm() { complete_in "$out" && [[ -f "$out/.complete" && "$(cat "$out/.health-src" 2>/dev/null)" == "$hash" ]]; }
if warm; then
  log "cache warm: $out$(sed -n 's/.*build_seconds=\([0-9]*\).*/, built cold in \1 s/p' "$out/.complete")"
  echo "$out"
  exit 0
fi

# --- locate go --------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    die "'go' not found on PATH nor in /usr/local/go/bin. Install Go >= 1.25 (https://go.dev/dl/), or set DBTOPO_ARGOCD_BIN_DIR."
  fi
fi
gover="$(go env GOVERSION)"; gominor="${gover#go1.}"; gominor="${gominor%%.*}"
[[ "$gominor" =~ ^[0-9]+$ ]] && (( gominor >= 25 )) \
  || die "found $gover at $(command -v go); Argo CD $ARGOCD_VERSION needs Go >= 1.25 (https://go.dev/dl/), or set DBTOPO_ARGOCD_BIN_DIR"
log "using $(go version) from $(command -v go)"

mkdir -p "$out"
exec 9>"$cache_root/.build-lock"
if command -v flock >/dev/null 2>&1; then
  log "waiting for build lock $cache_root/.build-lock"
  flock 9
  if warm; then log "cache warm (built by another process): $out"; echo "$out"; exit 0; fi
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off
start=$(date +%s)
work="$out/module"           # kept: its go.mod/go.sum make the next (health tool) build quick
stage="$out/.stage.$$"
trap 'rm -rf "$stage"' EXIT
rm -rf "$out"/.stage.*; mkdir -p "$stage" "$work"

# --- the wrapper module --------------------------------------------------------
log "fetching $module@$ARGOCD_VERSION (Go module proxy)"
json="$(cd "$work" && go mod download -json "$module@$ARGOCD_VERSION")" \
  || die "could not download $module@$ARGOCD_VERSION (is the Go module proxy reachable?)"
modfile="$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
moddir="$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
infofile="$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",*$/\1/p')"
[[ -f "$modfile" ]] || die "no go.mod for $module@$ARGOCD_VERSION in: $json"
goline="$(grep -m1 -E '^go [0-9.]+$' "$modfile")"
# the replace block(s) and single-line replace directives of Argo CD's go.mod, verbatim
replaces="$(awk '/^replace \($/{inb=1; print; next} inb{print; if ($0 ~ /^\)$/) inb=0; next} /^replace /{print}' "$modfile")"
[[ "$replaces" == *"k8s.io/client-go"* ]] || die "no replace block with k8s.io/client-go in $modfile — unexpected go.mod layout"
want_mod="$(printf 'module dbtopo.local/argocdbuild\n\n%s\n\nrequire %s %s\n\n%s\n' "$goline" "$module" "$ARGOCD_VERSION" "$replaces")"
if [[ ! -f "$work/go.mod.wanted" || "$(cat "$work/go.mod.wanted")" != "$want_mod" || ! -f "$work/go.sum" ]]; then
  log "writing wrapper go.mod ($goline, $(printf '%s\n' "$replaces" | grep -c '=>') replace directives copied)"
  rm -f "$work/go.mod" "$work/go.sum" "$work/go.mod.wanted"
  printf '%s\n' "$want_mod" > "$work/go.mod"
  regen=1
else
  regen=0
fi
# the committed Go sources (health tool), then a tools file that keeps Argo CD's cmd in the graph
rm -rf "$work/health-check"
cp -R "$src/health-check" "$work/health-check"
cat > "$work/tools.go" <<'GO'
//go:build tools

package argocdbuild

import _ "github.com/argoproj/argo-cd/v3/cmd"
GO
if [[ $regen == 1 ]]; then
  log "resolving modules (go mod tidy; cold: ~2.5 min, a few hundred modules)"
  (cd "$work" && go mod tidy -e >&2) || die "go mod tidy failed in $work"
  printf '%s\n' "$want_mod" > "$work/go.mod.wanted"
fi

# go build -v prints each package it compiles: a progress line every 30 s counts them.
build() {
  local what="$1" outfile="$2" pkg="$3" ldflags="$4" blog pid t0 n
  blog="$stage/$what.log"
  t0=$(date +%s)
  (cd "$work" && exec go build -v -trimpath -ldflags "$ldflags" -o "$outfile" "$pkg") 2>"$blog" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then
      n=$(grep -c . "$blog" || true)
      log "[$what] still building: $n packages compiled, $(( $(date +%s) - t0 ))s"
    fi
  done
  if ! wait "$pid"; then
    tail -n 40 "$blog" >&2
    die "go build of $pkg failed (log above)"
  fi
  log "[$what] built in $(( $(date +%s) - t0 ))s"
}

# Argo CD's version stamp (common.version…), as its Makefile sets it; the module proxy knows no
# commit hash, so the version reads v<version>+unknown unless the .info file has one.
commit="$(sed -n 's/.*"Hash":"\([0-9a-f]\{40\}\)".*/\1/p' "$infofile" 2>/dev/null || true)"
pkgvar=github.com/argoproj/argo-cd/v3/common
ldflags="-s -w -X $pkgvar.version=${ARGOCD_VERSION#v} -X $pkgvar.buildDate=1970-01-01T00:00:00Z -X $pkgvar.gitTag=$ARGOCD_VERSION -X $pkgvar.gitTreeState=clean"
[[ -n "$commit" ]] && ldflags+=" -X $pkgvar.gitCommit=$commit"
if ! [[ -f "$out/.complete" && -x "$out/argocd" ]]; then
  log "[argocd] go build $module/cmd (cold: ~10 min on 2 shared cores with empty Go caches)"
  build argocd "$stage/argocd" "$module/cmd" "$ldflags"
  mv -f "$stage/argocd" "$out/argocd"
  for r in "${roles[@]}"; do ln -sfn argocd "$out/$r"; done
  "$out/argocd" version --client --short >/dev/null 2>&1 || die "$out/argocd does not run: $("$out/argocd" version --client 2>&1 | tail -3)"
  printf 'argocd=%s go=%s build_seconds=%s\n' "$ARGOCD_VERSION" "$(go env GOVERSION)" "$(( $(date +%s) - start ))" > "$out/.complete"
fi

# Argo CD's CRDs of the same version, for the management control plane of test/gitops
mkdir -p "$out/crds"
for c in "${crds[@]}"; do
  [[ -s "$moddir/manifests/crds/$c" ]] || die "no manifests/crds/$c in $moddir"
  cp "$moddir/manifests/crds/$c" "$out/crds/$c.tmp" && chmod u+w "$out/crds/$c.tmp" && mv -f "$out/crds/$c.tmp" "$out/crds/$c"
done

log "[health] go build dbtopo-argocd-health"
build health "$stage/dbtopo-argocd-health" ./health-check "$ldflags"
mv -f "$stage/dbtopo-argocd-health" "$out/dbtopo-argocd-health"
echo "$hash" > "$out/.health-src"

complete_in "$out" || die "build finished but files are missing in $out"
elapsed=$(( $(date +%s) - start ))
log "ready in $out after ${elapsed}s: $("$out/argocd" version --client --short 2>/dev/null | head -1)"
echo "BUILD_SECONDS=$elapsed" >&2
echo "$out"
}

main "$@"
exit $?
