#include "hcmsn/index/exact_search.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/util/check.h"

namespace hcmsn::index {

void check_search_arguments(const torch::Tensor& queries, int64_t dim, int64_t k) {
  HCMSN_CHECK(k >= 1, "search: k must be >= 1, got ", k);
  HCMSN_CHECK(queries.defined() && queries.dim() == 2 && queries.scalar_type() == torch::kFloat32 &&
                  queries.device().is_cpu(),
              "search: queries must be a float32 (Q, D) CPU tensor");
  HCMSN_CHECK(queries.size(1) == dim, "search: queries have ", queries.size(1),
              " dimensions but the gallery has ", dim,
              "; embed queries with the model that built the gallery");
  HCMSN_CHECK(queries.numel() == 0 || torch::isfinite(queries).all().item<bool>(),
              "search: a query has a NaN or infinite value");
}

ExactSearcher::ExactSearcher(torch::Tensor gallery, double curvature, ExactSearchOptions options)
    : gallery_(std::move(gallery)), curvature_(curvature), options_(options) {
  HCMSN_CHECK(gallery_.defined() && gallery_.dim() == 2 &&
                  gallery_.scalar_type() == torch::kFloat32 && gallery_.device().is_cpu(),
              "ExactSearcher: the gallery must be a float32 (N, D) CPU tensor");
  HCMSN_CHECK(std::isfinite(curvature) && curvature >= 0,
              "ExactSearcher: curvature must be finite and >= 0, got ", curvature);
  HCMSN_CHECK(options_.block_rows >= 1, "ExactSearcher: block_rows must be >= 1");
  gallery_ = gallery_.contiguous();
  // key(x, y) = w‖x‖² + w‖y‖² − 2⟨x, w·y⟩ with w = 1 / (1 − c‖y‖²): the per-row parts are
  // computed once, in float64 so that w stays accurate for rows near the boundary.
  // In slices: a float64 copy of a whole million-row gallery would take gigabytes.
  torch::Tensor y2 = torch::empty({gallery_.size(0)}, torch::kFloat64);
  constexpr int64_t kSlice = 16384;
  for (int64_t start = 0; start < gallery_.size(0); start += kSlice) {
    const int64_t stop = std::min(gallery_.size(0), start + kSlice);
    y2.slice(0, start, stop)
        .copy_(gallery_.slice(0, start, stop).to(torch::kFloat64).pow(2).sum(1));
  }
  const torch::Tensor w = torch::ones_like(y2).div(1.0 - y2.mul(curvature_).clamp_max(1.0 - 1e-12));
  gallery_weight_ = w.to(torch::kFloat32);
  scaled_gallery_ = gallery_.mul(gallery_weight_.unsqueeze(1)).contiguous();
  gallery_bias_ = w.mul(y2).to(torch::kFloat32);
}

int64_t ExactSearcher::memory_bytes() const {
  return static_cast<int64_t>(scaled_gallery_.nbytes() + gallery_weight_.nbytes() +
                              gallery_bias_.nbytes());
}

Neighbors ExactSearcher::search(const torch::Tensor& queries, int64_t k) const {
  check_search_arguments(queries, gallery_.size(1), k);
  const int64_t n = gallery_.size(0), q = queries.size(0);
  const int64_t kk = std::min(k, n);
  if (q == 0 || kk == 0) {
    return {torch::empty({q, kk}, torch::kInt64), torch::empty({q, kk}, torch::kFloat32)};
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor x = queries.contiguous();
  const torch::Tensor x2 = x.pow(2).sum(1, /*keepdim=*/true);  // (Q, 1)
  const int64_t block = options_.block_rows;
  const int64_t blocks = (n + block - 1) / block;
  std::vector<torch::Tensor> top_keys(static_cast<size_t>(blocks));
  std::vector<torch::Tensor> top_ids(static_cast<size_t>(blocks));
  // Blocks run in parallel; ATen ops inside a parallel region run on the calling thread.
  at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      const int64_t start = b * block, stop = std::min(n, start + block);
      torch::Tensor key = torch::addmm(gallery_bias_.slice(0, start, stop).unsqueeze(0), x,
                                       scaled_gallery_.slice(0, start, stop).t(), 1, -2);
      key.addcmul_(x2, gallery_weight_.slice(0, start, stop).unsqueeze(0));
      const int64_t m = std::min(kk, stop - start);
      auto [values, indices] = key.topk(m, /*dim=*/1, /*largest=*/false, /*sorted=*/false);
      top_keys[static_cast<size_t>(b)] = values;
      top_ids[static_cast<size_t>(b)] = indices.add_(start);
    }
  });
  torch::Tensor keys = torch::cat(top_keys, 1), ids = torch::cat(top_ids, 1);
  if (keys.size(1) > kk) {
    // A margin beyond k keeps rows whose float32 keys tie or nearly tie with the k-th.
    const int64_t m = std::min(keys.size(1), kk + std::max<int64_t>(8, kk / 4));
    auto [values, where] = keys.topk(m, 1, /*largest=*/false, /*sorted=*/false);
    ids = ids.gather(1, where);
  }
  return rerank_exact(x, gallery_, curvature_, ids, kk);
}

Neighbors rerank_exact(const torch::Tensor& queries, const torch::Tensor& gallery, double curvature,
                       const torch::Tensor& candidate_ids, int64_t k) {
  HCMSN_CHECK(candidate_ids.dim() == 2 && candidate_ids.scalar_type() == torch::kInt64 &&
                  candidate_ids.size(0) == queries.size(0),
              "rerank_exact: candidate ids must be int64 (Q, m)");
  HCMSN_CHECK(k >= 1, "rerank_exact: k must be >= 1");
  torch::NoGradGuard no_grad;
  const int64_t q = candidate_ids.size(0), m = candidate_ids.size(1);
  const torch::Tensor valid = candidate_ids.ge(0).logical_and(candidate_ids.lt(gallery.size(0)));
  const torch::Tensor safe = candidate_ids.where(valid, torch::zeros_like(candidate_ids));
  // float64: the exact distances users see, accurate even for nearby points near the boundary.
  const torch::Tensor y =
      gallery.index_select(0, safe.reshape({-1})).reshape({q, m, -1}).to(torch::kFloat64);
  const torch::Tensor x = queries.to(torch::kFloat64).unsqueeze(1);
  torch::Tensor d = geometry::distance(x, y, geometry::Curvature(curvature));
  d = d.reshape({q, m}).masked_fill(valid.logical_not(), std::numeric_limits<double>::infinity());
  // Sort by id, then stably by distance: equal distances keep the smaller id first.
  auto [sorted_ids, by_id] = safe.masked_fill(valid.logical_not(), gallery.size(0)).sort(1);
  const torch::Tensor d_by_id = d.gather(1, by_id);
  auto [sorted_d, order] = d_by_id.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false);
  const int64_t kk = std::min(k, m);
  torch::Tensor ids = sorted_ids.gather(1, order).slice(1, 0, kk);
  ids.masked_fill_(ids.ge(gallery.size(0)), -1);
  return {ids.contiguous(), sorted_d.slice(1, 0, kk).to(torch::kFloat32).contiguous()};
}

}  // namespace hcmsn::index
