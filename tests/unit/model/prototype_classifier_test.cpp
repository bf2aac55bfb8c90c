// The prototype classifier (hcmsn/model/prototype_classifier.h): logits are −d_c(h, p_k)/τ,
// prototypes lie on the ball, gradients match finite differences.
#include "hcmsn/model/prototype_classifier.h"

#include <gtest/gtest.h>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::model {
namespace {

using geometry::Curvature;

TEST(ModelPrototypeClassifier, LogitsAreScaledNegativeDistances) {
  torch::manual_seed(5);
  PrototypeClassifier cls(PrototypeClassifierOptions(6, 4).temperature(0.5));
  const auto h = geometry::expmap0(torch::randn({3, 6}), 1.0);
  for (const double c : {0.0, 0.1, 1.0}) {
    const auto p = cls->prototypes(c);
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{4, 6}));
    if (c > 0) {
      EXPECT_LT((c * p.pow(2).sum(1)).max().item<double>(), 1.0);
    }
    const auto logits = cls->forward(h, c);
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{3, 4}));
    for (int64_t k = 0; k < 4; ++k) {
      const auto expected = -geometry::distance(h, p[k].unsqueeze(0), c) / 0.5;
      EXPECT_TRUE(torch::allclose(logits.select(1, k), expected, 1e-4, 1e-5)) << "c " << c;
    }
  }
  // A point at a prototype is classified as that prototype's class.
  const auto at_prototype = cls->prototypes(0.1);
  EXPECT_TRUE(torch::equal(cls->forward(at_prototype, 0.1).argmax(1), torch::arange(4)));
}

TEST(ModelPrototypeClassifier, GradientMatchesFiniteDifferencesInFloat64) {
  torch::manual_seed(6);
  PrototypeClassifier cls(PrototypeClassifierOptions(3, 2));
  cls->to(torch::kFloat64);
  const auto fn = [&](const std::vector<torch::Tensor>& x) {
    return cls->forward(x[0], Curvature(x[1])).pow(2).sum();
  };
  const auto h = 0.5 * torch::randn({4, 3}, torch::kFloat64);
  EXPECT_LT(test::gradient_check_error(fn, {h, torch::scalar_tensor(0.3, torch::kFloat64)}), 1e-6);
}

TEST(ModelPrototypeClassifier, BadOptionsThrow) {
  test::error_of([] { PrototypeClassifier(PrototypeClassifierOptions(3, 2).temperature(0)); });
  test::error_of([] { PrototypeClassifier(PrototypeClassifierOptions(3, 0)); });
  PrototypeClassifier cls(PrototypeClassifierOptions(3, 2));
  test::error_of([&] { cls->forward(torch::randn({2, 4}), 0.1); });
}

}  // namespace
}  // namespace hcmsn::model
