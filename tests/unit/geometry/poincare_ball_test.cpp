// Poincaré-ball geometry (hcmsn/geometry/poincare_ball.h):
//  * GeometryGolden*: every function against 50-digit mpmath values computed from the textbook
//    formulas (tests/reference/make_geometry_golden.py → tests/fixtures/geometry_golden.json),
//    in float64 and float32;
//  * GeometryGradient*: autograd against central finite differences (float64), including a
//    learnable curvature tensor;
//  * GeometryEdge*: finite forward values and gradients at zero vectors, the boundary, outside
//    the ball, very long tangent vectors, tiny and zero curvature, broadcasting batch shapes;
//  * GeometryIdentity*: exact relations between the functions.
//
// Tolerances of the golden comparisons. A result row r (a vector or a number) passes when
//   ‖got − ref‖∞ ≤ rtol·‖ref‖∞ + K·u·sens + atol,
// u the unit roundoff of the dtype, K = 16, and sens the row's sensitivity to relative
// perturbations of the inputs (and of c) from the generator: that is the error any
// backward-stable evaluation commits, since the inputs themselves are only known to relative
// accuracy u. It is what lets points at √c‖x‖ = 1 − 1e-7 be compared in float64, where
// 1 − c‖x‖² ≈ 2e-7 amplifies the rounding of x a millionfold. rtol is 1e-12 (float64) and 1e-4
// (float32), atol 1e-14 / 1e-6 for values that are (near) zero.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/util/check.h"
#include "support/ball_points.h"
#include "support/json_tensor.h"
#include "support/test_support.h"

namespace hcmsn::geometry {
namespace {

using test::points;
using test::scalarised;
using test::to_tensor;
using test::weights_like;

using Fn = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

using test::kU32;
using test::kU64;

// ------------------------------------------------------------------------------------------
// Tolerances
// ------------------------------------------------------------------------------------------

struct Tolerance {
  double rtol;
  double unit;
  double k;
  double atol;
  // float32 cannot hold a point whose distance to the boundary, 1 − √c‖x‖, is below its
  // projection margin ε = 1e-5: the library projects it to 1 − 1e-5 (by design), and even
  // points at 1 − 5e-5 lose most of their 1 − c‖x‖² to the rounding of x. Golden rows with
  // such inputs are compared in float64 only. 0 for float64 (its ε = 1e-10 lies below every
  // input of the golden file).
  double min_input_margin;
  double eps;  // boundary_eps(dtype)
};

Tolerance tolerance(torch::ScalarType dt) {
  if (dt == torch::kFloat64) return {1e-12, kU64, 16, 1e-14, 0.0, 1e-10};
  return {1e-4, kU32, 16, 1e-6, 5e-5, 1e-5};
}

const char* dtype_name(torch::ScalarType dt) {
  return dt == torch::kFloat64 ? "float64" : "float32";
}

using test::num;

std::string str(const torch::Tensor& t) {
  const auto flat = t.detach().to(torch::kFloat64).contiguous().view(-1);
  std::string s = "[";
  char buf[40];
  for (int64_t i = 0; i < flat.numel(); ++i) {
    std::snprintf(buf, sizeof(buf), "%s%.17g", i ? ", " : "", flat[i].item<double>());
    s += buf;
  }
  return s + "]";
}

// ‖got − ref‖∞ ≤ rtol‖ref‖∞ + K·u·sens + extra + atol (see the file comment).
void expect_row_close(const std::string& where, const torch::Tensor& got, const torch::Tensor& ref,
                      double sens, const Tolerance& t, double extra = 0.0) {
  const double err = (got.to(torch::kFloat64) - ref).abs().max().item<double>();
  const double scale = ref.abs().max().item<double>();
  const double tol = t.rtol * scale + t.k * t.unit * sens + extra + t.atol;
  EXPECT_LE(err, tol) << where << "\n  got  " << str(got) << "\n  want " << str(ref) << "\n  err "
                      << err << " tol " << tol;
}

// ------------------------------------------------------------------------------------------
// The golden file
// ------------------------------------------------------------------------------------------

struct GeomCase {
  std::string name;
  double c = 0;
  int64_t dim = 0;
  std::vector<std::string> rows;
  torch::Tensor x, y, v, u;  // (n, d) float64
  std::vector<double> margin_x, margin_y, margin_xy, margin_exp0, margin_exp;
  nlohmann::json expected, sens;
};

const std::vector<GeomCase>& geometry_cases() {
  static const std::vector<GeomCase> cases = [] {
    std::ifstream in(test::fixture("geometry_golden.json"));
    EXPECT_TRUE(in.good()) << "missing " << test::fixture("geometry_golden.json");
    const nlohmann::json golden = nlohmann::json::parse(in);
    std::vector<GeomCase> out;
    for (const auto& j : golden["geometry"]) {
      GeomCase g;
      g.name = j["name"];
      g.c = j["c"];
      g.dim = j["dim"];
      g.rows = golden["rows"].get<std::vector<std::string>>();
      g.x = to_tensor(j["x"]);
      g.y = to_tensor(j["y"]);
      g.v = to_tensor(j["v"]);
      g.u = to_tensor(j["u"]);
      g.margin_x = j["margin_x"].get<std::vector<double>>();
      g.margin_y = j["margin_y"].get<std::vector<double>>();
      g.margin_xy = j["margin_xy"].get<std::vector<double>>();
      g.margin_exp0 = j["margin_exp0"].get<std::vector<double>>();
      g.margin_exp = j["margin_exp"].get<std::vector<double>>();
      g.expected = j["expected"];
      g.sens = j["sens"];
      out.push_back(std::move(g));
    }
    return out;
  }();
  return cases;
}

// A golden row to compare: the extra tolerance, and whether the reference must first be
// projected to the dtype's boundary radius (the library projects results by design).
struct RowPlan {
  double extra = 0.0;
  bool project_reference = false;
};
using Policy = std::function<std::optional<RowPlan>(const GeomCase&, size_t, const Tolerance&)>;
using Compute = std::function<torch::Tensor(const GeomCase&, torch::ScalarType)>;

// Runs `compute` on a whole case (one batched call per case and dtype) and compares every row
// that `policy` admits against expected[fn]. Returns the number of rows compared per dtype.
void run_golden(const std::string& fn, const std::string& sens_key, const Compute& compute,
                const Policy& policy, int min_rows_f64, int min_rows_f32) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const Tolerance t = tolerance(dt);
    int compared = 0;
    for (const auto& g : geometry_cases()) {
      const torch::Tensor got = compute(g, dt);
      ASSERT_EQ(got.scalar_type(), dt) << fn << " must keep the input dtype";
      const torch::Tensor ref = to_tensor(g.expected[fn]);
      ASSERT_EQ(got.sizes(), ref.sizes()) << fn << " " << g.name;
      const auto sens = g.sens[sens_key].get<std::vector<double>>();
      for (size_t i = 0; i < g.rows.size(); ++i) {
        const auto plan = policy(g, i, t);
        if (!plan) continue;
        auto want = ref[static_cast<int64_t>(i)];
        if (plan->project_reference && g.c > 0) {
          const double r = std::sqrt(g.c) * want.norm().item<double>();
          if (r > 1 - t.eps) want = want * ((1 - t.eps) / r);
        }
        expect_row_close(fn + " " + dtype_name(dt) + " " + g.name + " row " + g.rows[i],
                         got[static_cast<int64_t>(i)], want, sens[i], t, plan->extra);
        ++compared;
      }
    }
    // The policies may skip rows, but never silently most of them.
    EXPECT_GE(compared, dt == torch::kFloat64 ? min_rows_f64 : min_rows_f32) << fn;
  }
}

bool inputs_ok(double m, const Tolerance& t) {
  return m >= t.min_input_margin;
}

// −x ⊕ y closer to the boundary than 10ε: the library projects it (logmap0 inside logmap, the
// clamp in distance_mobius), so the artanh of these formulas saturates at artanh(1 − ε).
// See the report on logmap's range in GeometryGolden.LogmapSaturatesFarFromX.
bool mobius_diff_ok(const GeomCase& g, size_t i, const Tolerance& t) {
  return g.margin_xy[i] >= std::max(10 * t.eps, t.min_input_margin);
}

torch::Tensor in(const torch::Tensor& t, torch::ScalarType dt) {
  return t.to(dt);
}

double row_norm(const torch::Tensor& t, size_t i) {
  return t[static_cast<int64_t>(i)].norm().item<double>();
}

