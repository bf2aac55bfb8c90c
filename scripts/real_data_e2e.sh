#!/usr/bin/env bash
# End to end on the real data of ../shared (issues 4 and 11): the recommended training for the
# QuickDraw-Ext split and for the TU-Berlin split, every run and the untrained backbone evaluated
# on the same queries, on both galleries, across three seeds, through `hcmsn experiment`.
#
#   1. hcmsn extract   MobileNetV2 features (TF-SAME), resumable, six caches in OUT/caches:
#        quickdraw.cache   the split's classes: QuickDraw drawings, TU-Berlin sketches, cut-outs
#        natural.cache     the split's classes only, photos = cut-outs + natural photographs
#                          (cross-domain: unseen-class sketches against natural photos)
#        quickdraw_train.cache  what training reads: all 344 QuickDraw categories, TU-Berlin
#                          sketches, cut-outs and natural photos, the QuickDraw-Ext split, the
#                          classes outside it kept as extra seen classes (training uses every
#                          class with sketches, never an unseen one)
#        natural_only.cache    the split's classes, photos = natural photographs only
#        tuberlin_train.cache, tuberlin.cache  the same for the TU-Berlin split (evaluated on
#                          its unseen classes that have sketches and photos here: QuickDraw and
#                          TU-Berlin sketches against cut-outs and natural photos)
#   2. hcmsn experiment  OUT (runs in OUT/runs/{hcmsn,euclidean}-seed{0,1,2}) for QuickDraw-Ext
#        and OUT/tuberlin for TU-Berlin: train, evaluate on the standard gallery (the evaluated
#        classes' photos) and the generalised one (every photo), the untrained features as
#        baselines; OUT/summary.{md,json}, OUT/report.html (and the same in OUT/tuberlin).
#   3. With ABLATIONS=1: OUT/ablations, the paper's ablations (no adv / cls / rec / KD / bridge,
#        h alone), a curvature sweep (c = 0 … 1) and a dimension sweep (64 … 512); and
#        OUT/photo_domain, training with or without the seen classes' natural photos.
#
# The recommended method (issue 11): HCMSN on every class with sketches (--train-classes
# sketched) including seen-class natural photos, the backbone's ImageNet classifier as a frozen
# teacher distilled into a student head (--lambda-kd) and the photo-free ConSE bridge as S's
# photo target (--teacher-concepts, --lambda-bridge), retrieval by the fused embedding (--fusion:
# backbone cosine, semantic cosine and HCMSN's distance on one scale). Nothing is chosen on the
# reported classes: the fusion weights on FOLDS validation folds of the seen classes (OUT/folds,
# hcmsn select-fusion, one-standard-error rule), the checkpoint (best) on 10 seen validation
# classes held out of training, those another split holds out as unseen (--val-classes 10
# --val-pool other-unseen). The ablation grid shows the other choices.
#
# Usage: scripts/real_data_e2e.sh [OUT] (default e2e-real); env: SHARED (../shared), HCMSN
# (build/hcmsn), SEEDS ("0 1 2"), EPOCHS (8), JOBS (1), ABLATIONS (0), ABLATION_SEEDS (SEEDS),
# FOLDS (4), FOLD_SEED (0).
set -euo pipefail
shopt -s inherit_errexit  # a failing step inside $(...) stops the script too
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${1:-e2e-real}
shared=$(realpath "${SHARED:-../shared}")
hcmsn=$(realpath "${HCMSN:-build/hcmsn}")
seeds=${SEEDS:-"0 1 2"}
epochs=${EPOCHS:-8}
jobs=${JOBS:-1}
mkdir -p "$out/caches"
out=$(realpath "$out")
caches=$out/caches
data=$shared/data
weights=(--backbone mobilenet_v2 --weights "$shared/weights/mobilenet_v2_imagenet.safetensors")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

