// The fused retrieval embedding (issue 11): one point of the ball that ranks by three
// similarities at once, so every search path (exact, FAISS, the server) stays one Poincaré
// distance.
//
//   z = [ ρ √w_b · v/‖v‖,  ρ √w_s · s/‖s‖,  √w_h · κ h ],   ρ = min(1, 1 / (2√c))
//
// v (B, in_dim): the backbone's features, s (B, sem_dim): the semantic embedding (S(F(v)) for a
// sketch, the ConSE bridge for a photo), h (B, hyp_dim): HCMSN's point on the ball of curvature
// −c, κ > 0 its scale (hyperbolic_scale: chosen so that h's pairs are as far apart on average as
// two orthogonal unit vectors, which puts the three parts on one scale and makes the weights
// comparable). With c = 0 the squared distance is
// 2ρ²w_b(1 − cos v) + 2ρ²w_s(1 − cos s) + w_h κ²‖Δh‖²: a
// weighted sum of the backbone's cosine, the semantic cosine and HCMSN's own distance. With
// c > 0 the Poincaré distance of z is monotone in that same sum when w_h = 0 (every z has the
// norm ρ√(w_b + w_s)), and bends it by the hyperbolic norm of h otherwise. ρ keeps z inside the
// ball (‖z‖² < 1/c for weights on the simplex): w = (1, 0, 0) ranks exactly as the backbone's
// cosine, so a run can never be forced below the features it starts from.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace hcmsn::model {

/// Non-negative weights of the backbone, semantic and hyperbolic parts, summing to 1.
struct FusionWeights {
  double backbone = 0.0;
  double semantic = 0.0;
  double hyperbolic = 1.0;
  /// κ, the scale of h (> 0); not a weight: to_string and parse_fusion_weights leave it out.
  double hyperbolic_scale = 1.0;
};
/// "b,s,h" (e.g. "0.5,0.3,0.2"); throws hcmsn::Error unless three non-negative numbers that sum
/// to 1 (within 1e-6).
FusionWeights parse_fusion_weights(const std::string& text);
std::string to_string(const FusionWeights& w);
/// Throws hcmsn::Error unless the weights are finite, non-negative and sum to 1 (within 1e-6),
/// and the scale is finite and > 0.
void check_fusion_weights(const FusionWeights& w);

/// z as above, float32 (B, in_dim + sem_dim + hyp_dim), projected into the ball. Throws
/// hcmsn::Error on mismatched rows or weights off the simplex.
torch::Tensor fuse_embedding(const torch::Tensor& v, const torch::Tensor& s, const torch::Tensor& h,
                             const FusionWeights& w, double curvature);

/// κ for points h (N, hyp_dim), N ≥ 2: √(2 / mean_{i≠j} ‖h_i − h_j‖²), or 1 when all coincide.
double hyperbolic_scale(const torch::Tensor& h);

/// Every weight triple on the simplex with coordinates in multiples of 1/steps (steps ≥ 1), in
/// lexicographic order of (backbone, semantic).
std::vector<FusionWeights> fusion_grid(int steps);

}  // namespace hcmsn::model