// The library forms m = −x ⊕ y with the textbook Möbius formula, whose numerator and
// denominator are sums of O(1) terms. Near the boundary both are small — the denominator is
// (1 − c‖x‖²)(1 − c‖y‖²) + c‖x − y‖² — so m carries an absolute error of about
//   Δm ≈ K·u·(‖x‖ + ‖y‖ + ‖m‖) / ((1 − c‖x‖²)(1 − c‖y‖²) + c‖x − y‖²),
// far above what the conditioning of log_x(y) or d(x, y) warrants for nearby points (see
// GeometryGolden.MobiusCancellationNearTheBoundary). This returns Δm for row i.
double mobius_diff_error(const GeomCase& g, size_t i, const Tolerance& t) {
  const double nx = row_norm(g.x, i);
  const double ny = row_norm(g.y, i);
  const auto ii = static_cast<int64_t>(i);
  const double diff = (g.x[ii] - g.y[ii]).norm().item<double>();
  const double c = g.c;
  const double nm = c > 0 ? (1 - g.margin_xy[i]) / std::sqrt(c) : diff;
  const double den = (1 - c * nx * nx) * (1 - c * ny * ny) + c * diff * diff;
  return t.k * t.unit * (nx + ny + nm) / den;
}

// 1 − c‖m‖² of m = −x ⊕ y (1 for c = 0).
double one_minus_cm2(const GeomCase& g, size_t i) {
  const double mg = g.margin_xy[i];
  return g.c > 0 ? mg * (2 - mg) : 1.0;
}

// ------------------------------------------------------------------------------------------
// Golden values
// ------------------------------------------------------------------------------------------

TEST(GeometryGolden, FileCoversTheRequestedCases) {
  const auto& cases = geometry_cases();
  ASSERT_EQ(cases.size(), 15u);  // dims {2, 3, 8} × c {1, 0.3, 0.01, 1e-6, 0}
  int near_boundary = 0;
  for (const auto& g : cases) {
    for (size_t i = 0; i < g.rows.size(); ++i) {
      if (g.c > 0 && std::abs(g.margin_x[i] - 1e-7) < 1e-8) ++near_boundary;
    }
    // The float32 runs rely on every input but the near-boundary points being a float32
    // number, so that both dtypes see identical inputs (only c is rounded in float32).
    for (size_t i = 0; i < g.rows.size(); ++i) {
      if (g.margin_x[i] > 1e-4) {
        const auto xi = g.x[static_cast<int64_t>(i)];
        EXPECT_TRUE(torch::equal(xi.to(torch::kFloat32).to(torch::kFloat64), xi)) << g.name;
      }
    }
  }
  EXPECT_GE(near_boundary, 24);
}

TEST(GeometryGolden, ConformalFactor) {
  run_golden(
      "conformal_factor", "conformal_factor",
      [](const GeomCase& g, torch::ScalarType dt) {
        return conformal_factor(in(g.x, dt), g.c).squeeze(-1);
      },
      [](const GeomCase& g, size_t i, const Tolerance& t) -> std::optional<RowPlan> {
        if (!inputs_ok(g.margin_x[i], t)) return std::nullopt;
        return RowPlan{};
      },
      200, 140);
}

TEST(GeometryGolden, MobiusAdd) {
  run_golden(
      "mobius_add", "mobius_add",
      [](const GeomCase& g, torch::ScalarType dt) {
        return mobius_add(in(g.x, dt), in(g.y, dt), g.c);
      },
      [](const GeomCase& g, size_t i, const Tolerance& t) -> std::optional<RowPlan> {
        if (!inputs_ok(std::min(g.margin_x[i], g.margin_y[i]), t)) return std::nullopt;
        return RowPlan{};
      },
      200, 120);
}

// (−x) ⊕ y, the form inside logmap: with the library's current accuracy near the boundary
// (mobius_diff_error; the strict comparison is GeometryGolden.MobiusCancellationNearTheBoundary).
TEST(GeometryGolden, MobiusAddNegated) {
  run_golden(
      "mobius_add_neg", "mobius_add_neg",
      [](const GeomCase& g, torch::ScalarType dt) {
        return mobius_add(-in(g.x, dt), in(g.y, dt), g.c);
      },
      [](const GeomCase& g, size_t i, const Tolerance& t) -> std::optional<RowPlan> {
        if (!inputs_ok(std::min(g.margin_x[i], g.margin_y[i]), t)) return std::nullopt;
        return RowPlan{mobius_diff_error(g, i, t), false};
      },
      200, 120);
}

TEST(GeometryGolden, Expmap0) {
  run_golden(
      "expmap0", "expmap0",
      [](const GeomCase& g, torch::ScalarType dt) { return expmap0(in(g.v, dt), g.c); },
      [](const GeomCase&, size_t, const Tolerance&) -> std::optional<RowPlan> {
        return RowPlan{0.0, true};
      },
      210, 210);
}

TEST(GeometryGolden, Logmap0) {
  run_golden(
      "logmap0", "logmap0",
      [](const GeomCase& g, torch::ScalarType dt) { return logmap0(in(g.y, dt), g.c); },
      [](const GeomCase& g, size_t i, const Tolerance& t) -> std::optional<RowPlan> {
        if (!inputs_ok(g.margin_y[i], t)) return std::nullopt;
        return RowPlan{};
      },
      210, 140);
}

TEST(GeometryGolden, Expmap) {
  run_golden(
      "expmap", "expmap",
      [](const GeomCase& g, torch::ScalarType dt) { return expmap(in(g.x, dt), in(g.u, dt), g.c); },
      [](const GeomCase& g, size_t i, const Tolerance& t) -> std::optional<RowPlan> {
        if (!inputs_ok(g.margin_x[i], t)) return std::nullopt;
        return RowPlan{0.0, true};
      },
      210, 140);
}

TEST(GeometryGolden, Logmap) {
  run_golden(
      "logmap", "logmap",
      [](const GeomCase& g, torch::ScalarType dt) { return logmap(in(g.x, dt), in(g.y, dt), g.c); },
      [](const GeomCase& g, size_t i, const Tolerance& t) -> std::optional<RowPlan> {
        if (!inputs_ok(std::min(g.margin_x[i], g.margin_y[i]), t)) return std::nullopt;
        if (!mobius_diff_ok(g, i, t)) return std::nullopt;
        // log_x(y) = (1 − c‖x‖²) · artanh(√c‖m‖)/√c · m/‖m‖: Δm enters scaled by
        // (1 − c‖x‖²)/(1 − c‖m‖²).
        const double nx = row_norm(g.x, i);
        const double extra = (1 - g.c * nx * nx) * mobius_diff_error(g, i, t) / one_minus_cm2(g, i);
        return RowPlan{extra, false};
      },
      180, 120);
}

// Regression (was a bug): Möbius addition loses all accuracy when x ⊕ y nearly cancels near the
// boundary, and logmap inherits it through −x ⊕ y. In float64 with √c‖x‖ = 1 − 1e-7 and
// ‖x − y‖ = 1e-8/√c (rows "near_boundary_close": d(x, y) ≈ 0.2/√c), −x ⊕ y is conditioned to
// ~1e-9 absolute and log_x(y) to ~1e-15 relative, but the library returns −x ⊕ y with errors
// of 5e-3 to 1 and log_x(y) with 5-15% relative error: the numerator and denominator, both
// O(1e-14) there, are summed from O(1) terms (1 + 2c⟨x,y⟩ + c‖y‖², …). The identities
//   1 + 2c⟨x,y⟩ + c‖y‖²      = (1 − c‖x‖²) + c‖x + y‖²
//   1 + 2c⟨x,y⟩ + c²‖x‖²‖y‖² = (1 − c‖x‖²)(1 − c‖y‖²) + c‖x + y‖²
// give a cancellation-free evaluation. (distance_mobius suffers the same, but is documented as
// the less accurate formula.) In float32 the loss is visible for ordinary points: √c‖x‖ = 0.98,
// ‖x − y‖ = 1e-3 gives ~3e-3 relative error in log_x(y).
TEST(GeometryGolden, MobiusCancellationNearTheBoundary) {
  const Tolerance t = tolerance(torch::kFloat64);
  for (const auto& g : geometry_cases()) {
    const auto got_add = mobius_add(-g.x, g.y, g.c);
    const auto ref_add = to_tensor(g.expected["mobius_add_neg"]);
    const auto got_log = logmap(g.x, g.y, g.c);
    const auto ref_log = to_tensor(g.expected["logmap"]);
    for (size_t i = 0; i < g.rows.size(); ++i) {
      const auto ii = static_cast<int64_t>(i);
      expect_row_close("mobius_add_neg " + g.name + " " + g.rows[i], got_add[ii], ref_add[ii],
                       g.sens["mobius_add_neg"][i].get<double>(), t);
      if (!mobius_diff_ok(g, i, t)) continue;
      expect_row_close("logmap " + g.name + " " + g.rows[i], got_log[ii], ref_log[ii],
                       g.sens["logmap"][i].get<double>(), t);
    }
  }
}

