# Sourced by the project's scripts: puts a Node >= 22 first on PATH and makes node_modules current.
# Idempotent and quiet when warm: npm ci runs only when package-lock.json changed since the last one.
set -euo pipefail
DBTOPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DBTOPO_ROOT
PATH="$("$DBTOPO_ROOT/scripts/ensure-node.sh"):$PATH"
export PATH
stamp="$DBTOPO_ROOT/node_modules/.dbtopo-lock-stamp"
lock_sum=$(sha256sum "$DBTOPO_ROOT/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "dbtopo: installing npm dependencies (npm ci)" >&2
  (cd "$DBTOPO_ROOT" && npm ci --loglevel=error --no-fund --no-audit >&2)
  echo "$lock_sum" >"$stamp"
fi
# Build when any TypeScript source is newer than the last build.
"$DBTOPO_ROOT/scripts/build.sh"
