#!/usr/bin/env bash
# Peak resident memory of fine-tuning on streamed images, against the dataset's size (issue 12):
# the same training (MobileNetV2 at 224 px, the same batches, steps and workers) over generated
# sets of about 2,000 and 20,000 images. With streaming, only the prefetch window of batches is
# ever decoded, so the peak should not grow with the set (the per-item list, ~200 bytes each,
# does). Prints both peaks (GNU time's maximum RSS) and their ratio.
#
# Usage: scripts/bench_streaming_memory.sh [WORK] ; env: HCMSN (build/hcmsn), WEIGHTS (the shared
# MobileNetV2), STEPS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-bench-streaming}
hcmsn=$(realpath "${HCMSN:-build/hcmsn}")
weights=$(realpath "${WEIGHTS:-../shared/weights/mobilenet_v2_imagenet.safetensors}")
steps=${STEPS:-20}
mkdir -p "$work"
work=$(realpath "$work")
declare -A peak
for per_class in 28 278; do  # 36 classes x 2 modalities: 2,016 and 20,016 images
  data=$work/data$per_class
  [ -f "$data/classes.txt" ] || "$hcmsn" synth-images --quiet --image-size 64 \
    --photos-per-class $per_class --sketches-per-class $per_class --out "$data"
  rm -rf "$work/run$per_class"
  /usr/bin/time -f %M -o "$work/rss$per_class" "$hcmsn" --threads 2 --log-level warn train \
    --quiet --layout generic --root "$data" --unseen "$data/unseen.txt" \
    --semantics "$data/semantics.npy" --semantics-classes "$data/classes.txt" \
    --backbone mobilenet_v2 --weights "$weights" --classes-per-batch 8 --per-class 2 \
    --workers 2 --prefetch 4 --epochs 1 --max-steps "$steps" --eval-every 0 \
    --out "$work/run$per_class"
  peak[$per_class]=$(cat "$work/rss$per_class")
  images=$(find "$data/sketch" "$data/photo" -type f | wc -l)
  echo "$images images: peak RSS $((peak[$per_class] / 1024)) MiB"
done
awk -v a="${peak[28]}" -v b="${peak[278]}" \
  'BEGIN { printf "ratio (20k / 2k images): %.3f\n", b / a }'
