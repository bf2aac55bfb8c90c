// Tests of the small CNN backbone and of the pixel normalisation in front of every backbone:
// shapes, exact normalised values, input errors, and gradient flow to every parameter.
#include "hcmsn/model/small_cnn.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "hcmsn/model/retrieval_network.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::model {
namespace {

SmallCNNOptions tiny_cnn() {
  ImageInputOptions input;
  input.image_size = 16;
  return SmallCNNOptions().channels({4, 8}).convs_per_stage(2).out_dim(6).input(input);
}

TEST(SmallCNNTest, OutputShapeForSeveralSizes) {
  torch::manual_seed(0);
  SmallCNN cnn(tiny_cnn());
  EXPECT_EQ(cnn->out_dim(), 6);
  EXPECT_EQ(cnn->kind(), "small-cnn");
  for (const int64_t side : {4, 16, 21}) {
    const auto out = cnn->forward(torch::randn({3, 3, side, side}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 6})) << side;
    EXPECT_EQ(out.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  }
  cnn->eval();
  EXPECT_EQ(cnn->forward(torch::randn({1, 3, 16, 12})).sizes(), (std::vector<int64_t>{1, 6}));
}

TEST(SmallCNNTest, WithoutHeadTheFeaturesAreThePooledChannels) {
  torch::manual_seed(0);
  SmallCNN cnn(SmallCNNOptions(tiny_cnn()).out_dim(0).convs_per_stage(1));
  EXPECT_EQ(cnn->out_dim(), 8);
  EXPECT_EQ(cnn->forward(torch::randn({2, 3, 16, 16})).sizes(), (std::vector<int64_t>{2, 8}));
  // Per stage one conv (weight) and one BatchNorm (weight, bias); no Linear.
  EXPECT_EQ(cnn->parameters().size(), 2u * 3);
  // The pooled features of a ReLU network are >= 0 (nothing after the pooling).
  cnn->eval();
  EXPECT_GE(cnn->forward(torch::randn({2, 3, 16, 16})).min().item<double>(), 0.0);
}

TEST(SmallCNNTest, NormalisePixelsExactValues) {
  ImageInputOptions o;
  o.mean = {0.5, 0.25, 0.0};
  o.std = {0.25, 0.5, 2.0};
  auto pixels = torch::zeros({2, 3, 1, 2}, torch::kUInt8);
  const uint8_t values[2][3][2] = {{{0, 255}, {51, 102}, {255, 1}}, {{128, 64}, {0, 200}, {17, 0}}};
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c)
      for (int x = 0; x < 2; ++x) pixels[b][c][0][x] = values[b][c][x];
  const auto out = normalise_pixels(pixels, o);
  ASSERT_EQ(out.sizes(), pixels.sizes());
  ASSERT_EQ(out.scalar_type(), torch::kFloat32);
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c)
      for (int x = 0; x < 2; ++x) {
        const double expected = (values[b][c][x] / 255.0 - o.mean[c]) / o.std[c];
        EXPECT_NEAR(out[b][c][0][x].item<double>(), expected, 1e-6) << b << c << x;
      }
  // Landmarks of the default input: 0 → −2, 255 → +2.
  const auto d =
      normalise_pixels(torch::tensor({0, 255, 0, 255, 0, 255}, torch::kUInt8).view({1, 3, 1, 2}),
                       ImageInputOptions{});
  EXPECT_NEAR(d[0][1][0][0].item<double>(), -2.0, 1e-6);
  EXPECT_NEAR(d[0][2][0][1].item<double>(), 2.0, 1e-6);
  // The input is not modified.
  EXPECT_EQ(pixels[0][0][0][1].item<int64_t>(), 255);
}

TEST(SmallCNNTest, RejectsBadInputs) {
  SmallCNN cnn(tiny_cnn());  // two stages: needs 4×4 at least
  const std::string small = test::error_of([&] { cnn->forward(torch::randn({1, 3, 3, 8})); });
  EXPECT_TRUE(test::contains(small, "at least 4")) << small;
  test::error_of([&] { cnn->forward(torch::randn({1, 3, 8, 3})); });
  test::error_of([&] { cnn->forward(torch::randn({1, 1, 8, 8})); });
  test::error_of([&] { cnn->forward(torch::randn({3, 8, 8})); });
  const ImageInputOptions o;
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               normalise_pixels(torch::zeros({1, 3, 4, 4}, torch::kFloat32), o);
                             }),
                             "uint8"));
  test::error_of([&] { normalise_pixels(torch::zeros({1, 4, 4, 4}, torch::kUInt8), o); });
  test::error_of([&] { normalise_pixels(torch::zeros({3, 4, 4}, torch::kUInt8), o); });

  // Through the retrieval network, which normalises uint8 images before the backbone.
  auto backbone = std::make_shared<SmallCNNImpl>(SmallCNNOptions(tiny_cnn()).out_dim(8));
  RetrievalNetwork net(HCMSNModelOptions(3).in_dim(8).hidden(16).dim(8).sem_dim(6).disc_hidden(8),
                       backbone);
  const auto m = torch::tensor({0, 1}, torch::kInt64);
  test::error_of([&] { net->embed(torch::zeros({2, 3, 16, 16}, torch::kFloat32), m); });
  test::error_of([&] { net->embed(torch::zeros({2, 1, 16, 16}, torch::kUInt8), m); });
  test::error_of([&] { net->embed(torch::zeros({2, 3, 2, 2}, torch::kUInt8), m); });
  // A backbone whose out_dim does not match in_dim.
  test::error_of([&] {
    RetrievalNetwork(HCMSNModelOptions(3).in_dim(9).hidden(16).dim(8).sem_dim(6).disc_hidden(8),
                     backbone);
  });
}

TEST(SmallCNNTest, RejectsBadOptions) {
  test::error_of([] { SmallCNN(SmallCNNOptions().channels({})); });
  test::error_of([] { SmallCNN(SmallCNNOptions().channels({4, 0})); });
  test::error_of([] { SmallCNN(SmallCNNOptions().out_dim(-1)); });
  test::error_of([] { SmallCNN(SmallCNNOptions().convs_per_stage(0)); });
}

TEST(SmallCNNTest, GradientsReachEveryParameter) {
  torch::manual_seed(1);
  SmallCNN cnn(tiny_cnn());
  cnn->train();
  const auto x =
      normalise_pixels(torch::randint(0, 256, {4, 3, 16, 16}, torch::kUInt8), cnn->input_options());
  const auto target = torch::randn({4, 6});
  (cnn->forward(x) - target).pow(2).sum().backward();
  const auto named = cnn->named_parameters();
  // Per stage and conv: the conv's weight and the BatchNorm's weight and bias; then the head.
  EXPECT_EQ(named.size(), 2u * 2 * 3 + 2);
  for (const auto& p : named) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  // BatchNorm tracks running statistics in training mode.
  for (const auto& b : cnn->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) {
      EXPECT_GT(b.value().abs().sum().item<double>(), 0.0) << b.key();
    }
  }
}

}  // namespace
}  // namespace hcmsn::model
