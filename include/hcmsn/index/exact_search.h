// Nearest neighbours on the Poincaré ball: the search contract every backend implements, and
// the exact backend.
//
// Contract: queries float32 (Q, D) and gallery float32 (N, D), CPU, inside the ball of curvature
// c ≥ 0 (c = 0: Euclidean). search(queries, k) returns the min(k, N) nearest gallery rows of
// each query by d_c, ascending (equal distances: smaller id first); `distances` are exact d_c
// (float32) whatever the backend used to find the candidates.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace hcmsn::index {

struct Neighbors {
  torch::Tensor ids;        // int64 (Q, k'), k' = min(k, N): gallery row numbers
  torch::Tensor distances;  // float32 (Q, k'): d_c, ascending per row
};

class Searcher {
 public:
  virtual ~Searcher() = default;
  /// Throws hcmsn::Error on k < 1, a wrong dimension or dtype, or a non-finite query.
  virtual Neighbors search(const torch::Tensor& queries, int64_t k) const = 0;
  virtual std::string name() const = 0;
  /// Bytes the backend holds beyond the caller's gallery tensor (0 for exact search).
  virtual int64_t memory_bytes() const = 0;
};

struct ExactSearchOptions {
  /// Gallery rows per block: each block's keys (Q × block_rows floats) stay in cache.
  int64_t block_rows = 16384;
};

/// Exact search: for each block of gallery rows (blocks in parallel over at::parallel_for) the
/// ranking key ‖x−y‖² / (1 − c‖y‖²) (the order of d_c for a fixed query, DESIGN §3) from one
/// matrix product against precomputed w·y, a per-block top-k, then a merge and exact d_c
/// (float64) for the winners. Shares the gallery tensor's storage (no copy).
class ExactSearcher : public Searcher {
 public:
  ExactSearcher(torch::Tensor gallery, double curvature, ExactSearchOptions options = {});
  Neighbors search(const torch::Tensor& queries, int64_t k) const override;
  std::string name() const override { return "exact"; }
  /// The precomputed w·y, w and w‖y‖²: about the gallery's own size.
  int64_t memory_bytes() const override;

 private:
  torch::Tensor gallery_;
  torch::Tensor gallery_weight_;  // w = 1 / (1 − c‖y‖²), float32 (N)
  torch::Tensor scaled_gallery_;  // w·y, float32 (N, D)
  torch::Tensor gallery_bias_;    // w‖y‖², float32 (N)
  double curvature_;
  ExactSearchOptions options_;
};

/// Checks the common contract (dtype, dimension `dim`, finiteness, k ≥ 1); for backends.
void check_search_arguments(const torch::Tensor& queries, int64_t dim, int64_t k);

/// Exact d_c (computed in float64) between each query and its candidate ids (int64 (Q, m),
/// −1 or out of range = none), sorted ascending with ties by id and cut to min(k, m) columns;
/// missing candidates come last as id −1 with distance +inf. Backends that find candidates by
/// another key use it to report exact distances.
Neighbors rerank_exact(const torch::Tensor& queries, const torch::Tensor& gallery, double curvature,
                       const torch::Tensor& candidate_ids, int64_t k);

}  // namespace hcmsn::index
