#!/usr/bin/env bash
# The GPU check (issue 12), in one go and within 10 minutes on a GPU machine:
#   1. builds hcmsn against the LibTorch inside the machine's PyTorch
#      (torch.utils.cmake_prefix_path; CUDA, C++20 from LibTorch 2.10 on) into build-gpu/;
#   2. runs the CUDA tests (they skip on machines without a GPU), then the whole suite;
#   3. measures fine-tuning throughput on the GPU: MobileNetV2 at 224 on a generated image set,
#      the same batches, fp32 and --precision bf16, images/s from each run's log;
#   4. with 2 or more GPUs, data-parallel fine-tuning over NCCL (issue 13): `--nproc 2 --device
#      cuda`, one GPU per rank, against 1 process on the same global batches (NCCL cannot put two
#      ranks on one GPU, so a one-GPU machine reports the step as not run).
# Prints a summary and writes it to OUT/gpu_check.md (OUT defaults to gpu-check/).
#
# Needs: an NVIDIA GPU, python3 with a CUDA PyTorch, and hcmsn's other build dependencies (on
# Debian/Ubuntu: `scripts/setup.sh --no-build`, which installs them; libtorch-dev is then unused).
# Usage: scripts/gpu_check.sh [OUT] ; env: PYTHON (python3), WEIGHTS (the shared MobileNetV2;
# without it a random MobileNetV2 is written), BATCHES (40), JOBS (nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-check}
python=${PYTHON:-python3}
batches=${BATCHES:-40}
jobs=${JOBS:-$(nproc)}
mkdir -p "$out"
out=$(realpath "$out")
report=$out/gpu_check.md
log() { echo "$*" | tee -a "$report"; }
: >"$report"
started=$(date +%s)

torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
log "PyTorch $("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')"
"$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
  { log "no CUDA device visible to PyTorch: nothing to check"; exit 1; }
log "GPU: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1)"

# 1. Build (tests and the CLI; the Google Benchmark executables are not needed here).
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DHCMSN_BUILD_BENCH=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix" >"$out/cmake.log" 2>&1 ||
  { tail -30 "$out/cmake.log"; exit 1; }
cmake --build build-gpu -j "$jobs" >"$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }
log "built in $(($(date +%s) - started)) s"

# 2. The CUDA tests by name first (a failure there is what this check is for), then all.
cuda_tests='*Cuda*:Device.*:FineTune.*:Precision.*'
build-gpu/tests/hcmsn_tests --gtest_filter="$cuda_tests" 2>&1 | tee "$out/cuda_tests.log" |
  grep -E '^\[ *(OK|FAILED|SKIPPED|PASSED) ' || true
grep -q '^\[  FAILED  \]' "$out/cuda_tests.log" && log "CUDA tests: FAILED" ||
  log "CUDA tests: passed ($(grep -c '^\[       OK \]' "$out/cuda_tests.log") tests)"
OMP_WAIT_POLICY=PASSIVE ctest --test-dir build-gpu -j "$jobs" --timeout 300 \
  --output-on-failure >"$out/ctest.log" 2>&1 && log "whole suite: $(grep 'tests passed' "$out/ctest.log")" ||
  log "whole suite: $(grep 'tests passed\|tests failed' "$out/ctest.log")"

# 3. Fine-tuning throughput on the GPU, fp32 then bf16 (the same batches).
hcmsn=build-gpu/hcmsn
data=$out/data
[ -f "$data/classes.txt" ] || "$hcmsn" --log-level warn synth-images --quiet --image-size 64 \
  --photos-per-class 40 --sketches-per-class 40 --out "$data"
weights=${WEIGHTS:-../shared/weights/mobilenet_v2_imagenet.safetensors}
if [ ! -f "$weights" ]; then
  weights=$out/random_mobilenet_v2.safetensors
  "$python" - "$weights" <<'PY'
import sys, torch, torchvision
from safetensors.torch import save_file
m = torchvision.models.mobilenet_v2()
save_file({k: v.contiguous() for k, v in m.state_dict().items()
           if not k.endswith("num_batches_tracked")}, sys.argv[1])
PY
fi
for p in fp32 bf16; do
  rm -rf "$out/train-$p"
  "$hcmsn" --log-level warn train --quiet --layout generic --root "$data" \
    --unseen "$data/unseen.txt" --semantics "$data/semantics.npy" \
    --semantics-classes "$data/classes.txt" --backbone mobilenet_v2 --weights "$weights" \
    --device cuda --precision "$p" --workers 8 --classes-per-batch 16 --per-class 4 \
    --epochs 1 --batches-per-epoch "$batches" --eval-every 0 --out "$out/train-$p"
  rate=$("$python" -c "import json,sys; r=json.loads(open(sys.argv[1]).readlines()[-1]); \
print(f\"{r['samples_per_second']:.1f} images/s, data wait {100 * r['data_wait_share']:.1f}%\")" \
    "$out/train-$p/log.jsonl")
  log "fine-tuning MobileNetV2 224, batch 128, $p: $rate"
done

# 4. NCCL data parallelism: 2 ranks against the fp32 run above (same seed and batches).
gpus=$("$python" -c 'import torch; print(torch.cuda.device_count())')
if ! grep -q "HCMSN_WITH_NCCL:BOOL=ON" build-gpu/CMakeCache.txt; then
  log "NCCL: not found at build time (nccl.h; set NCCL_ROOT): the NCCL step did not run"
elif [ "$gpus" -lt 2 ]; then
  log "NCCL: $gpus GPU visible, 2 needed (one per rank): the NCCL step did not run"
else
  rm -rf "$out/train-nccl"
  "$hcmsn" --log-level warn train --quiet --layout generic --root "$data" \
    --unseen "$data/unseen.txt" --semantics "$data/semantics.npy" \
    --semantics-classes "$data/classes.txt" --backbone mobilenet_v2 --weights "$weights" \
    --device cuda --nproc 2 --dist-backend nccl --workers 4 --classes-per-batch 16 \
    --per-class 4 --epochs 1 --batches-per-epoch "$batches" --eval-every 0 --out "$out/train-nccl"
  rate=$("$python" -c "import json,sys; r=json.loads(open(sys.argv[1]).readlines()[-1]); \
print(f\"{r['samples_per_second']:.1f} images/s per rank, all-reduce {100 * r['allreduce_share']:.1f}%\")" \
    "$out/train-nccl/log.jsonl")
  log "NCCL, 2 ranks on 2 GPUs: $rate"
fi
log "total $(($(date +%s) - started)) s"
