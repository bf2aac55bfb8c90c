#!/usr/bin/python3
"""Golden values for hcmsn's Poincaré-ball geometry and hyperbolic MLR, from mpmath at 50 digits.

Writes tests/fixtures/geometry_golden.json. Run with Debian's python3 (python3-mpmath,
python3-numpy): /usr/bin/python3 tests/reference/make_geometry_golden.py

Everything is computed directly from the textbook formulas (docs: ../shared/DESIGN.md §3,
include/hcmsn/geometry/*.h), independently of the C++ code:
  λ_x          = 2 / (1 − c‖x‖²)
  x ⊕ y        = ((1 + 2c⟨x,y⟩ + c‖y‖²) x + (1 − c‖x‖²) y) / (1 + 2c⟨x,y⟩ + c²‖x‖²‖y‖²)
  exp0(v)      = tanh(√c‖v‖) v / (√c‖v‖)
  log0(y)      = artanh(√c‖y‖) y / (√c‖y‖)
  exp_x(u)     = x ⊕ tanh(√c λ_x ‖u‖ / 2) u / (√c‖u‖)
  log_x(y)     = (2 / (√c λ_x)) artanh(√c‖−x ⊕ y‖) (−x ⊕ y) / ‖−x ⊕ y‖
  d(x, y)      = (2/√c) artanh(√c‖−x ⊕ y‖) = (1/√c) arcosh(1 + 2c‖x−y‖²/((1−c‖x‖²)(1−c‖y‖²)))
                 (both forms are evaluated and asserted to agree to 1e-30)
  MLR logit_k  = (λ_{p_k}‖a_k‖/√c) asinh(2√c⟨z, a_k⟩ / ((1 − c‖z‖²)‖a_k‖)),  z = −p_k ⊕ x
                 (z formed explicitly by Möbius addition)
For c = 0 the Euclidean limits are used (derived from the formulas as c → 0):
  λ_x = 2, x ⊕ y = x + y, exp0(v) = v, log0(y) = y, exp_x(u) = x + u (λ_x → 2, tanh(s)/s → 1),
  log_x(y) = y − x, d(x, y) = 2‖x − y‖, logit = 4⟨x − p, a⟩ (λ_p → 2, asinh(s) → s).

Inputs are float64 numbers (stored with Python's shortest round-trip repr, so the C++ side
parses bit-identical values), and the references are computed from exactly those values. All
inputs except points with √c‖x‖ > 0.9999 are also exactly representable in float32, so the
float32 tests see the same inputs too (only c itself is rounded to float32 there).

Each reference value comes with a sensitivity "sens": max over random componentwise relative
perturbations (1 + δ r_i), r_i = ±1, of all inputs and of c, of ‖f(perturbed) − f‖∞ / δ. A
backward-stable implementation in a dtype with unit roundoff u is then expected within a small
multiple of u·sens; the C++ tests use that for their tolerances near the boundary (where
1 − c‖x‖² amplifies the rounding of the inputs themselves).

Layout:
  rows: the labels of the n rows of every geometry case.
  geometry[]: {name, dim, c, x (n,d), y (n,d), v (n,d) tangent at 0, u (n,d) tangent at x_i,
               margin_x / margin_y (1 − √c‖·‖, 1 for c = 0), expected: {function: values},
               sens: {function: per-row sensitivity}}; distance_matrix is x vs y (n, n).
  mlr[]:      {name, dim, c, x (B,d), p (K,d), a (K,d), logits (B,K), sens (B,K)}
  mlr_module[]: {name, dim, c, x, p_raw, a_raw, logits} with p = exp0(p_raw) and
               a = a_raw (1 − c‖p‖²) (the module's parameterisation).
"""
import json
import os

import numpy as np
from mpmath import acosh, asinh, atanh, fsum, log1p, mp, mpf, sqrt, tanh

mp.dps = 50
DELTA = mpf("1e-20")  # relative perturbation for the sensitivities
CURVATURES = [1.0, 0.3, 0.01, 1e-6, 0.0]
DIMS = [2, 3, 8]
NEAR = 1 - 1e-7  # √c‖x‖ of the near-boundary points (float64 keeps them: 1 − 1e-7 < 1 − 1e-10)


