// Image preprocessing for pretrained backbones, matching torchvision's transforms, and
// train-time augmentation.
//
// Pixel contract: inputs are uint8 (3, H, W) RGB images at any size (image_decode.h); resizing
// keeps uint8, as torchvision's PIL pipeline does, and `to_backbone_input` produces float32
// (3, S, S) with x = (p / 255 − mean) / std per channel.
//
// Resizing is bilinear with antialiasing (a triangle filter widened by the scale when
// shrinking), the filter of PIL's BILINEAR that torchvision's Resize uses on PIL images; it is
// tested against torchvision + PIL to within one grey level on average.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>

namespace hcmsn::data {

/// uint8 (3, H, W) → uint8 (3, height, width).
torch::Tensor resize_image(const torch::Tensor& image, int64_t height, int64_t width);

/// torchvision `Resize(size)` with an int: the shorter side becomes `size`, the longer one
/// int(size × long / short), as torchvision computes it.
torch::Tensor resize_shorter_side(const torch::Tensor& image, int64_t size);

/// torchvision `CenterCrop(size)` (top = round((H − size) / 2), halves to even); images smaller
/// than `size` are padded with zeros first, as torchvision does.
torch::Tensor center_crop(const torch::Tensor& image, int64_t size);

struct TransformOptions {
  /// "squash": the whole image to size × size (the MobileNet/Coral convention the shared weights
  /// were evaluated with). "crop": the shorter side to resize_to, then a centre crop of size
  /// (torchvision's Resize(256) + CenterCrop(224)).
  std::string mode = "squash";
  int64_t size = 224;
  int64_t resize_to = 256;
  std::array<double, 3> mean = {0.485, 0.456, 0.406};
  std::array<double, 3> std = {0.229, 0.224, 0.225};
};

/// Throws hcmsn::Error on an unknown mode, a size outside [1, 4096], resize_to < size in crop
/// mode, or a std ≤ 0.
void validate(const TransformOptions& options);

/// uint8 (3, H, W) → uint8 (3, size, size) per options.mode.
torch::Tensor eval_resize(const torch::Tensor& image, const TransformOptions& options);

/// uint8 (3, S, S) or (N, 3, S, S) → float32 of the same shape, normalised by options.
torch::Tensor to_backbone_input(const torch::Tensor& pixels, const TransformOptions& options);

/// Train-time augmentation: torchvision's RandomResizedCrop(size, scale, ratio) followed by a
/// random horizontal flip. Draws from `generator` only, so a seed gives the same crops.
struct AugmentOptions {
  std::array<double, 2> scale = {0.6, 1.0};
  std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0};
  double flip_probability = 0.5;
};

/// uint8 (3, H, W) → uint8 (3, size, size).
torch::Tensor random_resized_crop(const torch::Tensor& image, int64_t size,
                                  const AugmentOptions& options, torch::Generator& generator);

/// torchvision's ColorJitter(brightness, contrast, saturation), each factor drawn uniformly from
/// [max(0, 1 − x), 1 + x] (0: that adjustment is off and draws nothing), applied in this fixed
/// order (torchvision shuffles it). As torchvision's uint8 tensor path: brightness blends with
/// black, contrast with the mean of the grey image, saturation with the grey image (ITU-R 601
/// weights, grey truncated to uint8); each blend is clamped to [0, 255] and truncated.
struct ColorJitterOptions {
  double brightness = 0;
  double contrast = 0;
  double saturation = 0;
};

/// uint8 (3, H, W) → uint8 (3, H, W). Throws hcmsn::Error on a negative strength.
torch::Tensor color_jitter(const torch::Tensor& image, const ColorJitterOptions& options,
                           torch::Generator& generator);

}  // namespace hcmsn::data
