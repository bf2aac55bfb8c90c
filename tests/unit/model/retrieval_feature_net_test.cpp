// F (hcmsn/model/retrieval_feature_net.h): shapes for each modality and mixed batches, row
// routing (a mixed batch equals its rows computed per modality), gradients only into the
// input layers that were used, and input errors.
#include "hcmsn/model/retrieval_feature_net.h"

#include <gtest/gtest.h>

#include "hcmsn/util/check.h"
#include "support/test_support.h"
#include "unit/model/model_test_helpers.h"

namespace hcmsn::model {
namespace {

using testing::has_grad;
using testing::no_grad;

RetrievalFeatureNet make_net() {
  torch::manual_seed(1);
  return RetrievalFeatureNet(RetrievalFeatureNetOptions(10, 24, 8).dropout(0.5));
}

torch::Tensor modalities(std::vector<int64_t> m) {
  return torch::tensor(m);
}

TEST(ModelFeatureNet, ShapesForEachModalityAndMixedBatches) {
  auto net = make_net();
  const auto v = torch::randn({5, 10});
  for (const auto& m : {torch::full({5}, kSketch, torch::kInt64),
                        torch::full({5}, kPhoto, torch::kInt64), modalities({0, 1, 1, 0, 1})}) {
    const auto f = net->forward(v, m);
    EXPECT_EQ(f.sizes(), (std::vector<int64_t>{5, 8}));
    EXPECT_EQ(f.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::isfinite(f).all().item<bool>());
  }
  EXPECT_EQ(net->forward(torch::randn({0, 10}), torch::zeros({0}, torch::kInt64)).sizes(),
            (std::vector<int64_t>{0, 8}));
}

TEST(ModelFeatureNet, MixedBatchRowsEqualPerModalityRows) {
  auto net = make_net();
  net->eval();  // no dropout: the same row must give the same features
  const auto v = torch::randn({6, 10});
  const auto m = modalities({1, 0, 0, 1, 1, 0});
  const auto mixed = net->forward(v, m);
  const auto as_sketch = net->forward(v, torch::full({6}, kSketch, torch::kInt64));
  const auto as_photo = net->forward(v, torch::full({6}, kPhoto, torch::kInt64));
  for (int64_t i = 0; i < 6; ++i) {
    const auto& expected = m[i].item<int64_t>() == kSketch ? as_sketch : as_photo;
    EXPECT_TRUE(torch::allclose(mixed[i], expected[i], 1e-6, 1e-6)) << "row " << i;
  }
  // The modality-specific layers differ, so the modality matters.
  EXPECT_FALSE(torch::allclose(as_sketch, as_photo));
}

TEST(ModelFeatureNet, GradientsReachOnlyTheInputLayersUsed) {
  auto net = make_net();
  const auto v = torch::randn({4, 10});
  const auto params = net->named_parameters();

  net->forward(v, modalities({0, 1, 0, 1})).pow(2).sum().backward();
  for (const auto& p : params) EXPECT_TRUE(has_grad(p.value())) << p.key();

  net->zero_grad();
  net->forward(v, torch::full({4}, kSketch, torch::kInt64)).pow(2).sum().backward();
  for (const auto& p : params) {
    if (p.key().rfind("photo_in.", 0) == 0) {
      EXPECT_TRUE(no_grad(p.value())) << p.key();
    } else {
      EXPECT_TRUE(has_grad(p.value())) << p.key();
    }
  }
}

TEST(ModelFeatureNet, BadInputsThrow) {
  auto net = make_net();
  const auto m = modalities({0, 1, 0});
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               net->forward(torch::randn({3, 11}), m);
                             }),
                             "(batch, 10)"));
  test::error_of([&] { net->forward(torch::randn({10}), torch::zeros({1}, torch::kInt64)); });
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               net->forward(torch::randn({3, 10}), modalities({0, 2, 1}));
                             }),
                             "modality values"));
  test::error_of([&] { net->forward(torch::randn({3, 10}), modalities({0, -1, 1})); });
  test::error_of([&] { net->forward(torch::randn({3, 10}), modalities({0, 1})); });
  test::error_of([&] { net->forward(torch::randn({3, 10}), torch::zeros({3}, torch::kInt32)); });
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               net->forward(torch::randn({3, 10}, torch::kFloat64), m);
                             }),
                             "dtype"));
  test::error_of([] { RetrievalFeatureNet(RetrievalFeatureNetOptions(0, 4, 4)); });
  test::error_of([] { RetrievalFeatureNet(RetrievalFeatureNetOptions(4, 4, 4).dropout(1.0)); });
}

}  // namespace
}  // namespace hcmsn::model