# ---------------------------------------------------------------- vector helpers (mpmath)
def dot(a, b):
    return fsum(x * y for x, y in zip(a, b))


def norm2(a):
    return dot(a, a)


def norm(a):
    return sqrt(norm2(a))


def scal(s, a):
    return [s * x for x in a]


def add(a, b):
    return [x + y for x, y in zip(a, b)]


def neg(a):
    return [-x for x in a]


def is_zero(a):
    return all(x == 0 for x in a)


# ---------------------------------------------------------------- the formulas
def lam(x, c):
    return 2 / (1 - c * norm2(x))


def mobius_add(x, y, c):
    # Valid as written for c = 0 too (gives x + y).
    xy, x2, y2 = dot(x, y), norm2(x), norm2(y)
    num = add(scal(1 + 2 * c * xy + c * y2, x), scal(1 - c * x2, y))
    den = 1 + 2 * c * xy + c * c * x2 * y2
    return scal(1 / den, num)


def expmap0(v, c):
    if is_zero(v) or c == 0:
        return list(v)
    s = sqrt(c) * norm(v)
    return scal(tanh(s) / s, v)


def logmap0(y, c):
    if is_zero(y) or c == 0:
        return list(y)
    s = sqrt(c) * norm(y)
    assert s < 1
    return scal(atanh(s) / s, y)


def expmap(x, u, c):
    if is_zero(u):
        return list(x)  # x ⊕ 0 = x
    if c == 0:
        return add(x, u)
    n = norm(u)
    return mobius_add(x, scal(tanh(sqrt(c) * lam(x, c) * n / 2) / (sqrt(c) * n), u), c)


def logmap(x, y, c):
    m = mobius_add(neg(x), y, c)
    if is_zero(m) or c == 0:
        return m  # c = 0: y − x
    n = norm(m)
    assert sqrt(c) * n < 1
    return scal(2 / (sqrt(c) * lam(x, c)) * atanh(sqrt(c) * n) / n, m)


def distance_artanh(x, y, c):
    n = norm(mobius_add(neg(x), y, c))
    if c == 0:
        return 2 * n
    return 2 / sqrt(c) * atanh(sqrt(c) * n)


def distance_arcosh(x, y, c):
    diff2 = norm2(add(x, neg(y)))
    if c == 0:
        return 2 * sqrt(diff2)
    z = 2 * c * diff2 / ((1 - c * norm2(x)) * (1 - c * norm2(y)))
    # arcosh(1 + z), written as log1p(z + sqrt(z(z + 2))) so that 1 + z is never rounded.
    acosh_1pz = log1p(z + sqrt(z * (z + 2)))
    assert abs(acosh_1pz - acosh(1 + z)) <= mpf("1e-25")
    return acosh_1pz / sqrt(c)


def distance(x, y, c):
    d1 = distance_artanh(x, y, c)
    d2 = distance_arcosh(x, y, c)
    assert abs(d1 - d2) <= mpf("1e-30") * max(1, abs(d1)), (d1, d2)
    return d1


def mlr_logit(x, p, a, c):
    z = mobius_add(neg(p), x, c)  # −p ⊕ x, explicitly
    if c == 0:
        ref = 4 * dot(add(x, neg(p)), a)
        assert abs(4 * dot(z, a) - ref) <= mpf("1e-40") * max(1, abs(ref))
        return ref
    an = norm(a)
    if an == 0:
        return mpf(0)
    s = 2 * sqrt(c) * dot(z, a) / ((1 - c * norm2(z)) * an)
    return lam(p, c) * an / sqrt(c) * asinh(s)


# ---------------------------------------------------------------- conversions
def mp_vec(a):
    return [mpf(float(t)) for t in a]  # exactly the float64 value


def f64(x):
    return float(x)  # mpmath rounds to nearest


def vec_out(a):
    return [f64(t) for t in a]


def as_list(r):
    return r if isinstance(r, list) else [r]


