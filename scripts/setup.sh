#!/usr/bin/env bash
# Installs the Debian 12 packages hcmsn needs and builds it (Release) into build/.
# Usage: scripts/setup.sh [--no-build] [--bench]
#   --bench  also installs the Python reference stack the benchmarks compare against.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
bench=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --bench) bench=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread
  libopencv-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libfaiss-dev libcpp-httplib-dev libgloo-dev libboost-dev
  python3 python3-numpy python3-pip
  chromium chromium-driver python3-selenium wrk
)
if [ "$bench" = 1 ]; then
  packages+=(python3-sklearn python3-mpmath python3-torch python3-torchvision)
fi

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's default BLAS alternative is the reference implementation (~50x slower matmuls).
for lib in libblas.so.3 liblapack.so.3; do
  alt=$(update-alternatives --list "${lib}-x86_64-linux-gnu" 2>/dev/null | grep openblas-pthread | head -n1 || true)
  if [ -n "$alt" ]; then $sudo_cmd update-alternatives --set "${lib}-x86_64-linux-gnu" "$alt" >/dev/null; fi
done

if [ "$build" = 1 ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j "$(nproc)"
fi
