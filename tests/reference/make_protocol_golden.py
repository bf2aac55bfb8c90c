#!/usr/bin/python3
"""Golden values for hcmsn's evaluation presets, from re-implementations of the published code.

Writes tests/fixtures/protocol_golden.json. Run with Debian's python3 (python3-numpy,
python3-sklearn): /usr/bin/python3 tests/reference/make_protocol_golden.py

Each preset is computed the way its repository computes it, step by step (re-written here, not
copied; the functions named are the ones followed):

  sake      github.com/qliu24/SAKE, src/test_cse_resnet_tuberlin_zeroshot.py: eval_AP_inner
            (argsort of -scores, cumulative tp/fp, recall over tot_pos = min(top, R) when a top
            is given), VOCap (0/1 sentinels, running max of precision from the end, sum over
            recall changes), eval_precision (hits in the top min(top, N) / min(top, N)); every
            per-query value collected in a list per query class, np.nanmean per class, then the
            mean over classes (DSN and later repositories print that mean).
  zse-sbir  github.com/buptLinfy/ZSE-SBIR, utils/ap.py: calculate (argsort of distances, labels
            reordered), voc_eval (as eval_AP_inner), voc_ap (as VOCap), precision_eval
            (top = min(K, R), mean of the first `top` relevance flags); np.nanmean over queries.
  sem-pcyc  github.com/AnjanDutta/sem-pcyc, src/utils.py: apsak (argsort of -sim, the first k
            columns, queries without a relevant item there get 0, the rest
            sklearn.metrics.average_precision_score on the top-k similarities), precak/prec
            (|relevant ∩ top k| / min(k, |top k|)); np.mean over queries.
  voc       the SAKE functions averaged over the queries with a relevant item, no class averaging.
  standard  hcmsn's default: non-interpolated AP over the whole ranking, mAP@K normalised by
            the hits in the top K, Prec@K = hits / min(K, N), mean over queries.

Ties: the published code sorts with numpy's default argsort (not stable); here every sort is
kind="stable", which is the order hcmsn uses (gallery index among tied items). scikit-learn's
average_precision_score groups tied scores itself, whatever the order.

Cases: random scores without ties, the same scores quantised to a few levels (many ties),
Poincaré-ball embeddings with duplicated gallery rows (exact distance ties, ranked by the arcosh
distance), and a case where one query class has no gallery item.
"""
import json
import os
import warnings

import numpy as np
from sklearn.metrics import average_precision_score

KS = [1, 5, 10, 50, 200, 500]


# --- SAKE -------------------------------------------------------------------------------------
def sake_vocap(rec, prec):
    mrec = np.append(np.append(0, rec), 1)
    mpre = np.append(np.append(0, prec), 0)
    for ii in range(len(mpre) - 2, -1, -1):
        mpre[ii] = max(mpre[ii], mpre[ii + 1])
    changed = np.array([a != b for a, b in zip(mrec[1:], mrec[:-1])])
    return float(np.sum((mrec[1:][changed] - mrec[:-1][changed]) * mpre[1:][changed]))


def sake_eval_ap_inner(inst_id, scores, gt_labels, top=None):
    pos_flag = gt_labels == inst_id
    tot = scores.shape[0]
    tot_pos = np.sum(pos_flag)
    sort_idx = np.argsort(-scores, kind="stable")
    tp = pos_flag[sort_idx]
    fp = np.logical_not(tp)
    if top is not None:
        top = min(top, tot)
        tp = tp[:top]
        fp = fp[:top]
        tot_pos = min(top, tot_pos)
    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as SAKE's scripts run: 0/0 raises and gives NaN
        try:
            rec = tp / tot_pos
            prec = tp / (tp + fp)
        except (FloatingPointError, RuntimeWarning, ZeroDivisionError):
            return np.nan
    return sake_vocap(rec, prec)


def sake_eval_precision(inst_id, scores, gt_labels, top=100):
    pos_flag = gt_labels == inst_id
    top = min(top, scores.shape[0])
    sort_idx = np.argsort(-scores, kind="stable")
    return float(np.sum(pos_flag[sort_idx][:top]) / top)


