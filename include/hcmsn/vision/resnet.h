// ResNet-50 with torchvision's parameter names (conv1, bn1, layer1..layer4, fc; blocks
// layerN.i.{conv1, bn1, conv2, bn2, conv3, bn3, downsample.0, downsample.1}), torchvision's
// Bottleneck "v1.5" (the stride sits on the 3×3 conv), so torchvision state dicts load unchanged.
//
// Input (input_options()): RGB at 224×224 with torchvision's ImageNet mean/std.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "hcmsn/vision/classifier_backbone.h"

namespace hcmsn::vision {

struct ResNet50Options {
  TORCH_ARG(int64_t, num_classes) = 1000;
};

class ResNet50Impl : public ClassifierBackboneImpl {
 public:
  static constexpr int64_t kFeatureDim = 2048;
  /// Throws hcmsn::Error unless num_classes > 0.
  explicit ResNet50Impl(ResNet50Options options = {});
  /// Pooled features: mean over H, W of the layer4 output → (B, 2048).
  torch::Tensor forward(const torch::Tensor& images) override;
  torch::Tensor logits(const torch::Tensor& images) override;
  int64_t out_dim() const override { return kFeatureDim; }
  int64_t num_classes() const override { return options_.num_classes(); }
  std::string kind() const override { return "resnet50"; }
  const model::ImageInputOptions& input_options() const override { return input_; }

 private:
  ResNet50Options options_;
  model::ImageInputOptions input_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNet50);

}  // namespace hcmsn::vision
