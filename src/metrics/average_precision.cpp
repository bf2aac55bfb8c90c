#include "hcmsn/metrics/average_precision.h"

#include <algorithm>

namespace hcmsn::metrics {

QueryMetrics query_metrics(const int64_t* ranks, int64_t num_relevant, int64_t gallery_size,
                           const std::vector<int64_t>& ks, const Protocol& protocol,
                           std::vector<double>& scratch) {
  QueryMetrics m;
  m.prec_at.assign(ks.size(), 0.0);
  m.map_at.assign(ks.size(), 0.0);
  if (num_relevant <= 0) return m;

  // precision at each relevant item; VOC replaces it by the running max from the deep end.
  auto& prec = scratch;
  prec.resize(static_cast<size_t>(num_relevant));
  for (int64_t i = 0; i < num_relevant; ++i) {
    prec[static_cast<size_t>(i)] = static_cast<double>(i + 1) / static_cast<double>(ranks[i]);
  }
  const bool voc = protocol.ap == ApInterpolation::kVoc;
  auto interpolate = [&](int64_t count) {
    // Interpolation within the first `count` relevant items (the whole ranking or the top K).
    double best = 0.0;
    double sum = 0.0;
    for (int64_t i = count - 1; i >= 0; --i) {
      best = std::max(best, prec[static_cast<size_t>(i)]);
      sum += best;
    }
    return sum;
  };
  auto plain = [&](int64_t count) {
    double sum = 0.0;
    for (int64_t i = 0; i < count; ++i) sum += prec[static_cast<size_t>(i)];
    return sum;
  };

  m.ap_all =
      (voc ? interpolate(num_relevant) : plain(num_relevant)) / static_cast<double>(num_relevant);
  for (size_t j = 0; j < ks.size(); ++j) {
    const int64_t k = ks[j];
    const int64_t hits = std::upper_bound(ranks, ranks + num_relevant, k) - ranks;
    const int64_t denom = protocol.precision == PrecisionDenominator::kMinKR
                              ? std::min(k, num_relevant)
                              : std::min(k, gallery_size);
    m.prec_at[j] = denom > 0 ? static_cast<double>(hits) / static_cast<double>(denom) : 0.0;
    if (hits > 0) {
      m.map_at[j] = (voc ? interpolate(hits) : plain(hits)) / static_cast<double>(hits);
    }
  }
  return m;
}

}  // namespace hcmsn::metrics
