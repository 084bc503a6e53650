#!/usr/bin/env bash
# Makes sure the pinned Argo CD build exists (builds it once if needed, see build-argocd.sh) and
# prints the directory that holds argocd, its role symlinks and dbtopo-argocd-health.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/build-argocd.sh" | tail -n 1
