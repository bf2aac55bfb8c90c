#include "hcmsn/metrics/average_precision.h"

#include <algorithm>

#include "hcmsn/util/check.h"

namespace hcmsn::metrics {
namespace {

// Σ_{i < count} max_{i ≤ j < count} prec[j]: VOC's running maximum from the deep end, within the
// first `count` relevant items (the whole ranking or the top K).
double interpolated_sum(const std::vector<double>& prec, int64_t count) {
  double best = 0.0;
  double sum = 0.0;
  for (int64_t i = count - 1; i >= 0; --i) {
    best = std::max(best, prec[static_cast<size_t>(i)]);
    sum += best;
  }
  return sum;
}

double plain_sum(const std::vector<double>& prec, int64_t count) {
  double sum = 0.0;
  for (int64_t i = 0; i < count; ++i) sum += prec[static_cast<size_t>(i)];
  return sum;
}

// Σ_{i < count} g(i) / min(t_i, cut): scikit-learn's precision at the end of each tie group, the
// groups cut at rank `cut` (a group reaching past the cut ends there, with every relevant item
// before the cut, i.e. `count` of them).
double grouped_sum(const int64_t* tie_ends, int64_t count, int64_t cut) {
  double sum = 0.0;
  int64_t i = 0;
  while (i < count) {
    int64_t last = i + 1;  // one past the group's last relevant item
    while (last < count && tie_ends[last] == tie_ends[i]) ++last;
    const int64_t end = std::min(tie_ends[i], cut);
    sum += static_cast<double>(last - i) * static_cast<double>(last) / static_cast<double>(end);
    i = last;
  }
  return sum;
}

}  // namespace

QueryMetrics query_metrics(const int64_t* ranks, int64_t num_relevant, int64_t gallery_size,
                           const std::vector<int64_t>& ks, const Protocol& protocol,
                           std::vector<double>& scratch, const int64_t* tie_ends) {
  QueryMetrics m;
  m.prec_at.assign(ks.size(), 0.0);
  m.map_at.assign(ks.size(), 0.0);
  if (num_relevant <= 0) return m;
  const bool voc = protocol.ap == ApInterpolation::kVoc;
  const bool grouped = protocol.ties == TieHandling::kGrouped;
  HCMSN_ASSERT(!grouped || tie_ends != nullptr, "the tie-groups protocol needs the tie ends");

  // Precision at each relevant item (index order).
  auto& prec = scratch;
  prec.resize(static_cast<size_t>(num_relevant));
  for (int64_t i = 0; i < num_relevant; ++i) {
    prec[static_cast<size_t>(i)] = static_cast<double>(i + 1) / static_cast<double>(ranks[i]);
  }
  const double r = static_cast<double>(num_relevant);
  if (voc) {
    m.ap_all = interpolated_sum(prec, num_relevant) / r;
  } else if (grouped) {
    m.ap_all = grouped_sum(tie_ends, num_relevant, gallery_size) / r;
  } else {
    m.ap_all = plain_sum(prec, num_relevant) / r;
  }
  const auto hits_within = [&](int64_t k) {
    return std::upper_bound(ranks, ranks + num_relevant, k) - ranks;
  };
  for (size_t j = 0; j < ks.size(); ++j) {
    const int64_t k = ks[j];
    const int64_t cut = std::min(k, gallery_size);
    const int64_t hits = hits_within(k);
    if (protocol.precision == PrecisionDenominator::kMinKR) {
      const int64_t m_kr = std::min(k, num_relevant);
      m.prec_at[j] = static_cast<double>(hits_within(m_kr)) / static_cast<double>(m_kr);
    } else {
      m.prec_at[j] = static_cast<double>(hits) / static_cast<double>(cut);
    }
    if (hits == 0) continue;
    if (voc) {
      m.map_at[j] = interpolated_sum(prec, hits) / static_cast<double>(std::min(k, num_relevant));
    } else if (grouped) {
      m.map_at[j] = grouped_sum(tie_ends, hits, cut) / static_cast<double>(hits);
    } else {
      m.map_at[j] = plain_sum(prec, hits) / static_cast<double>(hits);
    }
  }
  return m;
}

}  // namespace hcmsn::metrics
