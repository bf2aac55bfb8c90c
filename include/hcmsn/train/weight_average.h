// Dense weight averaging (SWA, Izmailov et al. 2018; SWAD, Cha et al. 2021): the uniform mean of
// a network's weights after each of the last training steps. The mean lies in a flatter part of
// the loss surface than any one iterate, which is what transfers to other classes and another
// photo domain, and it does not depend on which step an epoch happened to end on, so runs of
// different seeds spread less (issue 11).
//
// The mean covers every parameter that requires a gradient, float32 or float64, on the
// parameters' own device; buffers (batch-norm statistics, the fusion weights) are not averaged:
// the network keeps its current ones (with frozen batch norm, the backbone's default, they do
// not change while training).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace hcmsn::train {

class WeightAverage {
 public:
  /// Tracks `module`'s parameters that require a gradient (their order is the module's).
  explicit WeightAverage(torch::nn::Module& module);

  /// Adds the parameters' current values: mean ← mean + (p − mean) / (count + 1).
  void update();
  /// How many weight sets the mean holds (0: none yet; swap() then does nothing).
  int64_t count() const { return count_; }
  /// Exchanges the parameters' values with the mean's; calling it again restores them.
  /// Does nothing while count() is 0.
  void swap();
  /// The mean, one tensor per tracked parameter (restoring a checkpoint writes into these).
  std::vector<torch::Tensor>& mean() { return mean_; }
  /// Restores a mean of `count` weight sets whose values are already in mean().
  void set_count(int64_t count);

 private:
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> mean_;
  int64_t count_ = 0;
};

/// RAII: the network holds the mean for the guard's lifetime (when there is one).
class AveragedWeights {
 public:
  explicit AveragedWeights(WeightAverage* average) : average_(average) {
    if (average_) average_->swap();
  }
  ~AveragedWeights() {
    if (average_) average_->swap();
  }
  AveragedWeights(const AveragedWeights&) = delete;
  AveragedWeights& operator=(const AveragedWeights&) = delete;

 private:
  WeightAverage* average_;
};

/// The first global step (0-based) whose resulting weights enter the mean when averaging starts
/// at `fraction` of `total_steps`: ceil(fraction · total_steps); fraction 1 never starts.
int64_t first_averaged_step(double fraction, int64_t total_steps);

}  // namespace hcmsn::train
