#include "hcmsn/data/transforms.h"

#include <algorithm>
#include <cmath>

#include "hcmsn/util/check.h"

namespace hcmsn::data {
namespace {

namespace F = torch::nn::functional;

void check_image(const torch::Tensor& image) {
  HCMSN_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3 &&
                  image.scalar_type() == torch::kUInt8,
              "expected a uint8 (3, H, W) RGB image, got ",
              image.defined() ? c10::toString(image.scalar_type()) : "an undefined tensor", " ",
              image.defined() ? image.sizes() : torch::IntArrayRef{});
  HCMSN_CHECK(image.size(1) > 0 && image.size(2) > 0, "the image has no pixels");
}

void check_size(int64_t size, const char* what) {
  HCMSN_CHECK(size >= 1 && size <= 4096, what, " must be in [1, 4096] pixels, got ", size);
}

double uniform(torch::Generator& generator, double lo, double hi) {
  return torch::empty({1}, torch::kFloat64).uniform_(lo, hi, generator).item<double>();
}

}  // namespace

torch::Tensor resize_image(const torch::Tensor& image, int64_t height, int64_t width) {
  check_image(image);
  check_size(height, "height");
  check_size(width, "width");
  if (image.size(1) == height && image.size(2) == width) return image.contiguous();
  auto x = image.unsqueeze(0).to(torch::kFloat32);
  x = F::interpolate(x, F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{height, width})
                            .mode(torch::kBilinear)
                            .align_corners(false)
                            .antialias(true));
  return x.squeeze(0).round_().clamp_(0, 255).to(torch::kUInt8);
}

torch::Tensor resize_shorter_side(const torch::Tensor& image, int64_t size) {
  check_image(image);
  check_size(size, "resize size");
  const int64_t h = image.size(1), w = image.size(2);
  const int64_t shorter = std::min(h, w), longer = std::max(h, w);
  // torchvision truncates: int(size * long / short).
  const auto new_long = static_cast<int64_t>(static_cast<double>(size) * longer / shorter);
  return h <= w ? resize_image(image, size, new_long) : resize_image(image, new_long, size);
}