TEST(GeometryGolden, Distance) {
  run_golden(
      "distance", "distance",
      [](const GeomCase& g, torch::ScalarType dt) {
        return distance(in(g.x, dt), in(g.y, dt), g.c);
      },
      [](const GeomCase& g, size_t i, const Tolerance& t) -> std::optional<RowPlan> {
        if (!inputs_ok(std::min(g.margin_x[i], g.margin_y[i]), t)) return std::nullopt;
        return RowPlan{};
      },
      210, 120);
}

// The Möbius form against the same (arcosh/artanh-checked) reference. Its artanh(√c‖m‖)
// amplifies the error of ‖m‖ = ‖−x ⊕ y‖ by 1/(1 − c‖m‖²); the header documents it as the less
// accurate formula.
TEST(GeometryGolden, DistanceMobius) {
  run_golden(
      "distance", "distance",
      [](const GeomCase& g, torch::ScalarType dt) {
        return distance_mobius(in(g.x, dt), in(g.y, dt), g.c);
      },
      [](const GeomCase& g, size_t i, const Tolerance& t) -> std::optional<RowPlan> {
        if (!inputs_ok(std::min(g.margin_x[i], g.margin_y[i]), t)) return std::nullopt;
        if (!mobius_diff_ok(g, i, t)) return std::nullopt;
        // d = (2/√c) artanh(√c‖m‖): Δd = 2Δm/(1 − c‖m‖²), Δm from the rounding of ‖m‖ itself
        // (K·u‖m‖) and from the Möbius formula (mobius_diff_error).
        const double nm = g.c > 0 ? (1 - g.margin_xy[i]) / std::sqrt(g.c) : 0.0;
        const double dm = t.k * t.unit * nm + mobius_diff_error(g, i, t);
        return RowPlan{2 * dm / one_minus_cm2(g, i), false};
      },
      180, 120);
}

// Error bound of distance_matrix, which forms ‖x − y‖² as ‖x‖² + ‖y‖² − 2⟨x, y⟩ (one matrix
// product): besides the input rounding, q = ‖x − y‖²/((1 − c‖x‖²)(1 − c‖y‖²)) carries an
// absolute error of about K·u·(‖x‖² + ‖y‖²)/((1 − c‖x‖²)(1 − c‖y‖²)), which near the boundary
// or for nearby points dominates. The bound maps that error in q through d(q).
double pairwise_tolerance(double d_ref, double nx, double ny, double c, const Tolerance& t) {
  const double sc = std::sqrt(c);
  auto d_of_q = [&](double q) {
    q = std::max(q, 0.0);
    return c > 0 ? 2 * std::asinh(std::sqrt(c * q)) / sc : 2 * std::sqrt(q);
  };
  const double q = c > 0 ? std::pow(std::sinh(sc * d_ref / 2), 2) / c : d_ref * d_ref / 4;
  const double mx = c > 0 ? 1 - sc * nx : 1.0;
  const double my = c > 0 ? 1 - sc * ny : 1.0;
  const double den = (1 - c * nx * nx) * (1 - c * ny * ny);
  const double dq = t.k * t.unit * ((nx * nx + ny * ny) / den + q * (1 / mx + 1 / my));
  return std::max(d_of_q(q + dq) - d_ref, d_ref - d_of_q(q - dq)) + t.rtol * d_ref + t.atol;
}

TEST(GeometryGolden, PairwiseDistance) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const Tolerance t = tolerance(dt);
    int compared = 0;
    for (const auto& g : geometry_cases()) {
      const auto got =
          distance_matrix(in(g.x, dt), in(g.y, dt), Curvature(g.c)).to(torch::kFloat64);
      const auto ref = to_tensor(g.expected["distance_matrix"]);
      ASSERT_EQ(got.sizes(), ref.sizes());
      const auto nx = g.x.norm(2, -1);
      const auto ny = g.y.norm(2, -1);
      const int64_t n = ref.size(0);
      for (int64_t i = 0; i < n; ++i) {
        if (!inputs_ok(g.margin_x[i], t)) continue;
        for (int64_t j = 0; j < n; ++j) {
          if (!inputs_ok(g.margin_y[j], t)) continue;
          const double want = ref[i][j].item<double>();
          const double tol =
              pairwise_tolerance(want, nx[i].item<double>(), ny[j].item<double>(), g.c, t);
          EXPECT_NEAR(got[i][j].item<double>(), want, tol)
              << dtype_name(dt) << " " << g.name << " x row " << g.rows[i] << ", y row "
              << g.rows[j];
          ++compared;
        }
      }
    }
    EXPECT_GE(compared, dt == torch::kFloat64 ? 2900 : 1400);
  }
}

// The elementwise distance between far apart near-boundary points is computed correctly (the
// arcosh form needs no −x ⊕ y). logmap and distance_mobius go through −x ⊕ y, which for
// d(x, y) beyond 2·artanh(1 − ε)/√c lies closer to the boundary than float64 can resolve, and
// the library projects it: this documents that range (see the report).
TEST(GeometryGolden, LogmapSaturatesFarFromX) {
  int far = 0;
  for (const auto& g : geometry_cases()) {
    const auto d = distance(g.x, g.y, g.c);
    const auto ref_d = to_tensor(g.expected["distance"]);
    for (size_t i = 0; i < g.rows.size(); ++i) {
      if (g.c == 0 || g.margin_xy[i] >= 1e-9) continue;
      ++far;
      const auto ii = static_cast<int64_t>(i);
      const double want = ref_d[ii].item<double>();
      // The arcosh form: accurate (sens-based tolerance as above).
      expect_row_close("distance " + g.name + " " + g.rows[i], d[ii], ref_d[ii],
                       g.sens["distance"][i].get<double>(), tolerance(torch::kFloat64));
      // The artanh forms stay finite and at most the saturation value 2·artanh(1 − ε)/√c.
      const double cap = 2 * std::atanh(1 - 1e-10) / std::sqrt(g.c);
      const double dm = distance_mobius(g.x[ii], g.y[ii], g.c).item<double>();
      EXPECT_TRUE(std::isfinite(dm));
      EXPECT_LE(dm, cap * (1 + 1e-9));
      EXPECT_LE(dm, want * (1 + 1e-9));
      const auto lg = logmap(g.x[ii], g.y[ii], g.c);
      EXPECT_TRUE(torch::isfinite(lg).all().item<bool>());
    }
  }
  EXPECT_GE(far, 12);  // the near_boundary_pair rows
}

// ------------------------------------------------------------------------------------------
// Deterministic inputs for the non-golden tests
// ------------------------------------------------------------------------------------------

// At a fixed radius.
torch::Tensor points_at(int64_t n, int64_t d, double c, double rho, uint32_t seed,
                        torch::ScalarType dt = torch::kFloat64) {
  return points(n, d, c, rho, rho, seed, dt);
}

// ------------------------------------------------------------------------------------------
// Gradients against finite differences (float64)
// ------------------------------------------------------------------------------------------

// Reduces f's output with fixed weights so that every output element enters the gradient.
struct NamedFn {
  std::string name;
  std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& y,
                              const torch::Tensor& v, const Curvature& c)>
      f;
};

// Every differentiable function of the header, written over (x, y, v): points x, y (n, d) and
// a tangent vector v (n, d).
std::vector<NamedFn> all_functions() {
  using T = torch::Tensor;
  using C = Curvature;
  return {
      {"conformal_factor",
       [](const T& x, const T&, const T&, const C& c) { return conformal_factor(x, c); }},
      {"mobius_add",
       [](const T& x, const T& y, const T&, const C& c) { return mobius_add(x, y, c); }},
      {"expmap0", [](const T&, const T&, const T& v, const C& c) { return expmap0(v, c); }},
      {"logmap0", [](const T&, const T& y, const T&, const C& c) { return logmap0(y, c); }},
      {"expmap", [](const T& x, const T&, const T& v, const C& c) { return expmap(x, v, c); }},
      {"logmap", [](const T& x, const T& y, const T&, const C& c) { return logmap(x, y, c); }},
      {"distance", [](const T& x, const T& y, const T&, const C& c) { return distance(x, y, c); }},
      {"distance_mobius",
       [](const T& x, const T& y, const T&, const C& c) { return distance_mobius(x, y, c); }},
      {"distance_matrix",
       [](const T& x, const T& y, const T&, const C& c) {
         const auto d = x.size(-1);
         return distance_matrix(x.reshape({-1, d}), y.reshape({-1, d}).flip(0), c);
       }},
      {"project", [](const T& x, const T&, const T&, const C& c) { return project(x, c); }},
      {"clip_features",
       [](const T&, const T&, const T& v, const C&) { return clip_features(v, 1.5); }},
  };
}