def class_mean(values, qlab):
    """SAKE's aggregation: a list per query class (ids 0..C-1), nanmean each, mean of those."""
    classes = np.unique(qlab)
    per_class = {c: [] for c in classes}
    for v, c in zip(values, qlab):
        per_class[c].append(v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of an all-NaN class
        means = np.array([np.nanmean(per_class[c]) for c in classes])
    return float(means.mean())


def sake_preset(sim, qlab, glab):
    out = {}
    aps = [sake_eval_ap_inner(qlab[i], sim[i], glab) for i in range(len(qlab))]
    out["per_query_ap"] = aps
    out["map_all"] = class_mean(aps, qlab)
    for k in KS:
        out[f"map@{k}"] = class_mean(
            [sake_eval_ap_inner(qlab[i], sim[i], glab, top=k) for i in range(len(qlab))], qlab)
        out[f"prec@{k}"] = class_mean(
            [sake_eval_precision(qlab[i], sim[i], glab, top=k) for i in range(len(qlab))], qlab)
    return out


def voc_preset(sim, qlab, glab):
    """SAKE's functions averaged over the queries that have a relevant item (nanmean drops the
    others' NaN AP; their Prec@K, 0 in eval_precision, is dropped too, as hcmsn's skip does)."""
    out = {}
    aps = [sake_eval_ap_inner(qlab[i], sim[i], glab) for i in range(len(qlab))]
    out["per_query_ap"] = aps
    out["map_all"] = float(np.nanmean(aps))
    has_relevant = [i for i in range(len(qlab)) if np.any(glab == qlab[i])]
    for k in KS:
        out[f"map@{k}"] = float(np.nanmean(
            [sake_eval_ap_inner(qlab[i], sim[i], glab, top=k) for i in range(len(qlab))]))
        out[f"prec@{k}"] = float(np.mean(
            [sake_eval_precision(qlab[i], sim[i], glab, top=k) for i in has_relevant]))
    return out


# --- ZSE-SBIR ---------------------------------------------------------------------------------
def zse_voc_eval(sort_class_same, top=None):
    tp = sort_class_same
    tot_pos = np.sum(tp)
    fp = np.logical_not(tp)
    tot = tp.shape[0]
    if top is not None:
        top = min(top, tot)
        tp = tp[:top]
        fp = fp[:top]
        tot_pos = min(top, tot_pos)
    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 -> NaN, as numpy does there
        rec = tp / tot_pos
        precision = tp / (tp + fp)
    return sake_vocap(rec, precision)


def zse_precision_eval(sort_class_same, top=None):
    tot_pos = np.sum(sort_class_same)
    top = min(top, tot_pos) if top is not None else tot_pos
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # mean of nothing -> NaN
        return float(np.mean(sort_class_same[:top]))


def zse_preset(distance, qlab, glab):
    class_same = qlab[:, None] == glab[None, :]
    order = np.argsort(distance, axis=1, kind="stable")
    sort_label = np.array([class_same[i, order[i]] for i in range(len(qlab))])
    out = {}
    aps = [zse_voc_eval(row) for row in sort_label]
    out["per_query_ap"] = aps
    out["map_all"] = float(np.nanmean(aps))
    for k in KS:
        out[f"map@{k}"] = float(np.nanmean([zse_voc_eval(row, k) for row in sort_label]))
        out[f"prec@{k}"] = float(np.nanmean([zse_precision_eval(row, k) for row in sort_label]))
    return out


# --- SEM-PCYC ---------------------------------------------------------------------------------
def sem_pcyc_apsak(sim, str_sim, k=None):
    idx = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    sim_k = np.array([sim[i, ids] for i, ids in enumerate(idx)])
    str_sim_k = np.array([str_sim[i, ids] for i, ids in enumerate(idx)])
    nz = np.where(str_sim_k.sum(axis=1) != 0)[0]
    aps = np.zeros(sim.shape[0], dtype=np.float64)
    aps[nz] = [average_precision_score(str_sim_k[i], sim_k[i]) for i in nz]
    return aps


def sem_pcyc_prec(actual, predicted, k):
    act_set = set(actual)
    pred_set = set(predicted[:k])
    return len(act_set & pred_set) / min(k, len(pred_set))


def sem_pcyc_precak(sim, str_sim, k):
    act_lists = [np.nonzero(s)[0] for s in str_sim]
    pred_lists = np.argsort(-sim, axis=1, kind="stable")
    return float(np.mean([sem_pcyc_prec(a, p, k) for a, p in zip(act_lists, pred_lists)]))


def sem_pcyc_preset(sim, qlab, glab):
    str_sim = (qlab[:, None] == glab[None, :]) * 1
    out = {}
    aps = sem_pcyc_apsak(sim, str_sim)
    out["per_query_ap"] = aps.tolist()
    out["map_all"] = float(np.mean(aps))
    for k in KS:
        out[f"map@{k}"] = float(np.mean(sem_pcyc_apsak(sim, str_sim, k)))
        out[f"prec@{k}"] = sem_pcyc_precak(sim, str_sim, k)
    return out


# --- hcmsn's standard protocol ----------------------------------------------------------------
def standard_preset(sim, qlab, glab):
    n = sim.shape[1]
    out = {"per_query_ap": []}
    sums = {f"map@{k}": 0.0 for k in KS}
    sums.update({f"prec@{k}": 0.0 for k in KS})
    for i in range(len(qlab)):
        rel = (glab == qlab[i])[np.argsort(-sim[i], kind="stable")].astype(np.float64)
        R = rel.sum()
        prec_at = np.cumsum(rel) / np.arange(1, n + 1)
        out["per_query_ap"].append(float((prec_at * rel).sum() / R) if R > 0 else 0.0)
        for k in KS:
            hits = rel[:k].sum()
            sums[f"prec@{k}"] += hits / min(k, n)
            sums[f"map@{k}"] += (prec_at[:k] * rel[:k]).sum() / hits if hits > 0 else 0.0
    out["map_all"] = float(np.mean(out["per_query_ap"]))
    for key, v in sums.items():
        out[key] = float(v / len(qlab))
    return out


def poincare_distance(x, y, c):
    sq = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    nx = 1 - c * (x ** 2).sum(-1)
    ny = 1 - c * (y ** 2).sum(-1)
    return np.arccosh(1 + 2 * c * sq / (nx[:, None] * ny[None, :])) / np.sqrt(c)


def expected_for(sim, qlab, glab):
    return {
        "standard": standard_preset(sim, qlab, glab),
        "voc": voc_preset(sim, qlab, glab),
        "sake": sake_preset(sim, qlab, glab),
        "zse-sbir": zse_preset(-sim, qlab, glab),
        "sem-pcyc": sem_pcyc_preset(sim, qlab, glab),
    }


def labels(rng, q, n, classes):
    qlab = rng.integers(0, classes, size=q)
    qlab[:classes] = np.arange(classes)  # every class has queries (SAKE indexes lists by id)
    glab = rng.integers(0, classes, size=n)
    glab[:classes] = np.arange(classes)
    return qlab, glab


def score_case(rng, name, q, n, classes, levels=None, empty_class=False):
    qlab, glab = labels(rng, q, n, classes)
    if empty_class:
        glab[glab == classes - 1] = 0  # the last class has queries but no gallery item
    sim = rng.normal(size=(q, n)) + 1.2 * (qlab[:, None] == glab[None, :])
    if levels is None:
        assert all(len(np.unique(row)) == n for row in sim)
    else:
        # Few distinct values: long runs of ties, also across the top-K cuts.
        sim = np.round(sim * levels / 4.0) / levels
        assert any(len(np.unique(row)) < n // 4 for row in sim)
    return {
        "name": name,
        "scores": sim.tolist(),
        "query_labels": qlab.tolist(),
        "gallery_labels": glab.tolist(),
        "ks": KS,
        "expected": expected_for(sim, qlab, glab),
    }


def poincare_case(rng, name, q, n, classes, dim, c):
    qlab, glab = labels(rng, q, n, classes)
    centres = rng.normal(size=(classes, dim)) * 0.6

    def points(lab):
        v = centres[lab] + 0.5 * rng.normal(size=(len(lab), dim))
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        return np.tanh(np.sqrt(c) * norm) * v / (np.sqrt(c) * norm)  # exp0 into the ball

    queries = points(qlab)
    gallery = points(glab)
    # Duplicated rows tie exactly, in the reference and in hcmsn alike.
    dup = rng.choice(n, size=n // 5, replace=False)
    src = rng.choice(n, size=n // 5, replace=True)
    gallery[dup] = gallery[src]
    glab[dup] = glab[src]
    sim = -poincare_distance(queries, gallery, c)
    return {
        "name": name,
        "queries": queries.tolist(),
        "gallery": gallery.tolist(),
        "curvature": c,
        "query_labels": qlab.tolist(),
        "gallery_labels": glab.tolist(),
        "ks": KS,
        "expected": expected_for(sim, qlab, glab),
    }


def main():
    rng = np.random.default_rng(20261206)
    cases = [
        score_case(rng, "no_ties", 48, 320, 6),
        score_case(rng, "ties", 48, 320, 6, levels=3),
        poincare_case(rng, "poincare_duplicates", 40, 260, 5, dim=6, c=0.5),
        score_case(rng, "empty_class", 30, 120, 4, empty_class=True),
    ]
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "protocol_golden.json")

    def clean(x):  # NaN (SAKE's value for a class without gallery items) as null
        if isinstance(x, float) and np.isnan(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    with open(out, "w") as f:
        json.dump({"generator": "tests/reference/make_protocol_golden.py", "cases": clean(cases)},
                  f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
