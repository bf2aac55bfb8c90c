#include "hcmsn/data/synthetic_embeddings.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/util/check.h"

namespace hcmsn::data {
namespace {

// Labels with every class present at least once (when n ≥ classes), the rest uniform.
std::vector<int64_t> draw_labels(int64_t n, int64_t classes, torch::Generator& gen) {
  auto labels = torch::randint(classes, {n}, gen, torch::kInt64);
  const int64_t fixed = std::min(n, classes);
  labels.slice(0, 0, fixed).copy_(torch::arange(fixed, torch::kInt64));
  labels = labels.index_select(0, torch::randperm(n, gen, torch::kInt64));
  return {labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + n};
}

}  // namespace

SyntheticEmbeddings make_synthetic_embeddings(const SyntheticEmbeddingOptions& o) {
  HCMSN_CHECK(o.num_queries > 0 && o.num_gallery > 0 && o.dim > 0 && o.num_classes > 0,
              "synthetic embeddings need positive counts, dimension and classes");
  HCMSN_CHECK(o.class_spread >= 0 && o.gallery_noise >= 0 && o.query_noise >= 0,
              "spreads and noise levels must be >= 0");
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const double scale = 1.0 / std::sqrt(static_cast<double>(o.dim));
  const auto centres =
      torch::randn({o.num_classes, o.dim}, gen, torch::kFloat64) * (o.class_spread * scale);

  SyntheticEmbeddings out;
  out.query_labels = draw_labels(o.num_queries, o.num_classes, gen);
  out.gallery_labels = draw_labels(o.num_gallery, o.num_classes, gen);
  auto sample = [&](const std::vector<int64_t>& labels, double noise) {
    const auto idx = torch::tensor(labels, torch::kInt64);
    const auto n = static_cast<int64_t>(labels.size());
    const auto tangent = centres.index_select(0, idx) +
                         torch::randn({n, o.dim}, gen, torch::kFloat64) * (noise * scale);
    return geometry::expmap0(tangent, o.curvature).to(o.dtype).contiguous();
  };
  out.queries = sample(out.query_labels, o.query_noise);
  out.gallery = sample(out.gallery_labels, o.gallery_noise);
  return out;
}

}  // namespace hcmsn::data