def sensitivity(fn, vecs, c, rng, trials=4):
    """max over trials of ‖fn(perturbed) − fn‖∞ / δ (componentwise relative perturbations of
    every input coordinate and of c)."""
    base = as_list(fn(vecs, mpf(c)))
    worst = mpf(0)
    for _ in range(trials):
        pv = [[t * (1 + DELTA * int(rng.choice([-1, 1]))) for t in v] for v in vecs]
        pc = mpf(c) * (1 + DELTA * int(rng.choice([-1, 1])))
        out = as_list(fn(pv, pc))
        diff = max([abs(a - b) for a, b in zip(out, base)] + [mpf(0)])
        worst = max(worst, diff / DELTA)
    return float(mp.nstr(worst, 3))  # 3 significant digits are plenty for a tolerance


# ---------------------------------------------------------------- inputs
def unit(rng, d):
    u = rng.normal(size=d)
    return u / np.linalg.norm(u)


def point(rng, d, c, rho, direction=None):
    """A float64 point with √c‖x‖ ≈ rho (‖x‖ ≈ rho for c = 0); float32-representable unless
    rho > 0.9999 and c > 0."""
    if rho == 0:
        return np.zeros(d)
    u = unit(rng, d) if direction is None else direction
    scale = 1.0 if c == 0 else 1.0 / np.sqrt(c)
    x = (u * rho * scale).astype(np.float64)
    if rho <= 0.9999 or c == 0:  # (c = 0 has no boundary)
        x = f32(x)
    return x


def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def tangent_at(rng, d, c, x, s):
    """u ∈ T_x with √c λ_x ‖u‖ / 2 = s (‖u‖ = s for c = 0), float32-representable."""
    if s == 0:
        return np.zeros(d)
    if c == 0:
        return f32(unit(rng, d) * s)
    lx = float(lam(mp_vec(x), mpf(c)))
    return f32(unit(rng, d) * (2 * s / (np.sqrt(c) * lx)))


def tangent0(rng, d, c, s):
    """v ∈ T_0 with √c‖v‖ = s (‖v‖ = s for c = 0), float32-representable."""
    if s == 0:
        return np.zeros(d)
    scale = 1.0 if c == 0 else 1.0 / np.sqrt(c)
    return f32(unit(rng, d) * s * scale)


# Rows: (label, ρx, ρy or a rule, √c‖v‖, s for u). ρ is √c‖·‖ (Euclidean norm for c = 0).
ROWS = [
    ("zeros", 0.0, 0.0, 0.0, 0.0),
    ("origin_to_mid", 0.0, 0.5, 1e-6, 0.3),
    ("mid_to_origin", 0.5, 0.0, 1e-3, 1.0),
    ("small_to_far", 0.1, 0.9, 0.1, 2.0),
    ("identical", 0.9, "same", 0.5, 0.01),
    ("antipodal", 0.9, "neg", 1.0, 1e-6),
    ("r0.99_to_r0.3", 0.99, 0.3, 2.0, 0.5),
    ("r0.9999_pair", 0.9999, 0.9999, 3.0, 1.0),
    ("close_pair", 0.7, "close", 5.0, 0.7),
    ("near_boundary_x", NEAR, 0.5, 0.3, 1.5),
    ("near_boundary_y", 0.5, NEAR, 1.2, 0.2),
    ("near_boundary_close", NEAR, "near_close", 0.05, 1.0),
    ("near_boundary_pair", NEAR, NEAR, 0.8, 0.05),
    ("random", "rand", "rand", 0.6, 0.4),
]


