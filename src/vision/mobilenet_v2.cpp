#include "hcmsn/vision/mobilenet_v2.h"

#include <array>
#include <cmath>

#include "hcmsn/util/check.h"

namespace hcmsn::vision {
namespace {

namespace F = torch::nn::functional;

// torchvision's BatchNorm defaults (eps 1e-5, momentum 0.1).
torch::nn::BatchNorm2d batch_norm(int64_t channels) {
  return torch::nn::BatchNorm2d(channels);
}

// A Sequential that can sit inside another one (AnyModule needs a non-template forward).
class BlockImpl : public torch::nn::SequentialImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) { return torch::nn::SequentialImpl::forward(x); }
};
TORCH_MODULE(Block);

// ReLU6 as a clamp: the same function, but LibTorch 1.13 has no bfloat16 backward for hardtanh
// (nn::ReLU6), which bf16 fine-tuning (--precision bf16) needs on the CPU. A module without
// parameters, serialised like nn::ReLU6, so checkpoints of either load.
class ClampReLU6Impl : public torch::nn::Cloneable<ClampReLU6Impl> {
 public:
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& x) { return x.clamp(0.0, 6.0); }
};
TORCH_MODULE(ClampReLU6);

// Conv2dNormActivation: {0: conv, 1: BN, 2: ReLU6}.
Block conv_bn_relu6(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                    bool tf_same) {
  Block seq;
  seq->push_back(SameConv2d(SameConv2dOptions()
                                .in_channels(in)
                                .out_channels(out)
                                .kernel_size(kernel)
                                .stride(stride)
                                .groups(groups)
                                .tf_same_padding(tf_same)));
  seq->push_back(batch_norm(out));
  seq->push_back(ClampReLU6());
  return seq;
}

class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand, bool tf_same)
      : use_residual_(stride == 1 && in == out) {
    const int64_t hidden = in * expand;
    torch::nn::Sequential seq;
    if (expand != 1) seq->push_back(conv_bn_relu6(in, hidden, 1, 1, 1, tf_same));
    seq->push_back(conv_bn_relu6(hidden, hidden, 3, stride, hidden, tf_same));
    seq->push_back(SameConv2d(
        SameConv2dOptions().in_channels(hidden).out_channels(out).kernel_size(1).tf_same_padding(
            tf_same)));
    seq->push_back(batch_norm(out));
    conv_ = register_module("conv", seq);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = conv_->forward(x);
    return use_residual_ ? x + y : y;
  }

 private:
  bool use_residual_;
  torch::nn::Sequential conv_{nullptr};
};
TORCH_MODULE(InvertedResidual);

void check_images(const torch::Tensor& images) {
  HCMSN_CHECK(images.dim() == 4 && images.size(1) == 3,
              "MobileNetV2 expects images of shape (B, 3, H, W), got ", images.sizes());
  HCMSN_CHECK(images.scalar_type() == torch::kFloat32,
              "MobileNetV2 expects float32 images (normalised pixels), got ", images.scalar_type());
  HCMSN_CHECK(images.size(2) >= 32 && images.size(3) >= 32,
              "MobileNetV2 needs images of at least 32×32 pixels, got ", images.size(2), "×",
              images.size(3));
}

}  // namespace

std::pair<int64_t, int64_t> tf_same_padding(int64_t size, int64_t kernel, int64_t stride) {
  const int64_t out = (size + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - size, 0);
  return {total / 2, total - total / 2};
}

SameConv2dImpl::SameConv2dImpl(SameConv2dOptions options) : options_(options) {
  HCMSN_CHECK(options_.in_channels() > 0 && options_.out_channels() > 0 &&
                  options_.kernel_size() > 0 && options_.stride() > 0 && options_.groups() > 0,
              "SameConv2d needs positive channels, kernel size, stride and groups");
  HCMSN_CHECK(options_.in_channels() % options_.groups() == 0 &&
                  options_.out_channels() % options_.groups() == 0,
              "SameConv2d channels must be divisible by groups");
  const int64_t k = options_.kernel_size();
  weight = register_parameter(
      "weight",
      torch::empty({options_.out_channels(), options_.in_channels() / options_.groups(), k, k}));
  // torchvision's MobileNetV2 init: kaiming normal, fan_out.
  const double fan_out = static_cast<double>(options_.out_channels() / options_.groups() * k * k);
  torch::NoGradGuard no_grad;
  weight.normal_(0.0, std::sqrt(2.0 / fan_out));
}