TEST(GeometryGradient, MatchesFiniteDifferencesAtGenericPoints) {
  for (const double c : {1.0, 0.3, 1e-3, 0.0}) {
    const auto x = points(4, 3, c, 0.1, 0.8, 11);
    const auto y = points(4, 3, c, 0.1, 0.8, 12);
    // Tangent vectors with √c‖v‖ in [0.1, 2] (clip_features sees norms on both sides of 1.5).
    const auto v = points(4, 3, c, 0.1, 2.0, 13) *
                   torch::tensor({1.0, 1.0, 3.0, 0.5}, torch::kFloat64).unsqueeze(1);
    for (const auto& nf : all_functions()) {
      const Fn f = [&](const std::vector<torch::Tensor>& xs) {
        return nf.f(xs[0], xs[1], xs[2], c);
      };
      const double err = test::gradient_check_error(scalarised(f), {x, y, v});
      EXPECT_LT(err, 1e-6) << nf.name << " c=" << c;
    }
  }
}

// project and clip_features on the far side of their kinks.
TEST(GeometryGradient, ProjectAndClipBeyondTheirRadius) {
  for (const double c : {1.0, 0.3}) {
    const auto outside = points(4, 3, c, 1.2, 3.0, 21);
    const Fn f = [&](const std::vector<torch::Tensor>& xs) { return project(xs[0], c); };
    EXPECT_LT(test::gradient_check_error(scalarised(f), {outside}), 1e-6) << c;
    const Fn g = [&](const std::vector<torch::Tensor>& xs) { return project(xs[0], c, 0.2); };
    EXPECT_LT(test::gradient_check_error(scalarised(g), {points(4, 3, c, 0.85, 1.5, 22)}), 1e-6);
  }
  const auto u = points(5, 4, 0.0, 0.2, 4.0, 23);
  const Fn h = [](const std::vector<torch::Tensor>& xs) { return clip_features(xs[0], 1.0); };
  EXPECT_LT(test::gradient_check_error(scalarised(h), {u}), 1e-6);
}

// A learnable (0-dim, requires_grad) curvature: the gradient reaches c and matches finite
// differences, for every function that depends on c.
TEST(GeometryGradient, LearnableCurvature) {
  const double c0 = 0.5;
  const auto x = points(3, 3, c0, 0.1, 0.9, 31);
  const auto y = points(3, 3, c0, 0.1, 0.9, 32);
  const auto v = points(3, 3, c0, 0.1, 1.5, 33);
  const auto outside = points(3, 3, c0, 1.1, 2.0, 34);
  for (const auto& nf : all_functions()) {
    if (nf.name == "clip_features") continue;  // no curvature
    const bool is_project = nf.name == "project";
    const auto xin = is_project ? outside : x;
    // Gradient reaches c.
    const auto c = torch::tensor(c0, torch::kFloat64).requires_grad_();
    const auto out = nf.f(xin, y, v, Curvature(c));
    (out * weights_like(out)).sum().backward();
    ASSERT_TRUE(c.grad().defined()) << nf.name;
    EXPECT_TRUE(std::isfinite(c.grad().item<double>())) << nf.name;
    EXPECT_NE(c.grad().item<double>(), 0.0) << nf.name;
    // And matches finite differences (in c and in the points together).
    const Fn f = [&](const std::vector<torch::Tensor>& xs) {
      return nf.f(xs[0], xs[1], xs[2], Curvature(xs[3]));
    };
    const double err =
        test::gradient_check_error(scalarised(f), {xin, y, v, torch::tensor(c0, torch::kFloat64)});
    EXPECT_LT(err, 1e-6) << nf.name;
  }
  // A float64 curvature with float32 points: c is cast, and the gradient still reaches it.
  const auto c = torch::tensor(c0, torch::kFloat64).requires_grad_();
  distance(x.to(torch::kFloat32), y.to(torch::kFloat32), Curvature(c)).sum().backward();
  ASSERT_TRUE(c.grad().defined());
  EXPECT_TRUE(std::isfinite(c.grad().item<double>()));
  EXPECT_NE(c.grad().item<double>(), 0.0);
}

// Regression (was a bug): with a learnable curvature tensor at exactly c = 0, every c-gradient is
// NaN: the functions go through sqrt(c), whose backward 1/(2√c) is inf at 0 (times a zero partial:
// NaN), although d(x, y) etc. are smooth in c at 0 (d = 2√q·(1 − cq/6 + …), q = ‖x − y‖²/
// ((1 − c‖x‖²)(1 − c‖y‖²)), so ∂d/∂c(0) = √q(‖x‖² + ‖y‖²) − q^{3/2}/3). Gradients w.r.t. the
// points stay finite (GeometryEdge.ZeroCurvatureTensor).
TEST(GeometryGradient, LearnableCurvatureAtZero) {
  const auto x = torch::tensor({{0.3, 0.1, -0.2}}, torch::kFloat64);
  const auto y = torch::tensor({{-0.1, 0.4, 0.2}}, torch::kFloat64);
  const auto c = torch::tensor(0.0, torch::kFloat64).requires_grad_();
  distance(x, y, Curvature(c)).sum().backward();
  const double q = (x - y).pow(2).sum().item<double>();
  const double want =
      std::sqrt(q) * (x.pow(2).sum() + y.pow(2).sum()).item<double>() - std::pow(q, 1.5) / 3;
  EXPECT_NEAR(c.grad().item<double>(), want, 1e-9);
}

// ------------------------------------------------------------------------------------------
// Edge cases: finite forward values and gradients
// ------------------------------------------------------------------------------------------

struct Outputs {
  std::vector<torch::Tensor> values;              // one per function of all_functions()
  std::vector<std::vector<torch::Tensor>> grads;  // d(sum w·out)/d(x, y, v)
};

// Every function at (x, y, v): forward values and gradients (w.r.t. x, y, v) must be finite.
Outputs expect_all_finite(const std::string& where, const torch::Tensor& x, const torch::Tensor& y,
                          const torch::Tensor& v, const Curvature& c) {
  Outputs o;
  for (const auto& nf : all_functions()) {
    std::vector<torch::Tensor> ins = {x.detach().clone().requires_grad_(),
                                      y.detach().clone().requires_grad_(),
                                      v.detach().clone().requires_grad_()};
    const auto out = nf.f(ins[0], ins[1], ins[2], c);
    EXPECT_EQ(out.scalar_type(), x.scalar_type()) << where << " " << nf.name;
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>())
        << where << " " << nf.name << " forward " << str(out);
    const auto grads = torch::autograd::grad({(out * weights_like(out)).sum()}, ins, {}, false,
                                             false, /*allow_unused=*/true);
    std::vector<torch::Tensor> gs;
    for (size_t k = 0; k < grads.size(); ++k) {
      const auto gk = grads[k].defined() ? grads[k] : torch::zeros_like(ins[k]);
      EXPECT_TRUE(torch::isfinite(gk).all().item<bool>())
          << where << " " << nf.name << " gradient " << k << " " << str(gk);
      gs.push_back(gk.detach());
    }
    o.values.push_back(out.detach());
    o.grads.push_back(gs);
  }
  return o;
}

size_t index_of(const std::string& name) {
  const auto fs = all_functions();
  for (size_t i = 0; i < fs.size(); ++i) {
    if (fs[i].name == name) return i;
  }
  ADD_FAILURE() << name;
  return 0;
}

const std::vector<double> kCurvatures = {1.0, 0.3, 1e-6, 0.0};

