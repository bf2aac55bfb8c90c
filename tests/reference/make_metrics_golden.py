#!/usr/bin/python3
"""Golden values for hcmsn's retrieval metrics, from scikit-learn and plain numpy.

Writes tests/fixtures/metrics_golden.json. Run with Debian's python3 (python3-sklearn,
python3-numpy): /usr/bin/python3 tests/reference/make_metrics_golden.py

Each case holds a (Q, N) similarity matrix without ties (higher = more relevant), query and
gallery labels, and per-query expected values:
  ap          sklearn.metrics.average_precision_score(relevance, scores)
  voc_ap      VOC all-points interpolated AP (the voc_eval code used by SAKE/DSN-style repos)
  prec@K      hits in the top K / min(K, N);  prec_min_kr@K: hits in the top min(K, R) / min(K, R)
  map@K       sum of P@k over relevant ranks k <= K / hits in the top K (0 if none)
  voc_map@K   VOC-interpolated within the top K, recall over min(K, R) (SAKE's eval_AP_inner)
"""
import json
import os

import numpy as np
from sklearn.metrics import average_precision_score

KS = [1, 5, 10, 50]


def voc_ap(rec, prec):
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def per_query(scores, rel):
    n = len(scores)
    order = np.argsort(-scores, kind="stable")
    r = rel[order].astype(np.float64)
    R = r.sum()
    out = {}
    if R == 0:
        out["ap"] = 0.0
        out["voc_ap"] = 0.0
    else:
        out["ap"] = float(average_precision_score(rel, scores))
        cum = np.cumsum(r)
        prec = cum / np.arange(1, n + 1)
        rec = cum / R
        out["voc_ap"] = voc_ap(rec, prec)
    for k in KS:
        top = r[:k]
        hits = top.sum()
        out[f"prec@{k}"] = float(hits / min(k, n))
        # ZSE-SBIR's precision_eval: hits within the top min(K, R), over min(K, R).
        m = int(min(k, R))
        out[f"prec_min_kr@{k}"] = float(r[:m].sum() / m) if R > 0 else 0.0
        if hits == 0:
            out[f"map@{k}"] = 0.0
            out[f"voc_map@{k}"] = 0.0
        else:
            cum = np.cumsum(top)
            prec = cum / np.arange(1, len(top) + 1)
            out[f"map@{k}"] = float((prec * top).sum() / hits)
            # VOC within the top K, recall normalised by min(K, R) (SAKE's eval_AP_inner).
            out[f"voc_map@{k}"] = voc_ap(cum / min(k, R), prec)
    return out


def make_case(rng, name, q, n, classes, empty_class=False):
    qlab = rng.integers(0, classes, size=q)
    glab = rng.integers(0, classes, size=n)
    glab[:classes] = np.arange(classes)
    if empty_class:
        glab[glab == classes - 1] = 0  # the last class has queries but no gallery item
        qlab[0] = classes - 1
    # Scores with signal and no ties: class affinity plus noise, distinct by construction.
    scores = rng.normal(size=(q, n)) + 1.5 * (qlab[:, None] == glab[None, :])
    scores = scores.astype(np.float64)
    assert all(len(np.unique(row)) == n for row in scores)
    expected = [per_query(scores[i], glab == qlab[i]) for i in range(q)]
    return {
        "name": name,
        "scores": scores.tolist(),
        "query_labels": qlab.tolist(),
        "gallery_labels": glab.tolist(),
        "ks": KS,
        "expected": expected,
    }


def main():
    rng = np.random.default_rng(20261124)
    cases = [
        make_case(rng, "small", 12, 40, 3),
        make_case(rng, "imbalanced", 30, 120, 6),
        make_case(rng, "empty_class", 10, 60, 4, empty_class=True),
        make_case(rng, "gallery_smaller_than_k", 5, 8, 2),
    ]
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "metrics_golden.json")
    with open(out, "w") as f:
        json.dump({"generator": "tests/reference/make_metrics_golden.py",
                   "sklearn": __import__("sklearn").__version__, "cases": cases}, f)
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
