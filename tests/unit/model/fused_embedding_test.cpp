// The fused retrieval embedding (model/fused_embedding.h): its distance against the weighted sum
// worked out by hand, the backbone-only weights ranking exactly as the backbone's cosine, the
// ball constraint, the weight grid and errors; and the model's fused embed().
#include "hcmsn/model/fused_embedding.h"

#include <gtest/gtest.h>

#include <cmath>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/model/hcmsn_model.h"
#include "model_test_helpers.h"
#include "support/test_support.h"

namespace hcmsn::model {
namespace {

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  return (x * y).sum().item<double>() / (x.norm().item<double>() * y.norm().item<double>());
}

TEST(FusedEmbedding, EuclideanDistanceIsTheWeightedSumOfTheThreeParts) {
  torch::manual_seed(2);
  const auto v = torch::randn({2, 7}), s = torch::randn({2, 3}), h = 0.3 * torch::randn({2, 4});
  const FusionWeights w{0.5, 0.3, 0.2, 0.5};
  const auto z = fuse_embedding(v, s, h, w, 0.0);
  ASSERT_EQ(z.sizes(), (torch::IntArrayRef{2, 14}));
  const double d2 = (z[0] - z[1]).to(torch::kFloat64).pow(2).sum().item<double>();
  const double expected =
      2 * 0.5 * (1 - cosine(v[0], v[1])) + 2 * 0.3 * (1 - cosine(s[0], s[1])) +
      0.2 * 0.25 * (h[0] - h[1]).to(torch::kFloat64).pow(2).sum().item<double>();
  EXPECT_NEAR(d2, expected, 1e-5);
}

TEST(FusedEmbedding, ScaleOfHMakesItsMeanPairDistanceThatOfOrthogonalUnitVectors) {
  // Three points on a line at 0, 1, 3: squared pair distances 1, 9, 4, mean 14/3.
  const auto h = torch::tensor({0.0, 1.0, 3.0}, torch::kFloat64).view({3, 1});
  EXPECT_NEAR(hyperbolic_scale(h), std::sqrt(2.0 / (14.0 / 3.0)), 1e-12);
  EXPECT_EQ(hyperbolic_scale(torch::ones({4, 2})), 1.0);  // all equal: left as it is
  torch::manual_seed(3);
  const auto x = torch::randn({50, 4}, torch::kFloat64) * 7;
  const double k = hyperbolic_scale(x);
  EXPECT_NEAR(torch::cdist(x * k, x * k).pow(2).sum().item<double>() / (50.0 * 49.0), 2.0, 1e-9);
  EXPECT_TRUE(test::contains(test::error_of([] {
                               hyperbolic_scale(torch::ones({1, 2}));
                             }),
                             "two points"));
  EXPECT_TRUE(test::contains(test::error_of([] {
                               fuse_embedding(torch::ones({1, 2}), torch::ones({1, 2}),
                                              torch::ones({1, 2}), {0, 0, 1, 0}, 0.0);
                             }),
                             "scale of h"));
}

TEST(FusedEmbedding, BackboneOnlyWeightsRankExactlyAsTheBackboneCosine) {
  torch::manual_seed(4);
  const int64_t n = 40;
  const auto v = torch::randn({n, 16}), s = torch::randn({n, 5}), h = 0.5 * torch::randn({n, 6});
  for (double c : {0.0, 0.01, 1.0}) {
    const auto z = fuse_embedding(v, s, h, {1, 0, 0}, c);
    const auto d = c > 0 ? geometry::distance_matrix(z.narrow(0, 0, 1), z, geometry::Curvature(c))
                         : torch::cdist(z.narrow(0, 0, 1), z);
    std::vector<double> cosines;
    for (int64_t i = 0; i < n; ++i) cosines.push_back(cosine(v[0], v[i]));
    // Larger cosine ⇔ smaller distance, for every pair of gallery rows.
    for (int64_t i = 1; i < n; ++i) {
      for (int64_t j = 1; j < n; ++j) {
        if (cosines[i] > cosines[j] + 1e-6) {
          EXPECT_LT(d[0][i].item<double>(), d[0][j].item<double>()) << "c " << c;
        }
      }
    }
  }
}

TEST(FusedEmbedding, StaysInsideTheBallForEveryWeightAndCurvature) {
  torch::manual_seed(6);
  for (double c : {0.01, 0.5, 1.0, 4.0}) {
    // h near the boundary of its own ball.
    auto h = torch::randn({8, 6});
    h = h / h.norm(2, 1, true) * (0.999 / std::sqrt(c));
    for (const auto& w : fusion_grid(4)) {
      const auto z = fuse_embedding(torch::randn({8, 9}), torch::randn({8, 3}), h, w, c);
      EXPECT_LT(z.pow(2).sum(1).max().item<double>() * c, 1.0) << to_string(w) << " c " << c;
      EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
    }
  }
}

TEST(FusedEmbedding, GridCoversTheSimplexAndWeightsParse) {
  const auto grid = fusion_grid(10);
  EXPECT_EQ(grid.size(), 66u);  // (n + 1)(n + 2) / 2
  for (const auto& w : grid) EXPECT_NEAR(w.backbone + w.semantic + w.hyperbolic, 1.0, 1e-12);
  EXPECT_EQ(grid.front().hyperbolic, 1.0);
  EXPECT_EQ(grid.back().backbone, 1.0);
  const auto w = parse_fusion_weights("0.5,0.25,0.25");
  EXPECT_EQ(w.backbone, 0.5);
  EXPECT_EQ(w.semantic, 0.25);
  EXPECT_EQ(to_string(w), "0.5,0.25,0.25");
  EXPECT_TRUE(
      test::contains(test::error_of([] { parse_fusion_weights("0.5,0.5"); }), "three numbers"));
  EXPECT_TRUE(
      test::contains(test::error_of([] { parse_fusion_weights("0.5,x,0.5"); }), "not a number"));
  EXPECT_TRUE(
      test::contains(test::error_of([] { parse_fusion_weights("0.9,0.9,-0.8"); }), "non-negative"));
  EXPECT_TRUE(
      test::contains(test::error_of([] { parse_fusion_weights("0.2,0.2,0.2"); }), "sum to 1"));
  EXPECT_TRUE(test::contains(
      test::error_of([] {
        fuse_embedding(torch::randn({2, 3}), torch::randn({3, 3}), torch::randn({2, 3}), {}, 0.0);
      }),
      "same rows"));
}

TEST(FusedEmbedding, ModelEmbedsSketchesBySAndPhotosByTheBridge) {
  const auto o = testing::tiny_options().teacher_classes(5).conse_top(3).fused_embedding(true);
  HCMSNModel model(o);
  torch::manual_seed(8);
  model->transfer()->set_teacher(torch::randn({5, o.in_dim()}), torch::randn({5}),
                                 torch::randn({5, o.sem_dim()}));
  model->eval();
  torch::NoGradGuard no_grad;
  const auto b = testing::tiny_batch(o);
  EXPECT_EQ(model->embedding_dim(), o.in_dim() + o.sem_dim() + o.dim());
  // Default weights (0, 0, 1): the h part is exactly HCMSN's own embedding, the rest is zero.
  const auto z = model->embed(b.v, b.modality);
  ASSERT_EQ(z.size(1), model->embedding_dim());
  const auto f = model->feature_net()->forward(b.v, b.modality);
  const auto h = model->projection_net()->forward(f, model->curvature());
  EXPECT_TRUE(torch::allclose(z.narrow(1, o.in_dim() + o.sem_dim(), o.dim()), h, 1e-6, 1e-6));
  EXPECT_EQ(z.narrow(1, 0, o.in_dim() + o.sem_dim()).abs().max().item<double>(), 0.0);
  // Semantic weight only: sketches carry S(f)/‖S(f)‖, photos the normalised ConSE bridge.
  model->set_fusion({0, 1, 0});
  EXPECT_EQ(to_string(model->fusion()), "0,1,0");
  const auto zs = model->embed(b.v, b.modality).narrow(1, o.in_dim(), o.sem_dim());
  const auto s = model->semantic_net()->forward(f);
  const auto bridge = model->transfer()->bridge(b.v);
  for (int64_t r = 0; r < b.v.size(0); ++r) {
    const auto expected = b.modality[r].item<int64_t>() == kPhoto ? bridge[r] : s[r];
    EXPECT_TRUE(torch::allclose(zs[r], expected / expected.norm(), 1e-5, 1e-6)) << "row " << r;
  }
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               model->set_fusion({0.5, 0.6, 0});
                             }),
                             "sum to 1"));
  HCMSNModel plain(testing::tiny_options());
  EXPECT_TRUE(test::contains(test::error_of([&] { plain->set_fusion({1, 0, 0}); }), "--fusion"));
  EXPECT_EQ(plain->embedding_dim(), o.dim());
}

}  // namespace
}  // namespace hcmsn::model
