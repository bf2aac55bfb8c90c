// Deterministic inputs shared by the geometry and model tests: points in the Poincaré ball and
// fixed weights that reduce a tensor output to a scalar for gradient checks.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace hcmsn::test {

/// n points in R^d with √c‖x‖ uniform in [lo, hi] (‖x‖ for c = 0), reproducible per seed.
inline torch::Tensor points(int64_t n, int64_t d, double c, double lo, double hi, uint32_t seed,
                            torch::ScalarType dt = torch::kFloat64) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uni(lo, hi);
  const double scale = c > 0 ? 1 / std::sqrt(c) : 1.0;
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> u(static_cast<size_t>(d));
    double n2 = 0;
    for (auto& e : u) {
      e = normal(rng);
      n2 += e * e;
    }
    const double r = uni(rng) * scale / std::sqrt(n2);
    for (auto e : u) out.push_back(e * r);
  }
  return torch::tensor(out, torch::kFloat64).view({n, d}).to(dt);
}

/// Deterministic weights with the shape of t: a fixed "random" direction that reduces an output
/// to a scalar for gradient checks.
inline torch::Tensor weights_like(const torch::Tensor& t) {
  return torch::arange(t.numel(), t.options().requires_grad(false))
      .mul(1.7)
      .add(0.3)
      .sin()
      .view(t.sizes());
}

using ScalarFn = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

/// f reduced to Σ f(xs) · weights_like(f(xs)).
inline ScalarFn scalarised(const ScalarFn& f) {
  return [f](const std::vector<torch::Tensor>& xs) {
    const auto out = f(xs);
    return (out * weights_like(out)).sum();
  };
}

}  // namespace hcmsn::test
