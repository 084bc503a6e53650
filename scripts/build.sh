#!/usr/bin/env bash
# Builds dist/ (tsc) when any TypeScript source is newer than the last build; quiet when fresh.
# Called by env.sh, and as package.json's `prepare` script, which npm runs after `npm ci` in a
# checkout and when it installs dbtopo from a Git URL (npm clones, installs the devDependencies,
# runs `prepare`, packs). In an unpacked package (no tsconfig.json: dist/ is shipped) it does nothing.
# It uses the `node` on PATH: env.sh puts Node 22 there first; npm runs it with the user's Node.
set -euo pipefail
# Always its own checkout: an inherited DBTOPO_ROOT (scripts/test exports one) would make the
# prepare of a Git clone check, and skip, the build of the checkout that started npm.
DBTOPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -f "$DBTOPO_ROOT/tsconfig.json" ] || exit 0
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
