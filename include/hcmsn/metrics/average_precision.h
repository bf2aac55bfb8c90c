// Per-query retrieval metrics from the ranks of the relevant items.
//
// A query's ranking over a gallery of N items is summarised by the 1-based ranks
// r_1 < r_2 < … < r_R of its R relevant items (ties already broken by gallery index) and, for
// the tie-groups protocol, by t_i ≥ r_i: the last rank of the run of items whose key equals
// item i's. With h_K = #{i : r_i ≤ K}, K' = min(K, N) and g(i) = the last relevant index whose
// t equals t_i:
//   AP       = (1/R) Σ_i i / r_i                                  (standard)
//   AP_voc   = (1/R) Σ_i max_{j ≥ i} j / r_j                      (VOC all-points interpolation)
//   AP_tie   = (1/R) Σ_i g(i) / t_i                               (scikit-learn, ties grouped)
//   Prec@K   = h_K / K'   or  h_m / m with m = min(K, R)  (prec-min-kr)
//   mAP@K    = (1/h_K) Σ_{i ≤ h_K} i / r_i                        (0 if h_K = 0)
//   mAP@K    = (1/min(K, R)) Σ_{i ≤ h_K} max_{i ≤ j ≤ h_K} j / r_j   (voc: SAKE's eval_AP_inner)
//   mAP@K    = (1/h_K) Σ_{i ≤ h_K} g_K(i) / min(t_i, K')          (tie-groups: scikit-learn on the
//              top K; g_K(i) = h_K when t_i > K', the group being cut at K')
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

/// `ranks`: the R ascending 1-based ranks of the relevant items; `tie_ends`: their t_i, required
/// when protocol.ties is kGrouped (ignored otherwise). `scratch` is reused storage (avoids an
/// allocation per query); its contents on return are unspecified.
QueryMetrics query_metrics(const int64_t* ranks, int64_t num_relevant, int64_t gallery_size,
                           const std::vector<int64_t>& ks, const Protocol& protocol,
                           std::vector<double>& scratch, const int64_t* tie_ends = nullptr);

}  // namespace hcmsn::metrics