def make_geometry_case(rng, d, c):
    xs, ys, vs, us = [], [], [], []
    for label, rx, ry, sv, su in ROWS:
        if rx == "rand":
            rx = float(rng.uniform(0.05, 0.95))
        x = point(rng, d, c, rx)
        if ry == "same":
            y = x.copy()
        elif ry == "neg":
            y = -x
        elif ry == "close":
            y = f32(x + 1e-4 * (1.0 if c == 0 else 1 / np.sqrt(c)) * unit(rng, d))
        elif ry == "near_close":
            # Another near-boundary point at a small Euclidean offset from x.
            scale = 1.0 if c == 0 else 1.0 / np.sqrt(c)
            y = x + 1e-8 * scale * unit(rng, d)
            y = y * (NEAR * scale / np.linalg.norm(y))
            if c == 0:
                y = f32(y)
        elif ry == "rand":
            y = point(rng, d, c, float(rng.uniform(0.05, 0.95)))
        else:
            y = point(rng, d, c, ry)
        xs.append(x)
        ys.append(y)
        vs.append(tangent0(rng, d, c, sv))
        us.append(tangent_at(rng, d, c, x, su))

    C = mpf(c)
    X = [mp_vec(t) for t in xs]
    Y = [mp_vec(t) for t in ys]
    V = [mp_vec(t) for t in vs]
    U = [mp_vec(t) for t in us]
    sc = sqrt(C)

    def margin(p):
        # 4 significant digits: the tests use margins only to pick tolerances.
        return 1.0 if c == 0 else float(mp.nstr(1 - sc * norm(p), 4))

    funcs = {
        "conformal_factor": (lambda a, cc: lam(a[0], cc), lambda i: [X[i]]),
        "mobius_add": (lambda a, cc: mobius_add(a[0], a[1], cc), lambda i: [X[i], Y[i]]),
        # (−x) ⊕ y, the form inside logmap and the Möbius distance.
        "mobius_add_neg": (lambda a, cc: mobius_add(neg(a[0]), a[1], cc),
                           lambda i: [X[i], Y[i]]),
        "expmap0": (lambda a, cc: expmap0(a[0], cc), lambda i: [V[i]]),
        "logmap0": (lambda a, cc: logmap0(a[0], cc), lambda i: [Y[i]]),
        "expmap": (lambda a, cc: expmap(a[0], a[1], cc), lambda i: [X[i], U[i]]),
        "logmap": (lambda a, cc: logmap(a[0], a[1], cc), lambda i: [X[i], Y[i]]),
        "distance": (lambda a, cc: distance(a[0], a[1], cc), lambda i: [X[i], Y[i]]),
    }
    expected, sens = {}, {}
    for name, (fn, args) in funcs.items():
        vals, ss = [], []
        for i in range(len(ROWS)):
            r = fn(args(i), C)
            vals.append(vec_out(r) if isinstance(r, list) else f64(r))
            ss.append(sensitivity(fn, args(i), c, rng))
        expected[name] = vals
        sens[name] = ss
    expected["distance_matrix"] = [[f64(distance(xi, yj, C)) for yj in Y] for xi in X]
    # Margins of intermediate points, for the tests' conditioning decisions.
    margin_xy = [margin(mobius_add(neg(X[i]), Y[i], C)) for i in range(len(ROWS))]
    margin_exp = [margin(expmap(X[i], U[i], C)) for i in range(len(ROWS))]
    margin_exp0 = [margin(expmap0(V[i], C)) for i in range(len(ROWS))]
    for m in margin_exp + margin_exp0:
        assert m > 1e-9, "an exp result would be projected in float64; pick shorter tangents"
    return {
        "name": f"d{d}_c{c:g}",
        "dim": d,
        "c": c,
        "x": [t.tolist() for t in xs],
        "y": [t.tolist() for t in ys],
        "v": [t.tolist() for t in vs],
        "u": [t.tolist() for t in us],
        "margin_x": [margin(t) for t in X],
        "margin_y": [margin(t) for t in Y],
        "margin_xy": margin_xy,
        "margin_exp0": margin_exp0,
        "margin_exp": margin_exp,
        "expected": expected,
        "sens": sens,
    }


