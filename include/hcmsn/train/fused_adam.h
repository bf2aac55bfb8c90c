// Adam with the update done in one vectorised pass per parameter (issue 3, training speed).
//
// torch::optim::Adam runs about eight elementwise kernels per parameter (weight decay, two moment
// updates, sqrt, division, add, addcdiv), each a full sweep over memory, and clip_grad_norm_
// adds one more to rescale the gradients. On a CPU that is memory-bound: with the generator's
// 6.1M parameters, one fused read-modify-write pass takes about half the time.
//
// FusedAdam is a torch::optim::Adam: same options, same per-parameter AdamParamState (step,
// exp_avg, exp_avg_sq), same archive format, so a checkpoint written by either loads into the
// other and training continues identically. The arithmetic is torch's (L2 weight decay added to
// the gradient, bias corrections 1 - beta^step in double, eps added after dividing sqrt(v) by
// sqrt(bias_correction2)); results agree with torch's to float32 rounding (a few ulps), not
// bitwise, because torch's kernels fuse and order some products differently.
//
// The fused pass covers float32, contiguous, dense CPU parameters and gradients. When any
// parameter with a gradient is anything else (CUDA, float64, non-contiguous, sparse), the whole
// step is torch::optim::Adam::step, so those cases are exactly torch's. amsgrad is not
// supported (hcmsn::Error).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace hcmsn::train {

class FusedAdam : public torch::optim::Adam {
 public:
  /// Throws hcmsn::Error if `defaults` or a group's options ask for amsgrad.
  explicit FusedAdam(std::vector<torch::Tensor> params, torch::optim::AdamOptions defaults = {});
  explicit FusedAdam(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                     torch::optim::AdamOptions defaults = {});

  /// One Adam step (calls `closure` first when given, like torch's).
  torch::Tensor step(LossClosure closure = nullptr) override;

  /// One Adam step as if every gradient had first been multiplied by `grad_scale` (> 0 and
  /// finite, or NaN/inf passed on like clip_grad_norm_ would): folds gradient clipping into the
  /// update pass. The gradients themselves are left unchanged.
  void step_scaled(double grad_scale);

 private:
  void update(double grad_scale);
  bool all_fusable() const;
};

/// The Adam state of parameter `p` in `optimizer` (torch's Adam or FusedAdam), nullptr before
/// its first step. Hides the state map's key type (a string in LibTorch 1.x, a pointer in 2.x).
const torch::optim::AdamParamState* adam_state_of(const torch::optim::Adam& optimizer,
                                                  const torch::Tensor& p);

/// The factor torch::nn::utils::clip_grad_norm_(params, max_norm) multiplies the gradients by:
/// min(1, max_norm / (norm + 1e-6)), with norm the 2-norm over all defined gradients, computed
/// with the same tensor operations (so grad * factor is bitwise what clip_grad_norm_ leaves).
/// 1 when no parameter has a gradient. max_norm must be > 0.
double clip_grad_norm_factor(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace hcmsn::train
