#include "hcmsn/geometry/hyperbolic_mlr.h"

#include <cmath>

#include "hcmsn/util/check.h"
#include "ratio_functions.h"

namespace hcmsn::geometry {
using detail::asinhc_sq;
using detail::min_sq_norm;
using detail::one_minus_c_norm2;

torch::Tensor hyperbolic_mlr_logits(const torch::Tensor& x, const torch::Tensor& p,
                                    const torch::Tensor& a, const Curvature& c) {
  HCMSN_CHECK(x.dim() == 2 && p.dim() == 2 && a.dim() == 2 && p.sizes() == a.sizes() &&
                  x.size(1) == p.size(1),
              "hyperbolic_mlr_logits: expected x (batch, d), p (K, d), a (K, d); got ", x.sizes(),
              ", ", p.sizes(), ", ", a.sizes());
  const auto xp = project(x, c);
  const auto pp = project(p, c);
  const auto cc = c.like(x);
  const double eps = min_sq_norm(x.scalar_type());

  const auto x2 = xp.pow(2).sum(-1, true);                            // (batch, 1)
  const auto p2 = pp.pow(2).sum(-1).unsqueeze(0);                     // (1, K)
  const auto a_norm2 = a.pow(2).sum(-1).clamp_min(eps).unsqueeze(0);  // (1, K)
  const auto pa = (pp * a).sum(-1).unsqueeze(0);                      // (1, K)
  const auto xp_dot_p = xp.mm(pp.t());                                // (batch, K)
  const auto xp_dot_a = xp.mm(a.t());                                 // (batch, K)

  const auto one_minus_cx2 = one_minus_c_norm2(x2, cc);
  const auto B = one_minus_c_norm2(p2, cc);        // 1 − c‖p‖²
  const auto A = 1 - 2 * cc * xp_dot_p + cc * x2;  // (batch, K)

  // w = 2⟨z, a⟩ / (1 − c‖z‖²) with z = −p ⊕ x; logit = λ_p · w · asinhc(s), s² = c w² / ‖a‖².
  const auto w = 2 * (B * xp_dot_a - A * pa) / (B * one_minus_cx2);
  const auto lambda_p = 2 / B;
  return lambda_p * w * asinhc_sq(cc * w.pow(2) / a_norm2);
}

HyperbolicMLRImpl::HyperbolicMLRImpl(HyperbolicMLROptions options_) : options(options_) {
  HCMSN_CHECK(options.in_features() > 0 && options.num_classes() > 0,
              "HyperbolicMLR needs in_features > 0 and num_classes > 0");
  p_raw = register_parameter("p_raw", torch::empty({options.num_classes(), options.in_features()}));
  a_raw = register_parameter("a_raw", torch::empty({options.num_classes(), options.in_features()}));
  reset_parameters();
}

void HyperbolicMLRImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  // Offsets start at the origin; normals as a Linear layer's weights.
  p_raw.zero_();
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_features()));
  a_raw.uniform_(-bound, bound);
}

std::pair<torch::Tensor, torch::Tensor> HyperbolicMLRImpl::gyroplanes(const Curvature& c) const {
  const auto p = expmap0(p_raw, c);
  const auto cc = c.like(p);
  const auto a = a_raw * (1 - cc * p.pow(2).sum(-1, true));
  return {p, a};
}

torch::Tensor HyperbolicMLRImpl::forward(const torch::Tensor& x, const Curvature& c) {
  const auto [p, a] = gyroplanes(c);
  return hyperbolic_mlr_logits(x, p.to(x.dtype()), a.to(x.dtype()), c);
}

}  // namespace hcmsn::geometry
