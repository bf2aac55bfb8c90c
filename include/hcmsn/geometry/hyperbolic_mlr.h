// Hyperbolic multinomial logistic regression (Ganea, Bécigneul & Hofmann, NeurIPS 2018):
// class k is a gyroplane through p_k ∈ B_c^d with normal a_k ∈ T_{p_k}B_c^d, and
//   logit_k(x) = (λ_{p_k} ‖a_k‖ / √c) · asinh( 2√c ⟨−p_k ⊕ x, a_k⟩ / ((1 − c‖−p_k ⊕ x‖²) ‖a_k‖) ).
// Curvature and shapes follow poincare_ball.h. With c = 0 the logit is 4⟨x − p_k, a_k⟩, the
// Euclidean MLR (up to the constant λ_0 · 2 = 4 of the hyperbolic normalisation).
//
// Computed for all (x, k) pairs without materialising −p_k ⊕ x: with A = 1 − 2c⟨p,x⟩ + c‖x‖²
// and B = 1 − c‖p‖², the identity 1 − c‖−p ⊕ x‖² = B(1 − c‖x‖²)/den cancels the Möbius
// denominator, leaving two matrix products (x·pᵀ, x·aᵀ) and O(batch · K) elementwise work.
#pragma once

#include <torch/torch.h>

#include "hcmsn/geometry/poincare_ball.h"

namespace hcmsn::geometry {

/// Logits (batch, K) for points x (batch, d), gyroplane offsets p (K, d) on the ball and normals
/// a (K, d) in the tangent spaces at p.
torch::Tensor hyperbolic_mlr_logits(const torch::Tensor& x, const torch::Tensor& p,
                                    const torch::Tensor& a, const Curvature& c);

struct HyperbolicMLROptions {
  HyperbolicMLROptions(int64_t in_features, int64_t num_classes)
      : in_features_(in_features), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, num_classes);
};

/// The MLR layer. Parameters live in Euclidean space (as in hyptorch): offsets
/// p_k = exp0(p_raw_k) and normals a_k = a_raw_k (1 − c‖p_k‖²) (parallel transport of a tangent
/// vector at 0 to p_k), so plain Adam keeps p_k on the ball for any curvature.
class HyperbolicMLRImpl : public torch::nn::Module {
 public:
  explicit HyperbolicMLRImpl(HyperbolicMLROptions options);

  /// x: (batch, in_features) points on the ball of curvature −c → logits (batch, num_classes).
  torch::Tensor forward(const torch::Tensor& x, const Curvature& c);

  /// The gyroplane offsets p (K, d) and normals a (K, d) for curvature c.
  std::pair<torch::Tensor, torch::Tensor> gyroplanes(const Curvature& c) const;

  void reset_parameters();

  HyperbolicMLROptions options;
  torch::Tensor p_raw;
  torch::Tensor a_raw;
};
TORCH_MODULE(HyperbolicMLR);

}  // namespace hcmsn::geometry
