// rank_relevant against the definition: a full std::stable_sort by key (ties by index).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "hcmsn/metrics/ranking.h"

namespace hcmsn::metrics {
namespace {

template <typename T>
std::vector<int64_t> reference_ranks(const std::vector<T>& keys, const std::vector<int64_t>& labels,
                                     int64_t label) {
  std::vector<uint32_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
  std::vector<int64_t> ranks;
  for (size_t r = 0; r < order.size(); ++r) {
    if (labels[order[r]] == label) ranks.push_back(static_cast<int64_t>(r) + 1);
  }
  return ranks;
}

// Keys with ties, ±0, huge and tiny magnitudes, infinities and outliers that squash the value
// range into one bucket.
template <typename T>
void check_random(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  RankingScratch s;
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = rng() % 3000;
    const int mode = static_cast<int>(rng() % 4);
    std::vector<T> keys(n);
    std::vector<int64_t> labels(n);
    for (size_t i = 0; i < n; ++i) {
      labels[i] = static_cast<int64_t>(rng() % 4);
      switch (mode == 0 ? 5 : rng() % 7) {
        case 0:
          keys[i] = static_cast<T>(static_cast<int>(rng() % 5));
          break;
        case 1:
          keys[i] = static_cast<T>(-0.0);
          break;
        case 2:
          keys[i] = static_cast<T>(normal(rng) * 1e30);
          break;
        case 3:
          keys[i] = std::numeric_limits<T>::denorm_min() * static_cast<T>(rng() % 3);
          break;
        case 4:  // infinities only in mode 3 (NaN keys are out of contract)
          keys[i] = mode == 3 ? (rng() % 2 ? 1 : -1) * std::numeric_limits<T>::infinity() : T(7);
          break;
        default:
          keys[i] = static_cast<T>(normal(rng));
      }
    }
    const int64_t label = static_cast<int64_t>(rng() % 4);
    const int64_t r = std::count(labels.begin(), labels.end(), label);
    rank_relevant(keys.data(), static_cast<int64_t>(n), labels.data(), label, r, s);
    ASSERT_EQ(s.ranks, reference_ranks(keys, labels, label)) << "trial " << trial << " n " << n;
  }
}

TEST(Ranking, Float32RanksEqualStableSort) {
  check_random<float>(1);
}
TEST(Ranking, Float64RanksEqualStableSort) {
  check_random<double>(2);
}

TEST(Ranking, AllEqualKeysRankByIndex) {
  const std::vector<float> keys(1000, 3.5f);
  std::vector<int64_t> labels(1000, 0);
  labels[10] = labels[500] = labels[999] = 1;
  RankingScratch s;
  rank_relevant(keys.data(), 1000, labels.data(), 1, 3, s);
  EXPECT_EQ(s.ranks, (std::vector<int64_t>{11, 501, 1000}));
}

TEST(Ranking, KeysRoundedToFloatTieInTheFloat32Path) {
  // 1 and 1 + 1e-9 are distinct doubles but the same float: ties then fall to the index.
  const std::vector<double> raw = {1.0 + 1e-9, 1.0, 0.5};
  const std::vector<int64_t> labels = {1, 0, 0};
  RankingScratch s;
  rank_relevant_keys<float>([&](int64_t j) { return raw[static_cast<size_t>(j)]; }, 3,
                            labels.data(), 1, 1, s);
  EXPECT_EQ(s.ranks, (std::vector<int64_t>{2}));
  rank_relevant_keys<double>([&](int64_t j) { return raw[static_cast<size_t>(j)]; }, 3,
                             labels.data(), 1, 1, s);
  EXPECT_EQ(s.ranks, (std::vector<int64_t>{3}));
}

TEST(Ranking, RankRelevantFindsOneBasedRanks) {
  const std::vector<float> keys = {0.5f, 0.1f, 0.9f, 0.1f, 0.3f};
  const std::vector<int64_t> labels = {1, 0, 1, 1, 0};
  RankingScratch s;
  // Order: idx1 (0.1), idx3 (0.1), idx4 (0.3), idx0 (0.5), idx2 (0.9).
  rank_relevant(keys.data(), 5, labels.data(), 1, 3, s);
  EXPECT_EQ(s.ranks, (std::vector<int64_t>{2, 4, 5}));
}

}  // namespace
}  // namespace hcmsn::metrics
