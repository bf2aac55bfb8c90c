#!/usr/bin/env bash
# bf16 autocast against float32 on this CPU (issue 12), side by side in one run:
#   1. extraction: the QuickDraw-Ext split's images of ../shared (QuickDraw drawings, TU-Berlin
#      sketches, cut-out photos) through the shared MobileNetV2 in each precision: images/s, and
#      the untrained features' mAP@all on the split's unseen classes (both galleries), so any
#      change of the metrics shows next to the speed-up;
#   2. fine-tuning: the same streamed training (MobileNetV2 at 224, the same batches, workers and
#      loss terms) for BATCHES steps in each precision: images/s from the run's log.
# Prints a markdown table and the bf16 / fp32 ratios.
#
# Usage: scripts/bench_precision.sh [WORK] ; env: SHARED (../shared), HCMSN (build/hcmsn),
# BATCHES (12).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=${1:-bench-precision}
shared=$(realpath "${SHARED:-../shared}")
hcmsn=$(realpath "${HCMSN:-build/hcmsn}")
batches=${BATCHES:-12}
mkdir -p "$work"
work=$(realpath "$work")
data=$shared/data
weights=(--backbone mobilenet_v2 --weights "$shared/weights/mobilenet_v2_imagenet.safetensors")
grep -q avx512_bf16 /proc/cpuinfo || echo "note: this CPU has no AVX512-BF16; bf16 is emulated"
images=(--ndjson-dir "$data/quickdraw" --sketch-dir "$data/tuberlin40" --photo-dir "$data/photos"
        --split quickdraw30)
json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

for p in fp32 bf16; do
  rm -f "$work/$p.cache"
  "$hcmsn" --threads 2 --log-level warn extract --quiet "${images[@]}" "${weights[@]}" \
    --precision "$p" --out "$work/$p.cache" --stats-json "$work/$p.extract.json"
  for g in classes all; do
    "$hcmsn" --log-level warn eval-features --features "$work/$p.cache" --split quickdraw30 \
      --gallery "$g" --json "$work/$p.eval-$g.json" --force
  done
done
for p in fp32 bf16; do
  rm -rf "$work/train-$p"
  "$hcmsn" --threads 2 --log-level warn train --quiet "${images[@]}" "${weights[@]}" \
    --keep-out-of-split --train-classes sketched \
    --semantics "$repo/share/semantics/bert_minilm_all.npy" \
    --semantics-classes "$repo/share/semantics/bert_minilm_all.classes.txt" \
    --workers 2 --epochs 1 --batches-per-epoch "$batches" --eval-every 0 --precision "$p" \
    --out "$work/train-$p"
done

echo "| | fp32 | bf16 | bf16 / fp32 |"
echo "|---|---|---|---|"
row() {  # LABEL FP32 BF16
  awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN { printf "| %s | %.4g | %.4g | %.3f |\n", l, a, b, b / a }'
}
row "extraction, images/s" "$(json "$work/fp32.extract.json" "['images_per_second']")" \
  "$(json "$work/bf16.extract.json" "['images_per_second']")"
for g in classes all; do
  row "untrained mAP@all, gallery $g" "$(json "$work/fp32.eval-$g.json" "['map_all']")" \
    "$(json "$work/bf16.eval-$g.json" "['map_all']")"
done
speed() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])['samples_per_second'])" "$1"; }
row "fine-tuning, images/s" "$(speed "$work/train-fp32/log.jsonl")" \
  "$(speed "$work/train-bf16/log.jsonl")"
