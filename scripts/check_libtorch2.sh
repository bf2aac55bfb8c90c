#!/usr/bin/env bash
# Compiles every C++ source against another LibTorch's headers (syntax and API check only, no
# link), e.g. the headers of an official LibTorch 2.x / pip torch wheel, to keep the code free of
# APIs that exist in only one of Debian's 1.13 and 2.x.
# Usage: scripts/check_libtorch2.sh TORCH_INCLUDE_DIR [FILE.cpp...]
#   TORCH_INCLUDE_DIR holds ATen/, c10/, torch/; without files, every source is checked.
#   With HCMSN_CUDA_HEADERS=DIR (scripts/fetch_cuda_headers.sh DIR), the sources with an NCCL
#   path (HCMSN_WITH_NCCL) are compiled once more as a CUDA build with NCCL compiles them.
set -euo pipefail
cd "$(dirname "$0")/.."
inc=${1:?usage: $0 TORCH_INCLUDE_DIR [FILE.cpp...]}
shift
# LibTorch >= 2.10 requires C++20 (CMakeLists.txt switches the same way).
std=c++17
grep -q "C++20 or later compatible compiler is required" "$inc/ATen/ATen.h" 2>/dev/null && std=c++20
# USE_DISTRIBUTED and USE_C10D_GLOO: what LibTorch's own CMake config (Caffe2Targets) defines.
flags=(-std=$std -fopenmp -D_GLIBCXX_USE_CXX11_ABI=1 -DUSE_DISTRIBUTED
       -DUSE_C10D_GLOO -Iinclude -Itests
       -isystem "$inc" -isystem "$inc/torch/csrc/api/include" $(pkg-config --cflags opencv4)
       -DHCMSN_FIXTURES_DIR='""' -DHCMSN_SHARED_DIR='""' -DHCMSN_CLI_PATH='""')
# LibTorch's headers are most of each file's time: precompile <torch/torch.h> once and put it
# first in every file (one file measured: 3.5 s of CPU instead of 11.4 s).
pch=$(mktemp -d)
trap 'rm -rf "$pch"' EXIT
echo '#include <torch/torch.h>' > "$pch/torch_all.h"
# The header is a few hundred MB: where it cannot be written (a full disk failed a CI run), every
# file is checked without it, slower but the same check.
if g++ "${flags[@]}" -x c++-header "$pch/torch_all.h" -o "$pch/torch_all.h.gch"; then
  export CHECK_FLAGS="${flags[*]} -fsyntax-only -Winvalid-pch -include $pch/torch_all.h"
else
  rm -f "$pch/torch_all.h.gch"
  echo "WARNING: could not precompile <torch/torch.h> ($(df -h "$pch" | tail -n 1)); checking without it"
  export CHECK_FLAGS="${flags[*]} -fsyntax-only"
fi
# One compiler per core; each prints FAIL and its first errors.
list_sources() {
  if [ "$#" -gt 0 ]; then printf '%s\0' "$@"; else find src apps tests bench -name '*.cpp' -print0; fi
}
if list_sources "$@" |
    xargs -0 -P "$(nproc)" -I{} bash -c 'err=$(g++ $CHECK_FLAGS "$1" 2>&1) || { echo "FAIL $1"; echo "$err" | grep -m5 error; exit 1; }' _ {}; then
  echo "all sources compile with -std=$std against $inc"
else
  exit 1
fi
if [ -n "${HCMSN_CUDA_HEADERS:-}" ]; then
  # The defines CMakeLists.txt sets when it finds NCCL, and USE_CUDA as a CUDA LibTorch has it.
  nccl_flags=("${flags[@]}" -fsyntax-only -DUSE_CUDA -DUSE_C10D_NCCL -DHCMSN_WITH_NCCL)
  for d in "$HCMSN_CUDA_HEADERS"/nvidia/*/include; do nccl_flags+=(-isystem "$d"); done
  for f in $(grep -rl "HCMSN_WITH_NCCL" src apps); do
    g++ "${nccl_flags[@]}" "$f" || { echo "FAIL (NCCL) $f"; exit 1; }
  done
  echo "the NCCL path compiles against $inc and the CUDA headers of $HCMSN_CUDA_HEADERS"
fi
