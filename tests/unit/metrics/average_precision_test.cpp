// query_metrics on hand-worked examples, and the fast path against a brute-force definition
// on random rankings with many ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "hcmsn/metrics/average_precision.h"
#include "hcmsn/metrics/ranking.h"
#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/util/check.h"

namespace hcmsn::metrics {
namespace {

QueryMetrics from_ranks(std::vector<int64_t> ranks, int64_t n, std::vector<int64_t> ks,
                        const std::string& protocol = "standard") {
  std::vector<double> scratch;
  return query_metrics(ranks.data(), static_cast<int64_t>(ranks.size()), n, ks,
                       Protocol::parse(protocol), scratch);
}

TEST(AveragePrecision, HandWorkedExample) {
  // Relevant at ranks 1, 3, 6 of 10: AP = (1/1 + 2/3 + 3/6) / 3 = 13/18.
  const auto m = from_ranks({1, 3, 6}, 10, {1, 3, 5, 20});
  EXPECT_DOUBLE_EQ(m.ap_all, 13.0 / 18.0);
  EXPECT_DOUBLE_EQ(m.prec_at[0], 1.0);
  EXPECT_DOUBLE_EQ(m.prec_at[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.prec_at[2], 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(m.prec_at[3], 3.0 / 10.0);  // K > N divides by N
  EXPECT_DOUBLE_EQ(m.map_at[0], 1.0);
  EXPECT_DOUBLE_EQ(m.map_at[1], (1.0 + 2.0 / 3.0) / 2.0);
  EXPECT_DOUBLE_EQ(m.map_at[3], 13.0 / 18.0);
}

TEST(AveragePrecision, VocInterpolationTakesTheBestDeeperPrecision) {
  // Precisions at relevant ranks 2, 3, 4: 1/2, 2/3, 3/4 -> interpolated 3/4 each.
  const auto m = from_ranks({2, 3, 4}, 6, {3}, "voc");
  EXPECT_DOUBLE_EQ(m.ap_all, 0.75);
  // Within the top 3: relevant at 2, 3 -> 2/3 each.
  EXPECT_DOUBLE_EQ(m.map_at[0], 2.0 / 3.0);
  const auto plain = from_ranks({2, 3, 4}, 6, {3});
  EXPECT_DOUBLE_EQ(plain.ap_all, (0.5 + 2.0 / 3.0 + 0.75) / 3.0);
}

TEST(AveragePrecision, PrecisionOverMinKR) {
  const auto m = from_ranks({1, 2}, 100, {10}, "prec-min-kr");
  EXPECT_DOUBLE_EQ(m.prec_at[0], 1.0);  // 2 hits / min(10, 2)
  const auto s = from_ranks({1, 2}, 100, {10});
  EXPECT_DOUBLE_EQ(s.prec_at[0], 0.2);
}

TEST(AveragePrecision, NoRelevantItemsGiveZero) {
  const auto m = from_ranks({}, 10, {5});
  EXPECT_EQ(m.ap_all, 0.0);
  EXPECT_EQ(m.prec_at[0], 0.0);
  EXPECT_EQ(m.map_at[0], 0.0);
}

TEST(AveragePrecision, NoHitsInTopKGivesZeroMapAtK) {
  const auto m = from_ranks({7, 8}, 10, {5});
  EXPECT_EQ(m.map_at[0], 0.0);
  EXPECT_EQ(m.prec_at[0], 0.0);
  EXPECT_GT(m.ap_all, 0.0);
}

// The definition, spelled out: stable sort by key (ties by index), walk the whole ranking.
struct Brute {
  double ap = 0, voc = 0;
  std::vector<double> prec, map;
};
Brute brute_force(const std::vector<float>& keys, const std::vector<int64_t>& glabels,
                  int64_t label, const std::vector<int64_t>& ks) {
  std::vector<int64_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  const auto n = static_cast<int64_t>(keys.size());
  std::vector<double> p_at_rel;
  int64_t hits = 0;
  Brute b;
  for (int64_t k = 1; k <= n; ++k) {
    if (glabels[order[k - 1]] == label) {
      ++hits;
      p_at_rel.push_back(static_cast<double>(hits) / static_cast<double>(k));
    }
  }
  const auto R = static_cast<int64_t>(p_at_rel.size());
  for (int64_t i = 0; i < R; ++i) {
    b.ap += p_at_rel[i] / R;
    b.voc += *std::max_element(p_at_rel.begin() + i, p_at_rel.end()) / R;
  }
  for (int64_t K : ks) {
    int64_t h = 0;
    double s = 0;
    for (int64_t k = 1; k <= std::min(K, n); ++k) {
      if (glabels[order[k - 1]] == label) {
        ++h;
        s += static_cast<double>(h) / static_cast<double>(k);
      }
    }
    b.prec.push_back(static_cast<double>(h) / static_cast<double>(std::min(K, n)));
    b.map.push_back(h > 0 ? s / static_cast<double>(h) : 0.0);
  }
  return b;
}

TEST(AveragePrecision, FastPathEqualsBruteForceWithTies) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = 1 + static_cast<int64_t>(rng() % 300);
    const int64_t classes = 1 + static_cast<int64_t>(rng() % 5);
    const int levels = 1 + static_cast<int>(rng() % 20);  // few distinct keys -> many ties
    std::vector<float> keys(static_cast<size_t>(n));
    std::vector<int64_t> glabels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      keys[i] = static_cast<float>(static_cast<int>(rng() % levels) - levels / 2) * 0.25f;
      if (rng() % 7 == 0) keys[i] = -0.0f;  // −0 and +0 are equal keys
      glabels[i] = static_cast<int64_t>(rng() % classes);
    }
    const int64_t label = static_cast<int64_t>(rng() % classes);
    const int64_t R = std::count(glabels.begin(), glabels.end(), label);
    const std::vector<int64_t> ks = {1, 5, 50, 1000};
    RankingScratch s;
    rank_relevant(keys.data(), n, glabels.data(), label, R, s);
    std::vector<double> scratch;
    const auto fast = query_metrics(s.ranks.data(), R, n, ks, Protocol{}, scratch);
    const auto voc = query_metrics(s.ranks.data(), R, n, ks, Protocol::parse("voc"), scratch);
    const auto ref = brute_force(keys, glabels, label, ks);
    ASSERT_NEAR(fast.ap_all, ref.ap, 1e-12) << "trial " << trial;
    ASSERT_NEAR(voc.ap_all, ref.voc, 1e-12) << "trial " << trial;
    for (size_t j = 0; j < ks.size(); ++j) {
      ASSERT_NEAR(fast.prec_at[j], ref.prec[j], 1e-12) << "trial " << trial << " K " << ks[j];
      ASSERT_NEAR(fast.map_at[j], ref.map[j], 1e-12) << "trial " << trial << " K " << ks[j];
    }
  }
}

TEST(Protocol, NamesRoundTripAndUnknownNamesAreRejected) {
  for (const std::string name : {"standard", "voc", "class-balanced", "prec-min-kr",
                                 "voc+class-balanced", "voc+class-balanced+prec-min-kr"}) {
    EXPECT_EQ(Protocol::parse(name).name(), name);
  }
  EXPECT_EQ(Protocol::parse("class-balanced+voc").name(), "voc+class-balanced");
  EXPECT_THROW(Protocol::parse("sake"), hcmsn::Error);
  EXPECT_THROW(Protocol::parse("voc+"), hcmsn::Error);
  EXPECT_THROW(Protocol::parse(""), hcmsn::Error);
}

}  // namespace
}  // namespace hcmsn::metrics
