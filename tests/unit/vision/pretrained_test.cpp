// Tests of the backbone factory and weight loading: the shared MobileNetV2 weights from both file
// formats, the README's top-1 classes of its 14 test images, the padding option, strict-load
// errors, BatchNorm freezing, and class-name files.
#include "hcmsn/vision/pretrained.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/image_folder.h"
#include "hcmsn/data/transforms.h"
#include "hcmsn/io/safetensors.h"
#include "hcmsn/io/state_dict.h"
#include "hcmsn/util/check.h"
#include "hcmsn/vision/classifier_head.h"
#include "hcmsn/vision/imagenet_classes.h"
#include "hcmsn/vision/mobilenet_v2.h"
#include "support/test_support.h"
#include "unit/vision/vision_test_helpers.h"

namespace hcmsn::vision {
namespace {

using hcmsn::test::contains;
using hcmsn::test::error_of;

std::string weights_file(const std::string& ext) {
  return hcmsn::test::shared("weights/mobilenet_v2_imagenet." + ext);
}

#define SKIP_WITHOUT_SHARED_WEIGHTS()                          \
  if (!std::filesystem::exists(weights_file("safetensors")) || \
      !std::filesystem::exists(weights_file("pth")))           \
  GTEST_SKIP() << "no shared weights in " << hcmsn::test::shared("weights")

// The normalised (14, 3, 224, 224) batch of the README's test images, in table order, prepared
// as `hcmsn check-backbone` and `hcmsn extract` do: the whole image resized (bilinear, as PIL).
torch::Tensor test_image_batch(const ClassifierBackboneImpl& net) {
  data::TransformOptions transform;
  transform.size = net.input_options().image_size;
  transform.mean = net.input_options().mean;
  transform.std = net.input_options().std;
  std::vector<torch::Tensor> pixels;
  for (const auto& [image, top1] : test::expected_top1()) {
    pixels.push_back(data::eval_resize(
        data::decode_image_file(hcmsn::test::shared("weights/test_images/" + image)), transform));
  }
  return data::to_backbone_input(torch::stack(pixels), transform);
}

// The teacher of knowledge preservation: the classifier read alone, applied to the pooled
// features, gives the full network's logits (an independent path: the module's own forward).
TEST(PretrainedTest, ClassifierHeadOnPooledFeaturesEqualsTheNetworksLogits) {
  SKIP_WITHOUT_SHARED_WEIGHTS();
  const auto net = load_pretrained_backbone("mobilenet_v2", weights_file("safetensors"));
  torch::NoGradGuard no_grad;
  const auto x = test_image_batch(*net).narrow(0, 0, 4);
  const auto head = read_classifier_head("mobilenet_v2", weights_file("pth"));
  EXPECT_EQ(head.weight.sizes(), (std::vector<int64_t>{1000, 1280}));
  const auto diff = (head.logits(net->forward(x)) - net->logits(x)).abs().max().item<float>();
  EXPECT_LT(diff, 1e-3f);
  EXPECT_TRUE(contains(error_of([] { read_classifier_head("vgg16", weights_file("pth")); }),
                       "mobilenet_v2 or resnet50"));
  EXPECT_TRUE(contains(error_of([] { read_classifier_head("resnet50", weights_file("pth")); }),
                       "fc.weight"));
  EXPECT_TRUE(contains(error_of([&] { head.logits(torch::zeros({2, 7})); }), "(N, 1280)"));
}

TEST(PretrainedTest, NamesAndUnknownName) {
  EXPECT_EQ(backbone_names(), (std::vector<std::string>{"mobilenet_v2", "resnet50"}));
  EXPECT_EQ(make_backbone("mobilenet_v2")->out_dim(), 1280);
  EXPECT_EQ(make_backbone("resnet50")->out_dim(), 2048);
  EXPECT_EQ(make_backbone("resnet50")->kind(), "resnet50");
  const auto msg = error_of([] { make_backbone("vgg16"); });
  EXPECT_TRUE(contains(msg, "vgg16") && contains(msg, "mobilenet_v2, resnet50")) << msg;
}

TEST(PretrainedTest, InputOptionsAreThoseTheWeightsNeed) {
  // MobileNetV2: x = (p − 128) / 128 exactly (the TFLite input quantisation).
  const auto m = make_backbone("mobilenet_v2");
  EXPECT_EQ(m->input_options().image_size, 224);
  auto pixels = torch::tensor({0, 128, 255}, torch::kUInt8).view({1, 3, 1, 1});
  const auto x = model::normalise_pixels(pixels, m->input_options());
  EXPECT_NEAR(x[0][0][0][0].item<double>(), -1.0, 1e-6);
  EXPECT_NEAR(x[0][1][0][0].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(x[0][2][0][0].item<double>(), 127.0 / 128.0, 1e-6);
  const auto r = make_backbone("resnet50");
  EXPECT_DOUBLE_EQ(r->input_options().mean[0], 0.485);
  EXPECT_DOUBLE_EQ(r->input_options().std[2], 0.225);
}

TEST(PretrainedTest, PthAndSafetensorsLoadIdenticalTensors) {
  SKIP_WITHOUT_SHARED_WEIGHTS();
  const auto a = load_pretrained_backbone("mobilenet_v2", weights_file("pth"));
  const auto b = load_pretrained_backbone("mobilenet_v2", weights_file("safetensors"));
  EXPECT_FALSE(a->is_training());
  const auto da = io::module_state_dict(*a);
  const auto db = io::module_state_dict(*b);
  ASSERT_EQ(da.size(), db.size());
  for (size_t i = 0; i < da.size(); ++i) {
    ASSERT_EQ(da[i].first, db[i].first);
    EXPECT_TRUE(torch::equal(da[i].second, db[i].second)) << da[i].first;
  }
  // Folded BatchNorm (README): running_mean 0, running_var 1 everywhere.
  for (const auto& [name, t] : da) {
    if (contains(name, "running_mean")) {
      EXPECT_EQ(t.abs().max().item<float>(), 0.0f) << name;
    }
    if (contains(name, "running_var")) {
      EXPECT_TRUE((t == 1).all().item<bool>()) << name;
    }
  }
}

TEST(PretrainedTest, AllFourteenTestImagesGetTheReadmeTop1) {
  SKIP_WITHOUT_SHARED_WEIGHTS();
  const auto net = load_pretrained_backbone("mobilenet_v2", weights_file("safetensors"));
  const auto names = read_class_names(hcmsn::test::shared("weights/imagenet_classes.txt"));
  torch::NoGradGuard no_grad;
  const auto probs = torch::softmax(net->logits(test_image_batch(*net)), 1);
  const auto top1 = probs.argmax(1);
  int64_t i = 0;
  for (const auto& [image, expected] : test::expected_top1()) {
    const int64_t index = top1[i].item<int64_t>();
    EXPECT_EQ(names[static_cast<size_t>(index)], expected)
        << image << " (p = " << probs[i][index].item<double>() << ")";
    ++i;
  }
}

TEST(PretrainedTest, TorchvisionPaddingChangesTheFeatures) {
  SKIP_WITHOUT_SHARED_WEIGHTS();
  const auto tf = load_pretrained_backbone("mobilenet_v2", weights_file("safetensors"));
  BackboneFactoryOptions options;
  options.tf_same_padding = false;
  const auto tv = load_pretrained_backbone("mobilenet_v2", weights_file("safetensors"), options);
  torch::NoGradGuard no_grad;
  const auto x = test_image_batch(*tf);
  const auto cos = torch::cosine_similarity(tf->forward(x), tv->forward(x), 1);
  // README: pooled cosine mean 0.898, min 0.838 over these 14 images (resize224).
  EXPECT_LT(cos.mean().item<double>(), 0.95);
  EXPECT_GT(cos.min().item<double>(), 0.7);
}

TEST(PretrainedTest, StrictLoadingNamesWhatDiffers) {
  const auto dir = hcmsn::test::temp_dir("pretrained");
  io::NamedTensors good;
  for (const auto& [name, t] : io::module_state_dict(*make_backbone("mobilenet_v2")))
    good.emplace_back(name, t.clone());
  auto write_and_load = [&](const io::NamedTensors& tensors) {
    const std::string path = dir + "/w.safetensors";
    io::write_safetensors(path, tensors);
    return error_of([&] { load_pretrained_backbone("mobilenet_v2", path); });
  };
  {  // a missing tensor
    auto tensors = good;
    tensors.erase(tensors.begin());
    const auto msg = write_and_load(tensors);
    EXPECT_TRUE(contains(msg, "features.0.0.weight") && contains(msg, "missing")) << msg;
    EXPECT_TRUE(contains(msg, "w.safetensors")) << msg;
  }
  {  // an unexpected tensor
    auto tensors = good;
    tensors.emplace_back("features.19.0.weight", torch::zeros({2, 2}));
    const auto msg = write_and_load(tensors);
    EXPECT_TRUE(contains(msg, "features.19.0.weight") && contains(msg, "not in the model")) << msg;
  }
  {  // a shape mismatch: 10 classes instead of 1000
    auto tensors = good;
    for (auto& [name, t] : tensors)
      if (name == "classifier.1.weight") t = torch::zeros({10, 1280});
    const auto msg = write_and_load(tensors);
    EXPECT_TRUE(contains(msg, "classifier.1.weight") && contains(msg, "10") &&
                contains(msg, "1000"))
        << msg;
  }
  const auto msg = error_of([&] { load_pretrained_backbone("mobilenet_v2", dir + "/none.pth"); });
  EXPECT_TRUE(contains(msg, "none.pth")) << msg;
}

TEST(PretrainedTest, FrozenBatchNormStaysInEvalModeUnderTrain) {
  torch::manual_seed(0);
  const auto net = make_backbone("mobilenet_v2");  // freeze_batch_norm = true by default
  ASSERT_TRUE(net->batch_norm_frozen());
  net->train(true);
  EXPECT_TRUE(net->is_training());
  int64_t bns = 0;
  for (const auto& m : net->modules(false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      ++bns;
      EXPECT_FALSE(bn->is_training());
      EXPECT_FALSE(bn->weight.requires_grad());
      EXPECT_FALSE(bn->bias.requires_grad());
    }
  }
  EXPECT_EQ(bns, 52);
  // Pooled features (no dropout on that path) equal eval mode's, and the running statistics stay.
  const auto x = torch::randn({2, 3, 64, 64});
  const auto before = io::module_state_dict(*net);
  const auto train_out = net->forward(x);
  net->eval();
  EXPECT_TRUE(torch::allclose(train_out, net->forward(x)));
  EXPECT_TRUE(torch::equal(io::module_state_dict(*net)[2].second, before[2].second));
  // Conv weights still train.
  EXPECT_TRUE(io::module_state_dict(*net)[0].second.requires_grad());

  net->freeze_batch_norm(false);
  net->train(true);
  for (const auto& m : net->modules(false))
    if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      EXPECT_TRUE(bn->is_training());
      EXPECT_TRUE(bn->weight.requires_grad());
    }
}

TEST(PretrainedTest, ClassNameFiles) {
  if (std::filesystem::exists(hcmsn::test::shared("weights/imagenet_classes.txt"))) {
    const auto names = read_class_names(hcmsn::test::shared("weights/imagenet_classes.txt"));
    ASSERT_EQ(names.size(), 1000u);
    EXPECT_EQ(names[0], "tench");
    EXPECT_EQ(
        default_class_names_path(weights_file("pth")),
        (std::filesystem::path(hcmsn::test::shared("weights")) / "imagenet_classes.txt").string());
  }
  const auto dir = hcmsn::test::temp_dir("classes");
  std::ofstream(dir + "/ok.txt") << "a b\r\n c\n";
  EXPECT_EQ(read_class_names(dir + "/ok.txt"), (std::vector<std::string>{"a b", "c"}));
  std::ofstream(dir + "/gap.txt") << "a\n\nc\n";
  EXPECT_TRUE(contains(error_of([&] { read_class_names(dir + "/gap.txt"); }), "line 2"));
  EXPECT_TRUE(contains(error_of([&] { read_class_names(dir + "/none.txt"); }), "none.txt"));
  EXPECT_EQ(default_class_names_path(dir + "/w.pth"), "");
}

}  // namespace
}  // namespace hcmsn::vision