extract() {  # NAME DATASET-FLAGS...
  local name=$1
  shift
  if [ ! -f "$caches/$name.cache" ]; then
    "$hcmsn" extract "$@" "${weights[@]}" --out "$caches/$name.cache" \
      --stats-json "$caches/$name.stats.json"
  fi
}
extract quickdraw_train --ndjson-dir "$data/quickdraw" --sketch-dir "$data/tuberlin40" \
  --photo-dir "$data/photos" --photo-dir "$data/natural_photos" --split quickdraw30 \
  --keep-out-of-split
extract quickdraw --ndjson-dir "$data/quickdraw" --sketch-dir "$data/tuberlin40" \
  --photo-dir "$data/photos" --split quickdraw30
extract natural --ndjson-dir "$data/quickdraw" --sketch-dir "$data/tuberlin40" \
  --photo-dir "$data/photos" --photo-dir "$data/natural_photos" --split quickdraw30
extract natural_only --ndjson-dir "$data/quickdraw" --sketch-dir "$data/tuberlin40" \
  --photo-dir "$data/natural_photos" --split quickdraw30
extract tuberlin_train --sketch-dir "$data/tuberlin40" --ndjson-dir "$data/quickdraw" \
  --photo-dir "$data/photos" --photo-dir "$data/natural_photos" --split tuberlin30 \
  --keep-out-of-split
# No unseen TU-Berlin class of tuberlin40 has a photo here: the TU-Berlin split is evaluated on
# its unseen classes that have QuickDraw (and TU-Berlin) sketches and real photos.
extract tuberlin --sketch-dir "$data/tuberlin40" --ndjson-dir "$data/quickdraw" \
  --photo-dir "$data/photos" --photo-dir "$data/natural_photos" --split tuberlin30

shared_flags() {  # SPLIT: the flags every run of a split shares, one per line
  printf '%s\n' --split "$1" \
    --semantics "$repo/share/semantics/bert_minilm_all.npy" \
    --semantics-classes "$repo/share/semantics/bert_minilm_all.classes.txt" \
    --fusion --teacher-concepts "$repo/share/semantics/bert_minilm_imagenet1000.npy" \
    --epochs "$epochs"
}
# What every run of a grid shares; the variants add the rest (a variant may not repeat a shared
# flag). The best checkpoint is chosen on 10 seen validation classes held out of training.
train_args() {  # CACHE SPLIT  (CACHE "-": each variant gives --features)
  local features="\"--features\", \"$caches/$1.cache\", "
  [ "$1" != - ] || features=""
  printf '[%s' "$features"
  shared_flags "$2" | sed 's/.*/"&", /' | tr -d '\n'
  printf '"--val-classes", "10", "--val-pool", "other-unseen"]'
}
# The recommended method's own flags.
terms='"--train-classes", "sketched", "--lambda-kd", "1", "--lambda-bridge", "1"'
term_flags=(--train-classes sketched --lambda-kd 1 --lambda-bridge 1)

# The fusion weights, chosen on validation folds: FOLDS runs (seed FOLD_SEED), each holding every
# FOLDS-th seen class with photos out of training, score the weight grid on their held-out
# classes; `hcmsn select-fusion` takes the most backbone weight within one standard error of the
# best mean. No reported (unseen) class takes part.
folds=${FOLDS:-4}
fold_weights() {  # NAME CACHE SPLIT -> prints b,s,h
  local name=$1 cache=$2 split=$3 runs=() flags=()
  mkdir -p "$out/folds"
  mapfile -t flags < <(shared_flags "$split")
  for ((f = 0; f < folds; f++)); do
    local run=$out/folds/$name-fold$f
    runs+=("$run")
    if [ -f "$run/config.json" ]; then
      "$hcmsn" train --resume --quiet --out "$run" >&2
    else
      "$hcmsn" train --quiet --features "$caches/$cache.cache" "${flags[@]}" "${term_flags[@]}" \
        --val-folds "$folds" --val-fold "$f" --val-pool all --seed "${FOLD_SEED:-0}" \
        --out "$run" >&2
    fi
  done
  "$hcmsn" select-fusion --quiet --print-weights --force \
    --json "$out/folds/$name-selection.json" "${runs[@]}" 2> "$out/folds/$name-selection.txt"
}
quickdraw_weights=$(fold_weights quickdraw quickdraw_train quickdraw30)
tuberlin_weights=$(fold_weights tuberlin tuberlin_train tuberlin30)
# The best mean without the one-standard-error rule (an ablation).
quickdraw_best_mean=$(sed -n 's/.*"best_weights": "\([^"]*\)".*/\1/p' \
  "$out/folds/quickdraw-selection.json")
