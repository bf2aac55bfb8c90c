// The checkpoint rule (train/checkpoint_rule.h) against choices worked out by hand: the best
// epoch, the earliest within one paired standard error, never an epoch after the best, and bad
// input refused.
#include "hcmsn/train/checkpoint_rule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "support/test_support.h"

namespace hcmsn::train {
namespace {

std::vector<EpochClassScores> curve() {
  // Class means 0.2, 0.3867, 0.4, 0.3833: epoch 3 is the best.
  return {{1, {{"a", 0.1}, {"b", 0.2}, {"c", 0.3}}},
          {2, {{"a", 0.38}, {"b", 0.32}, {"c", 0.46}}},
          {3, {{"a", 0.4}, {"b", 0.3}, {"c", 0.5}}},
          {4, {{"a", 0.39}, {"b", 0.31}, {"c", 0.45}}}};
}

TEST(CheckpointRule, EarliestEpochWithinOnePairedStandardError) {
  const auto best = choose_checkpoint(curve(), CheckpointRule::kBest);
  EXPECT_EQ(best.best_epoch, 3);
  EXPECT_EQ(best.chosen_epoch, 3);
  const auto rule = choose_checkpoint(curve(), CheckpointRule::kEarliestWithinOneSe);
  EXPECT_EQ(rule.best_epoch, 3);
  // Epoch 1 against 3: differences 0.3, 0.1, 0.2: mean 0.2, SE 0.1/√3 = 0.058: outside.
  // Epoch 2: differences 0.02, −0.02, 0.04: mean 0.0133, sample SD 0.0306, SE 0.0176: inside.
  EXPECT_EQ(rule.chosen_epoch, 2);
  const double m = 0.04 / 3;
  const double sd = std::sqrt(
      ((0.02 - m) * (0.02 - m) + (-0.02 - m) * (-0.02 - m) + (0.04 - m) * (0.04 - m)) / 2);
  EXPECT_NEAR(rule.standard_error, sd / std::sqrt(3.0), 1e-12);
  // Epoch 4 is within one standard error too, but after the best: never chosen.
  auto late = curve();
  late.erase(late.begin() + 1);
  EXPECT_EQ(choose_checkpoint(late, CheckpointRule::kEarliestWithinOneSe).chosen_epoch, 3);
  // One class: no spread, so no earlier epoch below the best qualifies.
  const std::vector<EpochClassScores> one = {
      {1, {{"a", 0.45}}}, {2, {{"a", 0.5}}}, {3, {{"a", 0.4}}}};
  EXPECT_EQ(choose_checkpoint(one, CheckpointRule::kEarliestWithinOneSe).chosen_epoch, 2);
  EXPECT_EQ(choose_checkpoint(one, CheckpointRule::kEarliestWithinOneSe).standard_error, 0.0);
}

TEST(CheckpointRule, ParsesAndRefusesBadInput) {
  EXPECT_EQ(parse_checkpoint_rule("one-se"), CheckpointRule::kEarliestWithinOneSe);
  EXPECT_EQ(to_string(parse_checkpoint_rule("best")), "best");
  EXPECT_TRUE(test::contains(test::error_of([] { parse_checkpoint_rule("last"); }), "one-se"));
  EXPECT_TRUE(test::contains(test::error_of([] { choose_checkpoint({}, CheckpointRule::kBest); }),
                             "no evaluated epoch"));
  const std::vector<EpochClassScores> other = {{1, {{"a", 0.5}, {"b", 0.1}}},
                                               {2, {{"a", 0.6}, {"c", 0.1}}}};
  EXPECT_TRUE(test::contains(
      test::error_of([&] { choose_checkpoint(other, CheckpointRule::kEarliestWithinOneSe); }),
      "did not"));
  const std::vector<EpochClassScores> fewer = {{1, {{"a", 0.5}, {"b", 0.1}}}, {2, {{"a", 0.6}}}};
  EXPECT_TRUE(test::contains(
      test::error_of([&] { choose_checkpoint(fewer, CheckpointRule::kBest); }), "other classes"));
}

}  // namespace
}  // namespace hcmsn::train
