#include "hcmsn/index/mips_transform.h"

#include <algorithm>
#include <cmath>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/util/check.h"

namespace hcmsn::index {
namespace {

// Rows per float64 chunk while scanning a gallery: bounds the temporaries (64 MB at D = 512).
constexpr int64_t kChunkRows = 16384;

void check_points(const torch::Tensor& x, const char* what) {
  HCMSN_CHECK(x.defined() && x.dim() == 2 &&
                  (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kFloat64),
              what, " must be a float32 or float64 (n, D) tensor");
  HCMSN_CHECK(x.device().is_cpu(), what, " must be on the CPU");
  HCMSN_CHECK(torch::isfinite(x).all().item<bool>(), what,
              " holds NaN or infinite values; embed them again or drop those rows");
}

// Projected as geometry::project does for the input's dtype, then float64.
torch::Tensor projected_f64(const torch::Tensor& x, double c) {
  return geometry::project(x, c).to(torch::kFloat64);
}

struct GalleryParts {
  torch::Tensor y;        // float64 (n, D), projected
  torch::Tensor y2;       // ‖y‖² (n, 1)
  torch::Tensor w;        // 1/(1 − c‖y‖²) (n, 1)
  torch::Tensor g_norm2;  // ‖g(y)‖² (n)
};

GalleryParts gallery_parts(const torch::Tensor& rows, double c) {
  GalleryParts p;
  torch::NoGradGuard no_grad;
  p.y = projected_f64(rows, c);
  p.y2 = p.y.pow(2).sum(-1, true);
  // Projection keeps c‖y‖² ≤ (1 − ε)² < 1, so w is finite and positive.
  p.w = 1.0 / (1.0 - c * p.y2);
  p.g_norm2 = (p.w.pow(2) * (p.y2 + 1.0 + p.y2.pow(2))).squeeze(-1);
  return p;
}

}  // namespace

torch::Tensor mips_query_vectors(const torch::Tensor& queries, double curvature) {
  check_points(queries, "mips_query_vectors: queries");
  torch::NoGradGuard no_grad;
  const auto x = projected_f64(queries, curvature);
  const auto x2 = x.pow(2).sum(-1, true);
  return torch::cat({2.0 * x, -x2, -torch::ones_like(x2)}, 1);
}

torch::Tensor mips_gallery_vectors(const torch::Tensor& rows, double curvature) {
  check_points(rows, "mips_gallery_vectors: rows");
  const auto p = gallery_parts(rows, curvature);
  return torch::cat({p.w * p.y, p.w, p.w * p.y2}, 1);
}

PoincareL2Transform::PoincareL2Transform(const torch::Tensor& gallery, double curvature)
    : input_dim_(0), curvature_(geometry::Curvature(curvature).value()), max_sq_norm_(0) {
  check_points(gallery, "PoincareL2Transform: gallery");
  HCMSN_CHECK(gallery.size(0) >= 1, "PoincareL2Transform: the gallery is empty; add rows first");
  input_dim_ = gallery.size(1);
  for (int64_t begin = 0; begin < gallery.size(0); begin += kChunkRows) {
    const auto chunk = gallery.narrow(0, begin, std::min(kChunkRows, gallery.size(0) - begin));
    max_sq_norm_ =
        std::max(max_sq_norm_, gallery_parts(chunk, curvature_).g_norm2.max().item<double>());
  }
}

torch::Tensor PoincareL2Transform::gallery_vectors(const torch::Tensor& rows,
                                                   torch::ScalarType dtype) const {
  check_points(rows, "PoincareL2Transform::gallery_vectors: rows");
  HCMSN_CHECK(rows.size(1) == input_dim_, "PoincareL2Transform::gallery_vectors: rows have ",
              rows.size(1), " columns, the transform was built for D = ", input_dim_);
  const auto p = gallery_parts(rows, curvature_);
  auto slack = max_sq_norm_ - p.g_norm2;
  // The row that defines M² may come out a few ulps above it when summed in another chunk shape.
  const double tolerance = 1e-12 * max_sq_norm_;
  HCMSN_CHECK(rows.size(0) == 0 || slack.min().item<double>() >= -tolerance,
              "PoincareL2Transform::gallery_vectors: a row lies farther out than every row of the "
              "gallery the transform was built from; build the transform from the whole gallery");
  const auto last = slack.clamp_min(0).sqrt().unsqueeze(1);
  return torch::cat({p.w * p.y, p.w, p.w * p.y2, last}, 1).to(dtype).contiguous();
}

torch::Tensor PoincareL2Transform::query_scales(const torch::Tensor& queries) const {
  HCMSN_CHECK(queries.defined() && queries.dim() == 2 && queries.size(1) == input_dim_,
              "PoincareL2Transform: queries must be (Q, ", input_dim_, ")");
  const auto q = mips_query_vectors(queries, curvature_);
  // ‖q‖ ≥ 1 (its last coordinate is −1), so α is finite.
  return std::sqrt(max_sq_norm_) / q.norm(2, 1);
}

torch::Tensor PoincareL2Transform::query_vectors(const torch::Tensor& queries,
                                                 torch::ScalarType dtype) const {
  HCMSN_CHECK(queries.defined() && queries.dim() == 2 && queries.size(1) == input_dim_,
              "PoincareL2Transform: queries must be (Q, ", input_dim_, ")");
  const auto q = mips_query_vectors(queries, curvature_);
  const auto alpha = std::sqrt(max_sq_norm_) / q.norm(2, 1, true);
  return torch::cat({alpha * q, torch::zeros({q.size(0), 1}, q.options())}, 1)
      .to(dtype)
      .contiguous();
}

}  // namespace hcmsn::index
