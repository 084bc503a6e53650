#!/usr/bin/env bash
# Removes everything the real node with claim <n> (test/node/node.ts) put on this machine:
#   processes     containerd, kubelet, kube-proxy, kube-scheduler (listed in <dir>/pids), the
#                 containerd shims serving its socket, whatever still runs in its cgroups
#   network       its pods' cni-* network namespaces (addresses in 10.88.<n>.0/24), the bridge
#                 dbtnode<n>, the KUBE-* chains the kubelet and kube-proxy made, DBTOPO-NODE-FWD
#   the rest      mounts under /tmp/dbtopo-node-<n> (deepest first), the cgroups
#                 /sys/fs/cgroup/<hierarchy>/dbtopo-node-<n>, the sysctls (restored from the file
#                 written before the first change), the directory
# Used by stop(), by the next start (a killed run), and by the watchdog that runs it when the
# owning process dies:  cleanup-node.sh <n> [--after-pid <owner>]
# Safe on a clean machine; every step is bounded and ignores what is already gone.
set -uo pipefail

n="${1:?usage: cleanup-node.sh <n> [--after-pid <pid>]}"
[[ "$n" =~ ^[0-9]+$ ]] || { echo "cleanup-node: <n> must be a number, got '$n'" >&2; exit 2; }
if [[ "${2:-}" == --after-pid ]]; then
  owner="${3:?--after-pid needs a pid}"
  # bounded: gives up watching after 24 h
  for ((i = 0; i < 172800; i++)); do kill -0 "$owner" 2>/dev/null || break; sleep 0.5; done
fi

dir="/tmp/dbtopo-node-$n"
bridge="dbtnode$n"
cgroup="dbtopo-node-$n"
sysctls="/tmp/dbtopo-node-$n.sysctl"
socket="$dir/containerd.sock"

# --- processes: recorded ones, shims, then anything left in the node's cgroups
if [[ -f "$dir/pids" ]]; then
  while read -r pid; do
    [[ "$pid" =~ ^[0-9]+$ && "$pid" -gt 1 ]] && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; }
  done < "$dir/pids"
fi
for pid in $(pgrep -f -- "-address $socket" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
for h in /sys/fs/cgroup/*/; do
  [[ -d "$h$cgroup" ]] || continue
  find "$h$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do kill -KILL "$pid" 2>/dev/null; done
done
sleep 0.2

# --- pod network namespaces (containerd names them cni-<uuid>)
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^cni-'); do
  addrs=$(ip -n "$ns" -4 -o addr 2>/dev/null)
  # ours, or a namespace whose pod is gone (only loopback left) that an earlier run of ours left
  if grep -q "inet 10\.88\.$n\." <<<"$addrs" || ! grep -qv "inet 127\." <<<"$addrs"; then
    ip netns delete "$ns" 2>/dev/null
  fi
done

# --- mounts under the node directory, deepest first
for _ in 1 2 3; do
  mapfile -t mounts < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/self/mounts | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
  (( ${#mounts[@]} == 0 )) && break
  for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
done

# --- bridge and iptables
ip link delete "$bridge" 2>/dev/null
for table in filter nat mangle; do
  rules=$(iptables-save -t "$table" 2>/dev/null) || continue
  # jumps from the built-in chains first, then flush and delete the chains
  grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-|DBTOPO-NODE-)' <<<"$rules" | while read -r _ chain rest; do
    eval "iptables -t $table -D $chain $rest" 2>/dev/null
  done
  chains=$(grep -oE '^:(KUBE-|DBTOPO-NODE-)[A-Z0-9-]*' <<<"$rules" | cut -c2-)
  for c in $chains; do iptables -t "$table" -F "$c" 2>/dev/null; done
  for c in $chains; do iptables -t "$table" -X "$c" 2>/dev/null; done
done

# --- cgroups (children first), sysctls, files
for h in /sys/fs/cgroup/*/; do
  [[ -d "$h$cgroup" ]] && find "$h$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null
done
if [[ -f "$sysctls" ]]; then
  while IFS='=' read -r key value; do
    [[ -n "$key" ]] && echo "$value" > "/proc/sys/$key" 2>/dev/null
  done < "$sysctls"
  rm -f "$sysctls"
fi
rm -f /var/lib/cni/results/"dbtopo-node-$n"-* 2>/dev/null
if ! awk -v d="$dir" '$2 == d || index($2, d "/") == 1 {found = 1} END {exit !found}' /proc/self/mounts; then
  rm -rf -- "$dir"
fi
exit 0
