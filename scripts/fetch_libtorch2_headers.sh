#!/usr/bin/env bash
# Fetches the C++ headers of an official LibTorch 2.x (PyPI's torch wheel, only its
# torch/include folder) into DIR, for scripts/check_libtorch2.sh.
# Usage: scripts/fetch_libtorch2_headers.sh DIR [VERSION (2.5.1)]
set -euo pipefail
dir=${1:?usage: $0 DIR [VERSION]}
version=${2:-2.5.1}
if [ -f "$dir/torch/include/ATen/ATen.h" ]; then
  echo "LibTorch headers already in $dir"
  exit 0
fi
mkdir -p "$dir"
# Only the headers' bytes, by range requests (9 MB of the 906 MB wheel); the whole wheel if that
# fails.
if python3 "$(dirname "$0")/fetch_wheel_headers.py" "$dir" '^torch/include/' \
    "torch==$version:cp311-cp311-manylinux1_x86_64.whl"; then
  exit 0
fi
echo "range requests failed; downloading the whole wheel"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
  --platform manylinux1_x86_64 --implementation cp "torch==$version" -d "$dir"
python3 - "$dir" <<'PY'
import glob, os, sys, zipfile
dir = sys.argv[1]
wheel = glob.glob(os.path.join(dir, "torch-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.startswith("torch/include/")]
    z.extractall(dir, members)
os.remove(wheel)
print(f"{len(members)} header files of {os.path.basename(wheel)} in {dir}/torch/include")
PY
