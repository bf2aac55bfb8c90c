// Private helpers of the geometry layer: zero-safe norms and the ratio functions
// tanh(z)/z, artanh(z)/z, asinh(z)/z and arcosh(1+z)/sqrt(2z), which make every formula
// uniform in c (exact Euclidean limit at c = 0) with finite gradients at 0.
#pragma once

#include <torch/torch.h>

namespace hcmsn::geometry::detail {

// Smallest squared norm treated as non-zero: keeps sqrt's gradient finite at 0.
inline double min_sq_norm(torch::ScalarType t) {
  return t == torch::kFloat64 ? 1e-200 : 1e-30;
}

// Below this argument the ratio functions switch to their Taylor series (the next term is far
// below the dtype's epsilon there), which also keeps their gradients finite at 0.
inline double series_cutoff(torch::ScalarType t) {
  return t == torch::kFloat64 ? 1e-4 : 1e-2;
}

// ‖x‖ over the last dimension, keepdim, with a zero-safe gradient.
inline torch::Tensor safe_norm(const torch::Tensor& x) {
  return x.pow(2).sum(-1, true).clamp_min(min_sq_norm(x.scalar_type())).sqrt();
}

// sqrt that is exactly 0 (with zero gradient) at 0.
inline torch::Tensor safe_sqrt(const torch::Tensor& q) {
  const auto pos = q > min_sq_norm(q.scalar_type());
  return torch::where(pos, torch::where(pos, q, torch::ones_like(q)).sqrt(), torch::zeros_like(q));
}

// f(z) for z ≥ cutoff, series(z) below it; the unused branch sees a harmless argument so that
// its gradient (multiplied by zero) cannot be NaN.
template <typename F, typename S>
inline torch::Tensor with_series(const torch::Tensor& z, F f, S series) {
  const auto small = z.abs() < series_cutoff(z.scalar_type());
  const auto z_big = torch::where(small, torch::ones_like(z), z);
  return torch::where(small, series(z), f(z_big));
}

// tanh(z)/z = 1 − z²/3 + 2z⁴/15 − …
inline torch::Tensor tanhc(const torch::Tensor& z) {
  return with_series(
      z, [](const torch::Tensor& t) { return t.tanh() / t; },
      [](const torch::Tensor& t) {
        const auto t2 = t * t;
        return 1 - t2 / 3 + t2 * t2 * (2.0 / 15.0);
      });
}

// artanh(z)/z = 1 + z²/3 + z⁴/5 + …, for 0 ≤ z < 1.
inline torch::Tensor artanhc(const torch::Tensor& z) {
  return with_series(
      z, [](const torch::Tensor& t) { return t.atanh() / t; },
      [](const torch::Tensor& t) {
        const auto t2 = t * t;
        return 1 + t2 / 3 + t2 * t2 / 5;
      });
}

// asinh(s)/s = 1 − s²/6 + 3s⁴/40 − …
inline torch::Tensor asinhc(const torch::Tensor& s) {
  return with_series(
      s, [](const torch::Tensor& t) { return t.asinh() / t; },
      [](const torch::Tensor& t) {
        const auto t2 = t * t;
        return 1 - t2 / 6 + t2 * t2 * (3.0 / 40.0);
      });
}

// arcosh(1 + z) / sqrt(2z) = 1 − z/12 + 3z²/160 − 5z³/896 + …, z ≥ 0. The large-z branch uses
// arcosh(1 + z) = log1p(z + sqrt(z(z + 2))), which avoids forming 1 + z.
inline torch::Tensor arcosh1p_over_sqrt2z(const torch::Tensor& z) {
  return with_series(
      z, [](const torch::Tensor& t) { return (t + (t * (t + 2)).sqrt()).log1p() / (2 * t).sqrt(); },
      [](const torch::Tensor& t) {
        return 1 - t / 12 + t * t * (3.0 / 160.0) - t * t * t * (5.0 / 896.0);
      });
}

// 1 − c‖x‖² from the norm, as (1 − √c‖x‖)(1 + √c‖x‖); positive for projected points.
inline torch::Tensor one_minus_c_norm2(const torch::Tensor& norm, const torch::Tensor& sqrt_c) {
  const auto r = sqrt_c * norm;
  return ((1 - r) * (1 + r)).clamp_min(min_sq_norm(norm.scalar_type()));
}

}  // namespace hcmsn::geometry::detail
