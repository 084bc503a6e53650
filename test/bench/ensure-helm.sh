#!/usr/bin/env bash
# Builds the pinned Helm (HELM_VERSION in test/cluster/versions.env) from its Go module
# (helm.sh/helm/v3) once and prints its directory; the compile benchmark runs `helm template` from
# it as the comparison with what a user would otherwise pick. test/cluster/ensure-go-tool.sh says
# how; DBTOPO_HELM_BIN_DIR skips the build. The version Helm reports is set as its Makefile does.
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../cluster/ensure-go-tool.sh" helm HELM_VERSION \
  helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=%v"
