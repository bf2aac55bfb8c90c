// P (hcmsn/model/projection_net.h): shapes, clipping, points inside the ball, the Euclidean
// variant at c = 0, and a float64 finite-difference gradient check in f and c.
#include "hcmsn/model/projection_net.h"

#include <gtest/gtest.h>

#include <cmath>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::model {
namespace {

using geometry::Curvature;

TEST(ModelProjectionNet, ClipsThenMapsOntoTheBall) {
  torch::manual_seed(3);
  ProjectionNet p(ProjectionNetOptions(8).out_dim(5).clip_r(1.5));
  const auto f = 10 * torch::randn({6, 8});  // long enough to be clipped
  const auto u = p->tangent(f);
  EXPECT_EQ(u.sizes(), (std::vector<int64_t>{6, 5}));
  EXPECT_LE(u.norm(2, 1).max().item<double>(), 1.5 + 1e-5);

  for (const double c : {0.01, 1.0}) {
    const auto h = p->forward(f, c);
    EXPECT_EQ(h.sizes(), (std::vector<int64_t>{6, 5}));
    EXPECT_TRUE(torch::allclose(h, geometry::expmap0(u, c)));
    EXPECT_LT((c * h.pow(2).sum(1)).max().item<double>(), 1.0);
  }
  // c = 0: the Euclidean variant, h is the clipped tangent vector itself.
  EXPECT_TRUE(torch::equal(p->forward(f, 0.0), u));
}

TEST(ModelProjectionNet, NonPositiveRadiusDisablesClipping) {
  torch::manual_seed(3);
  ProjectionNet clipped(ProjectionNetOptions(8).clip_r(1.0));
  torch::manual_seed(3);
  ProjectionNet unclipped(ProjectionNetOptions(8).clip_r(0.0));
  const auto f = 10 * torch::randn({4, 8});
  EXPECT_EQ(unclipped->options().out_dim(), 8);
  EXPECT_GT(unclipped->tangent(f).norm(2, 1).min().item<double>(), 1.0);
  EXPECT_LE(clipped->tangent(f).norm(2, 1).max().item<double>(), 1.0 + 1e-5);
  // Short vectors are left alone.
  const auto small = 1e-3 * f;
  EXPECT_TRUE(torch::allclose(clipped->tangent(small), unclipped->tangent(small)));
}

TEST(ModelProjectionNet, GradientMatchesFiniteDifferencesInFloat64) {
  torch::manual_seed(4);
  ProjectionNet p(ProjectionNetOptions(4).out_dim(3).clip_r(1.0));
  p->to(torch::kFloat64);
  p->eval();
  const auto weights = torch::randn({5, 3}, torch::kFloat64);
  const auto fn = [&](const std::vector<torch::Tensor>& x) {
    return (p->forward(x[0], Curvature(x[1])) * weights).sum();
  };
  // Rows on both sides of the clipping radius (none exactly at it), several curvatures.
  auto f = torch::randn({5, 4}, torch::kFloat64);
  f.slice(0, 0, 2).mul_(0.05);
  f.slice(0, 2).mul_(3.0);
  for (const double c : {1e-3, 0.5, 2.0}) {
    EXPECT_LT(test::gradient_check_error(fn, {f, torch::scalar_tensor(c, torch::kFloat64)}), 1e-6)
        << "c = " << c;
  }
}

TEST(ModelProjectionNet, BadInputsThrow) {
  ProjectionNet p(ProjectionNetOptions(8));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               p->forward(torch::randn({2, 7}), 0.1);
                             }),
                             "(batch, 8)"));
  test::error_of([] { ProjectionNet(ProjectionNetOptions(8).clip_r(NAN)); });
  test::error_of([] { ProjectionNet(ProjectionNetOptions(8).out_dim(0)); });
}

}  // namespace
}  // namespace hcmsn::model
