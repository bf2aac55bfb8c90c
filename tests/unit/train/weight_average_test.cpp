// Tests of dense weight averaging: the mean of several weight sets against the same mean taken
// in double, swap and its RAII guard, which parameters are tracked, and where averaging starts.
// The trainer's use of it (what the checkpoints hold, exact resume) is in trainer_test.cpp.
#include "hcmsn/train/weight_average.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::train {
namespace {

// A linear layer and a frozen one: the frozen weight must stay out of the average.
struct TwoLayers : torch::nn::Module {
  TwoLayers() {
    trained = register_module("trained", torch::nn::Linear(3, 2));
    frozen = register_module("frozen", torch::nn::Linear(2, 2));
    for (auto& p : frozen->parameters()) p.requires_grad_(false);
  }
  torch::nn::Linear trained{nullptr}, frozen{nullptr};
};

void set_values(TwoLayers& m, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& p : m.parameters()) p.copy_(torch::randn_like(p));
}

std::vector<torch::Tensor> values(TwoLayers& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

TEST(WeightAverage, MeanEqualsTheMeanInDoubleAndSwapRestores) {
  TwoLayers m;
  WeightAverage average(m);
  ASSERT_EQ(average.mean().size(), 2u);  // the trained layer's weight and bias
  std::vector<std::vector<torch::Tensor>> sets;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    set_values(m, seed);
    sets.push_back(values(m));
    average.update();
  }
  EXPECT_EQ(average.count(), 5);
  const auto last = values(m);
  average.swap();
  const auto swapped = values(m);
  for (size_t i = 0; i < 2; ++i) {  // trained.weight, trained.bias
    auto expected = torch::zeros_like(sets[0][i], torch::kFloat64);
    for (const auto& set : sets) expected += set[i].to(torch::kFloat64);
    expected /= 5.0;
    EXPECT_TRUE(torch::allclose(swapped[i].to(torch::kFloat64), expected, 1e-6, 1e-7)) << i;
    EXPECT_FALSE(torch::allclose(swapped[i], last[i])) << "the mean is not the last set";
  }
  // The frozen layer keeps its current values.
  EXPECT_TRUE(torch::equal(swapped[2], last[2]));
  EXPECT_TRUE(torch::equal(swapped[3], last[3]));
  average.swap();
  const auto restored = values(m);
  for (size_t i = 0; i < last.size(); ++i) EXPECT_TRUE(torch::equal(restored[i], last[i])) << i;
}

TEST(WeightAverage, EmptyAverageChangesNothingAndTheGuardSwapsBack) {
  TwoLayers m;
  set_values(m, 7);
  const auto before = values(m);
  WeightAverage average(m);
  {
    const AveragedWeights use(&average);  // count 0: nothing to swap in
    const auto during = values(m);
    for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(during[i], before[i]));
  }
  average.update();  // the mean is these values
  set_values(m, 8);
  const auto trained = values(m);
  {
    const AveragedWeights use(&average);
    EXPECT_TRUE(torch::equal(values(m)[0], before[0]));
  }
  EXPECT_TRUE(torch::equal(values(m)[0], trained[0]));
  const AveragedWeights none(nullptr);  // no average: a no-op
  EXPECT_TRUE(torch::equal(values(m)[0], trained[0]));
  EXPECT_NE(test::error_of([&] { average.set_count(-1); }).find(">= 0"), std::string::npos);
}

TEST(WeightAverage, FirstAveragedStep) {
  EXPECT_EQ(first_averaged_step(0.0, 18), 0);
  EXPECT_EQ(first_averaged_step(0.5, 18), 9);
  EXPECT_EQ(first_averaged_step(0.3, 10), 3);  // 0.3 · 10 is 3.0000000000000004 in double
  EXPECT_EQ(first_averaged_step(0.25, 10), 3);
  EXPECT_EQ(first_averaged_step(1.0, 18), 18);  // never
  EXPECT_NE(test::error_of([] { first_averaged_step(1.5, 10); }).find("[0, 1]"), std::string::npos);
  EXPECT_NE(test::error_of([] { first_averaged_step(-0.1, 10); }).find("[0, 1]"),
            std::string::npos);
}

}  // namespace
}  // namespace hcmsn::train
