// Golden tests of MobileNetV2 and ResNet-50 against torchvision 0.14 itself
// (tests/reference/make_backbone_golden.py): state-dict names and shapes, pooled features and
// logits of formula inputs — MobileNetV2 with the shared pretrained weights in both paddings,
// ResNet-50 with formula weights that both sides build.
//
// Tolerance: both sides run the same float32 operations; only the summation order differs
// (threads, SIMD, another LibTorch version), ~1e-6 relative per layer over ~50 layers. So values
// must agree to 1e-4 relative to their scale (max(1, |value|)), far below the changes a wrong
// weight, padding or layer order makes (the two MobileNetV2 paddings differ by ~1 in the logits).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "hcmsn/io/state_dict.h"
#include "hcmsn/vision/mobilenet_v2.h"
#include "hcmsn/vision/pretrained.h"
#include "hcmsn/vision/resnet.h"
#include "support/test_support.h"
#include "unit/vision/vision_test_helpers.h"

namespace hcmsn::vision {
namespace {

using ::hcmsn::test::read_json;

constexpr double kRelTol = 1e-4;

void expect_close(double actual, double expected, const std::string& what) {
  EXPECT_NEAR(actual, expected, kRelTol * std::max(1.0, std::abs(expected))) << what;
}

// Compares pooled features and logits (at the reference top-5 indices) with one golden case.
void expect_matches_golden(ClassifierBackboneImpl& net, const torch::Tensor& x,
                           const nlohmann::json& golden, const std::string& label) {
  torch::NoGradGuard no_grad;
  const auto pooled = net.forward(x);
  const auto logits = net.logits(x);
  ASSERT_EQ(pooled.size(0), static_cast<int64_t>(golden["pooled_norm"].size())) << label;
  for (int64_t b = 0; b < pooled.size(0); ++b) {
    const std::string at = label + " item " + std::to_string(b);
    const auto& head = golden["pooled_head"][b];
    for (size_t j = 0; j < head.size(); ++j)
      expect_close(pooled[b][static_cast<int64_t>(j)].item<double>(), head[j].get<double>(),
                   at + " pooled[" + std::to_string(j) + "]");
    expect_close(pooled[b].norm().item<double>(), golden["pooled_norm"][b].get<double>(),
                 at + " pooled norm");
    expect_close(pooled[b].mean().item<double>(), golden["pooled_mean"][b].get<double>(),
                 at + " pooled mean");
    const auto& top_index = golden["top5_index"][b];
    const auto& top_logit = golden["top5_logit"][b];
    for (size_t j = 0; j < top_index.size(); ++j)
      expect_close(logits[b][top_index[j].get<int64_t>()].item<double>(),
                   top_logit[j].get<double>(), at + " logit of class " + top_index[j].dump());
  }
}

void expect_state_dict_equals_torchvision(const torch::nn::Module& net, const std::string& name) {
  const auto keys = read_json(hcmsn::test::fixture("backbone_state_dict_keys.json"))[name];
  std::map<std::string, std::vector<int64_t>> expected, actual;
  for (const auto& entry : keys) expected[entry[0]] = entry[1].get<std::vector<int64_t>>();
  for (const auto& [key, tensor] : io::module_state_dict(net)) actual[key] = tensor.sizes().vec();
  EXPECT_EQ(actual.size(), keys.size()) << name;
  EXPECT_EQ(actual, expected) << name;
}

TEST(BackboneGoldenTest, StateDictNamesAndShapesEqualTorchvision) {
  expect_state_dict_equals_torchvision(MobileNetV2Impl(), "mobilenet_v2");
  expect_state_dict_equals_torchvision(ResNet50Impl(), "resnet50");
  // torchvision 0.14 counts, BatchNorm counters included.
  EXPECT_EQ(io::module_state_dict(MobileNetV2Impl()).size(), 314u);
  EXPECT_EQ(io::module_state_dict(ResNet50Impl()).size(), 320u);
}

TEST(BackboneGoldenTest, TfSamePaddingFormula) {
  // Even sizes pad (0, 1) for a stride-2 3×3 conv, odd sizes (1, 1); stride 1 is symmetric.
  EXPECT_EQ(tf_same_padding(224, 3, 2), (std::pair<int64_t, int64_t>{0, 1}));
  EXPECT_EQ(tf_same_padding(7, 3, 2), (std::pair<int64_t, int64_t>{1, 1}));
  EXPECT_EQ(tf_same_padding(112, 3, 1), (std::pair<int64_t, int64_t>{1, 1}));
  EXPECT_EQ(tf_same_padding(112, 1, 1), (std::pair<int64_t, int64_t>{0, 0}));
  EXPECT_EQ(tf_same_padding(5, 4, 2), (std::pair<int64_t, int64_t>{1, 2}));
}

TEST(BackboneGoldenTest, ResNet50WithFormulaWeightsMatchesTorchvision) {
  const auto golden = read_json(hcmsn::test::fixture("backbone_golden.json"))["resnet50"];
  const auto keys = read_json(hcmsn::test::fixture("backbone_state_dict_keys.json"))["resnet50"];
  io::StateDict dict;
  int64_t k = 0;
  for (const auto& entry : keys) {
    const std::string name = entry[0];
    dict.emplace_back(name, test::formula_tensor(name, entry[1].get<std::vector<int64_t>>(), k++));
  }
  ResNet50 net;
  io::load_state_dict(*net, dict);
  net->eval();
  expect_matches_golden(*net, test::formula_input(2, 224, 224), golden["224x224"], "resnet50");
}

TEST(BackboneGoldenTest, MobileNetV2WithSharedWeightsMatchesTorchvisionInBothPaddings) {
  const std::string weights = hcmsn::test::shared("weights/mobilenet_v2_imagenet.safetensors");
  if (!std::filesystem::exists(weights)) GTEST_SKIP() << "no shared weights at " << weights;
  const auto golden = read_json(hcmsn::test::fixture("backbone_golden.json"))["mobilenet_v2"];
  for (const bool tf_same : {true, false}) {
    BackboneFactoryOptions options;
    options.tf_same_padding = tf_same;
    const auto net = load_pretrained_backbone("mobilenet_v2", weights, options);
    const std::string padding = tf_same ? "tf_same" : "torchvision";
    expect_matches_golden(*net, test::formula_input(2, 224, 224), golden[padding + "_224x224"],
                          padding + " 224x224");
    // Odd sizes on the way (161 → 81 → 41 ...): the general TF-SAME formula.
    expect_matches_golden(*net, test::formula_input(1, 161, 190), golden[padding + "_161x190"],
                          padding + " 161x190");
  }
}

}  // namespace
}  // namespace hcmsn::vision
