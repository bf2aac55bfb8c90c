#include "hcmsn/train/checkpoint_rule.h"

#include <cmath>

#include "hcmsn/util/check.h"

namespace hcmsn::train {
namespace {

double class_mean(const EpochClassScores& e) {
  double sum = 0;
  for (const auto& [name, score] : e.class_scores) sum += score;
  return sum / static_cast<double>(e.class_scores.size());
}

}  // namespace

CheckpointRule parse_checkpoint_rule(const std::string& name) {
  if (name == "best") return CheckpointRule::kBest;
  HCMSN_CHECK(name == "one-se", "unknown checkpoint rule '", name, "': use best or one-se");
  return CheckpointRule::kEarliestWithinOneSe;
}

std::string to_string(CheckpointRule rule) {
  return rule == CheckpointRule::kBest ? "best" : "one-se";
}

CheckpointChoice choose_checkpoint(const std::vector<EpochClassScores>& epochs,
                                   CheckpointRule rule) {
  HCMSN_CHECK(!epochs.empty(), "no evaluated epoch to choose a checkpoint from");
  HCMSN_CHECK(!epochs.front().class_scores.empty(), "epoch ", epochs.front().epoch,
              " has no class scores");
  size_t best = 0;
  double best_mean = class_mean(epochs.front());
  for (size_t i = 1; i < epochs.size(); ++i) {
    HCMSN_CHECK(epochs[i].class_scores.size() == epochs.front().class_scores.size(), "epoch ",
                epochs[i].epoch, " scored other classes than epoch ", epochs.front().epoch);
    const double mean = class_mean(epochs[i]);
    if (mean > best_mean) {
      best = i;
      best_mean = mean;
    }
  }
  CheckpointChoice choice;
  choice.best_epoch = epochs[best].epoch;
  choice.chosen_epoch = choice.best_epoch;
  if (rule == CheckpointRule::kBest) return choice;
  const auto& top = epochs[best].class_scores;
  const double n = static_cast<double>(top.size());
  for (size_t i = 0; i < best; ++i) {
    double sum = 0, sum_sq = 0;
    for (const auto& [name, score] : epochs[i].class_scores) {
      const auto it = top.find(name);
      HCMSN_CHECK(it != top.end(), "epoch ", epochs[i].epoch, " scored class '", name,
                  "', which epoch ", epochs[best].epoch, " did not");
      const double d = it->second - score;
      sum += d;
      sum_sq += d * d;
    }
    const double variance = n > 1 ? std::max(0.0, (sum_sq - sum * sum / n) / (n - 1)) : 0.0;
    const double se = std::sqrt(variance / n);
    if (sum / n <= se) {
      choice.chosen_epoch = epochs[i].epoch;
      choice.standard_error = se;
      return choice;
    }
  }
  return choice;
}

}  // namespace hcmsn::train
