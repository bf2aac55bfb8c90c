// Which epoch's weights a run delivers as best.ckpt (issue 11).
//
// kBest: the epoch with the best held-out score. kEarliestWithinOneSe: the earliest epoch whose
// mean class score is within one standard error of the best epoch's, the standard error taken
// over the held-out classes' paired differences (the best epoch's class score minus this
// epoch's). On the real data the held-out curves are flat after a few epochs, so which epoch
// is best there is noise, and the later epochs transfer worse to unseen classes: the rule of
// "the simplest model within one standard error" (Breiman et al. 1984), with the less trained
// network, nearer the backbone it starts from, as the simpler one. fusion_folds.h applies the
// same rule to the fusion weights.
//
// Contract: every epoch scores the same held-out classes (class name → score, higher is
// better); the class mean is the epoch's score for the rule.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hcmsn::train {

enum class CheckpointRule { kBest, kEarliestWithinOneSe };
/// "best" or "one-se"; throws hcmsn::Error otherwise.
CheckpointRule parse_checkpoint_rule(const std::string& name);
std::string to_string(CheckpointRule rule);

struct EpochClassScores {
  int64_t epoch = 0;
  std::map<std::string, double> class_scores;
};

struct CheckpointChoice {
  int64_t best_epoch = -1;
  int64_t chosen_epoch = -1;
  /// The chosen epoch's paired standard error against the best (0 when it is the best).
  double standard_error = 0;
};

/// The rule's epoch among `epochs` (in training order). Throws hcmsn::Error when there are
/// none or when two epochs scored different classes.
CheckpointChoice choose_checkpoint(const std::vector<EpochClassScores>& epochs,
                                   CheckpointRule rule);

}  // namespace hcmsn::train
