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
  // Within the top 3: relevant at 2, 3 -> 2/3 each, over min(K, R) = 3 (SAKE's eval_AP_inner:
  // the relevant item outside the top 3 costs AP).
  EXPECT_DOUBLE_EQ(m.map_at[0], 4.0 / 9.0);
  const auto plain = from_ranks({2, 3, 4}, 6, {3});
  EXPECT_DOUBLE_EQ(plain.ap_all, (0.5 + 2.0 / 3.0 + 0.75) / 3.0);
}

TEST(AveragePrecision, PrecisionOverMinKR) {
  const auto m = from_ranks({1, 2}, 100, {10}, "prec-min-kr");
  EXPECT_DOUBLE_EQ(m.prec_at[0], 1.0);  // 2 hits / min(10, 2)
  const auto s = from_ranks({1, 2}, 100, {10});
  EXPECT_DOUBLE_EQ(s.prec_at[0], 0.2);
  // ZSE-SBIR counts hits within the top min(K, R) = 2 only: rank 5 is outside.
  const auto z = from_ranks({1, 5}, 100, {10}, "prec-min-kr");
  EXPECT_DOUBLE_EQ(z.prec_at[0], 0.5);
  const auto big_k = from_ranks({1, 5}, 100, {1}, "prec-min-kr");
  EXPECT_DOUBLE_EQ(big_k.prec_at[0], 1.0);  // min(K, R) = 1
}

TEST(AveragePrecision, TieGroupsShareThePrecisionAtTheGroupEnd) {
  // Relevant at ranks 1 and 3; ranks 2-4 tie (one group ending at 4): scikit-learn gives
  // (1/1 + 2/4) / 2. Tie ends are per relevant item.
  std::vector<int64_t> ranks = {1, 3};
  std::vector<int64_t> ends = {1, 4};
  std::vector<double> scratch;
  const Protocol p = Protocol::parse("sem-pcyc");
  const auto m = query_metrics(ranks.data(), 2, 6, {1, 3, 5}, p, scratch, ends.data());
  EXPECT_DOUBLE_EQ(m.ap_all, (1.0 + 2.0 / 4.0) / 2.0);
  EXPECT_DOUBLE_EQ(m.map_at[0], 1.0);
  // Top 3 cuts the group at 3: (1/1 + 2/3) / 2.
  EXPECT_DOUBLE_EQ(m.map_at[1], (1.0 + 2.0 / 3.0) / 2.0);
  EXPECT_DOUBLE_EQ(m.map_at[2], (1.0 + 2.0 / 4.0) / 2.0);
  EXPECT_DOUBLE_EQ(m.prec_at[1], 2.0 / 3.0);  // the cut takes the lower gallery index first
  // Two relevant items in one group: both get 2/2 (group of ranks 1-2).
  std::vector<int64_t> both = {1, 2}, both_ends = {2, 2};
  EXPECT_DOUBLE_EQ(query_metrics(both.data(), 2, 6, {1}, p, scratch, both_ends.data()).ap_all, 1.0);
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
  double ap = 0, voc = 0, grouped = 0;
  std::vector<double> prec, map, grouped_map;
};

// scikit-learn's AP over the first `count` items of `order`: one step per distinct key, with the
// precision at the end of the key's run.
double grouped_ap(const std::vector<float>& keys, const std::vector<int64_t>& order,
                  const std::vector<int64_t>& glabels, int64_t label, int64_t count) {
  int64_t relevant = 0;
  for (int64_t k = 0; k < count; ++k) relevant += glabels[order[k]] == label;
  if (relevant == 0) return 0.0;
  double ap = 0;
  int64_t seen = 0, seen_rel = 0;
  for (int64_t k = 0; k < count;) {
    int64_t end = k, rel_here = 0;
    while (end < count && keys[order[end]] == keys[order[k]]) {
      rel_here += glabels[order[end]] == label;
      ++end;
    }
    seen += end - k;
    seen_rel += rel_here;
    ap += static_cast<double>(rel_here) / relevant * static_cast<double>(seen_rel) / seen;
    k = end;
  }
  return ap;
}
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
  b.grouped = grouped_ap(keys, order, glabels, label, n);
  for (int64_t K : ks)
    b.grouped_map.push_back(grouped_ap(keys, order, glabels, label, std::min(K, n)));
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
    const auto grouped = query_metrics(s.ranks.data(), R, n, ks, Protocol::parse("tie-groups"),
                                       scratch, s.tie_ends.data());
    const auto ref = brute_force(keys, glabels, label, ks);
    ASSERT_NEAR(fast.ap_all, ref.ap, 1e-12) << "trial " << trial;
    ASSERT_NEAR(grouped.ap_all, ref.grouped, 1e-12) << "trial " << trial;
    for (size_t j = 0; j < ks.size(); ++j) {
      ASSERT_NEAR(grouped.map_at[j], ref.grouped_map[j], 1e-12) << "trial " << trial;
    }
    ASSERT_NEAR(voc.ap_all, ref.voc, 1e-12) << "trial " << trial;
    for (size_t j = 0; j < ks.size(); ++j) {
      ASSERT_NEAR(fast.prec_at[j], ref.prec[j], 1e-12) << "trial " << trial << " K " << ks[j];
      ASSERT_NEAR(fast.map_at[j], ref.map[j], 1e-12) << "trial " << trial << " K " << ks[j];
    }
  }
}

TEST(Protocol, NamesRoundTripAndUnknownNamesAreRejected) {
  for (const std::string name :
       {"standard", "voc", "class-balanced", "prec-min-kr", "sake", "zse-sbir", "sem-pcyc",
        "voc+class-balanced+prec-min-kr", "class-balanced+tie-groups"}) {
    EXPECT_EQ(Protocol::parse(name).name(), name);
  }
  // The presets are their variants: either spelling gives the same protocol and name.
  EXPECT_EQ(Protocol::parse("class-balanced+voc").name(), "sake");
  EXPECT_EQ(Protocol::parse("prec-min-kr+voc").name(), "zse-sbir");
  EXPECT_EQ(Protocol::parse("tie-groups").name(), "sem-pcyc");
  EXPECT_FALSE(Protocol::parse("sake").source().empty());
  EXPECT_TRUE(Protocol::parse("voc").source().empty());
  EXPECT_EQ(Protocol::parse("sake").default_empty_queries(), EmptyQueryPolicy::kSkip);
  EXPECT_EQ(Protocol::parse("sem-pcyc").default_empty_queries(), EmptyQueryPolicy::kZero);
  EXPECT_THROW(Protocol::parse("voc+tie-groups"), hcmsn::Error);
  EXPECT_THROW(Protocol::parse("sake+voc"), hcmsn::Error);
  EXPECT_THROW(Protocol::parse("voc+"), hcmsn::Error);
  EXPECT_THROW(Protocol::parse(""), hcmsn::Error);
}

}  // namespace
}  // namespace hcmsn::metrics
