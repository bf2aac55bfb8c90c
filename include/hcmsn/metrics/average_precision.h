// Per-query retrieval metrics from the ranks of the relevant items.
//
// A query's ranking over a gallery of N items is summarised by the 1-based ranks
// r_1 < r_2 < … < r_R of its R relevant items (ties already broken). Then
//   AP       = (1/R) Σ_i i / r_i                                  (standard)
//   AP_voc   = (1/R) Σ_i max_{j ≥ i} j / r_j                      (VOC all-points interpolation)
//   Prec@K   = h_K / min(K, N)   or  h_K / min(K, R)  (prec-min-kr), h_K = #{i : r_i ≤ K}
//   mAP@K    = (1/h_K) Σ_{i ≤ h_K} i / r_i  (VOC: interpolated within the top K); 0 if h_K = 0
// With R = 0 every metric is 0 (EmptyQueryPolicy decides whether that counts).
#pragma once

#include <cstdint>
#include <vector>

#include "hcmsn/metrics/protocol.h"

namespace hcmsn::metrics {

struct QueryMetrics {
  double ap_all = 0.0;
  std::vector<double> prec_at;  // one per K, in the order of `ks`
  std::vector<double> map_at;   // one per K
};

/// `ranks`: the R ascending 1-based ranks of the relevant items. `scratch` is reused storage
/// (avoids an allocation per query); its contents on return are unspecified.
QueryMetrics query_metrics(const int64_t* ranks, int64_t num_relevant, int64_t gallery_size,
                           const std::vector<int64_t>& ks, const Protocol& protocol,
                           std::vector<double>& scratch);

}  // namespace hcmsn::metrics
