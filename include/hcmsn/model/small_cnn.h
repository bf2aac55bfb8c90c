// A small convolutional backbone trained from scratch: the end-to-end path of the built-in demo
// and of tests, where no pretrained weights exist.
//
//   [Conv3×3 → BatchNorm → ReLU] × convs_per_stage → MaxPool2   for each width in `channels`,
//   then global average pooling and, when out_dim > 0, a Linear(channels.back(), out_dim).
//
// Works for any input of at least 2^len(channels) pixels per side.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "hcmsn/model/backbone.h"

namespace hcmsn::model {

struct SmallCNNOptions {
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{16, 32, 64, 64};
  TORCH_ARG(int64_t, convs_per_stage) = 1;
  /// Size of the features; 0 = the pooled features themselves (channels.back()).
  TORCH_ARG(int64_t, out_dim) = 0;
  TORCH_ARG(ImageInputOptions, input) = ImageInputOptions{};
};

class SmallCNNImpl : public BackboneImpl {
 public:
  /// Throws hcmsn::Error unless every width and out_dim are > 0.
  explicit SmallCNNImpl(SmallCNNOptions options = {});
  torch::Tensor forward(const torch::Tensor& images) override;
  int64_t out_dim() const override {
    return options_.out_dim() > 0 ? options_.out_dim() : options_.channels().back();
  }
  std::string kind() const override { return "small-cnn"; }
  const ImageInputOptions& input_options() const override { return options_.input(); }
  const SmallCNNOptions& options() const { return options_; }

 private:
  SmallCNNOptions options_;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(SmallCNN);

}  // namespace hcmsn::model
