// E, the visual backbone of HCMSN (DESIGN §2): images → backbone features v (B, out_dim), shared
// by sketches and photos. Every backbone (the small CNN here; MobileNetV2 and ResNet-50 later)
// derives from BackboneImpl so the trainer and the retrieval pipeline take any of them.
//
// Contract: images are float32 (B, 3, H, W), RGB, already normalised as the backbone expects
// (see input_options()); the output is float32 (B, out_dim).
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>

namespace hcmsn::model {

/// How raw uint8 RGB pixels become a backbone's input: x = (p / 255 − mean) / std per channel.
struct ImageInputOptions {
  int64_t image_size = 64;
  std::array<double, 3> mean = {0.5, 0.5, 0.5};
  std::array<double, 3> std = {0.25, 0.25, 0.25};
};

class BackboneImpl : public torch::nn::Module {
 public:
  explicit BackboneImpl(const std::string& name) : torch::nn::Module(name) {}
  /// images (B, 3, H, W) float32 → v (B, out_dim).
  virtual torch::Tensor forward(const torch::Tensor& images) = 0;
  virtual int64_t out_dim() const = 0;
  /// The architecture's name as the CLI and checkpoints spell it ("small-cnn", ...).
  virtual std::string kind() const = 0;
  virtual const ImageInputOptions& input_options() const = 0;
};

/// uint8 pixels (B, 3, H, W) → the float32 input of a backbone with these options.
torch::Tensor normalise_pixels(const torch::Tensor& pixels_u8, const ImageInputOptions& options);

}  // namespace hcmsn::model
