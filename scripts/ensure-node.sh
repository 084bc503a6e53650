#!/usr/bin/env bash
# Prints the directory of a Node >= 22 binary, provisioning one when the system Node is older.
# The binary comes from the npm registry's node-linux-<arch> package (a real Node build) and is
# cached in ${XDG_CACHE_HOME:-~/.cache}/dbtopo/node/<version>; a warm call is a no-op.
set -euo pipefail
NODE_VERSION="${DBTOPO_NODE_VERSION:-22.23.3}"
min_major=22

if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge "$min_major" ]; then dirname "$(command -v node)"; exit 0; fi
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "ensure-node: unsupported CPU $(uname -m); install Node >= $min_major yourself and put it on PATH" >&2; exit 1 ;;
esac
cache="${XDG_CACHE_HOME:-$HOME/.cache}/dbtopo/node/$NODE_VERSION"
bin="$cache/node_modules/node-linux-$arch/bin"
if [ ! -x "$bin/node" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "ensure-node: need npm (any version) to fetch Node $NODE_VERSION; install it with: apt-get install npm" >&2
    exit 1
  fi
  echo "ensure-node: system Node is older than $min_major; fetching Node $NODE_VERSION into $cache" >&2
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-save --no-package-lock --ignore-scripts --loglevel=error \
    "node-linux-$arch@$NODE_VERSION" >&2
fi
"$bin/node" --version >/dev/null || { echo "ensure-node: $bin/node does not run; delete $cache and retry" >&2; exit 1; }
echo "$bin"
