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
# shellcheck disable=SC2086
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt-install.sh" ensure-runtime $pkgs
