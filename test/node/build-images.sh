#!/usr/bin/env bash
# Builds the real node's images without any registry, as OCI image archives that
# `ctr -n k8s.io images import` takes (test/node/node.ts imports them into the node's containerd):
#   pause.tar    dbtopo.local/pause:1    the pod sandbox: a static Go binary (test/node/pause/main.go)
#   busybox.tar  dbtopo.local/busybox:1  Debian's static busybox, uid/gid 999 in /etc/passwd
#   engines/engines.tar                  one Debian bookworm root filesystem (mmdebstrap) with
#                redis-server, redis-sentinel, mariadb-server, nutcracker and haproxy from Debian's
#                packages, under the names the node environment renders (test/node/env/), each its
#                own image config over the one shared layer; the official images' conventions:
#                the engines' users are uid/gid 999 (redis and mysql, as in redis:7.2 and
#                mariadb:10.11), /data and /var/lib/mysql and /run/mysqld owned by 999, no data
#                directory baked in (the rendered pod initialises its own)
# Into ${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/images/. Idempotent: a set is rebuilt only when its
# inputs changed (this script, the pause source, the busybox binary; for the engines the package
# list, the customisation and the tags); the last line on stdout is the directory. Needs Go (the pause binary),
# busybox-static and mmdebstrap (ensure-runtime.sh), root, and Debian's package mirror.
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

work=$(mktemp -d /tmp/dbtopo-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

source "$here/oci-archive.sh"

# --- pause and busybox (under a second): one key for their inputs
key=$(cat "$0" "$here/pause/main.go" "$busybox" | sha256sum | cut -c1-16)
if [[ -f "$out/.key" && "$(cat "$out/.key")" == "$key" && -f "$out/pause.tar" && -f "$out/busybox.tar" ]]; then
  log "pause, busybox: cache warm"
else
# --- pause
  mkdir -p "$work/pause-root"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/pause-root/pause" "$here/pause/main.go") \
    || die "go build of the pause binary failed"
  oci_archive "$out/pause.tar" "$work/pause-root" dbtopo.local/pause:1 '{"Entrypoint":["/pause"]}'
  
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
  chown 999:999 "$root/data"
  oci_archive "$out/busybox.tar" "$root" dbtopo.local/busybox:1 \
    '{"Entrypoint":["/bin/sh"],"Env":["PATH=/bin"],"WorkingDir":"/data"}'
  echo "$key" > "$out/.key"
fi

# --- the engines (about 35 s for mmdebstrap, 15 s to pack; 420 MiB): Debian's packages
engine_packages=(redis-server redis-sentinel mariadb-server mariadb-client nutcracker haproxy procps)
# The official images' conventions: the engines' users are uid/gid 999; their directories are
# theirs; no data directory is baked in (Debian's postinst initialises one: removed).
customize='set -e
  usermod -o -u 999 redis; groupmod -o -g 999 redis
  usermod -o -u 999 mysql; groupmod -o -g 999 mysql
  rm -rf /var/lib/mysql /var/lib/redis /var/cache/apt/* /var/lib/apt/lists/*
  mkdir -p /data /var/lib/mysql /run/mysqld /var/log/mysql /var/lib/redis /etc/redis
  chown 999:999 /data /var/lib/mysql /run/mysqld /var/log/mysql /var/lib/redis /etc/redis'
# The key: what goes into the image (packages, the customisation, the archive format, the tags below).
engines_key=$(printf '%s\n' "${engine_packages[@]}" "$customize" "$(cat "$here/oci-archive.sh")" "$(sed -n '/^  oci_archive "$out\/engines/,/haproxy:2.6/p' "$0")" | sha256sum | cut -c1-16)
if [[ -f "$out/engines/.key" && "$(cat "$out/engines/.key")" == "$engines_key" && -f "$out/engines/engines.tar" ]]; then
  log "engines: cache warm$(sed -n 's/^\([0-9]*\)$/, built cold in \1 s/p' "$out/engines/.build-seconds" 2>/dev/null)"
else
  command -v mmdebstrap >/dev/null 2>&1 || die "no mmdebstrap (run test/node/ensure-runtime.sh)"
  [[ $(id -u) -eq 0 ]] || die "the engine images' root filesystem needs root (mmdebstrap --mode=root)"
  rootfs="$work/engines-root"
  started=$(date +%s)
  log "engines: mmdebstrap bookworm with ${engine_packages[*]}"
  if ! mmdebstrap --variant=essential --mode=root --include="$(IFS=,; echo "${engine_packages[*]}")" \
      --aptopt='APT::Install-Recommends "false"' \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --customize-hook="chroot \"\$1\" sh -c '$customize'" \
      bookworm "$rootfs" \
      "deb http://deb.debian.org/debian bookworm main" \
      "deb http://deb.debian.org/debian bookworm-updates main" \
      "deb http://deb.debian.org/debian-security bookworm-security main" > "$work/mmdebstrap.log" 2>&1; then
    tail -n 30 "$work/mmdebstrap.log" >&2
    die "mmdebstrap failed"
  fi
  v() { chroot "$rootfs" dpkg-query -W -f='${Version}' "$1"; }
  log "engines: redis-server $(v redis-server), mariadb-server $(v mariadb-server), nutcracker $(v nutcracker), haproxy $(v haproxy)"
  env_path='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
  redis='{"User":"999:999",'"$env_path"',"WorkingDir":"/data","Cmd":["redis-server"]}'
  mariadb='{"User":"999:999",'"$env_path"',"WorkingDir":"/var/lib/mysql","Cmd":["mariadbd"]}'
  # The tags are the names test/node/env/node.yaml renders (the topologies' versions); what each
  # really holds is the Debian version logged above and written to engines/versions.
  oci_archive "$out/engines/engines.tar" "$rootfs" \
    dbtopo.local/redis:7.2.4 "$redis" \
    dbtopo.local/mariadb:10.11 "$mariadb" \
    dbtopo.local/mariadb:10.11.6 "$mariadb" \
    dbtopo.local/twemproxy:0.5.0 '{"User":"999:999",'"$env_path"',"Cmd":["nutcracker"]}' \
    dbtopo.local/haproxy:2.6 '{"User":"999:999",'"$env_path"',"Cmd":["haproxy"]}'
  printf 'redis-server=%s\nmariadb-server=%s\nnutcracker=%s\nhaproxy=%s\n' \
    "$(v redis-server)" "$(v mariadb-server)" "$(v nutcracker)" "$(v haproxy)" > "$out/engines/versions"
  echo "$(( $(date +%s) - started ))" > "$out/engines/.build-seconds"
  echo "$engines_key" > "$out/engines/.key"
  log "engines: built in $(( $(date +%s) - started ))s"
fi

echo "$out"
}
main "$@"
