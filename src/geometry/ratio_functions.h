// Private numerics of the geometry layer.
//
// The ratio functions tanh(z)/z, artanh(z)/z and asinh(z)/z are even, so they are written as
// functions of z² = c‖v‖², which is polynomial in c: every formula is then uniform in c (the
// exact Euclidean limit at c = 0) and has finite, exact gradients in c and v everywhere,
// including c = 0 and v = 0 (no √c or ‖v‖ in the chain rule). Taylor branches take over near 0.
#pragma once

#include <torch/torch.h>

namespace hcmsn::geometry::detail {

// Smallest squared norm treated as non-zero: keeps sqrt's gradient finite at 0.
inline double min_sq_norm(torch::ScalarType t) {
  return t == torch::kFloat64 ? 1e-200 : 1e-30;
}

// Below this z² the ratio functions use their series (the next term is below the dtype's
// rounding unit there).
inline double series_cutoff_sq(torch::ScalarType t) {
  return t == torch::kFloat64 ? 1e-8 : 1e-4;
}

// ‖x‖² over the last dimension, keepdim.
inline torch::Tensor sq_norm(const torch::Tensor& x) {
  return x.pow(2).sum(-1, true);
}

// ‖x‖ over the last dimension, keepdim, with a zero-safe gradient.
inline torch::Tensor safe_norm(const torch::Tensor& x) {
  return sq_norm(x).clamp_min(min_sq_norm(x.scalar_type())).sqrt();
}

// sqrt that is exactly 0 (with zero gradient) at 0.
inline torch::Tensor safe_sqrt(const torch::Tensor& q) {
  const auto pos = q > min_sq_norm(q.scalar_type());
  return torch::where(pos, torch::where(pos, q, torch::ones_like(q)).sqrt(), torch::zeros_like(q));
}

// f(√z2) for z2 ≥ cutoff, series(z2) below it; the unused branch sees a harmless argument so
// that its gradient (multiplied by zero) cannot be NaN.
template <typename F, typename S>
inline torch::Tensor even_ratio(const torch::Tensor& z2, F f, S series) {
  const auto small = z2 < series_cutoff_sq(z2.scalar_type());
  const auto z_big = torch::where(small, torch::ones_like(z2), z2).sqrt();
  return torch::where(small, series(z2), f(z_big));
}

// tanh(z)/z = 1 − z²/3 + 2z⁴/15 − …, as a function of z².
inline torch::Tensor tanhc_sq(const torch::Tensor& z2) {
  return even_ratio(
      z2, [](const torch::Tensor& z) { return z.tanh() / z; },
      [](const torch::Tensor& t) { return 1 - t / 3 + t * t * (2.0 / 15.0); });
}

// artanh(z)/z = 1 + z²/3 + z⁴/5 + …, for 0 ≤ z² < 1.
inline torch::Tensor artanhc_sq(const torch::Tensor& z2) {
  return even_ratio(
      z2, [](const torch::Tensor& z) { return z.atanh() / z; },
      [](const torch::Tensor& t) { return 1 + t / 3 + t * t / 5; });
}

// artanh(z)/z given z² and an accurate 1 − z² (near z = 1, 1 − z² formed from z² loses the
// digits that decide artanh): artanh(z) = log1p(z) − ½ log(1 − z²).
inline torch::Tensor artanhc_sq(const torch::Tensor& z2, const torch::Tensor& one_minus_z2) {
  const auto small = z2 < series_cutoff_sq(z2.scalar_type());
  const auto z = torch::where(small, torch::ones_like(z2), z2).sqrt();
  const auto w = torch::where(small, torch::ones_like(one_minus_z2), one_minus_z2);
  return torch::where(small, 1 + z2 / 3 + z2 * z2 / 5, (z.log1p() - 0.5 * w.log()) / z);
}

// asinh(s)/s = 1 − s²/6 + 3s⁴/40 − …
inline torch::Tensor asinhc_sq(const torch::Tensor& s2) {
  return even_ratio(
      s2, [](const torch::Tensor& s) { return s.asinh() / s; },
      [](const torch::Tensor& t) { return 1 - t / 6 + t * t * (3.0 / 40.0); });
}

// arcosh(1 + z) / sqrt(2z) = 1 − z/12 + 3z²/160 − 5z³/896 + …, z ≥ 0. The large-z branch uses
// arcosh(1 + z) = log1p(z + sqrt(z(z + 2))), which avoids forming 1 + z.
inline torch::Tensor arcosh1p_over_sqrt2z(const torch::Tensor& z) {
  const auto small = z < (z.scalar_type() == torch::kFloat64 ? 1e-4 : 1e-2);
  const auto t = torch::where(small, torch::ones_like(z), z);
  return torch::where(small, 1 - z / 12 + z * z * (3.0 / 160.0) - z * z * z * (5.0 / 896.0),
                      (t + (t * (t + 2)).sqrt()).log1p() / (2 * t).sqrt());
}

// 1 − c‖x‖² from ‖x‖², kept positive (points are projected inside the ball first). The value
// is (1 − r)(1 + r) with r = √(c‖x‖²), about twice as accurate near the boundary in float32 as
// 1 − c‖x‖²; the gradient is that of the polynomial 1 − c‖x‖², exact in c also at c = 0, where
// the factored form's chain rule would meet √c.
inline torch::Tensor one_minus_c_norm2(const torch::Tensor& x2, const torch::Tensor& c) {
  const auto direct = 1 - c * x2;
  const auto r = (c * x2).detach().clamp_min(0).sqrt();
  const auto factored = (1 - r) * (1 + r);
  return (direct + (factored - direct.detach())).clamp_min(min_sq_norm(x2.scalar_type()));
}

}  // namespace hcmsn::geometry::detail
