#!/usr/bin/env bash
# Builds the BERT class embeddings of share/semantics/ with `hcmsn embed-classes`:
# all-MiniLM-L6-v2 (384-d), template "a picture of a {}", name-mean pooling, not normalised.
# Class lists: every class (seen + unseen) of one split of each benchmark, from the
# `name id` files of ../shared/data/splits (split at the last space), in file order.
# Usage: scripts/make_class_embeddings.sh [MINILM_DIR] [HCMSN_BIN] [SHARED_DATA_DIR]
#   MINILM_DIR defaults to $HCMSN_MINILM_DIR, else it is fetched (scripts/fetch_minilm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-${HCMSN_MINILM_DIR:-}}
bin=${2:-build/hcmsn}
data=${3:-../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$model" ]; then
  model="$tmp/minilm"  # fetched for this run only, removed with $tmp
  scripts/fetch_minilm.sh "$model"
fi
out=share/semantics
mkdir -p "$out"
make_one() {  # NAME SPLIT_PREFIX
  local name=$1 split=$2
  # Split files may lack a final newline: add one, then keep the name before the last space.
  for part in seen unseen; do
    sed -e '$a\' "$data/splits/${split}_cname_cid_${part}.txt"
  done | sed -e 's/\r$//' -e '/^$/d' -e 's/ [^ ]*$//' > "$tmp/$name.txt"
  "$bin" embed-classes --classes "$tmp/$name.txt" --bert "$model" --out "$out/$name.npy" \
    --template "a picture of a {}" --pooling name-mean
}
make_one bert_minilm_sketchy125 sketchy_zeroshot0
make_one bert_minilm_tuberlin250 tuberlin
make_one bert_minilm_quickdraw110 quickdraw
embed_list() {  # NAME LIST
  "$bin" embed-classes --classes "$2" --bert "$model" --out "$out/$1.npy" \
    --template "a picture of a {}" --pooling name-mean
}
# Every class name the shared data spells (the four splits' lists, the QuickDraw words, the
# TU-Berlin, photo and natural-photo folders), each spelling once: training on every class that
# has sketches (issue 11) needs vectors for classes outside the splits.
{
  for split in quickdraw tuberlin sketchy_zeroshot0 sketchy_zeroshot1; do
    for part in seen unseen; do sed -e '$a\' "$data/splits/${split}_cname_cid_${part}.txt"; done |
      sed -e 's/\r$//' -e '/^$/d' -e 's/ [^ ]*$//'
  done
  for f in "$data"/quickdraw/*.ndjson; do basename "$f" .ndjson; done
  for root in tuberlin40 photos natural_photos; do
    for f in "$data/$root"/*/; do basename "$f"; done
  done
} | awk '!seen[$0]++' > "$tmp/all.txt"
embed_list bert_minilm_all "$tmp/all.txt"
# The 1,000 ImageNet classes: the concepts of the photo-free semantic bridge (ConSE).
embed_list bert_minilm_imagenet1000 "$data/../weights/imagenet_classes.txt"
wc -l "$out"/*.classes.txt
