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

// Above this many n·m·d elements, distance_matrix forms ‖x − y‖² by one matrix product.
constexpr int64_t kExactPairwiseElements = int64_t{1} << 24;

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
  const double max_r = 1.0 - eps;
  const auto cc = c.like(x);
  // ‖x‖² directly (fewest roundings); as m²‖x/m‖², m = max|x_i|, where it would overflow.
  const auto x2_direct = sq_norm(x);
  const auto huge = ~torch::isfinite(x2_direct);
  const auto m = torch::where(huge, x.abs().amax(-1, true), torch::ones_like(x2_direct));
  const auto u2 = torch::where(huge, sq_norm(x / m), x2_direct);  // ‖x‖² = m² u2
  const auto outside = cc * (m * m) * u2 > max_r * max_r;
  // Only the projected branch takes √c (c > 0 there), so gradients stay finite at c = 0.
  const auto c_out = torch::where(outside, cc.expand_as(u2), torch::ones_like(u2));
  const auto u2_out = torch::where(outside, u2, torch::ones_like(u2));
  const auto radius = c_out.sqrt() * m * u2_out.sqrt();
  return x * torch::where(outside, max_r / radius, torch::ones_like(radius));
}

torch::Tensor conformal_factor(const torch::Tensor& x, const Curvature& c) {
  check_float(x, "conformal_factor: x");
  return 2 / one_minus_c_norm2(sq_norm(project(x, c)), c.like(x));
}

torch::Tensor mobius_add(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c) {
  check_float(x, "mobius_add: x");
  check_float(y, "mobius_add: y");
  const auto cc = c.like(x);
  // With a = 1 − c‖x‖², b = 1 − c‖y‖² and s = c‖x + y‖², exactly:
  //   1 + 2c⟨x,y⟩ + c‖y‖² = a + s,   1 + 2c⟨x,y⟩ + c²‖x‖²‖y‖² = ab + s.
  // These forms avoid the cancellation of the textbook ones for nearby points near the
  // boundary (and the underflow of c² for tiny c).
  const auto a = 1 - cc * sq_norm(x);
  const auto b = 1 - cc * sq_norm(y);
  const auto s = cc * sq_norm(x + y);
  const auto den = (a * b + s).clamp_min(min_sq_norm(x.scalar_type()));
  return ((a + s) * x + a * y) / den;
}

torch::Tensor expmap0(const torch::Tensor& v, const Curvature& c) {
  check_float(v, "expmap0: v");
  return project(tanhc_sq(c.like(v) * sq_norm(v)) * v, c);
}

torch::Tensor logmap0(const torch::Tensor& y, const Curvature& c) {
  check_float(y, "logmap0: y");
  const auto yp = project(y, c);
  return artanhc_sq(c.like(y) * sq_norm(yp)) * yp;
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
  const auto yp = project(y, c);
  const auto cc = c.like(x);
  // log_x(y) = (1 − c‖x‖²) artanh(√c‖m‖) m / (√c‖m‖), m = −x ⊕ y. Near the boundary
  // 1 − c‖m‖² is taken from 1 − c‖a ⊕ b‖² = (1 − c‖a‖²)(1 − c‖b‖²) / den instead of from m.
  const auto a = one_minus_c_norm2(sq_norm(xp), cc);
  const auto b = one_minus_c_norm2(sq_norm(yp), cc);
  const auto s = cc * sq_norm(yp - xp);
  const auto den = (a * b + s).clamp_min(min_sq_norm(x.scalar_type()));
  const auto m = ((a + s) * (-xp) + a * yp) / den;
  const auto one_minus_cm2 = (a * b / den).clamp_min(min_sq_norm(x.scalar_type()));
  return a * artanhc_sq(cc * sq_norm(m), one_minus_cm2) * m;
}

torch::Tensor distance(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c) {
  check_float(x, "distance: x");
  check_float(y, "distance: y");
  const auto xp = project(x, c);
  const auto yp = project(y, c);
  const auto cc = c.like(x);
  const auto q =
      sq_norm(xp - yp) / (one_minus_c_norm2(sq_norm(xp), cc) * one_minus_c_norm2(sq_norm(yp), cc));
  return distance_from_q(q, cc).squeeze(-1);
}

torch::Tensor distance_mobius(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c) {
  const auto m = mobius_add(-project(x, c), project(y, c), c);
  const auto n2 = sq_norm(m);
  const double max_r = 1.0 - boundary_eps(m.scalar_type());
  // (2/√c) artanh(√c‖m‖) = 2‖m‖ artanhc(√c‖m‖); the clamp keeps artanh finite at the boundary.
  return (2 * safe_sqrt(n2) * artanhc_sq((c.like(m) * n2).clamp_max(max_r * max_r))).squeeze(-1);
}

torch::Tensor distance_matrix(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c) {
  check_float(x, "distance_matrix: x");
  check_float(y, "distance_matrix: y");
  HCMSN_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1),
              "distance_matrix: expected x (n, d) and y (m, d), got ", x.sizes(), " and ",
              y.sizes());
  const auto xp = project(x, c);
  const auto yp = project(y, c);
  const auto cc = c.like(x);
  const auto x2 = sq_norm(xp);  // (n, 1)
  const auto y2 = sq_norm(yp);  // (m, 1)
  // Small problems (training batches) take exact differences; large ones one matrix product,
  // which cancels for nearby points (fine for ranking, see the header).
  const auto diff2 = x.size(0) * y.size(0) * x.size(1) <= kExactPairwiseElements
                         ? (xp.unsqueeze(1) - yp.unsqueeze(0)).pow(2).sum(-1)
                         : (x2 + y2.t() - 2 * xp.mm(yp.t())).clamp_min(0);
  const auto q = diff2 / (one_minus_c_norm2(x2, cc) * one_minus_c_norm2(y2, cc).t());
  return distance_from_q(q, cc);
}

torch::Tensor ranking_key_matrix(const torch::Tensor& x, const torch::Tensor& y,
                                 const Curvature& c) {
  check_float(x, "ranking_key_matrix: x");
  check_float(y, "ranking_key_matrix: y");
  HCMSN_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1),
              "ranking_key_matrix: expected x (n, d) and y (m, d), got ", x.sizes(), " and ",
              y.sizes());
  torch::NoGradGuard no_grad;  // a ranking key, never a training signal
  const auto xp = project(x, c);
  const auto yp = project(y, c);
  const auto y2 = sq_norm(yp).squeeze(-1);  // (m)
  auto key = torch::addmm(y2.unsqueeze(0), xp, yp.t(), /*beta=*/1, /*alpha=*/-2);
  key.add_(sq_norm(xp)).clamp_min_(0);
  return key.div_(one_minus_c_norm2(y2, c.like(x)).unsqueeze(0));
}

torch::Tensor clip_features(const torch::Tensor& u, double r) {
  check_float(u, "clip_features: u");
  HCMSN_CHECK(std::isfinite(r) && r > 0, "clip radius r must be > 0, got ", r);
  return u * (r / safe_norm(u)).clamp_max(1.0);
}

}  // namespace hcmsn::geometry
