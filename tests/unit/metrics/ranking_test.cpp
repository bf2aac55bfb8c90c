// The radix argsort against std::stable_sort (ascending, ties by index).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "hcmsn/metrics/ranking.h"

namespace hcmsn::metrics {
namespace {

template <typename T>
std::vector<uint32_t> reference_order(const std::vector<T>& keys) {
  std::vector<uint32_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
  return order;
}

template <typename T>
void check_random(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  RankingScratch s;
  std::vector<uint32_t> order;
  for (int trial = 0; trial < 100; ++trial) {
    const size_t n = rng() % 5000;
    std::vector<T> keys(n);
    for (auto& k : keys) {
      switch (rng() % 6) {
        case 0: k = static_cast<T>(static_cast<int>(rng() % 5)); break;  // ties
        case 1: k = static_cast<T>(-0.0); break;
        case 2: k = static_cast<T>(normal(rng) * 1e30); break;
        case 3: k = std::numeric_limits<T>::denorm_min() * static_cast<T>(rng() % 3); break;
        case 4: k = (rng() % 2 ? 1 : -1) * std::numeric_limits<T>::infinity(); break;
        default: k = static_cast<T>(normal(rng));
      }
    }
    argsort(keys.data(), static_cast<int64_t>(n), order, s);
    ASSERT_EQ(order, reference_order(keys)) << "trial " << trial << " n " << n;
  }
}

TEST(Ranking, Float32ArgsortEqualsStableSort) { check_random<float>(1); }
TEST(Ranking, Float64ArgsortEqualsStableSort) { check_random<double>(2); }

TEST(Ranking, AllEqualKeysKeepIndexOrder) {
  std::vector<float> keys(1000, 3.5f);
  RankingScratch s;
  std::vector<uint32_t> order;
  argsort(keys.data(), 1000, order, s);
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_EQ(order[i], i);
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
