#!/usr/bin/env bash
# Everything the real node (test/node/node.ts) needs, idempotent and cached: the container runtime
# and CNI plugins from Debian's packages (ensure-runtime.sh), kubelet/kube-proxy/kube-scheduler
# from the API server's k8s.io/kubernetes version (build-k8s.sh node), and the images
# (build-images.sh), CoreDNS and the local-path provisioner (build-addons.sh). Progress and timings
# go to stderr; stdout ends with three lines:
#   NODE_BIN_DIR=<dir>
#   IMAGE_DIR=<dir>
#   ADDON_DIR=<dir>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
start=$(date +%s)
"$here/ensure-runtime.sh"
bin_dir=$("$here/../cluster/build-k8s.sh" node | tail -n 1)
image_dir=$("$here/build-images.sh" | tail -n 1)
addon_dir=$("$here/build-addons.sh" | tail -n 1)
# What a cold set-up of these parts cost on this machine (the builds record it), beside what this
# run took: a warm run says both, so CI logs show the cold figure without paying it.
secs() { local s; s=$(sed -n 's/.*build_seconds=\([0-9]*\).*/\1/p' "$1" 2>/dev/null); echo "${s:+${s}s}"; }
images=$(cat "$image_dir/engines/.build-seconds" 2>/dev/null || true); images=${images:+${images}s}
printf '[ensure-node] real node parts ready in %ss (cold builds here: kubelet/kube-proxy/kube-scheduler %s, engine images %s, CoreDNS + local-path-provisioner %s; apt packages not counted)\n' \
  "$(( $(date +%s) - start ))" "$(secs "$bin_dir/.complete" | grep . || echo 'not recorded')" "${images:-not recorded}" "$(secs "$addon_dir/.complete" | grep . || echo 'not recorded')" >&2
echo "NODE_BIN_DIR=$bin_dir"
echo "IMAGE_DIR=$image_dir"
echo "ADDON_DIR=$addon_dir"
