#!/usr/bin/env bash
# apt-install.sh <who> <package>...: installs Debian packages for the project's ensure scripts
# (scripts/ensure-engines.sh, test/node/ensure-runtime.sh), as root or through sudo, with the
# packages' own services kept from starting (a temporary policy-rc.d): the tests run every
# engine and daemon as their own process. apt's output goes to a log shown only on failure.
set -euo pipefail
who="${1:?usage: apt-install.sh <who> <package>...}"; shift
pkgs="$*"
[ -n "$pkgs" ] || exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "$who: need root to install: $pkgs (apt-get install $pkgs)" >&2; exit 1; }
  sudo="sudo"
fi
command -v apt-get >/dev/null 2>&1 || { echo "$who: no apt-get; install these yourself: $pkgs" >&2; exit 1; }
echo "$who: installing $pkgs from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
fi
trap '[ $created_policy -eq 1 ] && $sudo rm -f "$policy"' EXIT
log=$(mktemp /tmp/dbtopo-apt.XXXXXX.log)
# shellcheck disable=SC2086
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends $pkgs; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "$who: apt-get failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
