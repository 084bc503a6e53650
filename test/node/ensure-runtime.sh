#!/usr/bin/env bash
# Installs the real node's container runtime and network from Debian's packages: containerd (the
# CRI server), runc, the CNI plugins (bridge, host-local, loopback, portmap), conntrack and
# iptables (kube-proxy), busybox-static (the test images' shell) and mmdebstrap (the engine images'
# root filesystem, test/node/build-images.sh). Idempotent: does nothing when
# every command is already there. Needs root (or sudo) on first run. The packages' own services
# never start: the node harness (test/node/node.ts) runs containerd as its own process.
set -euo pipefail

packages=(containerd runc containernetworking-plugins conntrack iptables busybox-static mmdebstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ensure-runtime: need root to install: $pkgs (apt-get install $pkgs)" >&2; exit 1; }
  sudo="sudo"
fi
command -v apt-get >/dev/null 2>&1 || { echo "ensure-runtime: no apt-get; install these yourself: $pkgs" >&2; exit 1; }
echo "ensure-runtime: installing $pkgs from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
fi
trap '[ $created_policy -eq 1 ] && $sudo rm -f "$policy"' EXIT
log=$(mktemp /tmp/dbtopo-apt.XXXXXX.log)
# shellcheck disable=SC2086
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends $pkgs; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "ensure-runtime: apt-get failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
