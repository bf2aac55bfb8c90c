// Hyperparameters of a training run (everything but the model's architecture and the losses'
// weights, which live in model::HCMSNModelOptions and model::LossOptions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hcmsn/train/balanced_sampler.h"
#include "hcmsn/train/checkpoint_rule.h"

namespace hcmsn::train {

enum class LrSchedule {
  kConstant,  // "constant"
  kCosine,    // "cosine": lr → lr · min_lr_ratio over the run, after the warm-up
  kStep,      // "step": lr × 0.1 at 50% and 75% of the run
};
std::string to_string(LrSchedule schedule);
LrSchedule parse_lr_schedule(const std::string& name);

struct TrainerOptions {
  int64_t epochs = 20;
  BalancedSamplerOptions sampler;
  /// Adam learning rates of the generator (backbone, F, S, R, P, classifier) and of D.
  double lr = 1e-3;
  double disc_lr = 2e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double weight_decay = 0.0;
  LrSchedule schedule = LrSchedule::kCosine;
  double min_lr_ratio = 0.01;
  int64_t warmup_steps = 0;
  /// Clip the generator's gradient norm (≤ 0: off); hyperbolic layers can spike near the edge.
  double grad_clip = 10.0;
  /// Dense weight averaging (weight_average.h): the weights evaluated, kept in best.ckpt and
  /// used from last.ckpt are the mean of those after every step from this fraction of the run
  /// on (the first ceil(average_from · steps) steps are left out); 1: off, the last step's weights.
  double average_from = 1.0;
  /// Which evaluated epoch best.ckpt holds (checkpoint_rule.h). With kEarliestWithinOneSe every
  /// evaluated epoch's weights are kept in RUN/epochs/ until the run finishes.
  CheckpointRule checkpoint_rule = CheckpointRule::kBest;
  /// Seeds batches, initialisation, dropout and augmentation.
  uint64_t seed = 0;
  /// Random horizontal flips and shifts of image inputs.
  bool augment = true;
  /// Write last.ckpt every this many steps (0: only at the end of an epoch).
  int64_t checkpoint_every = 100;
  /// Evaluate on the unseen classes every this many epochs (0: never).
  int64_t eval_every = 1;
  std::vector<int64_t> ks = {100, 200};
  /// Stop after this many steps in all (0: run all epochs); the run can be resumed later.
  int64_t max_steps = 0;
  int64_t eval_batch = 256;
  /// Fused retrieval (model::HCMSNModelOptions::fused_embedding): fixed weights "b,s,h", or ""
  /// to select them on the validation classes at every evaluation (fusion_selection.h) from the
  /// simplex grid of step 1/fusion_grid_steps.
  std::string fusion_weights;
  int64_t fusion_grid_steps = 10;
  bool progress = true;
  /// Where the network trains: "cpu", "cuda" or "cuda:N" (util/device.h). Not saved with the
  /// run: a run may resume on another device.
  std::string device = "cpu";
  /// "fp32" or "bf16": the backbone's forward and backward under bf16 autocast
  /// (util/precision.h). Not saved with the run, like the device.
  std::string precision = "fp32";
};

/// The learning-rate multiplier (0, 1] at `step` of `total_steps`.
double lr_factor(const TrainerOptions& options, int64_t step, int64_t total_steps);

}  // namespace hcmsn::train
