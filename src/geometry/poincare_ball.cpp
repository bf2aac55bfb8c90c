#include "hcmsn/geometry/poincare_ball.h"

#include <cmath>

#include "hcmsn/util/check.h"
#include "ratio_functions.h"

namespace hcmsn::geometry {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace): private helpers

void check_float(const torch::Tensor& x, const char* what) {
  HCMSN_CHECK(
      x.defined() && (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kFloat64),
      what, " must be a float32 or float64 tensor");
  HCMSN_CHECK(x.dim() >= 1, what, " must have at least one dimension (..., d)");
}

// d from the pieces of the arcosh form, uniform in c:
// (1/√c) arcosh(1 + 2cq) = 2 √q · g(2cq), q = ‖x − y‖² / ((1 − c‖x‖²)(1 − c‖y‖²)).
torch::Tensor distance_from_q(const torch::Tensor& q, const torch::Tensor& c) {
  return 2 * safe_sqrt(q) * arcosh1p_over_sqrt2z(2 * c * q);
}

}  // namespace

Curvature::Curvature(double c) : value_(c) {
  HCMSN_CHECK(std::isfinite(c) && c >= 0, "curvature c must be finite and >= 0 (the ball has ",
              "curvature -c; c = 0 is Euclidean space), got ", c);
}

Curvature::Curvature(torch::Tensor c) : tensor_(std::move(c)) {
  HCMSN_CHECK(tensor_.defined() && tensor_.dim() == 0 && tensor_.is_floating_point(),
              "a curvature tensor must be a 0-dim floating-point tensor");
}

torch::Tensor Curvature::like(const torch::Tensor& x) const {
  if (tensor_.defined()) return tensor_.to(x.options());
  return torch::scalar_tensor(value_, x.options());
}

double Curvature::value() const {
  return tensor_.defined() ? tensor_.item<double>() : value_;
}

double boundary_eps(torch::ScalarType dtype) {
  return dtype == torch::kFloat64 ? 1e-10 : 1e-5;
}

torch::Tensor project(const torch::Tensor& x, const Curvature& c, double eps) {
  check_float(x, "project: x");
  if (eps < 0) eps = boundary_eps(x.scalar_type());
  const auto sqrt_c = c.like(x).sqrt();
  const auto r = sqrt_c * safe_norm(x);
  const double max_r = 1.0 - eps;
  const auto scale = torch::where(
      r > max_r, max_r / torch::where(r > max_r, r, torch::ones_like(r)), torch::ones_like(r));
  return x * scale;
}

torch::Tensor conformal_factor(const torch::Tensor& x, const Curvature& c) {
  check_float(x, "conformal_factor: x");
  const auto xp = project(x, c);
  return 2 / one_minus_c_norm2(safe_norm(xp), c.like(x).sqrt());
}

torch::Tensor mobius_add(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c) {
  check_float(x, "mobius_add: x");
  check_float(y, "mobius_add: y");
  const auto cc = c.like(x);
  const auto xy = (x * y).sum(-1, true);
  const auto x2 = x.pow(2).sum(-1, true);
  const auto y2 = y.pow(2).sum(-1, true);
  const auto num = (1 + 2 * cc * xy + cc * y2) * x + (1 - cc * x2) * y;
  const auto den = (1 + 2 * cc * xy + cc * cc * x2 * y2).clamp_min(min_sq_norm(x.scalar_type()));
  return num / den;
}

torch::Tensor expmap0(const torch::Tensor& v, const Curvature& c) {
  check_float(v, "expmap0: v");
  const auto sqrt_c = c.like(v).sqrt();
  return project(tanhc(sqrt_c * safe_norm(v)) * v, c);
}

torch::Tensor logmap0(const torch::Tensor& y, const Curvature& c) {
  check_float(y, "logmap0: y");
  const auto yp = project(y, c);
  const auto sqrt_c = c.like(y).sqrt();
  return artanhc(sqrt_c * safe_norm(yp)) * yp;
}

