#include "hcmsn/model/small_cnn.h"

#include "hcmsn/util/check.h"

namespace hcmsn::model {

torch::Tensor normalise_pixels(const torch::Tensor& pixels_u8, const ImageInputOptions& options) {
  HCMSN_CHECK(pixels_u8.dim() == 4 && pixels_u8.size(1) == 3,
              "expected images of shape (B, 3, H, W), got ", pixels_u8.sizes());
  HCMSN_CHECK(pixels_u8.scalar_type() == torch::kUInt8, "expected uint8 pixels, got ",
              pixels_u8.scalar_type());
  const auto mean =
      torch::tensor({options.mean[0], options.mean[1], options.mean[2]}, torch::kFloat32)
          .view({1, 3, 1, 1});
  const auto inv_std =
      torch::tensor({1.0 / options.std[0], 1.0 / options.std[1], 1.0 / options.std[2]},
                    torch::kFloat32)
          .view({1, 3, 1, 1});
  auto x = pixels_u8.to(torch::kFloat32).div_(255.0);
  return x.sub_(mean.to(x.device())).mul_(inv_std.to(x.device()));
}

SmallCNNImpl::SmallCNNImpl(SmallCNNOptions options)
    : BackboneImpl("SmallCNN"), options_(std::move(options)) {
  HCMSN_CHECK(!options_.channels().empty(), "SmallCNN needs at least one stage");
  HCMSN_CHECK(options_.out_dim() >= 0, "SmallCNN out_dim must be >= 0 (0: no projection)");
  HCMSN_CHECK(options_.convs_per_stage() > 0, "SmallCNN needs at least one conv per stage");
  torch::nn::Sequential seq;
  int64_t in = 3;
  for (const int64_t width : options_.channels()) {
    HCMSN_CHECK(width > 0, "SmallCNN channel widths must be > 0");
    for (int64_t rep = 0; rep < options_.convs_per_stage(); ++rep) {
      seq->push_back(torch::nn::Conv2d(
          torch::nn::Conv2dOptions(rep == 0 ? in : width, width, 3).padding(1).bias(false)));
      seq->push_back(torch::nn::BatchNorm2d(width));
      seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    }
    seq->push_back(torch::nn::MaxPool2d(2));
    in = width;
  }
  features_ = register_module("features", seq);
  if (options_.out_dim() > 0) {
    head_ = register_module("head", torch::nn::Linear(in, options_.out_dim()));
  }
}

torch::Tensor SmallCNNImpl::forward(const torch::Tensor& images) {
  HCMSN_CHECK(images.dim() == 4 && images.size(1) == 3,
              "SmallCNN expects images of shape (B, 3, H, W), got ", images.sizes());
  const int64_t min_side = int64_t{1} << options_.channels().size();
  HCMSN_CHECK(images.size(2) >= min_side && images.size(3) >= min_side,
              "SmallCNN needs images of at least ", min_side, "×", min_side, " pixels, got ",
              images.size(2), "×", images.size(3));
  auto x = features_->forward(images);
  x = x.mean({2, 3});
  return head_ ? head_->forward(x) : x;
}

}  // namespace hcmsn::model
