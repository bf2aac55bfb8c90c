// The Poincaré → inner product → L2 transformation (hcmsn/index/mips_transform.h), checked
// against d_c and the ranking key computed independently here in double precision from the
// arcosh formula (no library geometry code):
//  * MipsInnerProduct*: ⟨q(x), g(y)⟩ = −‖x−y‖²/(1−c‖y‖²);
//  * MipsL2Identity*: ‖q'−g'‖² = 2M² + 2α·key and ‖q'‖ = ‖g'‖ = M (float64 output);
//  * MipsL2Ranking*: sorting the gallery by ‖q'−g'‖² sorts it by d_c, exactly for float64
//    vectors and within the float32 rounding bound 4u·M·‖q‖ (in key units) for float32 vectors,
//    for c = 0, 0.3, 1 and points up to 1 − 1e-4 from the boundary; the Euclidean order of the
//    same points is checked to break that order, so the test can tell the geometries apart;
//  * MipsErrors*: bad input throws hcmsn::Error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "hcmsn/index/mips_transform.h"
#include "hcmsn/util/check.h"
#include "support/ball_points.h"
#include "support/test_support.h"

namespace hcmsn::index {
namespace {

using Rows = std::vector<std::vector<double>>;

using test::kU32;
using test::kU64;

Rows to_rows(const torch::Tensor& t) {
  const auto d = t.to(torch::kFloat64).contiguous();
  Rows rows(static_cast<size_t>(d.size(0)), std::vector<double>(static_cast<size_t>(d.size(1))));
  const double* p = d.data_ptr<double>();
  for (auto& row : rows)
    for (auto& v : row) v = *p++;
  return rows;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Condition number of w = 1/(1 − c‖y‖²) with respect to relative changes of y: rounding ‖y‖²
// (summed in another order here than in the library) moves w by about u·κ relatively.
double w_condition(const std::vector<double>& y, double c) {
  return 2 * c * dot(y, y) / (1 - c * dot(y, y));
}

double sq_dist(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return s;
}

// key(x, y) = ‖x−y‖² / (1 − c‖y‖²).
double key(const std::vector<double>& x, const std::vector<double>& y, double c) {
  return sq_dist(x, y) / (1 - c * dot(y, y));
}

// d_c by the arcosh formula (c = 0: 2‖x − y‖).
double hyperbolic_distance(const std::vector<double>& x, const std::vector<double>& y, double c) {
  const double d2 = sq_dist(x, y);
  if (c == 0) return 2 * std::sqrt(d2);
  return std::acosh(1 + 2 * c * d2 / ((1 - c * dot(x, x)) * (1 - c * dot(y, y)))) / std::sqrt(c);
}

// Gallery: radii (√c‖y‖, or ‖y‖ at c = 0) spread over [0, 0.999] plus a few at 1 − 1e-4, so
// w = 1/(1 − c‖y‖²) ranges over four orders of magnitude.
torch::Tensor gallery_points(double c, torch::ScalarType dt) {
  return torch::cat(
             {test::points(300, 8, c, 0.0, 0.999, 11), test::points(20, 8, c, 0.9999, 0.9999, 12)})
      .to(dt);
}

torch::Tensor query_points(double c, torch::ScalarType dt) {
  return test::points(25, 8, c, 0.0, 0.99, 13).to(dt);
}

// Indices 0..n−1 sorted by value, ties by index.
std::vector<size_t> order_by(const std::vector<double>& value) {
  std::vector<size_t> order(value.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return value[a] < value[b]; });
  return order;
}

// Largest drop of `truth` along `order`: 0 when `order` sorts `truth` ascending.
double largest_inversion(const std::vector<size_t>& order, const std::vector<double>& truth) {
  double worst = 0;
  double running_max = -INFINITY;
  for (size_t i : order) {
    worst = std::max(worst, running_max - truth[i]);
    running_max = std::max(running_max, truth[i]);
  }
  return worst;
}

class MipsByCurvature : public ::testing::TestWithParam<double> {};

TEST_P(MipsByCurvature, InnerProductIsMinusKey) {
  const double c = GetParam();
  const auto y = gallery_points(c, torch::kFloat64);
  const auto x = query_points(c, torch::kFloat64);
  const auto qs = to_rows(mips_query_vectors(x, c));
  const auto gs = to_rows(mips_gallery_vectors(y, c));
  const auto xs = to_rows(x);
  const auto ys = to_rows(y);
  ASSERT_EQ(qs[0].size(), 10u);
  for (size_t i = 0; i < xs.size(); ++i) {
    for (size_t j = 0; j < ys.size(); ++j) {
      const double w = 1 / (1 - c * dot(ys[j], ys[j]));
      // The three terms of w‖x‖² − 2w⟨x,y⟩ + w‖y‖² bound the cancellation; w's conditioning
      // near the boundary multiplies the rounding.
      const double scale =
          w * (dot(xs[i], xs[i]) + 2 * std::abs(dot(xs[i], ys[j])) + dot(ys[j], ys[j]));
      const double tol = 64 * kU64 * (1 + w_condition(ys[j], c)) * scale;
      EXPECT_NEAR(dot(qs[i], gs[j]), -key(xs[i], ys[j], c), tol)
          << "c = " << c << ", query " << i << ", row " << j;
    }
  }
}

TEST_P(MipsByCurvature, L2IdentityHolds) {
  const double c = GetParam();
  const auto y = gallery_points(c, torch::kFloat64);
  const auto x = query_points(c, torch::kFloat64);
  const PoincareL2Transform transform(y, c);
  EXPECT_EQ(transform.output_dim(), 11);
  const auto qs = to_rows(transform.query_vectors(x, torch::kFloat64));
  const auto gs = to_rows(transform.gallery_vectors(y, torch::kFloat64));
  const auto alpha = to_rows(transform.query_scales(x).unsqueeze(1));
  const auto xs = to_rows(x);
  const auto ys = to_rows(y);
  const double m2 = transform.max_sq_norm();
  // M² from the independent formula ‖g‖² = w²(‖y‖² + 1 + ‖y‖⁴).
  double ref_m2 = 0, max_condition = 0;
  for (const auto& row : ys) {
    max_condition = std::max(max_condition, w_condition(row, c));
    const double y2 = dot(row, row);
    const double w = 1 / (1 - c * y2);
    ref_m2 = std::max(ref_m2, w * w * (y2 + 1 + y2 * y2));
  }
  EXPECT_NEAR(m2, ref_m2, 64 * kU64 * (1 + max_condition) * ref_m2);
  for (const auto& g : gs) EXPECT_NEAR(dot(g, g), m2, 64 * kU64 * m2);
  for (const auto& q : qs) EXPECT_NEAR(dot(q, q), m2, 64 * kU64 * m2);
  for (size_t i = 0; i < xs.size(); ++i) {
    for (size_t j = 0; j < ys.size(); ++j) {
      const double l2 = 2 * m2 + 2 * alpha[i][0] * key(xs[i], ys[j], c);
      EXPECT_NEAR(sq_dist(qs[i], gs[j]), l2, 64 * kU64 * (1 + w_condition(ys[j], c)) * l2)
          << "c = " << c << ", query " << i << ", row " << j;
    }
  }
}

TEST_P(MipsByCurvature, L2RankingEqualsHyperbolicRankingInFloat64) {
  const double c = GetParam();
  const auto y = gallery_points(c, torch::kFloat64);
  const auto x = query_points(c, torch::kFloat64);
  const PoincareL2Transform transform(y, c);
  const auto qs = to_rows(transform.query_vectors(x, torch::kFloat64));
  const auto gs = to_rows(transform.gallery_vectors(y, torch::kFloat64));
  const auto xs = to_rows(x);
  const auto ys = to_rows(y);
  int euclidean_breaks = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    std::vector<double> l2(ys.size()), dist(ys.size()), euclid(ys.size());
    for (size_t j = 0; j < ys.size(); ++j) {
      l2[j] = sq_dist(qs[i], gs[j]);
      dist[j] = hyperbolic_distance(xs[i], ys[j], c);
      euclid[j] = sq_dist(xs[i], ys[j]);
    }
    const double max_dist = *std::max_element(dist.begin(), dist.end());
    EXPECT_LE(largest_inversion(order_by(l2), dist), 1e-9 * max_dist)
        << "c = " << c << ", query " << i;
    if (largest_inversion(order_by(euclid), dist) > 1e-3 * max_dist) ++euclidean_breaks;
  }
  // The data separate the geometries: plain Euclidean order is not the d_c order (c > 0).
  if (c > 0) {
    EXPECT_GT(euclidean_breaks, 20);
  }
}

TEST_P(MipsByCurvature, L2RankingEqualsHyperbolicRankingInFloat32) {
  const double c = GetParam();
  const auto y = gallery_points(c, torch::kFloat32);
  const auto x = query_points(c, torch::kFloat32);
  const PoincareL2Transform transform(y, c);
  const auto qs = to_rows(transform.query_vectors(x));  // float32, as FAISS gets them
  const auto gs = to_rows(transform.gallery_vectors(y));
  const auto q_raw = to_rows(mips_query_vectors(x, c));
  const auto xs = to_rows(x);
  const auto ys = to_rows(y);
  const double m = std::sqrt(transform.max_sq_norm());
  for (size_t i = 0; i < xs.size(); ++i) {
    std::vector<double> l2(ys.size()), keys(ys.size());
    for (size_t j = 0; j < ys.size(); ++j) {
      l2[j] = sq_dist(qs[i], gs[j]);
      keys[j] = key(xs[i], ys[j], c);
    }
    // Rounding q', g' to float32 moves ‖q'−g'‖² by at most 8u·M² (first order), i.e. key by
    // 4u·M·‖q‖; an inversion needs twice that.
    const double key_error = 4 * kU32 * m * std::sqrt(dot(q_raw[i], q_raw[i]));
    EXPECT_LE(largest_inversion(order_by(l2), keys), 2 * key_error)
        << "c = " << c << ", query " << i;
    // The nearest row is found exactly unless the runner-up is within the rounding bound.
    const auto truth = order_by(keys);
    if (keys[truth[1]] - keys[truth[0]] > 2 * key_error) {
      EXPECT_EQ(order_by(l2)[0], truth[0]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Curvatures, MipsByCurvature, ::testing::Values(0.0, 0.3, 1.0));

TEST(MipsErrors, BadInputThrows) {
  const auto y = test::points(10, 4, 1.0, 0.0, 0.9, 1).to(torch::kFloat32);
  EXPECT_THROW(PoincareL2Transform(torch::empty({0, 4}), 1.0), Error);
  EXPECT_THROW(PoincareL2Transform(y, -1.0), Error);
  auto bad = y.clone();
  bad[3][1] = NAN;
  EXPECT_THROW(PoincareL2Transform(bad, 1.0), Error);
  const PoincareL2Transform transform(y, 1.0);
  EXPECT_THROW(transform.query_vectors(torch::zeros({2, 5})), Error);
  EXPECT_THROW(transform.query_vectors(bad), Error);
  EXPECT_THROW(transform.gallery_vectors(torch::zeros({2, 3})), Error);
  // A row beyond every row of the scanned gallery would need a negative last coordinate.
  EXPECT_THROW(transform.gallery_vectors(test::points(1, 4, 1.0, 0.99, 0.99, 2)), Error);
  EXPECT_NO_THROW(transform.gallery_vectors(y.narrow(0, 2, 5)));
}

}  // namespace
}  // namespace hcmsn::index
