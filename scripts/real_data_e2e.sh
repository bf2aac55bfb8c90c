#!/usr/bin/env bash
# End to end on the real data of ../shared (issue 4): QuickDraw drawings and TU-Berlin sketches,
# real photos, the QuickDraw-Ext zero-shot split (quickdraw30), BERT class embeddings
# (all-MiniLM-L6-v2, share/semantics/) and the ImageNet MobileNetV2 of ../shared/weights.
#
#   1. hcmsn dataset   summary of the combined sources under the split   -> OUT/dataset.json
#   2. hcmsn extract   MobileNetV2 features (TF-SAME), resumable          -> OUT/features.cache
#   3. hcmsn eval-features  the untrained-backbone baseline (cosine, Euclidean), both galleries
#   4. hcmsn train     HCMSN (c = 0.01) and its Euclidean variant (c = 0), seeds 0 1 2
#   5. hcmsn eval      every run's last checkpoint (no selection on the test classes), on the
#                      standard gallery (unseen photos) and the generalised one (every photo)
#   6. hcmsn report    OUT/report.html (seed 0), and OUT/summary.{json,md}: mean ± std, min–max
#
# Usage: scripts/real_data_e2e.sh [OUT] (default e2e-real); env: SHARED (../shared), HCMSN
# (build/hcmsn), SEEDS ("0 1 2"), EPOCHS (20). About 4 minutes on 2 cores, most of it step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-e2e-real}
shared=${SHARED:-../shared}
hcmsn=${HCMSN:-build/hcmsn}
seeds=${SEEDS:-"0 1 2"}
epochs=${EPOCHS:-20}
mkdir -p "$out/runs" "$out/evals"

data=(--ndjson-dir "$shared/data/quickdraw" --sketch-dir "$shared/data/tuberlin40"
      --photo-dir "$shared/data/photos" --split quickdraw30)
semantics=(--semantics share/semantics/bert_minilm_quickdraw110.npy
           --semantics-classes share/semantics/bert_minilm_quickdraw110.classes.txt)

"$hcmsn" dataset "${data[@]}" --json "$out/dataset.json"
if [ ! -f "$out/features.cache" ]; then
  "$hcmsn" extract "${data[@]}" --backbone mobilenet_v2 \
    --weights "$shared/weights/mobilenet_v2_imagenet.safetensors" \
    --out "$out/features.cache" --stats-json "$out/extract_stats.json"
fi
# Two galleries: the unseen classes' photos (standard) and every photo (generalised).
for metric in cosine euclidean; do
  "$hcmsn" eval-features --features "$out/features.cache" --split quickdraw30 --metric "$metric" \
    --json "$out/baseline_$metric.json"
  "$hcmsn" eval-features --features "$out/features.cache" --split quickdraw30 --metric "$metric" \
    --gallery all --json "$out/baseline_${metric}_all.json"
done
# Evaluations go beside the runs, not into them: a command never writes inside a run it reads.
for seed in $seeds; do
  for variant in hcmsn euclidean; do
    name="$variant-seed$seed"
    run="$out/runs/$name"
    curvature=0.01
    if [ "$variant" = euclidean ]; then curvature=0; fi
    if [ ! -f "$out/evals/$name.json" ]; then
      rm -rf "$run"
      "$hcmsn" train --features "$out/features.cache" --split quickdraw30 "${semantics[@]}" \
        --curvature "$curvature" --epochs "$epochs" --seed "$seed" --out "$run" --quiet
      "$hcmsn" eval --run "$run" --checkpoint last --json "$out/evals/$name.json" --quiet
    fi
    if [ ! -f "$out/evals/${name}_all.json" ]; then
      "$hcmsn" eval --run "$run" --checkpoint last --gallery all \
        --json "$out/evals/${name}_all.json" --quiet
    fi
  done
done
"$hcmsn" report --run "$out/runs/hcmsn-seed0" --run "$out/runs/euclidean-seed0" \
  --name "HCMSN (c = 0.01)" --name "Euclidean (c = 0)" --checkpoint last \
  --title "hcmsn on real data: QuickDraw-Ext split, MobileNetV2 features, BERT semantics" \
  --out "$out/report.html" --quiet

python3 - "$out" $seeds <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
def load(p):
    with open(p) as f:
        return json.load(f)
summary = {}
lines = []
for gallery, suffix in (("standard", ""), ("generalised", "_all")):
    rows = {}
    for variant in ("hcmsn", "euclidean"):
        rows[variant] = [load(f"{out}/evals/{variant}-seed{s}{suffix}.json") for s in seeds]
    for metric in ("cosine", "euclidean"):
        rows[f"backbone ({metric})"] = [load(f"{out}/baseline_{metric}{suffix}.json")]
    first = rows["hcmsn"][0]
    lines += [f"### {gallery} gallery: {first['num_queries']} queries x {first['num_gallery']} photos",
              "", "| method | mAP@all | Prec@100 | runs |", "|---|---|---|---|"]
    summary[gallery] = {}
    for name, results in rows.items():
        assert all(r["num_queries"] == first["num_queries"] and
                   r["num_gallery"] == first["num_gallery"] for r in results), name
        entry = {}
        for key in ("map_all", "prec@100"):
            values = [r[key] for r in results]
            entry[key] = {"mean": statistics.mean(values),
                          "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                          "min": min(values), "max": max(values), "values": values}
        summary[gallery][name] = entry
        cell = lambda e: (f"{e['mean']:.4f} ± {e['std']:.4f} ({e['min']:.4f}–{e['max']:.4f})"
                          if len(e["values"]) > 1 else f"{e['mean']:.4f}")
        lines.append(f"| {name} | {cell(entry['map_all'])} | {cell(entry['prec@100'])} | "
                     f"{len(results)} |")
    lines.append("")
with open(f"{out}/summary.json", "w") as f:
    json.dump(summary, f, indent=2)
text = "\n".join(lines)
with open(f"{out}/summary.md", "w") as f:
    f.write(text)
print(text)
PY
