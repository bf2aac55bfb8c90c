// Tests of the chance level of retrieval: expected_random_ap against the exact mean over every
// ranking (enumerated), against a Monte-Carlo run of the evaluator on random scores, and
// chance_map_all on labels with mixed class sizes and a class absent from the gallery.
#include "hcmsn/metrics/chance.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::metrics {
namespace {

// AP of one ranking, written independently of the library: relevant[k] says whether rank k + 1
// holds a relevant item. 0 when nothing is relevant.
double ap_of_ranking(const std::vector<bool>& relevant) {
  int64_t hits = 0;
  double sum = 0.0;
  for (size_t k = 0; k < relevant.size(); ++k) {
    if (relevant[k]) {
      ++hits;
      sum += static_cast<double>(hits) / static_cast<double>(k + 1);
    }
  }
  return hits == 0 ? 0.0 : sum / static_cast<double>(hits);
}

// Mean AP over all N! orderings of items 0 … N−1, of which items 0 … R−1 are relevant.
double mean_ap_over_all_permutations(int64_t r, int64_t n) {
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  double sum = 0.0;
  int64_t count = 0;
  std::vector<bool> relevant(n);
  do {
    for (int64_t k = 0; k < n; ++k) relevant[k] = perm[k] < r;
    sum += ap_of_ranking(relevant);
    ++count;
  } while (std::next_permutation(perm.begin(), perm.end()));
  return sum / static_cast<double>(count);
}

// The same mean over the distinct relevance patterns (each stands for R!(N−R)! orderings, so the
// plain mean over patterns equals the mean over orderings); usable for N beyond 8.
double mean_ap_over_patterns(int64_t r, int64_t n) {
  std::vector<bool> relevant(n, false);
  for (int64_t k = n - r; k < n; ++k) relevant[k] = true;  // sorted: false < true
  double sum = 0.0;
  int64_t count = 0;
  do {
    sum += ap_of_ranking(relevant);
    ++count;
  } while (std::next_permutation(relevant.begin(), relevant.end()));
  return sum / static_cast<double>(count);
}

TEST(ChanceTest, ExpectedApEqualsExhaustiveMeanOverAllPermutations) {
  for (int64_t n = 1; n <= 8; ++n) {
    for (int64_t r = 0; r <= n; ++r) {
      EXPECT_NEAR(expected_random_ap(r, n), mean_ap_over_all_permutations(r, n), 1e-12)
          << "R = " << r << ", N = " << n;
    }
  }
}

TEST(ChanceTest, ExpectedApEqualsMeanOverRelevancePatternsForLargerGalleries) {
  for (const int64_t n : {11, 14}) {
    for (const int64_t r : std::vector<int64_t>{1, 2, 5, n - 1, n}) {
      EXPECT_NEAR(expected_random_ap(r, n), mean_ap_over_patterns(r, n), 1e-12)
          << "R = " << r << ", N = " << n;
    }
  }
}

TEST(ChanceTest, HandValues) {
  EXPECT_DOUBLE_EQ(expected_random_ap(1, 1), 1.0);
  EXPECT_DOUBLE_EQ(expected_random_ap(0, 5), 0.0);
  EXPECT_DOUBLE_EQ(expected_random_ap(7, 7), 1.0);
  // One relevant of two: rank 1 (AP 1) or rank 2 (AP 1/2).
  EXPECT_DOUBLE_EQ(expected_random_ap(1, 2), 0.75);
  // One relevant of N: E[1/rank] = H_N / N.
  EXPECT_NEAR(expected_random_ap(1, 4), (1.0 + 0.5 + 1.0 / 3 + 0.25) / 4, 1e-15);
  // About R/N for large galleries.
  EXPECT_NEAR(expected_random_ap(100, 10000), 0.01, 0.001);
}

TEST(ChanceTest, MatchesMonteCarloOfTheEvaluatorOnRandomScores) {
  // Gallery of 40 items in classes of sizes 1, 4, 10 and 25; 3000 queries spread over them.
  Labels labels;
  const std::vector<int64_t> sizes = {1, 4, 10, 25};
  for (size_t c = 0; c < sizes.size(); ++c) {
    for (int64_t i = 0; i < sizes[c]; ++i) labels.gallery.push_back(static_cast<int64_t>(c));
  }
  const int64_t q = 3000;
  for (int64_t i = 0; i < q; ++i) labels.query.push_back(i % 4);
  const int64_t n = static_cast<int64_t>(labels.gallery.size());
  torch::manual_seed(123);
  const auto scores = torch::rand({q, n}, torch::kFloat64);
  EvaluationOptions options;
  options.ks = {5};
  const RetrievalResult result = evaluate_scores(scores, labels, true, options);
  ASSERT_EQ(result.per_query_ap.size(), static_cast<size_t>(q));

  // Per class: the mean AP of its queries against E[AP], within 5 standard errors.
  for (size_t c = 0; c < sizes.size(); ++c) {
    std::vector<double> aps;
    for (int64_t i = static_cast<int64_t>(c); i < q; i += 4) aps.push_back(result.per_query_ap[i]);
    const double mean = std::accumulate(aps.begin(), aps.end(), 0.0) / aps.size();
    double var = 0.0;
    for (const double a : aps) var += (a - mean) * (a - mean);
    var /= static_cast<double>(aps.size() - 1);
    const double se = std::sqrt(var / aps.size());
    EXPECT_NEAR(mean, expected_random_ap(sizes[c], n), 5 * se + 1e-9) << "class size " << sizes[c];
  }
  double var = 0.0;
  for (const double a : result.per_query_ap) var += (a - result.map_all) * (a - result.map_all);
  const double se = std::sqrt(var / (q - 1) / q);
  EXPECT_NEAR(result.map_all, chance_map_all(labels), 5 * se);
}

TEST(ChanceTest, ChanceMapAllWeighsQueriesAndCountsAbsentClassesAsZero) {
  // Gallery (N = 10): class 0 ×3, class 1 ×1, class 3 ×6 (no queries). Class 2 has queries but
  // no gallery item.
  Labels labels;
  labels.gallery = {3, 0, 3, 1, 3, 0, 3, 3, 0, 3};
  labels.query = {0, 2, 0, 1, 2, 2};
  const double e0 = mean_ap_over_patterns(3, 10);
  const double e1 = mean_ap_over_patterns(1, 10);
  EXPECT_NEAR(chance_map_all(labels), (2 * e0 + e1 + 3 * 0.0) / 6.0, 1e-12);

  // Query order does not matter; a single query class gives its own E[AP].
  labels.query = {1};
  EXPECT_NEAR(chance_map_all(labels), e1, 1e-12);
  labels.query = {2, 2};
  EXPECT_EQ(chance_map_all(labels), 0.0);
}

TEST(ChanceTest, RejectsBadArguments) {
  EXPECT_TRUE(test::contains(test::error_of([] { expected_random_ap(3, 2); }), "R = 3"));
  test::error_of([] { expected_random_ap(-1, 4); });
  test::error_of([] { expected_random_ap(0, 0); });
  test::error_of([] { expected_random_ap(1, -3); });
  Labels no_queries;
  no_queries.gallery = {0, 1};
  test::error_of([&] { chance_map_all(no_queries); });
  Labels no_gallery;
  no_gallery.query = {0};
  test::error_of([&] { chance_map_all(no_gallery); });
}

}  // namespace
}  // namespace hcmsn::metrics