echo "fusion weights chosen on validation folds: QuickDraw-Ext $quickdraw_weights" \
  "(best mean $quickdraw_best_mean), TU-Berlin $tuberlin_weights"
full="$terms, \"--fusion-weights\", \"$quickdraw_weights\""
full_tuberlin="$terms, \"--fusion-weights\", \"$tuberlin_weights\""
fixed_weights="\"--fusion-weights\", \"$quickdraw_weights\""
kd_only="\"--train-classes\", \"sketched\", \"--lambda-kd\", \"1\", $fixed_weights"
bridge_only="\"--train-classes\", \"sketched\", \"--lambda-bridge\", \"1\", $fixed_weights"
seed_list=$(echo "$seeds" | tr ' ' ',')
ablation_seed_list=$(echo "${ABLATION_SEEDS:-$seeds}" | tr ' ' ',')

# Evaluations (hcmsn eval arguments) and the untrained features on the same queries and gallery.
evaluation() {  # NAME CACHE [--gallery all]
  local name=$1 cache=$2
  shift 2
  local extra=""
  for a in "$@"; do extra="$extra, \"$a\""; done
  printf '"%s": ["--features", "%s"%s]' "$name" "$caches/$cache.cache" "$extra"
}
baseline() {  # NAME CACHE SPLIT [--gallery all]   (inside a baseline object)
  local name=$1 cache=$2 split=$3
  shift 3
  local extra=""
  for a in "$@"; do extra="$extra, \"$a\""; done
  printf '"%s": ["--features", "%s", "--split", "%s"%s]' "$name" "$caches/$cache.cache" "$split" "$extra"
}
baselines() {  # EVAL-CACHE SPLIT [NATURAL-CACHE NATURAL-ONLY-CACHE]
  local main=$1 split=$2 natural=${3:-} natural_only=${4:-}
  local first=1
  printf '{'
  for metric in cosine euclidean; do
    [ $first = 1 ] || printf ','
    first=0
    printf '"backbone-%s": {' "$metric"
    baseline standard "$main" "$split" --metric "$metric"
    printf ', '
    baseline generalised "$main" "$split" --metric "$metric" --gallery all
    if [ -n "$natural" ]; then
      printf ', '
      baseline natural "$natural" "$split" --metric "$metric"
      printf ', '
      baseline natural-generalised "$natural" "$split" --metric "$metric" --gallery all
      printf ', '
      baseline natural-only "$natural_only" "$split" --metric "$metric"
      printf ', '
      baseline natural-only-generalised "$natural_only" "$split" --metric "$metric" --gallery all
    fi
    printf '}'
  done
  printf '}'
}

