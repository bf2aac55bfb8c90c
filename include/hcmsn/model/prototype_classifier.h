// The prototype classifier, HCMSN's alternative to hyperbolic MLR (DESIGN §2): one learnable
// prototype p_k on the Poincaré ball per class, and logit_k(h) = −d_c(h, p_k) / τ, so the
// softmax favours the nearest prototype. As in geometry/hyperbolic_mlr.h the parameters live in
// Euclidean space, p_k = exp0_c(raw_k), so plain Adam keeps every prototype on the ball for any
// curvature, also a learnable one. c = 0 gives Euclidean prototypes (d = 2‖h − p_k‖).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "hcmsn/geometry/poincare_ball.h"

namespace hcmsn::model {

struct PrototypeClassifierOptions {
  PrototypeClassifierOptions(int64_t dim, int64_t num_classes)
      : dim_(dim), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_classes);
  /// τ > 0: the distance scale of the logits.
  TORCH_ARG(double, temperature) = 1.0;
};

class PrototypeClassifierImpl : public torch::nn::Module {
 public:
  explicit PrototypeClassifierImpl(PrototypeClassifierOptions options);

  /// h (B, dim) on the ball of curvature −c → logits (B, num_classes).
  torch::Tensor forward(const torch::Tensor& h, const geometry::Curvature& c);

  /// The prototypes p (num_classes, dim) on the ball of curvature −c.
  torch::Tensor prototypes(const geometry::Curvature& c) const;

  void reset_parameters();

  const PrototypeClassifierOptions& options() const { return options_; }

 private:
  PrototypeClassifierOptions options_;
  torch::Tensor raw_;
};
TORCH_MODULE(PrototypeClassifier);

}  // namespace hcmsn::model
