#!/usr/bin/python3
"""Side-by-side timing of `hcmsn metrics` at Sketchy split-1 size (issue: foundation benchmark).

In one run, on the same synthetic data (15,229 x 17,101, d = 512, Poincare c = 0.01, 25 classes):
  1. floor      one float32 matrix product of that size (bench_metrics BM_MatmulFloor)
  2. hcmsn      the whole `hcmsn metrics` command, wall time (process start to exit)
  3. sklearn    a per-query scikit-learn average_precision_score loop on exact float64
                Poincare distances computed with numpy (the usual research-code approach)
and checks that hcmsn and scikit-learn agree (mAP@all to 1e-6, per-query AP reported).

Needs Debian's python3-numpy and python3-sklearn (scripts/setup.sh --bench).
Usage: /usr/bin/python3 bench/compare_metrics.py [--build build] [--repeat 3] [--sklearn-queries N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def run(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, out.stdout


def poincare_dist(x, y, c):
    x2 = (x * x).sum(1)[:, None]
    y2 = (y * y).sum(1)[None, :]
    diff2 = np.maximum(x2 + y2 - 2 * x @ y.T, 0)
    z = 2 * c * diff2 / ((1 - c * x2) * (1 - c * y2))
    return np.arccosh(1 + z) / np.sqrt(c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sklearn-queries", type=int, default=0,
                    help="time scikit-learn on the first N queries only and extrapolate (0 = all)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                    help="embedding dtype (float64 also ranks in float64: per-query agreement)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    from sklearn.metrics import average_precision_score

    hcmsn = os.path.join(args.build, "hcmsn")
    bench = os.path.join(args.build, "bench", "bench_metrics")
    c = 0.01
    with tempfile.TemporaryDirectory() as tmp:
        run([hcmsn, "--log-level", "warn", "synth-embeddings", "--out", tmp, "--curvature", str(c),
             "--dtype", args.dtype])
        q = np.load(f"{tmp}/queries.npy")
        g = np.load(f"{tmp}/gallery.npy")
        ql = np.array(open(f"{tmp}/query_labels.txt").read().split())
        gl = np.array(open(f"{tmp}/gallery_labels.txt").read().split())

        # 1. floor (and the in-library evaluation, for reference)
        _, out = run([bench, "--benchmark_format=json"])
        res = {b["name"].split("/")[0]: b["real_time"] for b in json.loads(out)["benchmarks"]}
        floor = res["BM_MatmulFloor"]

        # 2. the whole CLI run
        cli_times = []
        for _ in range(args.repeat):
            t, _ = run([hcmsn, "metrics", "--quiet", "--queries", f"{tmp}/queries.npy",
                        "--query-labels", f"{tmp}/query_labels.txt", "--gallery", f"{tmp}/gallery.npy",
                        "--gallery-labels", f"{tmp}/gallery_labels.txt", "--curvature", str(c),
                        "--json", f"{tmp}/m.json", "--per-query", f"{tmp}/ap.npy"])
            cli_times.append(t)
        cli = min(cli_times)
        m = json.load(open(f"{tmp}/m.json"))
        ours = np.load(f"{tmp}/ap.npy")

        # 3. scikit-learn, per query, on float64 distances
        n_sk = args.sklearn_queries or len(q)
        q64, g64 = q.astype(np.float64), g.astype(np.float64)
        t0 = time.perf_counter()
        ref = np.empty(n_sk)
        for b in range(0, n_sk, 1024):
            d = poincare_dist(q64[b:min(b + 1024, n_sk)], g64, c)
            for i in range(d.shape[0]):
                ref[b + i] = average_precision_score(gl == ql[b + i], -d[i])
        sk = (time.perf_counter() - t0) * len(q) / n_sk

    per_query_diff = float(np.abs(ours[:n_sk] - ref).max())
    map_diff = abs(float(ours[:n_sk].mean()) - float(ref.mean()))
    rows = [
        ("matrix product (floor)", floor),
        ("hcmsn metrics (whole command)", cli),
        ("hcmsn evaluate_embeddings (in process)", res["BM_EvaluatePoincare"]),
        ("scikit-learn per-query AP" + ("" if n_sk == len(q) else f" (extrapolated from {n_sk})"), sk),
    ]
    print(f"Sketchy split-1 size: {len(q)} queries x {len(g)} gallery, d = {q.shape[1]}, c = {c}, "
          f"{args.dtype}; "
          f"threads = {os.cpu_count()}")
    print(f"{'':44}{'seconds':>10}{'x floor':>10}")
    for name, t in rows:
        print(f"{name:44}{t:10.2f}{t / floor:10.2f}")
    print(f"hcmsn is {sk / cli:.1f}x faster than the scikit-learn loop")
    print(f"mAP@all hcmsn {m['map_all']:.8f}; |mAP diff| = {map_diff:.2e}; "
          f"max |per-query AP diff| = {per_query_diff:.2e} over {n_sk} queries")
    ok = map_diff <= 1e-6
    print("agreement (mAP@all within 1e-6):", "OK" if ok else "FAILED")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"floor_s": floor, "cli_s": cli, "library_s": res["BM_EvaluatePoincare"],
                       "sklearn_s": sk, "map_all": m["map_all"], "map_diff": map_diff,
                       "per_query_max_diff": per_query_diff}, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
