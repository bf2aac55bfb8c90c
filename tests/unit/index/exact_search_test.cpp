// Exact gallery search against an independent brute force: every distance from the arcosh
// formula in plain double arithmetic, then a stable sort by (distance, id).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "hcmsn/index/exact_search.h"
#include "support/ball_points.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

// d_c(x, y) in double, written out here rather than taken from hcmsn::geometry.
double reference_distance(const double* x, const double* y, int64_t d, double c) {
  double xx = 0, yy = 0, diff = 0;
  for (int64_t i = 0; i < d; ++i) {
    xx += x[i] * x[i];
    yy += y[i] * y[i];
    diff += (x[i] - y[i]) * (x[i] - y[i]);
  }
  if (c == 0) return 2 * std::sqrt(diff);
  return std::acosh(1 + 2 * c * diff / ((1 - c * xx) * (1 - c * yy))) / std::sqrt(c);
}

struct Reference {
  std::vector<std::vector<int64_t>> ids;
  std::vector<std::vector<double>> distances;
};

Reference brute_force(const torch::Tensor& q, const torch::Tensor& g, double c, int64_t k) {
  const torch::Tensor qd = q.to(torch::kFloat64).contiguous(),
                      gd = g.to(torch::kFloat64).contiguous();
  const int64_t n = g.size(0), d = g.size(1);
  Reference ref;
  for (int64_t i = 0; i < q.size(0); ++i) {
    std::vector<double> dist(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) {
      dist[static_cast<size_t>(j)] =
          reference_distance(qd.data_ptr<double>() + i * d, gd.data_ptr<double>() + j * d, d, c);
    }
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return dist[static_cast<size_t>(a)] < dist[static_cast<size_t>(b)];
    });
    order.resize(static_cast<size_t>(std::min(k, n)));
    std::vector<double> top;
    for (int64_t j : order) top.push_back(dist[static_cast<size_t>(j)]);
    ref.ids.push_back(order);
    ref.distances.push_back(top);
  }
  return ref;
}

// Same neighbours (up to swaps among near-equal distances) and the same distances.
void expect_matches(const index::Neighbors& got, const Reference& ref, double tol) {
  ASSERT_EQ(got.ids.size(0), static_cast<int64_t>(ref.ids.size()));
  for (size_t i = 0; i < ref.ids.size(); ++i) {
    ASSERT_EQ(got.ids.size(1), static_cast<int64_t>(ref.ids[i].size()));
    for (size_t j = 0; j < ref.ids[i].size(); ++j) {
      const int64_t id = got.ids[i][j].item<int64_t>();
      const double dist = got.distances[i][j].item<float>();
      EXPECT_NEAR(dist, ref.distances[i][j], tol * (1 + ref.distances[i][j])) << i << "," << j;
      if (id != ref.ids[i][j]) {
        // Allowed only where the reference itself has a near-tie at this rank.
        const auto& r = ref.ids[i];
        const auto at = std::find(r.begin(), r.end(), id);
        ASSERT_NE(at, r.end()) << "query " << i << " rank " << j << ": id " << id;
        EXPECT_NEAR(ref.distances[i][static_cast<size_t>(at - r.begin())], ref.distances[i][j],
                    1e-5);
      }
    }
  }
}

class ExactSearchCurvature : public ::testing::TestWithParam<double> {};

TEST_P(ExactSearchCurvature, MatchesBruteForceAcrossBlocks) {
  const double c = GetParam();
  const torch::Tensor g = test::points(700, 16, c, 0.0, 0.95, 11, torch::kFloat32);
  const torch::Tensor q = test::points(9, 16, c, 0.0, 0.95, 12, torch::kFloat32);
  index::ExactSearchOptions options;
  options.block_rows = 64;  // 11 blocks, the last one partial
  const index::ExactSearcher searcher(g, c, options);
  expect_matches(searcher.search(q, 25), brute_force(q, g, c, 25), 2e-5);
  // One block holding everything gives the same answer.
  const index::ExactSearcher one_block(g, c);
  const auto a = searcher.search(q, 25), b = one_block.search(q, 25);
  EXPECT_TRUE(torch::equal(a.ids, b.ids));
}

