#!/usr/bin/env bash
# Builds the pinned actionlint (ACTIONLINT_VERSION in test/cluster/versions.env) from its Go module
# once and prints its directory (test/cluster/ensure-go-tool.sh says how; DBTOPO_ACTIONLINT_BIN_DIR
# skips the build).
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../cluster/ensure-go-tool.sh" actionlint ACTIONLINT_VERSION \
  github.com/rhysd/actionlint/cmd/actionlint "-X github.com/rhysd/actionlint.version=%v"
