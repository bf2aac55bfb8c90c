// Choosing the fusion weights on validation folds (issue 11): K runs, each trained with a
// different fold of the seen classes held out (train --val-folds K --val-fold F), score the
// weight grid on their own held-out classes (train/fusion_selection.h); the triple with the best
// mean score over the runs wins. One fold's 10 to 20 classes are too few to choose by: which
// classes it holds decides whether the trained parts or the backbone look better, and a mean over
// folds that cover every class of the pool is what predicts classes no run has seen. A training
// setting (the curvature, d) can be chosen with the weights: FoldedSettingChoice below.
//
// Rules: kBest takes the best mean. kOneStandardError (the default) takes, of the triples whose
// mean is within one standard error of the best (the SD of the best triple's run scores / √runs),
// the one with the most backbone weight (ties: the better mean). The folds' scores spread widely
// (which classes a fold holds decides a lot), and the backbone is the knowledge every unseen class
// shares: the rule of "the simplest model within one standard error" (Breiman et al. 1984), with
// the backbone as the simple end.
//
// Weighting: kUniform counts every held-out query alike. kMatchUnseen weighs each held-out class
// so that the folds' classes stand for the split's unseen list in their teacher similarity
// (train/class_importance.h): the weights are computed once over all held-out classes of the
// runs (the pool the folds cover), each run's scores are weighted means, and the rule then works
// on those scores as before.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hcmsn/model/fused_embedding.h"
#include "hcmsn/train/class_importance.h"
#include "hcmsn/train/fusion_selection.h"
#include "hcmsn/train/run_config.h"

namespace hcmsn::train {

enum class FoldRule { kBest, kOneStandardError };
/// "best" or "one-se"; throws hcmsn::Error otherwise.
FoldRule parse_fold_rule(const std::string& name);
std::string to_string(FoldRule rule);

enum class FoldWeighting { kUniform, kMatchUnseen };
/// "uniform" or "match-unseen"; throws hcmsn::Error otherwise.
FoldWeighting parse_fold_weighting(const std::string& name);
std::string to_string(FoldWeighting weighting);

/// How the fold runs are scored and the choice made.
struct FoldSelectionOptions {
  /// Which weights of each run: "best" or "last".
  std::string checkpoint = "best";
  /// The grid: model::fusion_grid(grid_steps).
  int64_t grid_steps = 10;
  FoldRule rule = FoldRule::kOneStandardError;
  FoldWeighting weighting = FoldWeighting::kUniform;
  /// The density-ratio settings of kMatchUnseen.
  ImportanceOptions importance;
  bool progress = false;
  int64_t batch = 256;
};

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
  FoldWeighting weighting = FoldWeighting::kUniform;
  /// kMatchUnseen: each held-out class's weight (mean 1 over the pool); empty otherwise.
  ClassWeights class_weights;
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

/// Loads each run (options.checkpoint), rebuilds its validation rows and its training rows from
/// the run's own data, scores model::fusion_grid(options.grid_steps) and chooses over the runs.
/// Throws hcmsn::Error for a run without a fused embedding or without validation classes, and
/// with kMatchUnseen for runs without a teacher (train --teacher-concepts) or with different
/// unseen lists.
FoldedFusionChoice select_fusion_over_runs(const std::vector<std::string>& run_dirs,
                                           const FoldSelectionOptions& options = {});

/// A training setting chosen on the folds together with the fusion weights (issue 11: the
/// curvature is a hyperparameter like the weights, so seen-class folds choose it, never the
/// reported classes). The fold runs are grouped by the value of the setting in their configs;
/// each group must hold the same folds (the same held-out class lists), so the groups compare
/// on paired data. Each group's weights are chosen by its rule (choose_over_folds); the group with
/// the best mean score at its best triple wins (ties: the first group), so a setting is judged by
/// what it reaches and the rule then trades a little of that for backbone weight within the
/// winning group, as it does for one setting.
struct FoldedSettingChoice {
  /// "curvature" or "dim".
  std::string setting;
  /// Each group's value, written as `hcmsn train --<setting>` takes it, in the order of first
  /// appearance among the runs.
  std::vector<std::string> values;
  std::vector<FoldedFusionChoice> groups;
  size_t chosen = 0;
  const FoldedFusionChoice& choice() const { return groups[chosen]; }
  /// The train flags of the choice: --<setting> VALUE --fusion-weights b,s,h.
  std::vector<std::string> train_flags() const;
  nlohmann::json to_json() const;
};

/// The settings `select_setting_over_runs` can compare.
const std::vector<std::string>& comparable_settings();
/// The value of `setting` in a run's configuration, written as the train flag takes it; throws
/// hcmsn::Error for a setting not in comparable_settings().
std::string setting_value(const RunConfig& config, const std::string& setting);

/// The choice among groups whose fusion weights are already chosen. Throws hcmsn::Error when
/// there are no groups, the values do not match the groups, or two groups hold different folds.
FoldedSettingChoice choose_setting_over_folds(std::string setting, std::vector<std::string> values,
                                              std::vector<FoldedFusionChoice> groups);

/// Groups the runs by `setting` (setting_value), scores each run as select_fusion_over_runs does
/// (the shared data read once) and chooses (choose_setting_over_folds). One group is allowed: the
/// choice is then its fusion weights.
FoldedSettingChoice select_setting_over_runs(const std::vector<std::string>& run_dirs,
                                             const std::string& setting,
                                             const FoldSelectionOptions& options = {});

}  // namespace hcmsn::train