# QuickDraw-Ext: unseen sketches against the cut-outs, the cut-outs + natural photos, and the
# natural photos alone, each on both galleries.
quickdraw_evaluations=$(cat <<EOF
"evaluations": {
    $(evaluation standard quickdraw),
    $(evaluation generalised quickdraw --gallery all),
    $(evaluation natural natural),
    $(evaluation natural-generalised natural --gallery all),
    $(evaluation natural-only natural_only),
    $(evaluation natural-only-generalised natural_only --gallery all)
  },
  "baselines": $(baselines quickdraw quickdraw30 natural natural_only)
EOF
)
cat > "$tmp/quickdraw.json" <<EOF
{
  "title": "hcmsn on real data: QuickDraw-Ext split (unseen sketches vs cut-outs, and vs cut-outs + natural photos)",
  "train": $(train_args quickdraw_train quickdraw30),
  "variants": {"hcmsn": [$full], "euclidean": [$full, "--curvature", "0"]},
  "seeds": [$seed_list],
  $quickdraw_evaluations,
  "checkpoint": "best"
}
EOF
cat > "$tmp/tuberlin.json" <<EOF
{
  "title": "hcmsn on real data: TU-Berlin split (its unseen classes: QuickDraw and TU-Berlin sketches vs cut-outs and natural photos)",
  "train": $(train_args tuberlin_train tuberlin30),
  "variants": {"hcmsn": [$full_tuberlin], "euclidean": [$full_tuberlin, "--curvature", "0"]},
  "seeds": [$seed_list],
  "evaluations": {
    $(evaluation standard tuberlin),
    $(evaluation generalised tuberlin --gallery all)
  },
  "baselines": $(baselines tuberlin tuberlin30),
  "checkpoint": "best"
}
EOF
cat > "$tmp/ablations.json" <<EOF
{
  "title": "hcmsn ablations and sweeps: QuickDraw-Ext split",
  "train": $(train_args quickdraw_train quickdraw30),
  "variants": {
    "hcmsn": [$full], "no-adv": [$full, "--no-adv"], "no-cls": [$full, "--no-cls"],
    "no-rec": [$full, "--no-rec"], "no-kd": [$bridge_only], "no-bridge": [$kd_only],
    "h-only": [$terms, "--fusion-weights", "0,0,1"],
    "hand-set-0.8-0-0.2": [$terms, "--fusion-weights", "0.8,0,0.2"],
    "best-fold-mean": [$terms, "--fusion-weights", "$quickdraw_best_mean"],
    "one-split-validation": [$terms],
    "paired-classes": ["--lambda-kd", "1", "--lambda-bridge", "1", $fixed_weights],
    "c0": [$full, "--curvature", "0"], "c0.1": [$full, "--curvature", "0.1"],
    "c1": [$full, "--curvature", "1"], "d64": [$full, "--dim", "64"],
    "d256": [$full, "--dim", "256"]
  },
  "seeds": [$ablation_seed_list],
  $quickdraw_evaluations,
  "checkpoint": "best"
}
EOF

"$hcmsn" experiment --grid "$tmp/quickdraw.json" --out "$out" --jobs "$jobs" --force
"$hcmsn" experiment --grid "$tmp/tuberlin.json" --out "$out/tuberlin" --jobs "$jobs"
if [ "${ABLATIONS:-0}" = 1 ]; then
  "$hcmsn" experiment --grid "$tmp/ablations.json" --out "$out/ablations" --jobs "$jobs"
  # Photo domain: training with the seen classes' natural photos or with the cut-outs alone.
  extract quickdraw_train_cutouts --ndjson-dir "$data/quickdraw" --sketch-dir "$data/tuberlin40" \
    --photo-dir "$data/photos" --split quickdraw30 --keep-out-of-split
  cat > "$tmp/photo_domain.json" <<EOF
{
  "title": "Photo domain of the training photos: QuickDraw-Ext split",
  "train": $(train_args - quickdraw30),
  "variants": {
    "natural-photos": ["--features", "$caches/quickdraw_train.cache", $full],
    "cut-outs-only": ["--features", "$caches/quickdraw_train_cutouts.cache", $full]
  },
  "seeds": [$ablation_seed_list],
  $quickdraw_evaluations,
  "checkpoint": "best"
}
EOF
  "$hcmsn" experiment --grid "$tmp/photo_domain.json" --out "$out/photo_domain" --jobs "$jobs"
fi
cat "$out/summary.md" "$out/tuberlin/summary.md"
