#include "hcmsn/model/fused_embedding.h"

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/util/check.h"

namespace hcmsn::model {
void check_fusion_weights(const FusionWeights& w) {
  HCMSN_CHECK(
      std::isfinite(w.backbone) && std::isfinite(w.semantic) && std::isfinite(w.hyperbolic) &&
          w.backbone >= 0 && w.semantic >= 0 && w.hyperbolic >= 0 &&
          std::abs(w.backbone + w.semantic + w.hyperbolic - 1.0) <= 1e-6,
      "fusion weights must be three non-negative numbers that sum to 1, got ", to_string(w));
  HCMSN_CHECK(std::isfinite(w.hyperbolic_scale) && w.hyperbolic_scale > 0,
              "the scale of h must be finite and > 0, got ", w.hyperbolic_scale);
}

FusionWeights parse_fusion_weights(const std::string& text) {
  std::vector<double> values;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    HCMSN_CHECK(used > 0 && used == part.size(), "fusion weights '", text, "': '", part,
                "' is not a number; write backbone,semantic,hyperbolic");
    values.push_back(value);
  }
  HCMSN_CHECK(values.size() == 3, "fusion weights '", text,
              "' must be three numbers: backbone,semantic,hyperbolic (e.g. 0.5,0.3,0.2)");
  const FusionWeights w{values[0], values[1], values[2]};
  check_fusion_weights(w);
  return w;
}

std::string to_string(const FusionWeights& w) {
  return fmt::format("{:g},{:g},{:g}", w.backbone, w.semantic, w.hyperbolic);
}

torch::Tensor fuse_embedding(const torch::Tensor& v, const torch::Tensor& s, const torch::Tensor& h,
                             const FusionWeights& w, double curvature) {
  check_fusion_weights(w);
  HCMSN_CHECK(v.dim() == 2 && s.dim() == 2 && h.dim() == 2 && v.size(0) == s.size(0) &&
                  v.size(0) == h.size(0),
              "fuse_embedding: v, s and h must be matrices with the same rows, got ", v.sizes(),
              ", ", s.sizes(), ", ", h.sizes());
  HCMSN_CHECK(std::isfinite(curvature) && curvature >= 0,
              "fuse_embedding: the curvature must be >= 0, got ", curvature);
  const double rho = curvature > 0 ? std::min(1.0, 0.5 / std::sqrt(curvature)) : 1.0;
  const auto unit = [](const torch::Tensor& x) {
    return x.to(torch::kFloat32) / x.to(torch::kFloat32).norm(2, 1, true).clamp_min(1e-12);
  };
  auto z =
      torch::cat({unit(v) * (rho * std::sqrt(w.backbone)), unit(s) * (rho * std::sqrt(w.semantic)),
                  h.to(torch::kFloat32) * (std::sqrt(w.hyperbolic) * w.hyperbolic_scale)},
                 1);
  if (curvature > 0) z = geometry::project(z, geometry::Curvature(curvature));
  return z;
}

double hyperbolic_scale(const torch::Tensor& h) {
  HCMSN_CHECK(h.dim() == 2 && h.size(0) >= 2, "hyperbolic_scale: needs at least two points, got ",
              h.sizes());
  const auto x = h.to(torch::kFloat64);
  const auto n = static_cast<double>(x.size(0));
  // Σ_{i,j} ‖x_i − x_j‖² = 2n Σ‖x_i‖² − 2‖Σ x_i‖², without the n × n matrix.
  const double total =
      2 * n * x.pow(2).sum().item<double>() - 2 * x.sum(0).pow(2).sum().item<double>();
  const double mean = total / (n * (n - 1));
  return mean > 1e-12 ? std::sqrt(2.0 / mean) : 1.0;
}

std::vector<FusionWeights> fusion_grid(int steps) {
  HCMSN_CHECK(steps >= 1, "fusion_grid: steps must be >= 1, got ", steps);
  std::vector<FusionWeights> grid;
  for (int b = 0; b <= steps; ++b) {
    for (int s = 0; b + s <= steps; ++s) {
      grid.push_back({static_cast<double>(b) / steps, static_cast<double>(s) / steps,
                      static_cast<double>(steps - b - s) / steps});
    }
  }
  return grid;
}

}  // namespace hcmsn::model