torch::Tensor center_crop(const torch::Tensor& image, int64_t size) {
  check_image(image);
  check_size(size, "crop size");
  torch::Tensor x = image;
  const int64_t h = x.size(1), w = x.size(2);
  if (h < size || w < size) {
    const int64_t pad_h = std::max<int64_t>(size - h, 0), pad_w = std::max<int64_t>(size - w, 0);
    x = F::pad(x, F::PadFuncOptions({pad_w / 2, (pad_w + 1) / 2, pad_h / 2, (pad_h + 1) / 2}));
  }
  // Python's round(): halves to even (round(16.5) == 16), hence nearbyint, not std::round.
  const auto top = static_cast<int64_t>(std::nearbyint((x.size(1) - size) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint((x.size(2) - size) / 2.0));
  return x.slice(1, top, top + size).slice(2, left, left + size).contiguous();
}

void validate(const TransformOptions& options) {
  HCMSN_CHECK(options.mode == "squash" || options.mode == "crop", "unknown resize mode '",
              options.mode, "': use squash or crop");
  check_size(options.size, "image size");
  if (options.mode == "crop") {
    check_size(options.resize_to, "resize size");
    HCMSN_CHECK(options.resize_to >= options.size, "crop mode resizes the shorter side to ",
                options.resize_to, ", smaller than the crop ", options.size);
  }
  for (double s : options.std) HCMSN_CHECK(s > 0, "normalisation std must be positive, got ", s);
}

torch::Tensor eval_resize(const torch::Tensor& image, const TransformOptions& options) {
  validate(options);
  if (options.mode == "squash") return resize_image(image, options.size, options.size);
  return center_crop(resize_shorter_side(image, options.resize_to), options.size);
}

torch::Tensor to_backbone_input(const torch::Tensor& pixels, const TransformOptions& options) {
  validate(options);
  HCMSN_CHECK(pixels.scalar_type() == torch::kUInt8 && (pixels.dim() == 3 || pixels.dim() == 4) &&
                  pixels.size(pixels.dim() - 3) == 3,
              "expected uint8 (3, S, S) or (N, 3, S, S) pixels, got ",
              c10::toString(pixels.scalar_type()), " ", pixels.sizes());
  std::vector<int64_t> shape(static_cast<size_t>(pixels.dim()), 1);
  shape[static_cast<size_t>(pixels.dim()) - 3] = 3;
  const auto mean =
      torch::tensor({options.mean[0], options.mean[1], options.mean[2]}, torch::kFloat32)
          .reshape(shape);
  const auto std = torch::tensor({options.std[0], options.std[1], options.std[2]}, torch::kFloat32)
                       .reshape(shape);
  return (pixels.to(torch::kFloat32) / 255.0f - mean.to(pixels.device())) / std.to(pixels.device());
}

torch::Tensor random_resized_crop(const torch::Tensor& image, int64_t size,
                                  const AugmentOptions& options, torch::Generator& generator) {
  check_image(image);
  check_size(size, "crop size");
  HCMSN_CHECK(options.scale[0] > 0 && options.scale[0] <= options.scale[1] &&
                  options.scale[1] <= 1 && options.ratio[0] > 0 &&
                  options.ratio[0] <= options.ratio[1],
              "augmentation needs 0 < scale min ≤ max ≤ 1 and 0 < ratio min ≤ max");
  const int64_t h = image.size(1), w = image.size(2);
  const double area = static_cast<double>(h) * w;
  int64_t ch = std::min(h, w), cw = ch, top = (h - ch) / 2, left = (w - cw) / 2;
  // torchvision: 10 attempts at a random area and log-uniform aspect ratio, else a centre crop.
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * uniform(generator, options.scale[0], options.scale[1]);
    const double ratio =
        std::exp(uniform(generator, std::log(options.ratio[0]), std::log(options.ratio[1])));
    const auto tw = static_cast<int64_t>(std::round(std::sqrt(target * ratio)));
    const auto th = static_cast<int64_t>(std::round(std::sqrt(target / ratio)));
    if (tw > 0 && th > 0 && tw <= w && th <= h) {
      ch = th;
      cw = tw;
      top = static_cast<int64_t>(uniform(generator, 0, static_cast<double>(h - th + 1)));
      left = static_cast<int64_t>(uniform(generator, 0, static_cast<double>(w - tw + 1)));
      top = std::min(top, h - th);
      left = std::min(left, w - tw);
      break;
    }
  }
  torch::Tensor crop =
      resize_image(image.slice(1, top, top + ch).slice(2, left, left + cw), size, size);
  if (uniform(generator, 0, 1) < options.flip_probability) crop = crop.flip({2}).contiguous();
  return crop;
}

namespace {

// torchvision's _blend on uint8: ratio · a + (1 − ratio) · b, clamped and truncated.
torch::Tensor blend(const torch::Tensor& a, const torch::Tensor& b, double ratio) {
  return (ratio * a + (1.0 - ratio) * b).clamp(0, 255).to(torch::kUInt8);
}

// torchvision's rgb_to_grayscale on uint8 (1, H, W): ITU-R 601, truncated to uint8.
torch::Tensor grey_of(const torch::Tensor& rgb) {
  const auto f = rgb.to(torch::kFloat32);
  return (0.2989F * f[0] + 0.587F * f[1] + 0.114F * f[2]).unsqueeze(0).to(torch::kUInt8);
}

double jitter_factor(torch::Generator& generator, double strength) {
  return uniform(generator, std::max(0.0, 1.0 - strength), 1.0 + strength);
}

}  // namespace

torch::Tensor color_jitter(const torch::Tensor& image, const ColorJitterOptions& options,
                           torch::Generator& generator) {
  check_image(image);
  HCMSN_CHECK(options.brightness >= 0 && options.contrast >= 0 && options.saturation >= 0,
              "colour jitter strengths must be >= 0");
  torch::Tensor out = image;
  if (options.brightness > 0) {
    const double f = jitter_factor(generator, options.brightness);
    out = blend(out.to(torch::kFloat32), torch::zeros_like(out, torch::kFloat32), f);
  }
  if (options.contrast > 0) {
    const double f = jitter_factor(generator, options.contrast);
    const auto mean = grey_of(out).to(torch::kFloat32).mean();
    out = blend(out.to(torch::kFloat32), mean.expand_as(out), f);
  }
  if (options.saturation > 0) {
    const double f = jitter_factor(generator, options.saturation);
    out = blend(out.to(torch::kFloat32), grey_of(out).to(torch::kFloat32).expand_as(out), f);
  }
  return out.contiguous();
}

}  // namespace hcmsn::data
