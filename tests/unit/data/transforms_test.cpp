// Resizing, cropping and normalisation against torchvision 0.14 + PIL
// (tests/reference/make_transforms_golden.py), and the augmentation's determinism.
#include "hcmsn/data/transforms.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/util/atomic_file.h"
#include "support/test_support.h"

namespace hcmsn::data {
namespace {

using test::contains;
using test::error_of;

torch::Tensor picture() {
  return decode_image_file(test::fixture("transforms/picture.png"));
}
torch::Tensor golden(const std::string& name) {
  return io::read_npy(test::fixture("transforms/" + name + ".npy"));
}

// PIL resamples in fixed point, rounding between its two passes; LibTorch's antialiased bilinear
// filter is the same filter in float. Measured on this picture (LibTorch 1.13's kernel, as Python's
// F.interpolate(antialias=True) computes it): mean |difference| 0.06–0.07 grey levels, max 1.
// The bounds leave room for other LibTorch builds.
void expect_close_to_pil(const torch::Tensor& ours, const torch::Tensor& reference) {
  ASSERT_EQ(ours.sizes(), reference.sizes());
  const auto diff = (ours.to(torch::kInt32) - reference.to(torch::kInt32)).abs();
  EXPECT_LE(diff.to(torch::kFloat64).mean().item<double>(), 0.5);
  EXPECT_LE(diff.max().item<int>(), 3);
}

TEST(Transforms, DecodesThePngLosslessly) {
  const auto img = picture();
  EXPECT_EQ(img.sizes(), torch::IntArrayRef({3, 77, 123}));
  // The script's formula at (y, x) = (0, 122): g = 255, b = checkerboard (122/9 = 13 odd) → 20.
  EXPECT_EQ(img[1][0][122].item<int>(), 255);
  EXPECT_EQ(img[2][0][122].item<int>(), 20);
}

TEST(Transforms, ResizeMatchesTorchvisionPil) {
  const auto img = picture();
  expect_close_to_pil(resize_image(img, 40, 40), golden("squash_40x40"));
  expect_close_to_pil(resize_image(img, 150, 200), golden("up_150x200"));
  expect_close_to_pil(resize_shorter_side(img, 50), golden("shorter_50"));
}

TEST(Transforms, CenterCropMatchesTorchvisionExactly) {
  const auto img = picture();
  // Cropping moves pixels only: equal to the reference crop of our own resize, and the crop
  // of the original with zero padding equals torchvision's byte for byte.
  expect_close_to_pil(center_crop(resize_shorter_side(img, 50), 44), golden("shorter_50_crop_44"));
  EXPECT_TRUE(torch::equal(center_crop(img, 90), golden("crop_90_padded")));
}

TEST(Transforms, EvalTransformNormalisesLikeToTensorNormalize) {
  TransformOptions options;
  options.size = 40;
  const auto ours = to_backbone_input(eval_resize(picture(), options), options);
  const auto reference = golden("normalized_40x40");
  ASSERT_EQ(ours.sizes(), reference.sizes());
  // One grey level is 1/255/std ≈ 0.0175 here.
  EXPECT_LE((ours - reference).abs().mean().item<double>(), 0.5 * 0.0175);
  // Crop mode: shorter side, then centre crop.
  options.mode = "crop";
  options.resize_to = 50;
  options.size = 44;
  expect_close_to_pil(eval_resize(picture(), options), golden("shorter_50_crop_44"));
}

TEST(Transforms, RandomResizedCropIsSeededAndFlips) {
  const auto img = picture();
  AugmentOptions options;
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(7),
       g2 = at::make_generator<at::CPUGeneratorImpl>(7);
  const auto a = random_resized_crop(img, 32, options, g1);
  const auto b = random_resized_crop(img, 32, options, g2);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_EQ(a.sizes(), torch::IntArrayRef({3, 32, 32}));
  // Always flipping with the full image as the crop equals a flipped resize.
  options.scale = {1.0, 1.0};
  options.ratio = {123.0 / 77.0, 123.0 / 77.0};
  options.flip_probability = 1.0;
  auto g3 = at::make_generator<at::CPUGeneratorImpl>(1);
  EXPECT_TRUE(
      torch::equal(random_resized_crop(img, 32, options, g3), resize_image(img, 32, 32).flip({2})));
}

// torchvision's ColorJitter arithmetic written out per pixel in double: factor f drawn as the
// transform draws it (a same-seeded generator), blends truncated to uint8.
TEST(Transforms, ColorJitterIsTorchvisionsBlendsInAFixedOrder) {
  // Two pixels: (200, 100, 50) and (10, 20, 30).
  const auto img = torch::tensor({200, 10, 100, 20, 50, 30}, torch::kUInt8).view({3, 1, 2});
  const auto draw = [](torch::Generator& g, double x) {
    return torch::empty({1}, torch::kFloat64).uniform_(1 - x, 1 + x, g).item<double>();
  };
  const auto grey = [](double r, double g, double b) {
    return std::trunc(0.2989 * r + 0.587 * g + 0.114 * b);
  };
  const auto pixel = [](const torch::Tensor& t, int c, int i) {
    return static_cast<double>(t[c][0][i].item<uint8_t>());
  };
  const auto blend = [](double a, double b, double f) {
    return std::trunc(std::clamp(f * a + (1 - f) * b, 0.0, 255.0));
  };
  ColorJitterOptions o{0.5, 0.4, 0.3};
  auto g = at::make_generator<at::CPUGeneratorImpl>(3);
  auto ref = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto out = color_jitter(img, o, g);
  ASSERT_EQ(out.sizes(), img.sizes());
  ASSERT_EQ(out.scalar_type(), torch::kUInt8);
  double expected[3][2];
  const double fb = draw(ref, 0.5), fc = draw(ref, 0.4), fs = draw(ref, 0.3);
  for (int i = 0; i < 2; ++i) {
    for (int c = 0; c < 3; ++c) expected[c][i] = blend(pixel(img, c, i), 0, fb);
  }
  const double mean = 0.5 * (grey(expected[0][0], expected[1][0], expected[2][0]) +
                             grey(expected[0][1], expected[1][1], expected[2][1]));
  for (int i = 0; i < 2; ++i) {
    for (int c = 0; c < 3; ++c) expected[c][i] = blend(expected[c][i], mean, fc);
  }
  for (int i = 0; i < 2; ++i) {
    const double y = grey(expected[0][i], expected[1][i], expected[2][i]);
    for (int c = 0; c < 3; ++c) {
      expected[c][i] = blend(expected[c][i], y, fs);
      // float32 arithmetic may land on the other side of an integer: one grey level.
      EXPECT_NEAR(pixel(out, c, i), expected[c][i], 1.0) << c << " " << i;
    }
  }
  // The generator moved exactly three draws: the next one is the reference's next.
  EXPECT_EQ(draw(g, 0.1), draw(ref, 0.1));
  // Strength 0 is off and draws nothing; a negative one is refused.
  auto h = at::make_generator<at::CPUGeneratorImpl>(4);
  auto h_ref = at::make_generator<at::CPUGeneratorImpl>(4);
  EXPECT_TRUE(torch::equal(color_jitter(img, {}, h), img));
  EXPECT_EQ(draw(h, 0.1), draw(h_ref, 0.1));
  EXPECT_TRUE(contains(error_of([&] { color_jitter(img, {-0.1, 0, 0}, h); }), ">= 0"));
}

TEST(Transforms, RejectsBadInputs) {
  const auto img = picture();
  EXPECT_TRUE(contains(error_of([&] { resize_image(img.to(torch::kFloat32), 4, 4); }), "uint8"));
  EXPECT_TRUE(contains(error_of([&] { resize_image(img, 0, 4); }), "height"));
  TransformOptions bad;
  bad.mode = "stretch";
  EXPECT_TRUE(contains(error_of([&] { eval_resize(img, bad); }), "unknown resize mode"));
  bad.mode = "crop";
  bad.resize_to = 100;
  EXPECT_TRUE(contains(error_of([&] { eval_resize(img, bad); }), "smaller than the crop"));
}

TEST(ImageDecode, RejectsBombsCorruptAndMissingFiles) {
  // A PNG header claiming 100000 × 100000 pixels is refused before decoding.
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  png += std::string("\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00", 13);
  EXPECT_TRUE(contains(error_of([&] { decode_image_bytes(png, "bomb.png"); }), "over the limit"));
  DecodeOptions small;
  small.max_pixels = 1000;
  EXPECT_TRUE(contains(
      error_of([&] { decode_image_file(test::fixture("transforms/picture.png"), small); }), "77"));
  EXPECT_TRUE(contains(error_of([&] { decode_image_bytes("not an image", "x.jpg"); }), "x.jpg"));
  EXPECT_TRUE(contains(error_of([&] { decode_image_bytes("", "e.png"); }), "empty"));
  EXPECT_TRUE(contains(error_of([&] { decode_image_file("/nonexistent.png"); }), "no such file"));
}

// Strict decoding (the default): a PNG must be whole (chunk CRCs up to IEND), a JPEG must end with
// its end-of-image marker (padding zeros allowed); sides over max_side are refused from the
// header. With strict off, OpenCV decodes what it can of a truncated JPEG.
TEST(ImageDecode, StrictDecodingRefusesTruncatedAndDamagedFiles) {
  const std::string png = util::read_file(test::fixture("transforms/picture.png"));
  const auto whole = decode_image_bytes(png, "p.png");
  EXPECT_TRUE(contains(error_of([&] { decode_image_bytes(png.substr(0, png.size() - 4), "p"); }),
                       "the PNG is truncated"));
  std::string flipped = png;
  flipped[png.size() / 2] ^= 0x10;  // inside IDAT
  EXPECT_TRUE(contains(error_of([&] { decode_image_bytes(flipped, "p"); }),
                       "the CRC of its IDAT chunk does not match"));
  std::vector<uchar> buffer;
  cv::Mat noise(240, 320, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
  ASSERT_TRUE(cv::imencode(".jpg", noise, buffer));
  const std::string jpeg(buffer.begin(), buffer.end());
  EXPECT_EQ(decode_image_bytes(jpeg + std::string(7, '\0'), "padded").sizes(),
            (std::vector<int64_t>{3, 240, 320}));
  const std::string cut = jpeg.substr(0, jpeg.size() / 2);
  EXPECT_TRUE(
      contains(error_of([&] { decode_image_bytes(cut, "cut.jpg"); }), "the JPEG is truncated"));
  DecodeOptions lenient;
  lenient.strict = false;
  EXPECT_EQ(decode_image_bytes(cut, "cut.jpg", lenient).sizes(),
            (std::vector<int64_t>{3, 240, 320}));
  DecodeOptions narrow;
  narrow.max_side = whole.size(2) - 1;
  EXPECT_TRUE(contains(error_of([&] { decode_image_bytes(png, "p", narrow); }), "pixels a side"));
}

}  // namespace
}  // namespace hcmsn::data
