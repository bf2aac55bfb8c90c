// Choosing the fusion weights of the fused retrieval embedding (model/fused_embedding.h) on
// seen-class validation data, never on the classes a run reports.
//
// The validation classes' sketches are the queries. Two galleries score each weight triple, as
// the evaluation does: the validation classes' photos (standard) and those plus every training
// photo (generalised: the training classes are the distractors). The score is their mean
// mAP@all; the grid is model::fusion_grid(steps), the first best triple wins. κ, the scale of h
// (model::hyperbolic_scale), is measured on every row the selection embeds. With class weights
// (train/class_importance.h) each mAP is the weighted mean of the queries' APs, a query weighing
// what its class does.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hcmsn/model/fused_embedding.h"
#include "hcmsn/model/retrieval_network.h"
#include "hcmsn/train/training_set.h"
#include "hcmsn/util/sharding.h"

namespace hcmsn::train {

/// A weight per validation class name; empty: every query weighs 1 (plain mAP@all).
using ClassWeights = std::map<std::string, double>;

struct FusionScore {
  FusionScore() = default;
  FusionScore(double standard, double generalised)
      : map_standard(standard), map_generalised(generalised) {}

  double map_standard = 0;
  double map_generalised = 0;
  /// Each validation class's mean of its standard and generalised mAP@all (unweighted): what
  /// train/checkpoint_rule.h compares epochs by.
  std::map<std::string, double> class_scores;
  double score() const { return 0.5 * (map_standard + map_generalised); }
};

struct FusionChoice {
  model::FusionWeights weights;
  FusionScore best;
  /// The same validation with weights (1, 0, 0): the backbone's cosine, i.e. where the untrained
  /// features stand.
  FusionScore backbone;
  nlohmann::json to_json() const;
};

/// Every function below takes an optional util::Sharding (issue 13): the ranks embed a share of
/// the rows each and rank a share of the queries each (util::compute_in_blocks, metrics'
/// sharded evaluation), and every rank returns the single-process result.

/// Scores each weight triple, embedding every row once. `validation` needs sketches and
/// photos; `training` may be empty. Throws hcmsn::Error when the network has no fused embedding.
std::vector<FusionScore> score_fusion(model::RetrievalNetworkImpl& network,
                                      const TrainingSet& validation, const TrainingSet& training,
                                      const std::vector<model::FusionWeights>& weights,
                                      int64_t batch = 256, const util::Sharding& sharding = {});

/// κ measured on up to `max_rows` evenly spaced rows of `set` (for fixed weights).
double hyperbolic_scale_of(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                           int64_t max_rows = 2048, int64_t batch = 256,
                           const util::Sharding& sharding = {});

/// A weight triple (κ filled in) with its validation score.
struct ScoredFusion {
  model::FusionWeights weights;
  FusionScore score;
};

/// Every triple of model::fusion_grid(grid_steps), in the grid's order, with κ measured on the
/// rows the selection embeds, scored; embeds every row once. `class_weights`, when not empty,
/// must name every validation class with a weight ≥ 0 (throws hcmsn::Error otherwise).
std::vector<ScoredFusion> score_fusion_grid(model::RetrievalNetworkImpl& network,
                                            const TrainingSet& validation,
                                            const TrainingSet& training, int64_t grid_steps,
                                            int64_t batch = 256,
                                            const util::Sharding& sharding = {},
                                            const ClassWeights& class_weights = {});

/// Scores the whole grid (score_fusion_grid) and returns the best triple; does not change the
/// network's weights.
FusionChoice select_fusion(model::RetrievalNetworkImpl& network, const TrainingSet& validation,
                           const TrainingSet& training, int64_t grid_steps, int64_t batch = 256,
                           const util::Sharding& sharding = {});

}  // namespace hcmsn::train