TEST(GeometryEdge, ZeroVectors) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    for (const double c : kCurvatures) {
      const auto zero = torch::zeros({4, 3}, dt);
      const std::string where = std::string(dtype_name(dt)) + " c=" + num(c);
      const auto o = expect_all_finite(where + " all zero", zero, zero, zero, c);
      // Values: exp0(0) = log0(0) = 0, d(0, 0) = 0, λ_0 = 2, 0 ⊕ 0 = 0.
      // (distance_mobius and distance_matrix return 2·sqrt(min_sq_norm) ≈ 2e-100 / 3e-15
      // (float32): the zero-norm guard, not an error.)
      for (const char* name : {"mobius_add", "expmap0", "logmap0", "expmap", "logmap", "distance",
                               "distance_mobius", "distance_matrix", "project", "clip_features"}) {
        EXPECT_LE(o.values[index_of(name)].abs().max().item<double>(), 1e-14)
            << where << " " << name;
      }
      EXPECT_TRUE(
          torch::allclose(o.values[index_of("conformal_factor")], torch::full({4, 1}, 2.0, dt)));
      // exp0 and log0 have Jacobian I at 0, so their weighted gradients are the weights.
      const auto w = weights_like(zero);
      EXPECT_TRUE(torch::allclose(o.grads[index_of("expmap0")][2], w, 0, 1e-6)) << where;
      EXPECT_TRUE(torch::allclose(o.grads[index_of("logmap0")][1], w, 0, 1e-6)) << where;

      // d(x, x) = 0 and log_x(x) = 0 at non-zero x; exp_x(0) = x.
      const auto x = points(4, 3, c, 0.2, 0.9, 41, dt);
      const auto ox = expect_all_finite(where + " x=y, v=0", x, x, zero, c);
      EXPECT_EQ(ox.values[index_of("distance")].abs().max().item<double>(), 0.0) << where;
      EXPECT_LT(ox.values[index_of("distance_mobius")].abs().max().item<double>(), 1e-3) << where;
      EXPECT_LT(ox.values[index_of("logmap")].abs().max().item<double>(), 1e-3) << where;
      EXPECT_TRUE(torch::allclose(ox.values[index_of("expmap")], x, 1e-5, 1e-6)) << where;
    }
  }
}

TEST(GeometryEdge, PointsNearTheBoundary) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    for (const double c : {1.0, 0.3, 1e-6}) {
      const double eps = boundary_eps(dt);
      const std::string where = std::string(dtype_name(dt)) + " c=" + num(c);
      const auto x = points_at(4, 3, c, 1 - 1e-7, 51, dt);
      const auto y = points_at(4, 3, c, 1 - 1e-7, 52, dt);
      const auto v = points(4, 3, c, 0.1, 2.0, 53, dt);
      const auto o = expect_all_finite(where, x, y, v, c);
      // λ_x: float64 keeps x (1 − c‖x‖² ≈ 2e-7); float32 projects it to 1 − 1e-5.
      const double r = dt == torch::kFloat64 ? 1 - 1e-7 : 1 - eps;
      const double lambda = 2 / ((1 - r) * (1 + r));
      EXPECT_TRUE(torch::allclose(o.values[index_of("conformal_factor")].to(torch::kFloat64),
                                  torch::full({4, 1}, lambda, torch::kFloat64),
                                  dt == torch::kFloat64 ? 1e-7 : 1e-2))
          << where << " " << str(o.values[index_of("conformal_factor")]);
      // d(x, x) = 0 and a far-apart pair is finite and positive.
      EXPECT_EQ(distance(x, x, c).abs().max().item<double>(), 0.0) << where;
      EXPECT_TRUE((o.values[index_of("distance")] > 0).all().item<bool>()) << where;
      // d(0, x) = (2/√c) artanh(√c‖x‖) for the (possibly projected) radius.
      const auto d0 = distance(torch::zeros_like(x), x, c).to(torch::kFloat64);
      const double want = 2 * std::atanh(r) / std::sqrt(c);
      // (float32: the radius after projection is 1 − 1e-5 up to ~2u = 1.2e-7, which moves
      // artanh by 1.2e-7/(1 − r²) ≈ 6e-3 of its 6.1.)
      EXPECT_TRUE(
          torch::allclose(d0, torch::full_like(d0, want), dt == torch::kFloat64 ? 1e-9 : 3e-3))
          << where << " " << str(d0) << " want " << want;
    }
  }
}

TEST(GeometryEdge, PointsOutsideTheBall) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    for (const double c : {1.0, 0.3, 1e-6}) {
      const std::string where = std::string(dtype_name(dt)) + " c=" + num(c);
      for (const double rho : {1.0, 1.5, 1e3, 1e6}) {
        const auto x = points_at(4, 3, c, rho, 61, dt);
        const auto y = points(4, 3, c, 0.0, 0.9, 62, dt);
        const auto v = points(4, 3, c, 0.1, 2.0, 63, dt);
        expect_all_finite(where + " rho=" + num(rho), x, y, v, c);
        // Outside points behave as their projection.
        // (project is idempotent up to one rounding of the radius; at 1 − ε that ulp moves
        // artanh(1 − ε) by u/(2ε): 3e-3 of 6.1 in float32, 5e-7 of 11.9 in float64.)
        const double tol = dt == torch::kFloat64 ? 1e-6 : 3e-3;
        const auto xp = project(x, c);
        EXPECT_TRUE(torch::allclose(distance(x, y, c), distance(xp, y, c), tol, 0))
            << where << " " << rho;
        EXPECT_TRUE(torch::allclose(logmap0(x, c), logmap0(xp, c), tol, 0)) << where;
        const auto lg = logmap(y, x, c);
        EXPECT_TRUE(torch::allclose(lg, logmap(y, xp, c), tol, tol * lg.abs().max().item<double>()))
            << where;
      }
    }
  }
}

TEST(GeometryEdge, VeryLongTangentVectors) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    for (const double c : {1.0, 0.3, 1e-6, 1e-12, 0.0}) {
      const std::string where = std::string(dtype_name(dt)) + " c=" + num(c);
      for (const double norm : {1e3, 1e6}) {
        // Absolute norms (not scaled by 1/√c): √c‖v‖ ranges from 1e-3 to 1e6.
        const auto v = points_at(4, 3, 0.0, norm, 71, dt);
        const auto x = points(4, 3, c, 0.0, 0.9, 72, dt);
        const auto o = expect_all_finite(where + " |v|=" + num(norm), x, x, v, c);
        const auto e0 = o.values[index_of("expmap0")].to(torch::kFloat64);
        const auto e = o.values[index_of("expmap")].to(torch::kFloat64);
        if (c > 0) {
          // exp0(v) = tanh(√c‖v‖)/√c · v/‖v‖, at most the projection radius.
          const double s = std::sqrt(c) * norm;
          const double want = std::min(std::tanh(s), 1 - boundary_eps(dt)) / std::sqrt(c);
          const auto r0 = e0.norm(2, -1);
          EXPECT_TRUE(torch::allclose(r0, torch::full_like(r0, want), 1e-5, 0))
              << where << " " << str(r0) << " want " << want;
          const auto re = e.norm(2, -1) * std::sqrt(c);
          EXPECT_TRUE((re <= (1 - boundary_eps(dt)) * (1 + 1e-6)).all().item<bool>())
              << where << " " << str(re);
        } else {
          EXPECT_TRUE(torch::allclose(e0, v.to(torch::kFloat64)));
          EXPECT_TRUE(torch::allclose(e, (x + v).to(torch::kFloat64), 1e-6, 0));
        }
      }
    }
  }
}

TEST(GeometryEdge, TinyAndZeroCurvature) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    for (const double c : {1e-12, 1e-30, 0.0}) {
      const std::string where = std::string(dtype_name(dt)) + " c=" + num(c);
      // Unit-scale points (the Euclidean regime) ...
      const auto x = points(4, 3, 0.0, 0.0, 3.0, 81, dt);
      const auto y = points(4, 3, 0.0, 0.0, 3.0, 82, dt);
      const auto v = points(4, 3, 0.0, 0.0, 3.0, 83, dt);
      const auto o = expect_all_finite(where + " unit scale", x, y, v, c);
      // ... where everything equals its Euclidean form (continuity is checked tighter below).
      const auto d = o.values[index_of("distance")].to(torch::kFloat64);
      const auto d_eucl = 2 * (x - y).to(torch::kFloat64).norm(2, -1);
      EXPECT_TRUE(torch::allclose(d, d_eucl, 1e-5, 1e-6)) << where;
      // Ball-scale points: √c‖x‖ up to 0.9 (‖x‖ up to 9e14 for c = 1e-30). Not float32 with
      // c = 1e-30: see GeometryEdge.TinyCurvatureBallScaleFloat32 (a reported bug).
      if (c > 0 && !(dt == torch::kFloat32 && c < 1e-19)) {
        expect_all_finite(where + " ball scale", points(4, 3, c, 0.1, 0.9, 84, dt),
                          points(4, 3, c, 0.1, 0.9, 85, dt), points(4, 3, c, 0.1, 2.0, 86, dt), c);
      }
    }
  }
}

