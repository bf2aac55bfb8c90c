// Exact hyperbolic nearest neighbours as Euclidean nearest neighbours: the transformation that
// lets a standard L2 vector index (FAISS HNSW, IVF) search the Poincaré ball.
//
// Derivation (curvature convention of geometry/poincare_ball.h, c ≥ 0). For a fixed query x,
// d_c(x, y) = (1/√c) arcosh(1 + 2c‖x−y‖² / ((1−c‖x‖²)(1−c‖y‖²))) is increasing in
//   key(x, y) = ‖x−y‖² / (1 − c‖y‖²)            (c = 0: d = 2‖x−y‖, key = ‖x−y‖²),
// so both rank the gallery alike. With w = 1/(1 − c‖y‖²) (w = 1 at c = 0):
//   key = w‖x‖² − 2w⟨x,y⟩ + w‖y‖² = −⟨q(x), g(y)⟩,
//   q(x) = [2x, −‖x‖², −1],   g(y) = [w·y, w, w‖y‖²]              (D + 2 coordinates),
// a maximum-inner-product search. The MIPS → L2 reduction (Bachrach et al., RecSys 2014) with
// M² = max over the gallery of ‖g(y)‖² and a per-query scale α = M/‖q(x)‖ > 0:
//   g'(y) = [g(y), √(M² − ‖g(y)‖²)],   q'(x) = [α·q(x), 0]           (D + 3 coordinates),
//   ‖q' − g'‖² = α²‖q‖² + M² − 2α⟨q, g⟩ = 2M² + 2α·key(x, y),
// increasing in key: the L2 ranking of the transformed vectors is the d_c ranking, exactly in
// exact arithmetic. Any α > 0 keeps the ranking; α = M/‖q‖ gives q' and g' the same length M,
// which maximises the signal 2α·key against the float32 rounding of the 2M² it rides on (by
// M/(2‖q‖) over α = 1). Near the boundary w, and with it M, grows like 1/(1 − c‖y‖²): an index
// over float32 vectors then ranks nearby candidates only approximately, which is why backends
// re-rank their candidates by exact d_c (exact_search.h: rerank_exact).
//
// Numerics: w, ‖g‖ and the last coordinate are computed in float64 (1 − c‖y‖² cancels near the
// boundary); the vectors are rounded to float32 at the end. Points are first projected as
// geometry::project does for their dtype, as the exact backend does, so both rank the same keys.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace hcmsn::index {

/// q(x) = [2x, −‖x‖², −1]: float64 (Q, D+2) for queries float32/float64 (Q, D).
torch::Tensor mips_query_vectors(const torch::Tensor& queries, double curvature);

/// g(y) = [w·y, w, w‖y‖²], w = 1/(1 − c‖y‖²): float64 (N, D+2) for rows float32/float64 (N, D).
/// ⟨q(x), g(y)⟩ = −key(x, y). Throws hcmsn::Error on non-finite rows.
torch::Tensor mips_gallery_vectors(const torch::Tensor& rows, double curvature);

/// The L2 form q', g' (see the header comment) for one gallery: M is fixed at construction, so
/// gallery rows may be transformed in chunks. Holds no reference to the gallery.
class PoincareL2Transform {
 public:
  /// Scans `gallery` (float32/float64 (N, D), N ≥ 1, finite) for M² = max ‖g(y)‖².
  PoincareL2Transform(const torch::Tensor& gallery, double curvature);

  int64_t input_dim() const { return input_dim_; }
  int64_t output_dim() const { return input_dim_ + 3; }
  double curvature() const { return curvature_; }
  /// M² = max over the gallery of ‖g(y)‖².
  double max_sq_norm() const { return max_sq_norm_; }

  /// g'(y) for gallery rows (n, D) (any subset of the gallery given at construction): (n, D+3)
  /// of `dtype` (float32 for FAISS, float64 for checks). Throws hcmsn::Error on a row with
  /// ‖g(y)‖² > M² (a row that was not part of that gallery).
  torch::Tensor gallery_vectors(const torch::Tensor& rows,
                                torch::ScalarType dtype = torch::kFloat32) const;
  /// q'(x) = [α·q(x), 0], α = M/‖q(x)‖, for queries (Q, D): (Q, D+3) of `dtype`.
  torch::Tensor query_vectors(const torch::Tensor& queries,
                              torch::ScalarType dtype = torch::kFloat32) const;
  /// α = M/‖q(x)‖ per query: float64 (Q). ‖q'(x) − g'(y)‖² = 2M² + 2α·key(x, y).
  torch::Tensor query_scales(const torch::Tensor& queries) const;

 private:
  int64_t input_dim_;
  double curvature_;
  double max_sq_norm_;
};

}  // namespace hcmsn::index