INSTANTIATE_TEST_SUITE_P(Curvatures, ExactSearchCurvature, ::testing::Values(0.0, 0.3, 1.0));

TEST(ExactSearch, NearTheBoundaryWhereFloat32DistancesSaturate) {
  // √c‖x‖ up to 0.9999: the weights 1/(1 − c‖y‖²) reach 5000, and ranking must still follow d.
  const double c = 1.0;
  const torch::Tensor g = test::points(400, 8, c, 0.99, 0.9999, 21, torch::kFloat32);
  const torch::Tensor q = test::points(5, 8, c, 0.99, 0.9999, 22, torch::kFloat32);
  const index::ExactSearcher searcher(g, c, {50});
  const auto got = searcher.search(q, 10);
  const auto ref = brute_force(q, g, c, 10);
  for (size_t i = 0; i < ref.ids.size(); ++i) {
    EXPECT_EQ(got.ids[static_cast<int64_t>(i)][0].item<int64_t>(), ref.ids[i][0]);
    for (size_t j = 0; j < ref.ids[i].size(); ++j) {
      EXPECT_NEAR(got.distances[static_cast<int64_t>(i)][static_cast<int64_t>(j)].item<float>(),
                  ref.distances[i][j], 1e-4 * (1 + ref.distances[i][j]));
    }
  }
}

TEST(ExactSearch, KBeyondGalleryAndTiesBySmallerId) {
  torch::Tensor g = torch::tensor({{0.1f, 0.0f}, {0.0f, 0.1f}, {-0.1f, 0.0f}, {0.3f, 0.3f}});
  const index::ExactSearcher searcher(g, 1.0, {2});
  const auto found = searcher.search(torch::zeros({1, 2}), 10);
  ASSERT_EQ(found.ids.size(1), 4);  // min(k, N)
  // Rows 0, 1, 2 are equally far from the origin: smaller id first.
  EXPECT_EQ(found.ids[0][0].item<int64_t>(), 0);
  EXPECT_EQ(found.ids[0][1].item<int64_t>(), 1);
  EXPECT_EQ(found.ids[0][2].item<int64_t>(), 2);
  EXPECT_EQ(found.ids[0][3].item<int64_t>(), 3);
  EXPECT_NEAR(found.distances[0][0].item<float>(), 2 * std::atanh(0.1), 1e-6);
}

TEST(ExactSearch, RejectsBadQueries) {
  const index::ExactSearcher searcher(torch::zeros({3, 4}), 1.0);
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               searcher.search(torch::zeros({1, 4}), 0);
                             }),
                             "k must be >= 1"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               searcher.search(torch::zeros({1, 5}), 1);
                             }),
                             "5 dimensions but the gallery has 4"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               searcher.search(torch::full({1, 4}, NAN), 1);
                             }),
                             "NaN"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               searcher.search(torch::zeros({1, 4}, torch::kFloat64), 1);
                             }),
                             "float32"));
}

TEST(RerankExact, MissingCandidatesComeLast) {
  const torch::Tensor g = torch::tensor({{0.5f, 0.0f}, {0.1f, 0.0f}});
  const auto out = index::rerank_exact(torch::zeros({1, 2}), g, 1.0,
                                       torch::tensor({{-1, 0, 1}}, torch::kInt64), 3);
  EXPECT_EQ(out.ids[0][0].item<int64_t>(), 1);
  EXPECT_EQ(out.ids[0][1].item<int64_t>(), 0);
  EXPECT_EQ(out.ids[0][2].item<int64_t>(), -1);
  EXPECT_TRUE(std::isinf(out.distances[0][2].item<float>()));
  EXPECT_NEAR(out.distances[0][1].item<float>(), 2 * std::atanh(0.5), 1e-6);
}

}  // namespace
}  // namespace hcmsn
