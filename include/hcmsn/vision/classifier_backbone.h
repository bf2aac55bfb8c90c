// An ImageNet-style backbone with its classifier head: forward() gives the pooled features the
// retrieval model uses, logits() the class scores that show whether pretrained weights loaded
// right (`hcmsn check-backbone`).
//
// BatchNorm freezing: pretrained weights (BN folded, see ../shared/weights/README.md) are a
// different function once BN uses batch statistics, so a backbone can pin every BatchNorm layer
// in eval mode (running statistics) even when train(true) is called on it or on a parent, and
// optionally stop gradients to the BN affine parameters.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "hcmsn/model/backbone.h"

namespace hcmsn::vision {

class ClassifierBackboneImpl : public model::BackboneImpl {
 public:
  using model::BackboneImpl::BackboneImpl;
  /// images (B, 3, H, W) float32, normalised per input_options() → logits (B, num_classes()).
  virtual torch::Tensor logits(const torch::Tensor& images) = 0;
  virtual int64_t num_classes() const = 0;

  /// frozen = true: every BatchNorm stays in eval mode from now on (train(true) does not change
  /// it) and, when also freeze_affine, its weight and bias stop requiring gradients.
  /// frozen = false undoes both (BN follows train() again; affine parameters train).
  void freeze_batch_norm(bool frozen, bool freeze_affine = true);
  bool batch_norm_frozen() const { return batch_norm_frozen_; }

  /// Module::train, except that frozen BatchNorm layers stay in eval mode.
  void train(bool on = true) override;

 private:
  bool batch_norm_frozen_ = false;
};

}  // namespace hcmsn::vision
