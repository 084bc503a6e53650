#!/usr/bin/env bash
# Makes sure the test control plane binaries exist (builds them once if needed) and
# prints the directory that holds etcd, kube-apiserver and kube-controller-manager.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/build-k8s.sh" | tail -n 1
