// S and D (hcmsn/model/semantic_embedding_net.h) and R (reconstruction_net.h): shapes, dtype
// and dimension errors.
#include "hcmsn/model/semantic_embedding_net.h"

#include <gtest/gtest.h>

#include "hcmsn/model/reconstruction_net.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::model {
namespace {

TEST(ModelSemanticNet, MapsFeaturesToTheSemanticSpace) {
  SemanticEmbeddingNet s_net(SemanticEmbeddingNetOptions(8, 300).hidden(16));
  const auto s = s_net->forward(torch::randn({5, 8}));
  EXPECT_EQ(s.sizes(), (std::vector<int64_t>{5, 300}));
  EXPECT_TRUE(torch::isfinite(s).all().item<bool>());
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               s_net->forward(torch::randn({5, 9}));
                             }),
                             "(batch, 8)"));
}

TEST(ModelDiscriminator, OneLogitPerRow) {
  Discriminator d(DiscriminatorOptions(12).hidden(16));
  const auto logits = d->forward(torch::randn({7, 12}));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{7}));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               d->forward(torch::randn({7, 768}));
                             }),
                             "(batch, 12)"));
  test::error_of([] { Discriminator(DiscriminatorOptions(12).negative_slope(-1)); });
}

TEST(ModelReconstructionNet, MapsSemanticsBackToFeatures) {
  ReconstructionNet r(ReconstructionNetOptions(12, 8).hidden(16));
  EXPECT_EQ(r->forward(torch::randn({3, 12})).sizes(), (std::vector<int64_t>{3, 8}));
  r->to(torch::kFloat64);
  EXPECT_EQ(r->forward(torch::randn({3, 12}, torch::kFloat64)).scalar_type(), torch::kFloat64);
  EXPECT_TRUE(test::contains(test::error_of([&] { r->forward(torch::randn({3, 12})); }), "dtype"));
  test::error_of([&] { r->forward(torch::randn({3, 8}, torch::kFloat64)); });
}

}  // namespace
}  // namespace hcmsn::model
