#!/usr/bin/env bash
# Builds the real node's images without any registry, as OCI image archives that
# `ctr -n k8s.io images import` takes (test/node/node.ts imports them into the node's containerd):
#   dbtopo.local/pause:1    the pod sandbox: a static Go binary (test/node/pause/main.go)
#   dbtopo.local/busybox:1  Debian's static busybox with the official images' user convention
#                           (uid/gid 999, /data owned by it), for the node's own tests
# Into ${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/images/<name>.tar. Idempotent: an archive is rebuilt
# only when its inputs (this script, the pause source, the busybox binary) changed; the last line
# on stdout is the directory. Needs Go (the pause binary) and busybox-static (ensure-runtime.sh).
set -euo pipefail

main() {
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[build-images] %s\n' "$*" >&2; }
die() { printf '[build-images] ERROR: %s\n' "$*" >&2; exit 1; }

out="${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/images"
mkdir -p "$out"
busybox=/bin/busybox
[[ -x "$busybox" ]] && "$busybox" --list >/dev/null 2>&1 || die "no static busybox at $busybox (run test/node/ensure-runtime.sh)"
command -v go >/dev/null 2>&1 || die "no go on PATH (the pause image is a Go binary)"

# One key for all inputs: a changed input rebuilds both archives (they take under a second).
key=$(cat "$0" "$here/pause/main.go" "$busybox" | sha256sum | cut -c1-16)
if [[ -f "$out/.key" && "$(cat "$out/.key")" == "$key" && -f "$out/pause.tar" && -f "$out/busybox.tar" ]]; then
  log "cache warm ($out)"
  echo "$out"
  exit 0
fi

work=$(mktemp -d /tmp/dbtopo-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

# oci_archive <name> <ref> <rootfs> <config-json-fragment>: an OCI image layout tar with one
# uncompressed layer; `io.containerd.image.name` is the name ctr gives the imported image.
oci_archive() {
  local name=$1 ref=$2 rootfs=$3 config=$4
  local layout="$work/$name-layout"
  mkdir -p "$layout/blobs/sha256"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$rootfs" -cf "$work/$name-layer.tar" .
  local layer_digest layer_size
  layer_digest=$(sha256sum "$work/$name-layer.tar" | cut -d' ' -f1)
  layer_size=$(stat -c %s "$work/$name-layer.tar")
  mv "$work/$name-layer.tar" "$layout/blobs/sha256/$layer_digest"
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config" "$layer_digest" > "$work/$name-config.json"
  local config_digest config_size
  config_digest=$(sha256sum "$work/$name-config.json" | cut -d' ' -f1)
  config_size=$(stat -c %s "$work/$name-config.json")
  mv "$work/$name-config.json" "$layout/blobs/sha256/$config_digest"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" > "$work/$name-manifest.json"
  local manifest_digest manifest_size
  manifest_digest=$(sha256sum "$work/$name-manifest.json" | cut -d' ' -f1)
  manifest_size=$(stat -c %s "$work/$name-manifest.json")
  mv "$work/$name-manifest.json" "$layout/blobs/sha256/$manifest_digest"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_digest" "$manifest_size" "$ref" "${ref##*:}" > "$layout/index.json"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$layout" -cf "$out/$name.tar.partial" .
  mv "$out/$name.tar.partial" "$out/$name.tar"
  log "$ref -> $out/$name.tar ($(( $(stat -c %s "$out/$name.tar") / 1024 )) KiB)"
}

# --- pause
mkdir -p "$work/pause-root"
(cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/pause-root/pause" "$here/pause/main.go") \
  || die "go build of the pause binary failed"
oci_archive pause dbtopo.local/pause:1 "$work/pause-root" '{"Entrypoint":["/pause"]}'

# --- busybox: the shell, an /etc/passwd with the engines' uid 999, /data and /tmp
root="$work/busybox-root"
mkdir -p "$root/bin" "$root/etc" "$root/data" "$root/tmp" "$root/root"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [[ "$applet" == busybox ]] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\ndbtopo:x:999:999:dbtopo:/data:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\ndbtopo:x:999:\nnogroup:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"
# Ownership is numeric in the tar (--owner=0 for everything); /data's owner comes from fsGroup or
# the pod's own init, as with the official images' volumes.
oci_archive busybox dbtopo.local/busybox:1 "$root" \
  '{"Entrypoint":["/bin/sh"],"Env":["PATH=/bin"],"WorkingDir":"/data"}'

echo "$key" > "$out/.key"
echo "$out"
}
main "$@"
