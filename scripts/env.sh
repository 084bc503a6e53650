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
build_stamp="$DBTOPO_ROOT/dist/.build-stamp"
if [ ! -f "$build_stamp" ] || [ -n "$(find "$DBTOPO_ROOT/schemas" "$DBTOPO_ROOT/compiler" "$DBTOPO_ROOT/controller" "$DBTOPO_ROOT/test" \
     -name '*.ts' -newer "$build_stamp" -print -quit 2>/dev/null)" ]; then
  echo "dbtopo: building (tsc)" >&2
  # Built beside dist/ and swapped in by two renames, so a test or controller that runs from dist/
  # meanwhile never finds it half-deleted (it used to be rm -rf'd first), and no stale output of a
  # deleted source survives.
  rm -rf "$DBTOPO_ROOT/dist.new" "$DBTOPO_ROOT/dist.old"
  (cd "$DBTOPO_ROOT" && node node_modules/typescript/bin/tsc -p tsconfig.json --outDir dist.new >&2)
  touch "$DBTOPO_ROOT/dist.new/.build-stamp"
  if [ -d "$DBTOPO_ROOT/dist" ]; then mv "$DBTOPO_ROOT/dist" "$DBTOPO_ROOT/dist.old"; fi
  mv "$DBTOPO_ROOT/dist.new" "$DBTOPO_ROOT/dist"
  rm -rf "$DBTOPO_ROOT/dist.old"
fi
