#!/usr/bin/env bash
# Data-parallel training throughput on this machine (issue 13): the same training on a feature
# cache (HCMSN heads, d = 512, batch 128 = 16 classes x 4 x 2 modalities, BATCHES steps) as
#   1 process with 2 threads, 1 process with 1 thread, and 2 processes (--nproc 2) of 1 thread,
# samples/s from each run's log, and for the 2-process run the share of the epoch spent
# averaging gradients (allreduce_share). Then sharded evaluation: `hcmsn eval` of the first run
# on every class of the cache against every photo (--classes all --gallery all), wall seconds
# the same three ways. Prints markdown tables.
#
# Usage: scripts/bench_data_parallel.sh [WORK] ; env: CACHE (a feature cache; default: extracted
# from ../shared's TU-Berlin sketches and photos) and SPLIT (its split, tuberlin30), SHARED
# (../shared), HCMSN (build/hcmsn), BATCHES (40).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=${1:-bench-data-parallel}
shared=$(realpath "${SHARED:-../shared}")
hcmsn=$(realpath "${HCMSN:-build/hcmsn}")
batches=${BATCHES:-40}
mkdir -p "$work"
work=$(realpath "$work")
cache=${CACHE:-$work/tuberlin.cache}
if [ ! -f "$cache" ]; then
  "$hcmsn" extract --quiet --sketch-dir "$shared/data/tuberlin40" --photo-dir "$shared/data/photos" \
    --split tuberlin30 --keep-out-of-split --backbone mobilenet_v2 \
    --weights "$shared/weights/mobilenet_v2_imagenet.safetensors" --out "$cache"
fi
run() {  # NAME THREADS [FLAGS...]
  local name=$1 threads=$2
  shift 2
  rm -rf "$work/$name"
  OMP_WAIT_POLICY=PASSIVE "$hcmsn" --threads "$threads" --log-level warn train --quiet \
    --features "$cache" --split "${SPLIT:-tuberlin30}" --train-classes sketched \
    --semantics "$repo/share/semantics/bert_minilm_all.npy" \
    --semantics-classes "$repo/share/semantics/bert_minilm_all.classes.txt" \
    --epochs 1 --batches-per-epoch "$batches" --eval-every 0 --out "$work/$name" "$@" 2>/dev/null
  python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).readlines()[-1]); \
print(r['samples_per_second'], r.get('allreduce_share', 0))" "$work/$name/log.jsonl"
}
read -r one_two _ < <(run p1t2 2)
read -r one_one _ < <(run p1t1 1)
read -r two_one share < <(run p2t1 1 --nproc 2)
echo "| setting | samples/s | vs 1 process, 2 threads | all-reduce share |"
echo "|---|---|---|---|"
awk -v a="$one_two" -v b="$one_one" -v c="$two_one" -v s="$share" 'BEGIN {
  printf "| 1 process, 2 threads | %.0f | 1.00 | |\n", a
  printf "| 1 process, 1 thread | %.0f | %.2f | |\n", b, b / a
  printf "| 2 processes (--nproc 2), 1 thread each | %.0f | %.2f | %.1f%% |\n", c, c / a, 100 * s }'

# Sharded evaluation: embedding in blocks and ranking in query shares (eval --nproc).
evaluate() {  # THREADS [FLAGS...]: wall seconds of one eval
  local threads=$1
  shift
  local start end
  start=$(date +%s.%N)
  OMP_WAIT_POLICY=PASSIVE "$hcmsn" --threads "$threads" --log-level warn eval --quiet \
    --run "$work/p1t2" --classes all --gallery all --json "$work/eval.json" --force "$@" >/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}
e12=$(evaluate 2)
e11=$(evaluate 1)
e21=$(evaluate 1 --nproc 2)
queries=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
print(r['num_queries'], 'x', r['num_gallery'])" "$work/eval.json")
echo
echo "| eval, $queries (every class, every photo) | seconds | speed vs 1 process, 2 threads |"
echo "|---|---|---|"
awk -v a="$e12" -v b="$e11" -v c="$e21" 'BEGIN {
  printf "| 1 process, 2 threads | %.2f | 1.00 |\n", a
  printf "| 1 process, 1 thread | %.2f | %.2f |\n", b, a / b
  printf "| 2 processes (--nproc 2), 1 thread each | %.2f | %.2f |\n", c, a / c }'