def make_mlr_case(rng, d, c):
    x_rho = [0.0, 0.3, 0.7, 0.95, 0.999, NEAR]
    p_rho = [0.0, 0.3, 0.8, 0.99]
    a_norm = [1.0, 0.5, 2.0, 0.1]
    xs = np.stack([point(rng, d, c, r) for r in x_rho])
    ps = np.stack([point(rng, d, c, r) for r in p_rho])
    a_s = np.stack([f32(unit(rng, d) * n) for n in a_norm])
    C = mpf(c)
    X = [mp_vec(t) for t in xs]
    P = [mp_vec(t) for t in ps]
    A = [mp_vec(t) for t in a_s]

    def fn(a, cc):
        return mlr_logit(a[0], a[1], a[2], cc)

    logits = [[f64(mlr_logit(xi, pk, ak, C)) for pk, ak in zip(P, A)] for xi in X]
    sens = [[sensitivity(fn, [xi, pk, ak], c, rng) for pk, ak in zip(P, A)] for xi in X]
    sc = sqrt(C)
    return {
        "name": f"mlr_d{d}_c{c:g}",
        "dim": d,
        "c": c,
        "x": xs.tolist(),
        "p": ps.tolist(),
        "a": a_s.tolist(),
        "margin_x": [1.0 if c == 0 else float(mp.nstr(1 - sc * norm(t), 4)) for t in X],
        "logits": logits,
        "sens": sens,
    }


def make_mlr_module_case(rng, d, k, c):
    b = 5
    xs = np.stack([point(rng, d, c, r) for r in np.linspace(0.0, 0.9, b)])
    p_raw = f32(rng.normal(size=(k, d)) * 0.4)
    a_raw = f32(rng.normal(size=(k, d)))
    C = mpf(c)
    logits = []
    P, A = [], []
    for j in range(k):
        p = expmap0(mp_vec(p_raw[j]), C)
        P.append(p)
        A.append(scal(1 - C * norm2(p), mp_vec(a_raw[j])))
    for xi in xs:
        X = mp_vec(xi)
        logits.append([f64(mlr_logit(X, P[j], A[j], C)) for j in range(k)])
    return {
        "name": f"module_d{d}_k{k}_c{c:g}",
        "dim": d,
        "c": c,
        "x": xs.tolist(),
        "p_raw": p_raw.tolist(),
        "a_raw": a_raw.tolist(),
        "logits": logits,
    }


def dump(obj):
    return json.dumps(obj, separators=(",", ":"))


def write(path, doc):
    # One key per line inside each case: compact, but diffable and readable.
    lines = ["{"]
    top = list(doc.items())
    for ti, (key, val) in enumerate(top):
        comma = "," if ti + 1 < len(top) else ""
        if isinstance(val, list) and val and isinstance(val[0], dict):
            lines.append(f' "{key}": [')
            for ci, case in enumerate(val):
                lines.append("  {")
                items = list(case.items())
                for ii, (k, v) in enumerate(items):
                    sep = "," if ii + 1 < len(items) else ""
                    if isinstance(v, dict):
                        lines.append(f'   "{k}": {{')
                        sub = list(v.items())
                        for si, (kk, vv) in enumerate(sub):
                            s2 = "," if si + 1 < len(sub) else ""
                            lines.append(f'    "{kk}": {dump(vv)}{s2}')
                        lines.append(f"   }}{sep}")
                    else:
                        lines.append(f'   "{k}": {dump(v)}{sep}')
                lines.append("  }" + ("," if ci + 1 < len(val) else ""))
            lines.append(" ]" + comma)
        else:
            lines.append(f' "{key}": {dump(val)}{comma}')
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    rng = np.random.default_rng(20261125)
    geometry = [make_geometry_case(rng, d, c) for d in DIMS for c in CURVATURES]
    mlr = [make_mlr_case(rng, d, c) for d in DIMS for c in CURVATURES]
    module = [make_mlr_module_case(rng, 3, 3, c) for c in [1.0, 0.3, 0.0]]
    doc = {
        "generator": "tests/reference/make_geometry_golden.py",
        "mpmath": __import__("mpmath").__version__,
        "dps": mp.dps,
        "rows": [r[0] for r in ROWS],
        "note": "inputs are float64 (float32-representable where √c‖x‖ <= 0.9999); references "
                "rounded to nearest float64; sens = sensitivity to relative input rounding",
        "geometry": geometry,
        "mlr": mlr,
        "mlr_module": module,
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                       "geometry_golden.json")
    write(out, doc)
    json.load(open(out))  # well-formed
    print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
