#!/usr/bin/env bash
# Fetches the CUDA 12.4 and NCCL headers that an official CUDA LibTorch 2.5 build compiles
# against (PyPI's nvidia-* wheels; only their include/ folders are kept) into DIR/nvidia/*/include,
# for scripts/check_libtorch2.sh's NCCL check (HCMSN_CUDA_HEADERS=DIR). Range requests fetch
# only the headers (about 8 MB of 850 MB of wheels); the whole wheels are the fallback.
# Usage: scripts/fetch_cuda_headers.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
if [ -f "$dir/nvidia/nccl/include/nccl.h" ]; then
  echo "CUDA and NCCL headers already in $dir"
  exit 0
fi
mkdir -p "$dir"
# The versions PyPI's torch 2.5.1 (cu124) depends on.
wheels=(nvidia-nccl-cu12==2.21.5 nvidia-cuda-runtime-cu12==12.4.127 nvidia-cublas-cu12==12.4.5.8
        nvidia-cusparse-cu12==12.3.1.170 nvidia-cusolver-cu12==11.6.1.9 nvidia-nvtx-cu12==12.4.127)
# Only the headers' bytes, by range requests (about 8 MB); the whole wheels if that fails.
if python3 "$(dirname "$0")/fetch_wheel_headers.py" "$dir" '/include/' \
    "${wheels[@]/%/:py3-none-manylinux2014_x86_64.whl}"; then
  exit 0
fi
echo "range requests failed; downloading the whole wheels"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
  --platform manylinux2014_x86_64 --implementation cp -d "$dir" "${wheels[@]}"
python3 - "$dir" <<'PY'
import glob, os, sys, zipfile
dir = sys.argv[1]
for wheel in glob.glob(os.path.join(dir, "nvidia_*.whl")):
    with zipfile.ZipFile(wheel) as z:
        z.extractall(dir, [m for m in z.namelist() if "/include/" in m])
    os.remove(wheel)
print(f"CUDA and NCCL headers in {dir}/nvidia/*/include")
PY
