#!/usr/bin/env bash
# Sets satsal up on Debian 12: installs the missing Debian packages (non-interactive), then
# configures and builds into build/. Idempotent: a second run installs nothing and rebuilds
# only what changed. Run as root (or with sudo available).
#
#   tools/setup.sh             everything the README's examples and the tests need
#   tools/setup.sh --minimal   without the heavy extras (python3-torch, python3-torchvision and
#                              their Python dependencies, ~170 MB, used only by the scripts
#                              tools/*.py); satsal and every README example not marked
#                              "needs python3-torch" still work
set -euo pipefail
cd "$(dirname "$0")/.."

minimal=false
for arg in "$@"; do
  case "$arg" in
    --minimal) minimal=true ;;
    -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "setup: unknown option '$arg' (expected --minimal or --help)" >&2; exit 2 ;;
  esac
done

# Build and run: compiler, CMake and the libraries CMakeLists.txt requires; Open MPI for the
# README's mpirun example and the MPI tests; Slurm and munge for the private one-node cluster of
# tests/hpc; python3 runs the README check in the test suite (tests/docs/check_readme.py);
# gnuplot draws the plots of `satsal evaluate`; Eigen (header-only) solves its ROAD imputation;
# OpenSSL's libcrypto hashes model files (SHA-256 with the CPU's SHA instructions).
packages=(cmake g++ make pkg-config
          libtorch-dev libgdal-dev gdal-bin libtbb-dev libhdf5-dev hdf5-tools
          libboost-program-options-dev catch2 libbz2-dev nlohmann-json3-dev libssl-dev
          libopenmpi-dev openmpi-bin slurmd slurmctld slurm-client munge python3 gnuplot-nox
          libeigen3-dev)
# Heavy extras: PyTorch for tools/export_model.py, tools/make_count_model.py and the fixture
# scripts (the README examples that call them say "needs python3-torch").
extras=(python3-torch python3-torchvision)
if ! $minimal; then packages+=("${extras[@]}"); fi

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
  # env: sudo drops the caller's environment, so DEBIAN_FRONTEND is passed on the command line.
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
