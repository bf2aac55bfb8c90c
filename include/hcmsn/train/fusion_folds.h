// Choosing the fusion weights on validation folds (issue 11): K runs, each trained with a
// different fold of the seen classes held out (train --val-folds K --val-fold F), score the
// weight grid on their own held-out classes (train/fusion_selection.h); the triple with the best
// mean score over the runs wins. One fold's 10 to 20 classes are too few to choose by: which
// classes it holds decides whether the trained parts or the backbone look better, and a mean over
// folds that cover every class of the pool is what predicts classes no run has seen.
//
// Rules: kBest takes the best mean. kOneStandardError (the default) takes, of the triples whose
// mean is within one standard error of the best (the SD of the best triple's run scores / √runs),
// the one with the most backbone weight (ties: the better mean). The folds' scores spread widely
// (which classes a fold holds decides a lot), and the backbone is the knowledge every unseen class
// shares: the rule of "the simplest model within one standard error" (Breiman et al. 1984), with
// the backbone as the simple end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hcmsn/model/fused_embedding.h"
#include "hcmsn/train/fusion_selection.h"

namespace hcmsn::train {

enum class FoldRule { kBest, kOneStandardError };
/// "best" or "one-se"; throws hcmsn::Error otherwise.
FoldRule parse_fold_rule(const std::string& name);
std::string to_string(FoldRule rule);

struct FoldedFusionChoice {
  std::vector<std::string> runs;
  /// Each run's held-out classes, in the order of `runs`.
  std::vector<std::vector<std::string>> validation_classes;
  /// The grid (model::fusion_grid); κ is left at 1, since each run measures its own.
  std::vector<model::FusionWeights> grid;
  /// scores[r][g]: run r's score of grid[g].
  std::vector<std::vector<FusionScore>> scores;
  /// mean[g]: the mean of the runs' scores of grid[g].
  std::vector<FusionScore> mean;
  FoldRule rule = FoldRule::kOneStandardError;
  /// The first triple with the best mean score.
  size_t best = 0;
  /// The standard error of the best mean (0 with one run).
  double standard_error = 0;
  /// The triple the rule chose.
  size_t chosen = 0;
  const model::FusionWeights& weights() const { return grid[chosen]; }
  nlohmann::json to_json() const;
};

/// The choice from already computed scores: scores[r] holds run r's score of every triple of
/// `grid`, in its order. Throws hcmsn::Error when there are no runs or a run's scores do not
/// match the grid.
FoldedFusionChoice choose_over_folds(std::vector<model::FusionWeights> grid,
                                     std::vector<std::vector<FusionScore>> scores,
                                     FoldRule rule = FoldRule::kOneStandardError);

/// Loads each run (checkpoint "best" or "last"), rebuilds its validation rows and its training
/// rows from the run's own data, scores model::fusion_grid(grid_steps) and chooses over the runs.
/// Throws hcmsn::Error for a run without a fused embedding or without validation classes.
FoldedFusionChoice select_fusion_over_runs(const std::vector<std::string>& run_dirs,
                                           const std::string& checkpoint, int64_t grid_steps,
                                           FoldRule rule = FoldRule::kOneStandardError,
                                           bool progress = false, int64_t batch = 256);

}  // namespace hcmsn::train