torch::Tensor SameConv2dImpl::forward(const torch::Tensor& x) {
  const int64_t k = options_.kernel_size();
  const int64_t s = options_.stride();
  if (!options_.tf_same_padding()) {
    return F::conv2d(
        x, weight, F::Conv2dFuncOptions().stride(s).padding((k - 1) / 2).groups(options_.groups()));
  }
  const auto [top, bottom] = tf_same_padding(x.size(2), k, s);
  const auto [left, right] = tf_same_padding(x.size(3), k, s);
  if (top == bottom && left == right) {
    return F::conv2d(
        x, weight, F::Conv2dFuncOptions().stride(s).padding({top, left}).groups(options_.groups()));
  }
  const auto padded = F::pad(x, F::PadFuncOptions({left, right, top, bottom}));
  return F::conv2d(padded, weight, F::Conv2dFuncOptions().stride(s).groups(options_.groups()));
}

MobileNetV2Impl::MobileNetV2Impl(MobileNetV2Options options)
    : ClassifierBackboneImpl("MobileNetV2"), options_(options) {
  HCMSN_CHECK(options_.num_classes() > 0, "MobileNetV2 num_classes must be > 0, got ",
              options_.num_classes());
  HCMSN_CHECK(options_.dropout() >= 0.0 && options_.dropout() < 1.0,
              "MobileNetV2 dropout must be in [0, 1), got ", options_.dropout());
  input_.image_size = 224;
  input_.mean = {128.0 / 255.0, 128.0 / 255.0, 128.0 / 255.0};
  input_.std = {128.0 / 255.0, 128.0 / 255.0, 128.0 / 255.0};

  const bool tf_same = options_.tf_same_padding();
  // (expansion t, channels c, repeats n, first stride s), torchvision's table.
  constexpr std::array<std::array<int64_t, 4>, 7> kSettings = {{{1, 16, 1, 1},
                                                                {6, 24, 2, 2},
                                                                {6, 32, 3, 2},
                                                                {6, 64, 4, 2},
                                                                {6, 96, 3, 1},
                                                                {6, 160, 3, 2},
                                                                {6, 320, 1, 1}}};
  torch::nn::Sequential features;
  features->push_back(conv_bn_relu6(3, 32, 3, 2, 1, tf_same));
  int64_t in = 32;
  for (const auto& [t, c, n, s] : kSettings) {
    for (int64_t i = 0; i < n; ++i) {
      features->push_back(InvertedResidual(in, c, i == 0 ? s : 1, t, tf_same));
      in = c;
    }
  }
  features->push_back(conv_bn_relu6(in, kFeatureDim, 1, 1, 1, tf_same));
  features_ = register_module("features", features);

  torch::nn::Sequential classifier;
  classifier->push_back(torch::nn::Dropout(options_.dropout()));
  torch::nn::Linear linear(kFeatureDim, options_.num_classes());
  {
    torch::NoGradGuard no_grad;  // torchvision: normal(0, 0.01), zero bias
    linear->weight.normal_(0.0, 0.01);
    linear->bias.zero_();
  }
  classifier->push_back(linear);
  classifier_ = register_module("classifier", classifier);
}

torch::Tensor MobileNetV2Impl::feature_map(const torch::Tensor& images) {
  check_images(images);
  return features_->forward(images);
}

torch::Tensor MobileNetV2Impl::forward(const torch::Tensor& images) {
  return feature_map(images).mean({2, 3});
}

torch::Tensor MobileNetV2Impl::logits(const torch::Tensor& images) {
  return classifier_->forward(forward(images));
}

}  // namespace hcmsn::vision
