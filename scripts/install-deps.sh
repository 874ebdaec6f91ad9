#!/usr/bin/env bash
# Installs the Debian 12 packages dspy-cpp builds with (DESIGN.md §2), only those that are missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(clang-16 libclang-rt-16-dev g++-12 cmake ninja-build ccache libboost1.81-dev libboost-url1.81-dev
          libssl-dev ca-certificates nlohmann-json3-dev libsqlite3-dev libfmt-dev libcli11-dev libgtest-dev
          libgmock-dev libbenchmark-dev libtcmalloc-minimal4 sqlite3 procps)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
