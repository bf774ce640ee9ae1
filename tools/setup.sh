#!/usr/bin/env bash
# Sets satsal up on Debian 12: installs the missing Debian packages (non-interactive), then
# configures and builds into build/. Idempotent: a second run installs nothing and rebuilds
# only what changed. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make pkg-config
          libtorch-dev libgdal-dev gdal-bin libtbb-dev libhdf5-dev hdf5-tools
          libboost-program-options-dev catch2 libbz2-dev nlohmann-json3-dev)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