torch::Tensor expmap(const torch::Tensor& x, const torch::Tensor& v, const Curvature& c) {
  check_float(x, "expmap: x");
  check_float(v, "expmap: v");
  const auto xp = project(x, c);
  // exp_x(v) = x ⊕ exp0(λ_x v / 2).
  return project(mobius_add(xp, expmap0(conformal_factor(xp, c) * v / 2, c), c), c);
}

torch::Tensor logmap(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c) {
  check_float(x, "logmap: x");
  check_float(y, "logmap: y");
  const auto xp = project(x, c);
  // log_x(y) = (2 / λ_x) log0(−x ⊕ y).
  return logmap0(mobius_add(-xp, project(y, c), c), c) * (2 / conformal_factor(xp, c));
}

torch::Tensor distance(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c) {
  check_float(x, "distance: x");
  check_float(y, "distance: y");
  const auto xp = project(x, c);
  const auto yp = project(y, c);
  const auto cc = c.like(x);
  const auto sqrt_c = cc.sqrt();
  const auto diff2 = (xp - yp).pow(2).sum(-1, true);
  const auto q =
      diff2 / (one_minus_c_norm2(safe_norm(xp), sqrt_c) * one_minus_c_norm2(safe_norm(yp), sqrt_c));
  return distance_from_q(q, cc).squeeze(-1);
}

torch::Tensor distance_mobius(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c) {
  const auto m = mobius_add(-project(x, c), project(y, c), c);
  const auto sqrt_c = c.like(m).sqrt();
  const auto n = safe_norm(m);
  const double max_r = 1.0 - boundary_eps(m.scalar_type());
  // (2/√c) artanh(√c n) = 2 n artanhc(√c n); the clamp keeps artanh finite at the boundary.
  return (2 * n * artanhc((sqrt_c * n).clamp_max(max_r))).squeeze(-1);
}

torch::Tensor pairwise_distance(const torch::Tensor& x, const torch::Tensor& y,
                                const Curvature& c) {
  check_float(x, "pairwise_distance: x");
  check_float(y, "pairwise_distance: y");
  HCMSN_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1),
              "pairwise_distance: expected x (n, d) and y (m, d), got ", x.sizes(), " and ",
              y.sizes());
  const auto xp = project(x, c);
  const auto yp = project(y, c);
  const auto cc = c.like(x);
  const auto sqrt_c = cc.sqrt();
  const auto nx = safe_norm(xp);  // (n, 1)
  const auto ny = safe_norm(yp);  // (m, 1)
  const auto diff2 = (nx.pow(2) + ny.pow(2).t() - 2 * xp.mm(yp.t())).clamp_min(0);
  const auto q = diff2 / (one_minus_c_norm2(nx, sqrt_c) * one_minus_c_norm2(ny, sqrt_c).t());
  return distance_from_q(q, cc);
}

torch::Tensor pairwise_ranking_key(const torch::Tensor& x, const torch::Tensor& y,
                                   const Curvature& c) {
  check_float(x, "pairwise_ranking_key: x");
  check_float(y, "pairwise_ranking_key: y");
  HCMSN_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1),
              "pairwise_ranking_key: expected x (n, d) and y (m, d), got ", x.sizes(), " and ",
              y.sizes());
  torch::NoGradGuard no_grad;  // a ranking key, never a training signal
  const auto xp = project(x, c);
  const auto yp = project(y, c);
  const auto sqrt_c = c.like(x).sqrt();
  const auto y2 = yp.pow(2).sum(-1);  // (m)
  auto key = torch::addmm(y2.unsqueeze(0), xp, yp.t(), /*beta=*/1, /*alpha=*/-2);
  key.add_(xp.pow(2).sum(-1, true)).clamp_min_(0);
  return key.div_(one_minus_c_norm2(safe_norm(yp), sqrt_c).t());
}

torch::Tensor clip_features(const torch::Tensor& u, double r) {
  check_float(u, "clip_features: u");
  HCMSN_CHECK(std::isfinite(r) && r > 0, "clip radius r must be > 0, got ", r);
  return u * (r / safe_norm(u)).clamp_max(1.0);
}

}  // namespace hcmsn::geometry
