// The Poincaré ball model of hyperbolic space, the geometry of HCMSN's retrieval embeddings.
//
// Conventions, stated once for all of hcmsn:
//  * Curvature. B_c^d = { x in R^d : c‖x‖² < 1 } with constant sectional curvature −c, c ≥ 0.
//    c = 0 is Euclidean space: every function below is written in a form that is continuous in
//    c and equals its Euclidean limit at c = 0 (exp0 = identity, d(x, y) = 2‖x − y‖,
//    x ⊕ y = x + y), so the Euclidean baseline is the same code with c = 0.
//  * Shapes. Points and tangent vectors are (..., d): the last dimension holds coordinates and
//    leading dimensions broadcast. Reductions over the last dimension drop it unless the
//    function says "keepdim".
//  * Types. float32 and float64 on any device; results have the input dtype. All functions are
//    differentiable with finite forward values and gradients for every finite input, including
//    zero vectors, points on or beyond the boundary (they are projected), very long tangent
//    vectors and tiny c.
//  * Boundary. Points are kept at radius ≤ (1 − ε)/√c with ε = boundary_eps(dtype)
//    (1e-5 for float32, 1e-10 for float64); points whose ‖x‖² would overflow are projected too.
//  * Curvature gradients. Formulas depend on c only through c‖·‖² (the ratio functions are even),
//    so d/dc is finite and exact everywhere, including a learnable c at 0.
#pragma once

#include <torch/torch.h>

namespace hcmsn::geometry {

/// The curvature parameter c ≥ 0 (the ball has curvature −c): a fixed number or a 0-dim tensor
/// (e.g. a learnable, softplus-parameterised curvature whose gradient flows through).
class Curvature {
 public:
  /// Throws hcmsn::Error unless c is finite and ≥ 0.
  Curvature(double c);  // NOLINT(google-explicit-constructor): numbers read naturally as c.
  /// The tensor must be 0-dim with values ≥ 0; it is not checked here (that would synchronise
  /// GPU work on every call).
  Curvature(torch::Tensor c);  // NOLINT(google-explicit-constructor)

  /// c as a 0-dim tensor with x's dtype and device.
  torch::Tensor like(const torch::Tensor& x) const;
  /// The value as a double (synchronises if c lives on a GPU).
  double value() const;
  bool is_tensor() const { return tensor_.defined(); }

 private:
  double value_ = 0.0;
  torch::Tensor tensor_;
};

/// ε of the boundary projection for a dtype (see the header comment).
double boundary_eps(torch::ScalarType dtype);

/// λ_x = 2 / (1 − c‖x‖²), keepdim: (..., 1).
torch::Tensor conformal_factor(const torch::Tensor& x, const Curvature& c);

/// Möbius addition x ⊕ y (broadcasting).
torch::Tensor mobius_add(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c);

/// exp0(v) = tanh(√c‖v‖) v / (√c‖v‖), projected inside the ball.
torch::Tensor expmap0(const torch::Tensor& v, const Curvature& c);

/// log0(y) = artanh(√c‖y‖) y / (√c‖y‖); y is projected first.
torch::Tensor logmap0(const torch::Tensor& y, const Curvature& c);

/// exp_x(v) = x ⊕ (tanh(√c λ_x ‖v‖ / 2) v / (√c‖v‖)), projected inside the ball.
torch::Tensor expmap(const torch::Tensor& x, const torch::Tensor& v, const Curvature& c);

/// log_x(y) = (2 / (√c λ_x)) artanh(√c‖−x ⊕ y‖) (−x ⊕ y) / ‖−x ⊕ y‖.
torch::Tensor logmap(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c);

/// Geodesic distance, arcosh form:
/// d(x, y) = (1/√c) arcosh(1 + 2c‖x − y‖² / ((1 − c‖x‖²)(1 − c‖y‖²))), shape broadcast(...).
torch::Tensor distance(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c);

/// The same distance through Möbius addition, d = (2/√c) artanh(√c‖−x ⊕ y‖). Less accurate near
/// the boundary in float32; kept as the second formula the tests compare against.
torch::Tensor distance_mobius(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c);

/// All pairwise distances between x (n, d) and y (m, d): (n, m). Up to n·m·d = 2^24 elements
/// (training batches) ‖x − y‖² comes from exact differences; beyond, from one matrix product,
/// which loses accuracy for nearby points close to the boundary (use it to rank, not to train).
torch::Tensor distance_matrix(const torch::Tensor& x, const torch::Tensor& y, const Curvature& c);

/// A cheaper (n, m) matrix whose order along every row equals that of distance_matrix:
/// ‖x_i − y_j‖² / (1 − c‖y_j‖²) (d is increasing in it for a fixed x_i). For ranking only:
/// computed without autograd.
torch::Tensor ranking_key_matrix(const torch::Tensor& x, const torch::Tensor& y,
                                 const Curvature& c);

/// Projects points into the closed ball of radius (1 − eps)/√c (eps < 0: boundary_eps(dtype)).
/// Identity for c = 0.
torch::Tensor project(const torch::Tensor& x, const Curvature& c, double eps = -1.0);

/// Feature clipping (Guo et al. 2022): u · min(1, r / ‖u‖), applied before exp0. r > 0.
torch::Tensor clip_features(const torch::Tensor& u, double r);

}  // namespace hcmsn::geometry
