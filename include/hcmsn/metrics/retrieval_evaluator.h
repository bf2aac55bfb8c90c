// Retrieval evaluation of queries against a gallery (DESIGN §1): every query ranks the whole
// gallery by distance, relevance is "same class", and AP / Prec@K / mAP@K are averaged
// according to a Protocol.
//
// Memory is bounded: distances are computed for blocks of queries whose (block × gallery)
// matrix fits `memory_budget_bytes`, never the full queries × gallery matrix unless it fits.
// Each block is one matrix product (LibTorch/BLAS threads) followed by a parallel per-query
// radix ranking (ranking.h). Results do not depend on the block size or thread count.
//
// Inputs: queries (Q, d) and gallery (N, d), float32 or float64 (mixed inputs are promoted to
// float64); labels are class ids (any int64), one per row. For the Poincaré metric the points
// must lie inside the ball of curvature −c (c‖x‖² < 1); see geometry/poincare_ball.h.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hcmsn/metrics/protocol.h"
#include "hcmsn/util/sharding.h"

namespace hcmsn::metrics {

enum class Metric { kPoincare, kEuclidean, kCosine };

std::string to_string(Metric m);
Metric parse_metric(const std::string& name);

struct DistanceOptions {
  Metric metric = Metric::kPoincare;
  double curvature = 1.0;  // used by kPoincare only; 0 gives the Euclidean ranking
};

struct EvaluationOptions {
  std::vector<int64_t> ks = {100, 200};
  Protocol protocol;
  /// kAuto: the protocol's own rule (Protocol::default_empty_queries).
  EmptyQueryPolicy empty_queries = EmptyQueryPolicy::kAuto;
  /// Upper bound for the per-block distance matrix and its temporaries.
  int64_t memory_budget_bytes = int64_t{512} << 20;
  /// Show a progress bar / progress lines on stderr.
  bool progress = false;
  /// Where evaluate_embeddings computes each block's matrix product (the O(Q·N·d) part); the
  /// block then comes back to the CPU for ranking (O(Q·N)), so the memory budget above is the
  /// device's too. A CUDA product can differ from the CPU's in the last bits.
  torch::Device device = torch::kCPU;
  /// Sharded evaluation (issue 13): over several ranks this call ranks only its contiguous share
  /// of the queries (Sharding::first_of / last_of), then `sharding.sum` adds up the float64
  /// vector of every query's figures over the ranks (zeros where a rank did not rank), so every
  /// rank aggregates all queries: the single-process result exactly.
  util::Sharding sharding;
};

struct ClassResult {
  std::string name;
  int64_t num_queries = 0;
  int64_t num_relevant = 0;  // gallery items of the class (R)
  double map_all = 0.0;
  std::vector<double> prec_at;  // per K
  std::vector<double> map_at;   // per K
};

struct RetrievalResult {
  std::vector<int64_t> ks;
  double map_all = 0.0;
  std::vector<double> prec_at;  // per K, averaged per the protocol
  std::vector<double> map_at;
  int64_t num_queries = 0;
  int64_t num_gallery = 0;
  int64_t num_queries_without_relevant = 0;  // R = 0; counted per `empty_queries`
  Protocol protocol;
  EmptyQueryPolicy empty_queries = EmptyQueryPolicy::kZero;  // as applied (never kAuto)
  std::string metric;  // "poincare", "euclidean", "cosine" or "scores"
  double curvature = 0.0;
  double seconds = 0.0;
  std::vector<ClassResult> per_class;  // classes that have queries, in class-id order
  std::vector<double> per_query_ap;    // AP of every query, in query order
};

/// Class ids plus their display names (names[id] when id < names.size(), else the id).
struct Labels {
  std::vector<int64_t> query;
  std::vector<int64_t> gallery;
  std::vector<std::string> class_names;
};

/// Maps string labels to dense ids: ids follow the sorted order of the distinct names.
Labels encode_labels(const std::vector<std::string>& query,
                     const std::vector<std::string>& gallery);

/// Ranks the gallery by the chosen distance. Validates shapes, finiteness and (Poincaré) that
/// the points lie inside the ball; throws hcmsn::Error naming the offending row.
RetrievalResult evaluate_embeddings(const torch::Tensor& queries, const torch::Tensor& gallery,
                                    const Labels& labels, const DistanceOptions& distance,
                                    const EvaluationOptions& options);

/// Ranks by a precomputed (Q, N) score matrix: higher is better when `higher_is_better`
/// (similarities), lower otherwise (distances).
RetrievalResult evaluate_scores(const torch::Tensor& scores, const Labels& labels,
                                bool higher_is_better, const EvaluationOptions& options);

}  // namespace hcmsn::metrics
