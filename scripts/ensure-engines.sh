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
# shellcheck disable=SC2086
exec "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" ensure-engines $pkgs
