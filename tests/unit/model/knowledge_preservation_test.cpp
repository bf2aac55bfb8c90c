// Knowledge-preservation terms (model/knowledge_preservation.h) against values worked by hand,
// float64 finite differences, and their contracts (teacher untouched, errors).
#include "hcmsn/model/knowledge_preservation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::model {
namespace {

torch::Tensor row(std::vector<double> v) {
  return torch::tensor(v, torch::kFloat64).view({1, -1});
}

TEST(Distillation, MatchesKlWorkedByHand) {
  // Teacher logits (ln 3, 0) → p = (3/4, 1/4); student (0, 0) → q = (1/2, 1/2).
  const double expected = 0.75 * std::log(1.5) + 0.25 * std::log(0.5);
  EXPECT_NEAR(distillation_loss(row({0, 0}), row({std::log(3.0), 0}), 1.0).item<double>(), expected,
              1e-12);
  // T = 2: p = softmax(ln 3 / 2, 0) = (√3, 1) / (√3 + 1), times T² = 4.
  const double a = std::sqrt(3.0) / (std::sqrt(3.0) + 1), b = 1 - a;
  const double kl2 = a * std::log(a / 0.5) + b * std::log(b / 0.5);
  EXPECT_NEAR(distillation_loss(row({0, 0}), row({std::log(3.0), 0}), 2.0).item<double>(), 4 * kl2,
              1e-12);
  // Rows are averaged; equal distributions cost nothing (logits may differ by a constant).
  const auto student = torch::cat({row({0, 0}), row({1, 3})});
  const auto teacher = torch::cat({row({std::log(3.0), 0}), row({5, 7})});
  EXPECT_NEAR(distillation_loss(student, teacher, 1.0).item<double>(), expected / 2, 1e-12);
}

TEST(Distillation, GradientReachesTheStudentOnly) {
  torch::manual_seed(1);
  const auto teacher = torch::randn({5, 7}, torch::kFloat64).requires_grad_(true);
  const auto student = torch::randn({5, 7}, torch::kFloat64);
  EXPECT_LT(test::gradient_check_error(
                [&](const auto& x) { return distillation_loss(x[0], teacher, 2.5); }, {student}),
            1e-7);
  const auto s = student.clone().requires_grad_(true);
  distillation_loss(s, teacher, 1.0).backward();
  EXPECT_TRUE(s.grad().defined());
  EXPECT_FALSE(teacher.grad().defined());
  // Extreme logits stay finite (a teacher probability underflowing to 0).
  const auto far = row({1000, -1000, 0});
  EXPECT_TRUE(std::isfinite(distillation_loss(row({0, 0, 0}), far, 1.0).item<double>()));
}

TEST(Distillation, BadInputIsRefused) {
  EXPECT_THROW(distillation_loss(row({0, 0}), row({0, 0, 0}), 1.0), hcmsn::Error);
  EXPECT_THROW(distillation_loss(row({0, 0}), row({0, 0}), 0.0), hcmsn::Error);
  EXPECT_THROW(distillation_loss(torch::zeros({2}), torch::zeros({2}), 1.0), hcmsn::Error);
}

TEST(ConSE, WeightsTheTopClassesByProbability) {
  // p = (0.6, 0.3, 0.1); concept embeddings = the identity.
  const auto logits = row({std::log(6.0), std::log(3.0), 0.0});
  const auto e = torch::eye(3, torch::kFloat64);
  const auto top2 = conse_embedding(logits, e, 2);
  EXPECT_NEAR(top2[0][0].item<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(top2[0][1].item<double>(), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(top2[0][2].item<double>(), 0.0, 1e-12);
  const auto all = conse_embedding(logits, e, 3);
  EXPECT_NEAR(all[0][2].item<double>(), 0.1, 1e-12);
  // Row-wise, and ties taken in class order.
  const auto tied = conse_embedding(row({1.0, 1.0, 0.0}), e, 1);
  EXPECT_NEAR(tied[0][0].item<double>(), 1.0, 1e-12);
  EXPECT_THROW(conse_embedding(logits, e, 0), hcmsn::Error);
  EXPECT_THROW(conse_embedding(logits, torch::eye(4, torch::kFloat64), 2), hcmsn::Error);
}

}  // namespace
}  // namespace hcmsn::model