// Regression (was a bug): mobius_add computes c²‖x‖²‖y‖² as cc * cc * x2 * y2. In float32, c²
// underflows for c < ~1e-19 (to 0 below ~1e-23), so with points at ball scale (√c‖x‖ ~ 0.5, ‖x‖ ~
// 1e15 for c = 1e-30) the denominator loses its c²‖x‖²‖y‖² term (results 25% off) and the backward
// pass multiplies an overflowed (inf) partial by that 0: NaN gradients. expmap inherits both.
// (c·x2)·(c·y2) would avoid it.
TEST(GeometryEdge, TinyCurvatureBallScaleFloat32) {
  const double c = 1e-30;
  const auto x = torch::tensor({{3e14, -5e14, 6e14}}, torch::kFloat32);
  const auto y = torch::tensor({{-2e14, 4e14, 1e14}}, torch::kFloat32);
  const auto want = mobius_add(x.to(torch::kFloat64), y.to(torch::kFloat64), c);
  const auto xg = x.clone().requires_grad_();
  const auto got = mobius_add(xg, y, c);
  EXPECT_TRUE(torch::allclose(got.to(torch::kFloat64), want, 1e-5, 0))
      << str(got) << " vs float64 " << str(want);
  got.sum().backward();
  EXPECT_TRUE(torch::isfinite(xg.grad()).all().item<bool>()) << str(xg.grad());
  expect_all_finite("float32 c=1e-30 ball scale", points(4, 3, c, 0.1, 0.9, 84, torch::kFloat32),
                    points(4, 3, c, 0.1, 0.9, 85, torch::kFloat32),
                    points(4, 3, c, 0.1, 2.0, 86, torch::kFloat32), c);
}

// Broadcasting: (4, 3) and (2, 5, 3) against (3,), each element equal to its own call.
TEST(GeometryEdge, BatchShapesBroadcast) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const double c = 0.7;
    const auto p = points(1, 3, c, 0.5, 0.5, 91, dt).squeeze(0);  // (3,)
    for (const auto& shape : std::vector<std::vector<int64_t>>{{4, 3}, {2, 5, 3}}) {
      const auto n = shape.size() == 2 ? shape[0] : shape[0] * shape[1];
      const auto xs = points(n, 3, c, 0.0, 0.9, 92, dt).view(shape);
      const auto vs = points(n, 3, c, 0.0, 2.0, 93, dt).view(shape);
      std::vector<int64_t> lead(shape.begin(), shape.end() - 1);
      std::vector<int64_t> lead1 = lead;
      lead1.push_back(1);

      const auto add_xp = mobius_add(xs, p, c);
      const auto add_px = mobius_add(p, xs, c);
      const auto d = distance(xs, p, c);
      const auto dm = distance_mobius(p, xs, c);
      const auto ex = expmap(p, vs, c);
      const auto lg = logmap(xs, p, c);
      const auto lam = conformal_factor(xs, c);
      EXPECT_EQ(add_xp.sizes(), xs.sizes());
      EXPECT_EQ(add_px.sizes(), xs.sizes());
      EXPECT_EQ(d.sizes(), torch::IntArrayRef(lead));
      EXPECT_EQ(dm.sizes(), torch::IntArrayRef(lead));
      EXPECT_EQ(ex.sizes(), xs.sizes());
      EXPECT_EQ(lg.sizes(), xs.sizes());
      EXPECT_EQ(lam.sizes(), torch::IntArrayRef(lead1));
      EXPECT_EQ(expmap0(vs, c).sizes(), xs.sizes());
      EXPECT_EQ(logmap0(xs, c).sizes(), xs.sizes());
      EXPECT_EQ(project(xs * 3, c).sizes(), xs.sizes());

      const auto flat_x = xs.reshape({-1, 3});
      const auto flat_v = vs.reshape({-1, 3});
      const double tol = dt == torch::kFloat64 ? 1e-14 : 1e-5;
      for (int64_t i = 0; i < n; ++i) {
        const auto xi = flat_x[i];
        EXPECT_TRUE(torch::allclose(add_xp.reshape({-1, 3})[i], mobius_add(xi, p, c), tol, tol));
        EXPECT_TRUE(torch::allclose(add_px.reshape({-1, 3})[i], mobius_add(p, xi, c), tol, tol));
        EXPECT_TRUE(torch::allclose(d.reshape({-1})[i], distance(xi, p, c), tol, tol));
        EXPECT_TRUE(torch::allclose(dm.reshape({-1})[i], distance_mobius(p, xi, c), tol, tol));
        EXPECT_TRUE(torch::allclose(ex.reshape({-1, 3})[i], expmap(p, flat_v[i], c), tol, tol));
        EXPECT_TRUE(torch::allclose(lg.reshape({-1, 3})[i], logmap(xi, p, c), tol, tol));
      }
      // Gradients flow through broadcasting (to the (3,) operand, summed over the batch).
      const auto pg = p.detach().clone().requires_grad_();
      const auto xg = xs.detach().clone().requires_grad_();
      const auto out = distance(xg, pg, c) + mobius_add(xg, pg, c).sum(-1) +
                       logmap(pg, xg, c).sum(-1) + expmap(pg, xg, c).sum(-1);
      out.sum().backward();
      EXPECT_EQ(pg.grad().sizes(), p.sizes());
      EXPECT_EQ(xg.grad().sizes(), xs.sizes());
      EXPECT_TRUE(torch::isfinite(pg.grad()).all().item<bool>());
      EXPECT_TRUE(torch::isfinite(xg.grad()).all().item<bool>());
    }
  }
}

// A learnable curvature at c = 0 (the Euclidean end of a sweep): forward equals the Euclidean
// values, and gradients w.r.t. the points are finite.
TEST(GeometryEdge, ZeroCurvatureTensor) {
  const auto x = points(3, 3, 0.0, 0.1, 2.0, 95);
  const auto y = points(3, 3, 0.0, 0.1, 2.0, 96);
  const auto v = points(3, 3, 0.0, 0.1, 2.0, 97);
  const auto c = torch::tensor(0.0, torch::kFloat64);
  const auto o = expect_all_finite("c tensor 0", x, y, v, Curvature(c));
  EXPECT_TRUE(torch::allclose(o.values[index_of("distance")], 2 * (x - y).norm(2, -1)));
}

// ------------------------------------------------------------------------------------------
// Identities
// ------------------------------------------------------------------------------------------

// Round trips through tanh and artanh: a rounding Δr = u·r of r = tanh(s) moves artanh(r) by
// u·r/(1 − r²) = u·sinh(s)cosh(s). Absolute error bound on s (s clamped where exp0 projects).
double tanh_roundtrip_tol(double s, double unit, double rtol) {
  const double sc = std::min(s, 20.0);
  return rtol * s + 16 * unit * std::sinh(sc) * std::cosh(sc);
}

// exp0(v) has norm tanh(√c‖v‖)/√c and d(0, y) = (2/√c) artanh(√c‖y‖), so d(0, exp0(v)) = 2‖v‖
// exactly (the factor 2 is λ_0: the metric at the origin is 4× the Euclidean one), as long as
// exp0(v) is not projected; beyond that, 2·artanh(1 − ε)/√c.
TEST(GeometryIdentity, DistanceFromOriginOfExp0) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const double unit = dt == torch::kFloat64 ? kU64 : kU32;
    const double rtol = dt == torch::kFloat64 ? 1e-13 : 1e-6;
    const double eps = boundary_eps(dt);
    const double saturation = std::atanh(1 - eps);  // 11.9 (float64), 6.1 (float32)
    for (const double c : {1.0, 0.3, 1e-6}) {
      for (const double s : {1e-8, 1e-3, 0.5, 2.0, 3.0, 5.0, 20.0, 1e3}) {
        const auto v = points_at(3, 4, c, s, 101, dt);  // √c‖v‖ = s
        const auto d = distance(torch::zeros_like(v), expmap0(v, c), c).to(torch::kFloat64);
        const auto got_s = d * std::sqrt(c) / 2;  // = s
        double want_s = s;
        double tol = tanh_roundtrip_tol(s, unit, rtol);
        if (s > saturation - 1) {  // exp0(v) is (or may be) projected to 1 − ε
          want_s = std::min(s, saturation);
          tol = rtol * want_s + 16 * unit / (2 * eps);
        }
        EXPECT_LE((got_s - want_s).abs().max().item<double>(), tol)
            << dtype_name(dt) << " c=" << c << " s=" << s << " got " << str(got_s);
      }
    }
  }
}

