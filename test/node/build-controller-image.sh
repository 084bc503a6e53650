#!/usr/bin/env bash
# Builds dbtopo.local/controller:dev, the controller image the real node runs from
# controller/install/install.yaml (test/node/controller-pod.test.ts): the package as a user gets it
# (`npm pack` of this checkout, its production dependencies installed from the packed
# npm-shrinkwrap.json), Node 22 (scripts/ensure-node.sh) and the shared libraries that binary needs,
# copied from this machine; user 65532 as in install.yaml. No registry, no base image.
# Into ${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/images/controller/controller.tar, rebuilt when the packed
# package or the Node binary changed; the last line on stdout is the archive.
set -euo pipefail

main() {
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '[build-controller-image] %s\n' "$*" >&2; }
die() { printf '[build-controller-image] ERROR: %s\n' "$*" >&2; exit 1; }
out="${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/images/controller"
mkdir -p "$out"
node_dir=$(bash "$root/scripts/ensure-node.sh")
export PATH="$node_dir:$PATH"
work=$(mktemp -d /tmp/dbtopo-controller-image.XXXXXX)
trap 'rm -rf "$work"' EXIT

started=$(date +%s)
(cd "$root" && npm pack --silent --pack-destination "$work" >/dev/null 2>"$work/pack.log") || { cat "$work/pack.log" >&2; die "npm pack failed"; }
tarball=$(ls "$work"/*.tgz)
key=$( { tar -xOzf "$tarball" | sha256sum; sha256sum "$node_dir/node"; cat "$0" "$here/oci-archive.sh"; } | sha256sum | cut -c1-16)
if [[ -f "$out/.key" && "$(cat "$out/.key")" == "$key" && -f "$out/controller.tar" ]]; then
  log "cache warm"
  echo "$out/controller.tar"
  exit 0
fi

rootfs="$work/rootfs"
mkdir -p "$rootfs/app" "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp"
tar -xzf "$tarball" -C "$rootfs/app" --strip-components=1
(cd "$rootfs/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2) || die "npm ci --omit=dev failed"
cp "$node_dir/node" "$rootfs/usr/local/bin/node"
# the binary's shared libraries, from this machine (Debian's glibc and libstdc++)
for lib in $(ldd "$node_dir/node" | grep -oE '/[^ ]+\.so[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/app:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
source "$here/oci-archive.sh"
oci_archive "$out/controller.tar" "$rootfs" dbtopo.local/controller:dev \
  '{"User":"65532:65532","Env":["PATH=/usr/local/bin:/usr/bin:/bin","NODE_ENV=production"],"WorkingDir":"/app","Cmd":["node","dist/controller/main.js"]}'
echo "$key" > "$out/.key"
log "built in $(( $(date +%s) - started ))s"
echo "$out/controller.tar"
}
main "$@"
