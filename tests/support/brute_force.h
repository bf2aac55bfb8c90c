// Independent references for search and retrieval tests: Poincaré distances by the arcosh formula
// written out in double precision, rankings sorted with ties by id, and non-interpolated AP. No
// hcmsn code is used, so the library's geometry, search and metrics can be checked against them.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

namespace hcmsn::test {

/// d_c(x, y_i) for every row y_i of `gallery` (any float dtype), c ≥ 0 (c = 0: 2‖x − y‖):
/// arcosh(1 + 2c‖x−y‖² / ((1 − c‖x‖²)(1 − c‖y‖²))) / √c.
inline std::vector<double> poincare_distances(const torch::Tensor& x, const torch::Tensor& gallery,
                                              double c) {
  const torch::Tensor q = x.to(torch::kFloat64).contiguous().view({-1});
  const torch::Tensor g = gallery.to(torch::kFloat64).contiguous();
  const auto n = g.size(0), d = g.size(1);
  const double* qp = q.data_ptr<double>();
  const double* gp = g.data_ptr<double>();
  double x2 = 0;
  for (int64_t j = 0; j < d; ++j) x2 += qp[j] * qp[j];
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double y2 = 0, diff2 = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double y = gp[i * d + j];
      y2 += y * y;
      diff2 += (qp[j] - y) * (qp[j] - y);
    }
    out[static_cast<size_t>(i)] =
        c > 0 ? std::acosh(1 + 2 * c * diff2 / ((1 - c * x2) * (1 - c * y2))) / std::sqrt(c)
              : 2 * std::sqrt(diff2);
  }
  return out;
}

/// Row ids by ascending distance, equal distances by smaller id.
inline std::vector<int64_t> ranking(const std::vector<double>& distances) {
  std::vector<int64_t> order(distances.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const double da = distances[static_cast<size_t>(a)], db = distances[static_cast<size_t>(b)];
    return da < db || (da == db && a < b);
  });
  return order;
}

/// Non-interpolated AP of a ranking: the mean of precision@rank over the relevant ranks (0 when
/// nothing is relevant).
inline double average_precision(const std::vector<int64_t>& order,
                                const std::function<bool(int64_t)>& relevant) {
  double sum = 0;
  int64_t hits = 0;
  for (size_t r = 0; r < order.size(); ++r) {
    if (relevant(order[r])) sum += static_cast<double>(++hits) / static_cast<double>(r + 1);
  }
  return hits > 0 ? sum / static_cast<double>(hits) : 0.0;
}

}  // namespace hcmsn::test
