// Mixed precision (util/precision.h): names parse, the autocast guard turns bf16 autocast on for
// its scope and restores the state before it (nested too), fp32 leaves everything alone, and a
// bf16 MobileNetV2 forward and backward (which needs the clamp-based ReLU6 on LibTorch 1.13)
// follows the float32 one: features, loss and gradients within bfloat16's rounding.
#include "hcmsn/util/precision.h"

#include <gtest/gtest.h>

#include "hcmsn/model/losses.h"
#include "hcmsn/model/retrieval_network.h"
#include "hcmsn/vision/pretrained.h"
#include "support/test_support.h"

namespace hcmsn::util {
namespace {

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kFloat64).flatten();
  const auto y = b.to(torch::kFloat64).flatten();
  return (x.dot(y) / (x.norm() * y.norm())).item<double>();
}

TEST(Precision, NamesParse) {
  EXPECT_EQ(parse_precision("fp32"), Precision::kFloat32);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBFloat16);
  EXPECT_EQ(to_string(Precision::kBFloat16), "bf16");
  for (const char* bad : {"", "fp16", "BF16", "bfloat16"}) {
    EXPECT_TRUE(test::contains(test::error_of([&] { parse_precision(bad); }), "use fp32 or bf16"))
        << bad;
  }
}

TEST(Precision, GuardScopesAutocastAndRestoresIt) {
  ASSERT_FALSE(autocast_enabled(torch::kCPU));
  const auto a = torch::randn({4, 8});
  const auto b = torch::randn({8, 3});
  {
    AutocastGuard fp32(torch::kCPU, Precision::kFloat32);
    EXPECT_FALSE(autocast_enabled(torch::kCPU));
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32);
  }
  {
    AutocastGuard outer(torch::kCPU, Precision::kBFloat16);
    EXPECT_TRUE(autocast_enabled(torch::kCPU));
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    {
      AutocastGuard inner(torch::kCPU, Precision::kBFloat16);
      EXPECT_TRUE(autocast_enabled(torch::kCPU));
    }
    EXPECT_TRUE(autocast_enabled(torch::kCPU));  // the outer scope is still on
    // Ops autocast does not list keep float32.
    EXPECT_EQ((a + 1).scalar_type(), torch::kFloat32);
  }
  EXPECT_FALSE(autocast_enabled(torch::kCPU));
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32);
}

TEST(Precision, Bf16BackboneStepFollowsTheFloat32Step) {
  torch::manual_seed(3);
  auto backbone = vision::make_backbone("mobilenet_v2");
  const auto options = model::HCMSNModelOptions(3)
                           .in_dim(backbone->out_dim())
                           .hidden(32)
                           .dim(8)
                           .sem_dim(6)
                           .dropout(0.0);
  model::RetrievalNetwork network(options, backbone);
  network->train();
  // Frozen BatchNorm, as the shared weights need: eval-mode statistics, so both passes see the
  // same normalisation.
  for (auto& m : network->backbone()->modules(false)) {
    if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get()) != nullptr) m->eval();
  }
  const auto pixels = torch::randint(0, 256, {6, 3, 32, 32}).to(torch::kUInt8);
  const auto modality = torch::tensor({0, 1, 0, 1, 0, 1});
  const auto labels = torch::tensor({0, 0, 1, 1, 2, 2});
  const auto w = torch::randn({3, 6});

  struct Pass {
    torch::Tensor v, grad;
    double loss = 0;
  };
  const auto pass = [&](Precision precision) {
    network->set_precision(precision);
    network->zero_grad();
    const auto out = network->forward(pixels, modality);
    model::LossOptions loss;
    loss.lambda_adv(0);
    auto total = model::total_loss(*network->hcmsn(), out, labels, modality, w, loss).total;
    total.backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : network->backbone()->parameters()) {
      if (p.grad().defined()) grads.push_back(p.grad().flatten().clone());
    }
    return Pass{network->backbone_features(pixels).detach(), torch::cat(grads),
                total.item<double>()};
  };
  const auto fp32 = pass(Precision::kFloat32);
  const auto bf16 = pass(Precision::kBFloat16);
  EXPECT_EQ(bf16.v.scalar_type(), torch::kFloat32);  // cast back for the heads
  EXPECT_FALSE(autocast_enabled(torch::kCPU));
  EXPECT_GT((bf16.v - fp32.v).abs().max().item<double>(), 0.0);  // bf16 really ran
  EXPECT_GT(cosine(bf16.v, fp32.v), 0.999);
  EXPECT_NEAR(bf16.loss, fp32.loss, 0.02 * std::abs(fp32.loss));
  // bfloat16 keeps 8 bits of mantissa through ~50 layers of a random network: the gradient's
  // direction agrees to about 0.96 here (a broken cast or a dropped term gives far less).
  EXPECT_GT(cosine(bf16.grad, fp32.grad), 0.93);
}

}  // namespace
}  // namespace hcmsn::util