TEST(GeometryIdentity, Log0InvertsExp0) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const double unit = dt == torch::kFloat64 ? kU64 : kU32;
    const double rtol = dt == torch::kFloat64 ? 1e-13 : 1e-6;
    for (const double c : {1.0, 0.3, 1e-6, 0.0}) {
      for (const double s : {0.0, 1e-8, 1e-3, 0.5, 2.0, 5.0}) {
        const auto v = points_at(4, 8, c, s, 111, dt);  // √c‖v‖ = s (‖v‖ = s for c = 0)
        const auto back = logmap0(expmap0(v, c), c);
        // Relative: tanh_roundtrip_tol / s, which tends to 16u + rtol as s → 0.
        const double rel = s > 0 ? tanh_roundtrip_tol(s, unit, rtol) / s : 0.0;
        const double err = (back - v).abs().max().item<double>();
        EXPECT_LE(err, (rel + 16 * unit) * v.abs().max().item<double>())
            << dtype_name(dt) << " c=" << c << " s=" << s;
      }
    }
  }
}

TEST(GeometryIdentity, LogmapInvertsExpmap) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const double rtol = dt == torch::kFloat64 ? 1e-10 : 1e-3;
    for (const double c : {1.0, 0.3, 1e-6, 0.0}) {
      for (const double rho : {0.0, 0.5, 0.9}) {
        const auto x = points_at(4, 3, c, rho, 121, dt);
        const double lambda = 2 / (1 - rho * rho);
        for (const double s : {1e-6, 0.3, 1.0, 2.0}) {
          // √c λ_x ‖u‖ / 2 = s: the geodesic from x has length 2s/√c.
          const auto u = points_at(4, 3, 0.0, c > 0 ? 2 * s / (std::sqrt(c) * lambda) : s, 122, dt);
          const auto back = logmap(x, expmap(x, u, c), c);
          const double err = (back - u).abs().max().item<double>();
          // Relative: the round trip amplifies by ~cosh²(s) (as for exp0) and λ_x. Absolute:
          // the two Möbius additions carry ≈ K·u·‖x‖ each, scaled by λ_x in the log map
          // (mobius_diff_error with y ≈ x).
          const double unit = dt == torch::kFloat64 ? kU64 : kU32;
          const double nx = c > 0 ? rho / std::sqrt(c) : rho;
          const double tol =
              rtol * std::pow(std::cosh(s), 2) * lambda * u.abs().max().item<double>() +
              32 * unit * nx * lambda;
          EXPECT_LE(err, tol) << dtype_name(dt) << " c=" << c << " rho=" << rho << " s=" << s;
        }
      }
    }
  }
}

// distance (arcosh form) against distance_mobius (artanh form) in float64, generic points.
TEST(GeometryIdentity, DistanceEqualsDistanceMobius) {
  for (const double c : {1.0, 0.3, 1e-6, 0.0}) {
    for (const int64_t d : {2, 3, 8}) {
      const auto x = points(50, d, c, 0.0, 0.99, 131 + d);
      const auto y = points(50, d, c, 0.0, 0.99, 141 + d);
      const auto a = distance(x, y, c);
      const auto b = distance_mobius(x, y, c);
      // |Δd| ≤ rtol·d + K·u/(√c·(1 − c‖−x ⊕ y‖²)): the artanh form's conditioning; √c‖m‖ =
      // tanh(√c d / 2) gives 1/(1 − c‖m‖²) = cosh²(√c d / 2).
      const auto sd = c > 0 ? (a * std::sqrt(c) / 2).clamp_max(20) : torch::zeros_like(a);
      const auto tol =
          1e-12 * a + 16 * kU64 * sd.cosh().pow(2) * 4 / (c > 0 ? std::sqrt(c) : 1) + 1e-14;
      EXPECT_TRUE(((a - b).abs() <= tol).all().item<bool>()) << "c=" << c << " d=" << d << "\n"
                                                             << str(a) << "\n"
                                                             << str(b);
    }
  }
}

TEST(GeometryIdentity, PairwiseDistanceEqualsElementwise) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const Tolerance t = tolerance(dt);
    for (const double c : {1.0, 0.3, 1e-6, 0.0}) {
      const auto x = points(6, 5, c, 0.0, 0.95, 151, dt);
      const auto y = points(7, 5, c, 0.0, 0.95, 152, dt);
      const auto pw = distance_matrix(x, y, Curvature(c));
      ASSERT_EQ(pw.sizes(), torch::IntArrayRef({6, 7}));
      ASSERT_EQ(pw.scalar_type(), dt);
      // Elementwise in float64 (accurate: ‖x − y‖² from the difference).
      const auto ew =
          distance(x.to(torch::kFloat64).unsqueeze(1), y.to(torch::kFloat64).unsqueeze(0), c);
      ASSERT_EQ(ew.sizes(), pw.sizes());
      const auto nx = x.to(torch::kFloat64).norm(2, -1);
      const auto ny = y.to(torch::kFloat64).norm(2, -1);
      for (int64_t i = 0; i < 6; ++i) {
        for (int64_t j = 0; j < 7; ++j) {
          const double want = ew[i][j].item<double>();
          const double tol =
              pairwise_tolerance(want, nx[i].item<double>(), ny[j].item<double>(), c, t);
          EXPECT_NEAR(pw[i][j].item<double>(), want, tol) << dtype_name(dt) << " c=" << c;
        }
      }
      // x against itself: the diagonal is (close to) zero, the matrix (close to) symmetric.
      const auto self = distance_matrix(x, x, Curvature(c)).to(torch::kFloat64);
      const auto self_ew =
          distance(x.to(torch::kFloat64).unsqueeze(1), x.to(torch::kFloat64).unsqueeze(0), c);
      for (int64_t i = 0; i < 6; ++i) {
        for (int64_t j = 0; j < 6; ++j) {
          const double want = self_ew[i][j].item<double>();
          EXPECT_NEAR(self[i][j].item<double>(), want,
                      pairwise_tolerance(want, nx[i].item<double>(), nx[j].item<double>(), c, t));
        }
      }
    }
  }
}

// For every row, sorting by ranking_key_matrix sorts by distance: whenever two distances
// differ by more than the pairwise error bound, the keys are ordered the same way.
TEST(GeometryIdentity, RankingKeyOrdersLikePairwiseDistance) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const Tolerance t = tolerance(dt);
    for (const double c : {1.0, 0.3, 1e-6, 0.0}) {
      const auto x = points(8, 4, c, 0.0, 0.95, 161, dt);
      const auto y = points(40, 4, c, 0.0, 0.99, 162, dt);
      const auto key = ranking_key_matrix(x, y, c).to(torch::kFloat64);
      const auto pd = distance_matrix(x, y, Curvature(c)).to(torch::kFloat64);
      const auto exact =
          distance(x.to(torch::kFloat64).unsqueeze(1), y.to(torch::kFloat64).unsqueeze(0), c);
      ASSERT_EQ(key.sizes(), pd.sizes());
      EXPECT_FALSE(key.requires_grad());
      const auto nx = x.to(torch::kFloat64).norm(2, -1);
      const auto ny = y.to(torch::kFloat64).norm(2, -1);
      const auto ka = key.accessor<double, 2>();
      const auto ea = exact.accessor<double, 2>();
      const auto nxa = nx.accessor<double, 1>();
      const auto nya = ny.accessor<double, 1>();
      int ordered_pairs = 0;
      for (int64_t i = 0; i < 8; ++i) {
        // Same order as the library's own distance matrix.
        const auto order_key = key[i].argsort();
        const auto order_pd = pd[i].argsort();
        const auto sorted_pd = pd[i].index_select(0, order_key);
        const auto err = (sorted_pd - pd[i].index_select(0, order_pd)).abs().max().item<double>();
        EXPECT_LE(err, dt == torch::kFloat64 ? 1e-9 : 1e-3) << dtype_name(dt) << " c=" << c;
        // And the order of the exact distances, wherever they are further apart than the error
        // bound of the matrix-product formulation.
        for (int64_t j = 0; j < 40; ++j) {
          for (int64_t k = 0; k < 40; ++k) {
            const double tj = pairwise_tolerance(ea[i][j], nxa[i], nya[j], c, t);
            const double tk = pairwise_tolerance(ea[i][k], nxa[i], nya[k], c, t);
            if (ea[i][j] + tj < ea[i][k] - tk) {
              ++ordered_pairs;
              EXPECT_LT(ka[i][j], ka[i][k]) << dtype_name(dt) << " c=" << c << " row " << i;
            }
          }
        }
      }
      EXPECT_GT(ordered_pairs, 8 * 40 * 39 / 2 * 9 / 10);  // nearly all pairs are decided
    }
  }
}

