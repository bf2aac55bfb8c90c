#!/usr/bin/env python3
"""Golden values for hcmsn's class importance weights (train/class_importance.h), from SciPy.

Writes tests/fixtures/class_importance_golden.json. Needs numpy and scipy (PyPI:
python3 -m venv v && v/bin/pip install numpy scipy && v/bin/python
tests/reference/make_class_importance_golden.py); the C++ tests read only the JSON.

An independent path for each step:
  density     scipy.stats.gaussian_kde with the bandwidth set to h (its factor is h / the
              sample's standard deviation), evaluated at the source values
  bandwidth   Silverman's rule written out with numpy: 1.06 * std(pooled, ddof=1) * n^(-1/5)
  cap         w_i = min(cap, a * r_i) with the mean 1, a found by bisection (not the sorted
              closed form the C++ uses)
"""
import json
import os

import numpy as np
from scipy.stats import gaussian_kde


def kde_at(sample, points, h):
    sample = np.asarray(sample, dtype=np.float64)
    kde = gaussian_kde(sample, bw_method=h / sample.std(ddof=1))
    return kde(points)


def silverman(source, target):
    pooled = np.concatenate([source, target])
    return 1.06 * pooled.std(ddof=1) * len(pooled) ** -0.2


def capped_mean_one(ratio, cap):
    ratio = np.asarray(ratio, dtype=np.float64)
    lo, hi = 0.0, cap / ratio[ratio > 0].min() * 2 + 1.0
    for _ in range(200):
        a = 0.5 * (lo + hi)
        if np.minimum(cap, a * ratio).mean() < 1.0:
            lo = a
        else:
            hi = a
    return np.minimum(cap, 0.5 * (lo + hi) * ratio)


def case(name, source, target, bandwidth, max_weight):
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    h = bandwidth if bandwidth > 0 else silverman(source, target)
    ratio = kde_at(target, source, h) / kde_at(source, source, h)
    weights = capped_mean_one(ratio, max_weight)
    return {
        "name": name,
        "source": source.tolist(),
        "target": target.tolist(),
        "bandwidth": bandwidth,
        "max_weight": max_weight,
        "expected_bandwidth": h,
        "expected_weights": weights.tolist(),
    }


def main():
    rng = np.random.default_rng(11)
    # Shaped like issue 11's teacher similarities: the source (fold classes) near 0.8, the
    # target (unseen classes) spread lower, a few at 1 (ImageNet names).
    source = np.clip(rng.normal(0.8, 0.12, 40), -1, 1)
    target = np.concatenate([np.clip(rng.normal(0.55, 0.1, 12), -1, 1), [1.0, 1.0]])
    cases = [
        case("silverman, no cap", source, target, 0.0, 1000.0),
        case("silverman, capped at 3", source, target, 0.0, 3.0),
        case("fixed bandwidth 0.05, capped at 5", source, target, 0.05, 5.0),
        case("small samples", [0.2, 0.5, 0.9], [0.3, 0.35], 0.0, 1000.0),
    ]
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "class_importance_golden.json")
    with open(path, "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
