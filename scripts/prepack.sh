#!/usr/bin/env bash
# npm pack / npm publish (package.json prepack): builds dist/ when stale (env.sh) and ships the
# lockfile as npm-shrinkwrap.json, so an installed dbtopo runs the dependency versions its tests
# ran (npm's advice for command-line tools). postpack removes the copy again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cp "$DBTOPO_ROOT/package-lock.json" "$DBTOPO_ROOT/npm-shrinkwrap.json"
