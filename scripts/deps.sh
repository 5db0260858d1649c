#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing sipwarden
# need, when they are missing. Root in CI; sudo otherwise.
# SW_DEPS_BENCH=1 adds what `make bench` needs.
set -euo pipefail

pkgs=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libfyaml-dev libcmocka-dev libc-ares-dev libssl-dev
  libsqlite3-dev # the location store (src/store/sqlite.c)
  dnsmasq-base # a real DNS server on loopback for tests/unit/test_dns.c
  python3 python3-pytest sip-tester sipsak iproute2 clang-format baresip-core
)
if [ "${SW_DEPS_BENCH:-0}" = 1 ]; then
  pkgs+=(libosip2-dev libre-dev kamailio sip-tester)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
