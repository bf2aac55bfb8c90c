// P, the feature projection network of HCMSN (DESIGN §2): retrieval features f ∈ R^dim onto the
// Poincaré ball B_c^{out_dim} (curvature convention: geometry/poincare_ball.h),
//   u = W f + b,   u ← min(1, r / ‖u‖) · u   (feature clipping, Guo et al. 2022),   h = exp0_c(u).
// Clipping keeps h away from the boundary, where exp0 saturates and gradients vanish; r ≤ 0
// turns it off. With c = 0 exp0 is the identity, so h is the clipped u: the Euclidean variant.
// Shapes and dtypes follow retrieval_feature_net.h.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "hcmsn/geometry/poincare_ball.h"

namespace hcmsn::model {

struct ProjectionNetOptions {
  /// out_dim starts equal to dim (set it after dim when they differ).
  explicit ProjectionNetOptions(int64_t dim) : dim_(dim), out_dim_(dim) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, out_dim);
  /// Clipping radius r of the tangent vector u; ≤ 0 disables clipping.
  TORCH_ARG(double, clip_r) = 2.3;
};

class ProjectionNetImpl : public torch::nn::Module {
 public:
  explicit ProjectionNetImpl(ProjectionNetOptions options);

  /// f (B, dim) → h (B, out_dim), a point of the ball of curvature −c.
  torch::Tensor forward(const torch::Tensor& f, const geometry::Curvature& c);

  /// f (B, dim) → the clipped tangent vector u (B, out_dim) at the origin, before exp0.
  torch::Tensor tangent(const torch::Tensor& f);

  const ProjectionNetOptions& options() const { return options_; }

 private:
  ProjectionNetOptions options_;
  torch::nn::Linear linear_{nullptr};
};
TORCH_MODULE(ProjectionNet);

}  // namespace hcmsn::model