// Every function is continuous at c = 0: c = 1e-12 gives the c = 0 (Euclidean) values within
// 1e-9 (the difference is O(c‖x‖²) relative).
TEST(GeometryIdentity, ContinuousAtZeroCurvature) {
  const auto x = points(5, 3, 0.0, 0.0, 2.0, 171);
  const auto y = points(5, 3, 0.0, 0.0, 2.0, 172);
  const auto v = points(5, 3, 0.0, 0.0, 2.0, 173);
  for (const auto& nf : all_functions()) {
    const auto a = nf.f(x, y, v, 1e-12);
    const auto b = nf.f(x, y, v, 0.0);
    EXPECT_LE((a - b).abs().max().item<double>(), 1e-9) << nf.name;
  }
  // And c = 0 is exactly Euclidean.
  EXPECT_TRUE(torch::allclose(mobius_add(x, y, 0.0), x + y, 1e-15, 0));
  EXPECT_TRUE(torch::allclose(expmap0(v, 0.0), v, 0, 0));
  EXPECT_TRUE(torch::allclose(logmap0(y, 0.0), y, 0, 0));
  EXPECT_TRUE(torch::allclose(expmap(x, v, 0.0), x + v, 1e-15, 0));
  EXPECT_TRUE(torch::allclose(logmap(x, y, 0.0), y - x, 1e-15, 1e-15));
  EXPECT_TRUE(torch::allclose(distance(x, y, 0.0), 2 * (x - y).norm(2, -1), 1e-15, 0));
  EXPECT_TRUE(torch::allclose(conformal_factor(x, 0.0), torch::full({5, 1}, 2.0, torch::kFloat64)));
  EXPECT_TRUE(torch::equal(project(x * 1e6, 0.0), x * 1e6));
}

TEST(GeometryIdentity, ProjectKeepsPointsInside) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const double unit = dt == torch::kFloat64 ? kU64 : kU32;
    const double eps = boundary_eps(dt);
    for (const double c : {1.0, 0.3, 1e-6, 1e-30}) {
      for (const double rho : {0.0, 0.5, 1 - 1e-3, 1 - 1e-7, 1.0, 1.0 + 1e-7, 2.0, 1e6}) {
        // ‖x‖² must not overflow the dtype: see GeometryIdentity.ProjectHugePoints.
        if (dt == torch::kFloat32 && rho / std::sqrt(c) > 1e18) continue;
        const auto x = points_at(6, 3, c, rho, 181, dt);
        const auto p = project(x, c);
        ASSERT_EQ(p.scalar_type(), dt);
        const auto r = p.to(torch::kFloat64).norm(2, -1) * std::sqrt(c);
        // At most 1 − ε (up to the rounding of the scaling itself).
        EXPECT_TRUE((r <= (1 - eps) * (1 + 4 * unit)).all().item<bool>())
            << dtype_name(dt) << " c=" << c << " rho=" << rho << " " << str(r);
        const auto rx = x.to(torch::kFloat64).norm(2, -1) * std::sqrt(c);
        if ((rx <= 1 - eps).all().item<bool>()) {
          EXPECT_TRUE(torch::equal(p, x)) << "points inside are unchanged";
        } else {
          // Projected along the ray: radius 1 − ε, same direction.
          EXPECT_TRUE(torch::allclose(r, torch::full_like(r, 1 - eps), 8 * unit, 0))
              << dtype_name(dt) << " " << str(r);
          const auto cos = (p.to(torch::kFloat64) * x.to(torch::kFloat64)).sum(-1) /
                           (p.to(torch::kFloat64).norm(2, -1) * x.to(torch::kFloat64).norm(2, -1));
          EXPECT_TRUE(torch::allclose(cos, torch::ones_like(cos), 8 * unit, 0));
        }
      }
      // An explicit eps.
      const auto far = points_at(3, 3, c, 5.0, 182, dt);
      const auto r = project(far, c, 0.25).to(torch::kFloat64).norm(2, -1) * std::sqrt(c);
      EXPECT_TRUE(torch::allclose(r, torch::full_like(r, 0.75), 8 * unit, 0));
    }
    EXPECT_TRUE(
        torch::equal(project(torch::full({2, 3}, 1e9, dt), 0.0), torch::full({2, 3}, 1e9, dt)));
  }
}

// Regression (was a bug): project (and so every function) maps a point whose squared norm overflows
// the dtype to the origin instead of the boundary: ‖x‖² = inf, so the scale (1 − ε)/(√c·inf) = 0.
// float32 x = (1e20, 0, 0), c = 1: project → (0, 0, 0) (want (1 − 1e-5, 0, 0)), and
// distance(x, 0) = 0 instead of 2·artanh(1 − 1e-5) = 12.2. (float64 from ‖x‖ ≈ 1.3e154.)
TEST(GeometryIdentity, ProjectHugePoints) {
  for (const auto dt : {torch::kFloat32, torch::kFloat64}) {
    const double big = dt == torch::kFloat32 ? 1e20 : 1e160;
    const auto x = torch::tensor({big, 0.0, 0.0}, torch::kFloat64).to(dt);
    const auto p = project(x, 1.0).to(torch::kFloat64);
    EXPECT_NEAR(p[0].item<double>(), 1 - boundary_eps(dt), 1e-6) << dtype_name(dt);
    EXPECT_NEAR(distance(x, torch::zeros_like(x), 1.0).item<double>(),
                2 * std::atanh(1 - boundary_eps(dt)), 1e-2)
        << dtype_name(dt);
  }
}

TEST(GeometryIdentity, ClipFeatures) {
  const auto u = points(6, 4, 0.0, 0.1, 5.0, 191);
  const double r = 1.5;
  const auto got = clip_features(u, r);
  const auto n = u.norm(2, -1, true);
  const auto want = torch::where(n > r, u * (r / n), u);
  EXPECT_TRUE(torch::allclose(got, want, 1e-15, 0));
  EXPECT_TRUE(torch::equal(clip_features(torch::zeros({2, 4}), r), torch::zeros({2, 4})));
  EXPECT_THROW(clip_features(u, 0.0), hcmsn::Error);
  EXPECT_THROW(clip_features(u, -1.0), hcmsn::Error);
}

TEST(GeometryIdentity, CurvatureValidation) {
  EXPECT_THROW(Curvature(-1.0), hcmsn::Error);
  EXPECT_THROW(Curvature(std::numeric_limits<double>::quiet_NaN()), hcmsn::Error);
  EXPECT_THROW(Curvature(std::numeric_limits<double>::infinity()), hcmsn::Error);
  EXPECT_THROW(Curvature(-1e-300), hcmsn::Error);
  EXPECT_NO_THROW(Curvature(0.0));
  EXPECT_EQ(Curvature(0.3).value(), 0.3);
  EXPECT_FALSE(Curvature(0.3).is_tensor());
  EXPECT_THROW(Curvature(torch::ones({2})), hcmsn::Error);           // not 0-dim
  EXPECT_THROW(Curvature(torch::tensor(int64_t{1})), hcmsn::Error);  // not floating point
  const Curvature ct(torch::tensor(0.25, torch::kFloat64));
  EXPECT_TRUE(ct.is_tensor());
  EXPECT_EQ(ct.value(), 0.25);
  const auto like = ct.like(torch::zeros({2}, torch::kFloat32));
  EXPECT_EQ(like.scalar_type(), torch::kFloat32);
  EXPECT_EQ(like.dim(), 0);
  // Inputs that are not float32/float64 tensors are rejected.
  EXPECT_THROW(distance(torch::zeros({2, 3}, torch::kInt64), torch::zeros({2, 3}), 1.0),
               hcmsn::Error);
  EXPECT_THROW(expmap0(torch::zeros({}, torch::kFloat32), 1.0), hcmsn::Error);
}

}  // namespace
}  // namespace hcmsn::geometry
