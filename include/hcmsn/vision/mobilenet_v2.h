// MobileNetV2 (width 1.0) with torchvision's parameter names, so torchvision state dicts and the
// converted TFLite weights in ../shared/weights load unchanged:
//   features.0.{0: conv, 1: BN}                        stem, 3 → 32, stride 2
//   features.1.conv.{0.0, 0.1, 1, 2}                   inverted residual without expansion
//   features.N.conv.{0.0, 0.1, 1.0, 1.1, 2, 3}         N = 2..17: expand, depthwise, project, BN
//   features.18.{0, 1}                                 1×1 conv 320 → 1280
//   classifier.1                                       Linear(1280, num_classes) after Dropout
//
// Padding: with tf_same_padding (the default; the shared weights were trained that way) every conv
// pads as TensorFlow "SAME": total = max((ceil(H/s) − 1)·s + k − H, 0) rows, floor(total/2)
// before and the rest after (per axis). It differs from torchvision's symmetric padding only for
// the five stride-2 3×3 convs on even sizes ((0, 1) instead of (1, 1)). tf_same_padding = false
// gives torchvision's architecture exactly.
//
// Input (input_options()): RGB at 224×224, x = (p − 128) / 128, i.e. mean = std = 128/255 on
// p/255, the TFLite input quantisation of the shared weights.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "hcmsn/vision/classifier_backbone.h"

namespace hcmsn::vision {

/// A bias-free Conv2d (parameter "weight", OIHW) with TF-"SAME" or torchvision (k−1)/2 padding.
struct SameConv2dOptions {
  TORCH_ARG(int64_t, in_channels) = 0;
  TORCH_ARG(int64_t, out_channels) = 0;
  TORCH_ARG(int64_t, kernel_size) = 1;
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, groups) = 1;
  TORCH_ARG(bool, tf_same_padding) = true;
};

class SameConv2dImpl : public torch::nn::Module {
 public:
  explicit SameConv2dImpl(SameConv2dOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  const SameConv2dOptions& options() const { return options_; }
  torch::Tensor weight;

 private:
  SameConv2dOptions options_;
};
TORCH_MODULE(SameConv2d);

/// TF "SAME" padding of one axis: {before, after} for an input of `size` pixels.
std::pair<int64_t, int64_t> tf_same_padding(int64_t size, int64_t kernel, int64_t stride);

struct MobileNetV2Options {
  TORCH_ARG(int64_t, num_classes) = 1000;
  TORCH_ARG(bool, tf_same_padding) = true;
  TORCH_ARG(double, dropout) = 0.2;
};

class MobileNetV2Impl : public ClassifierBackboneImpl {
 public:
  static constexpr int64_t kFeatureDim = 1280;
  /// Throws hcmsn::Error unless num_classes > 0 and dropout in [0, 1).
  explicit MobileNetV2Impl(MobileNetV2Options options = {});
  /// Pooled features: mean over H, W of features(x) → (B, 1280).
  torch::Tensor forward(const torch::Tensor& images) override;
  torch::Tensor logits(const torch::Tensor& images) override;
  /// The unpooled feature map (B, 1280, H/32, W/32).
  torch::Tensor feature_map(const torch::Tensor& images);
  int64_t out_dim() const override { return kFeatureDim; }
  int64_t num_classes() const override { return options_.num_classes(); }
  std::string kind() const override { return "mobilenet_v2"; }
  const model::ImageInputOptions& input_options() const override { return input_; }
  const MobileNetV2Options& options() const { return options_; }

 private:
  MobileNetV2Options options_;
  model::ImageInputOptions input_;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Sequential classifier_{nullptr};
};
TORCH_MODULE(MobileNetV2);

}  // namespace hcmsn::vision
