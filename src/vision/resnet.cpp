#include "hcmsn/vision/resnet.h"

#include "hcmsn/util/check.h"

namespace hcmsn::vision {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in, int64_t width, int64_t stride) {
    const int64_t out = width * kExpansion;
    conv1_ = register_module("conv1", conv(in, width, 1, 1));
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(width));
    conv2_ = register_module("conv2", conv(width, width, 3, stride));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(width));
    conv3_ = register_module("conv3", conv(width, out, 1, 1));
    bn3_ = register_module("bn3", torch::nn::BatchNorm2d(out));
    if (stride != 1 || in != out) {
      downsample_ = register_module(
          "downsample",
          torch::nn::Sequential(conv(in, out, 1, stride), torch::nn::BatchNorm2d(out)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = F::relu(bn1_->forward(conv1_->forward(x)));
    y = F::relu(bn2_->forward(conv2_->forward(y)));
    y = bn3_->forward(conv3_->forward(y));
    return F::relu(y + (downsample_ ? downsample_->forward(x) : x));
  }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(Bottleneck);

torch::nn::Sequential make_layer(int64_t& in, int64_t width, int64_t blocks, int64_t stride) {
  torch::nn::Sequential layer;
  for (int64_t i = 0; i < blocks; ++i) {
    layer->push_back(Bottleneck(in, width, i == 0 ? stride : 1));
    in = width * BottleneckImpl::kExpansion;
  }
  return layer;
}

}  // namespace

ResNet50Impl::ResNet50Impl(ResNet50Options options)
    : ClassifierBackboneImpl("ResNet50"), options_(options) {
  HCMSN_CHECK(options_.num_classes() > 0, "ResNet50 num_classes must be > 0, got ",
              options_.num_classes());
  input_.image_size = 224;
  input_.mean = {0.485, 0.456, 0.406};
  input_.std = {0.229, 0.224, 0.225};
  conv1_ = register_module(
      "conv1",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(64));
  int64_t in = 64;
  layer1_ = register_module("layer1", make_layer(in, 64, 3, 1));
  layer2_ = register_module("layer2", make_layer(in, 128, 4, 2));
  layer3_ = register_module("layer3", make_layer(in, 256, 6, 2));
  layer4_ = register_module("layer4", make_layer(in, 512, 3, 2));
  fc_ = register_module("fc", torch::nn::Linear(in, options_.num_classes()));
  // torchvision init: kaiming normal (fan_out) for convs, BN weight 1 / bias 0 (the defaults).
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    if (p.value().dim() == 4) torch::nn::init::kaiming_normal_(p.value(), 0.0, torch::kFanOut);
  }
}

torch::Tensor ResNet50Impl::forward(const torch::Tensor& images) {
  HCMSN_CHECK(images.dim() == 4 && images.size(1) == 3,
              "ResNet50 expects images of shape (B, 3, H, W), got ", images.sizes());
  HCMSN_CHECK(images.scalar_type() == torch::kFloat32,
              "ResNet50 expects float32 images (normalised pixels), got ", images.scalar_type());
  HCMSN_CHECK(images.size(2) >= 32 && images.size(3) >= 32,
              "ResNet50 needs images of at least 32×32 pixels, got ", images.size(2), "×",
              images.size(3));
  auto x = F::relu(bn1_->forward(conv1_->forward(images)));
  x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  x = layer4_->forward(layer3_->forward(layer2_->forward(layer1_->forward(x))));
  return x.mean({2, 3});
}

torch::Tensor ResNet50Impl::logits(const torch::Tensor& images) {
  return fc_->forward(forward(images));
}

}  // namespace hcmsn::vision
