#!/usr/bin/env bash
# Installs the real database engines and tools the tests run, from Debian's packages:
# redis-server, redis-sentinel, mariadb-server, nutcracker (twemproxy), haproxy, openssl.
# Idempotent: does nothing when every command is already there. Needs root (or sudo) on first run.
set -euo pipefail

declare -A want=(
  [redis-server]=redis-server
  [redis-sentinel]=redis-sentinel
  [mariadbd]=mariadb-server
  [mariadb-install-db]=mariadb-server
  [nutcracker]=nutcracker
  [haproxy]=haproxy
  [openssl]=openssl
)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${want[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ensure-engines: need root to install: $pkgs (apt-get install $pkgs)" >&2; exit 1; }
  sudo="sudo"
fi
command -v apt-get >/dev/null 2>&1 || { echo "ensure-engines: no apt-get; install these yourself: $pkgs" >&2; exit 1; }
echo "ensure-engines: installing $pkgs from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
# The packages' own services must not start: tests run every engine as their own process.
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
  echo "ensure-engines: apt-get failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
