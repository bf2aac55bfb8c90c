// Tests of the class importance weights (train/class_importance.h): golden values from SciPy's
// kernel density estimate (tests/reference/make_class_importance_golden.py), a case worked by
// hand, the cap, teacher similarity against hand-computed cosines, and bad input.
#include "hcmsn/train/class_importance.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "support/test_support.h"

namespace hcmsn::train {
namespace {

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

TEST(ClassImportance, MatchesSciPyKernelDensityRatios) {
  const auto golden = test::read_json(test::fixture("class_importance_golden.json"));
  ASSERT_EQ(golden["cases"].size(), 4u);
  for (const auto& c : golden["cases"]) {
    const auto source = c["source"].get<std::vector<double>>();
    const auto target = c["target"].get<std::vector<double>>();
    ImportanceOptions options;
    options.bandwidth = c["bandwidth"].get<double>();
    options.max_weight = c["max_weight"].get<double>();
    if (options.bandwidth == 0) {
      EXPECT_NEAR(silverman_bandwidth(source, target), c["expected_bandwidth"].get<double>(), 1e-14)
          << c["name"];
    }
    const auto weights = density_ratio_weights(source, target, options);
    const auto expected = c["expected_weights"].get<std::vector<double>>();
    ASSERT_EQ(weights.size(), expected.size());
    for (size_t i = 0; i < weights.size(); ++i) {
      // SciPy sums the kernels directly and its cap comes from bisection: agreement to 1e-9.
      EXPECT_NEAR(weights[i], expected[i], 1e-9 * (1 + expected[i])) << c["name"] << " " << i;
    }
    EXPECT_NEAR(mean(weights), 1.0, 1e-12) << c["name"];
    for (const double w : weights) EXPECT_LE(w, options.max_weight * (1 + 1e-12)) << c["name"];
  }
}

TEST(ClassImportance, WorkedByHand) {
  // Source {0, 1}, target {0}, h = 1: p_target ∝ 1 and e^(-1/2); p_source is the same at both
  // points, so the ratios are 1 : e^(-1/2), normalised to mean 1.
  ImportanceOptions options;
  options.bandwidth = 1;
  options.max_weight = 100;
  const auto w = density_ratio_weights({0, 1}, {0}, options);
  const double e = std::exp(-0.5);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NEAR(w[0], 2 / (1 + e), 1e-15);
  EXPECT_NEAR(w[1], 2 * e / (1 + e), 1e-15);
  // The cap at 1.2 clips the first (1.245…) and gives the rest what keeps the mean at 1.
  options.max_weight = 1.2;
  const auto capped = density_ratio_weights({0, 1}, {0}, options);
  EXPECT_NEAR(capped[0], 1.2, 1e-15);
  EXPECT_NEAR(capped[1], 0.8, 1e-15);
  // A target drawn like the source changes nothing: every weight is 1.
  for (const double x : density_ratio_weights({0.3, 0.5, 0.9}, {0.3, 0.5, 0.9})) {
    EXPECT_NEAR(x, 1.0, 1e-15);
  }
  // Far from every target value weighs (almost) nothing, and still no NaN: log-space densities.
  options.bandwidth = 0.01;
  options.max_weight = 100;
  const auto far = density_ratio_weights({0, 0.5, 1}, {0.02}, options);
  EXPECT_NEAR(far[0], 3.0, 1e-12);
  EXPECT_TRUE(std::isfinite(far[2]));
  EXPECT_LT(far[2], 1e-100);
}

TEST(ClassImportance, TeacherSimilarityIsTheLargestCosine) {
  const auto semantics = torch::tensor({1.0, 0.0, 1.0, 1.0, -1.0, 0.0}).view({3, 2});
  const auto concepts = torch::tensor({0.0F, 3.0F, 2.0F, 0.0F}).view({2, 2});
  const auto t = teacher_similarity(semantics, concepts);
  EXPECT_EQ(t.scalar_type(), torch::kFloat64);
  EXPECT_NEAR(t[0].item<double>(), 1.0, 1e-15);
  EXPECT_NEAR(t[1].item<double>(), 1 / std::sqrt(2.0), 1e-15);
  EXPECT_NEAR(t[2].item<double>(), 0.0, 1e-15);  // orthogonal to one, opposite the other
  // By name: the weights of the validation classes, keyed by name.
  const auto w = match_teacher_similarity({"a", "b", "c"}, semantics, concepts, {"b", "c"}, {"c"});
  ASSERT_EQ(w.size(), 2u);
  EXPECT_GT(w.at("c"), w.at("b"));
  EXPECT_NEAR(w.at("b") + w.at("c"), 2.0, 1e-12);
}

TEST(ClassImportance, BadInputGetsAClearError) {
  EXPECT_TRUE(test::contains(test::error_of([] { density_ratio_weights({}, {1}); }), "source"));
  EXPECT_TRUE(
      test::contains(test::error_of([] { density_ratio_weights({1}, {NAN}); }), "not finite"));
  ImportanceOptions options;
  options.max_weight = 0.5;
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               density_ratio_weights({1, 2}, {1}, options);
                             }),
                             "at least 1"));
  options = {};
  options.bandwidth = -1;
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               density_ratio_weights({1, 2}, {1}, options);
                             }),
                             "bandwidth"));
  const auto semantics = torch::eye(2);
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               teacher_similarity(semantics, torch::ones({3, 3}));
                             }),
                             "encoder"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               teacher_similarity(torch::zeros({1, 2}), semantics);
                             }),
                             "zero row"));
  EXPECT_TRUE(
      test::contains(test::error_of([&] {
                       match_teacher_similarity({"a", "b"}, semantics, semantics, {"a"}, {"zebra"});
                     }),
                     "'zebra' has no semantic vector"));
  EXPECT_TRUE(
      test::contains(test::error_of([&] {
                       match_teacher_similarity({"a", "b"}, semantics, semantics, {}, {"a"});
                     }),
                     "validation classes"));
}

}  // namespace
}  // namespace hcmsn::train
