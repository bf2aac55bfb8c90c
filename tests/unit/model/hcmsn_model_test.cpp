// The HCMSN model (hcmsn/model/hcmsn_model.h): output shapes for both classifiers, embed,
// the generator / discriminator parameter split, the Euclidean variant (c = 0), learnable
// curvature, option errors.
#include "hcmsn/model/hcmsn_model.h"

#include <gtest/gtest.h>

#include <set>

#include "hcmsn/model/losses.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"
#include "unit/model/model_test_helpers.h"

namespace hcmsn::model {
namespace {

using testing::Batch;
using testing::has_grad;
using testing::tiny_batch;
using testing::tiny_options;

bool all_finite(const torch::Tensor& x) {
  return torch::isfinite(x).all().item<bool>();
}

TEST(ModelHCMSN, OutputShapesForBothClassifiers) {
  for (const auto kind : {ClassifierKind::kHyperbolicMLR, ClassifierKind::kPrototype}) {
    HCMSNModel model(tiny_options(5).hyp_dim(7).classifier(kind).dropout(0.3));
    const Batch b = tiny_batch(model->options());
    const auto out = model->forward(b.v, b.modality);
    const int64_t n = b.v.size(0);
    EXPECT_EQ(out.f.sizes(), (std::vector<int64_t>{n, 8}));
    EXPECT_EQ(out.s.sizes(), (std::vector<int64_t>{n, 6}));
    EXPECT_EQ(out.h.sizes(), (std::vector<int64_t>{n, 7}));
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{n, 5}));
    for (const auto& t : {out.f, out.s, out.h, out.logits}) EXPECT_TRUE(all_finite(t));
    EXPECT_LT((0.01 * out.h.pow(2).sum(1)).max().item<double>(), 1.0);
    EXPECT_TRUE(model->classifier() != nullptr);
    EXPECT_EQ(parse_classifier_kind(to_string(kind)), kind);
  }
  EXPECT_TRUE(test::contains(test::error_of([] { parse_classifier_kind("softmax"); }), "mlr"));
}

TEST(ModelHCMSN, EmbedIsTheBallPointOfForward) {
  HCMSNModel model(tiny_options().dropout(0.5));
  model->eval();
  const Batch b = tiny_batch(model->options());
  torch::NoGradGuard no_grad;
  const auto h = model->embed(b.v, b.modality);
  EXPECT_TRUE(torch::equal(h, model->forward(b.v, b.modality).h));
  // Single-modality batches (a query set, a gallery) embed row by row alike.
  const auto sketches = (b.modality == kSketch).nonzero().squeeze(1);
  EXPECT_TRUE(torch::allclose(
      model->embed(b.v.index_select(0, sketches), torch::zeros({sketches.size(0)}, torch::kInt64)),
      h.index_select(0, sketches), 1e-6, 1e-6));
}

TEST(ModelHCMSN, GeneratorAndDiscriminatorParametersPartitionTheModel) {
  HCMSNModel model(tiny_options().learn_curvature(true));
  std::set<const void*> gen, disc, all;
  for (const auto& p : model->generator_parameters()) gen.insert(p.data_ptr());
  for (const auto& p : model->discriminator_parameters()) disc.insert(p.data_ptr());
  for (const auto& p : model->parameters()) all.insert(p.data_ptr());
  EXPECT_EQ(gen.size() + disc.size(), all.size());
  for (const auto* p : disc) EXPECT_EQ(gen.count(p), 0u);
  EXPECT_EQ(disc.size(), model->discriminator()->parameters().size());
  EXPECT_EQ(disc.size(), 4u);  // two Linear layers
  EXPECT_EQ(gen.count(model->named_parameters()["curvature_raw"].data_ptr()), 1u);
}

TEST(ModelHCMSN, EuclideanVariantAtZeroCurvature) {
  for (const auto kind : {ClassifierKind::kHyperbolicMLR, ClassifierKind::kPrototype}) {
    HCMSNModel model(tiny_options().curvature(0.0).classifier(kind));
    EXPECT_EQ(model->curvature().value(), 0.0);
    const Batch b = tiny_batch(model->options());
    const auto out = model->forward(b.v, b.modality);
    for (const auto& t : {out.f, out.s, out.h, out.logits}) EXPECT_TRUE(all_finite(t));
    // h is the clipped tangent vector: no ball, no exp map.
    EXPECT_TRUE(torch::allclose(out.h, model->projection_net()->tangent(out.f)));
    const auto loss =
        total_loss(*model, out, b.labels, b.modality, b.w, LossOptions().lambda_triplet(1.0));
    loss.total.backward();
    EXPECT_TRUE(std::isfinite(loss.total.item<double>()));
    for (const auto& p : model->generator_parameters()) {
      if (p.grad().defined()) {
        EXPECT_TRUE(all_finite(p.grad()));
      }
    }
  }
}

TEST(ModelHCMSN, LearnableCurvatureGetsGradientAndStaysPositive) {
  for (const auto kind : {ClassifierKind::kHyperbolicMLR, ClassifierKind::kPrototype}) {
    torch::manual_seed(11);
    HCMSNModel model(tiny_options().learn_curvature(true).curvature(0.5).classifier(kind));
    const auto c0 = model->curvature();
    ASSERT_TRUE(c0.is_tensor());
    EXPECT_NEAR(c0.value(), 0.5, 1e-6);
    const auto raw = model->named_parameters()["curvature_raw"];
    const Batch b = tiny_batch(model->options());
    // A large step size pushes c hard; softplus keeps it positive whatever the steps do.
    torch::optim::Adam opt(model->generator_parameters(), torch::optim::AdamOptions(0.2));
    for (int step = 0; step < 20; ++step) {
      opt.zero_grad();
      const auto out = model->forward(b.v, b.modality);
      total_loss(*model, out, b.labels, b.modality, b.w, LossOptions().lambda_triplet(1.0))
          .total.backward();
      ASSERT_TRUE(has_grad(raw)) << "step " << step;
      opt.step();
      const double c = model->curvature().value();
      ASSERT_TRUE(std::isfinite(c) && c > 0) << "step " << step << ": c = " << c;
    }
    EXPECT_NE(model->curvature().value(), c0.value());
  }
}

TEST(ModelHCMSN, WorksInFloat64) {
  HCMSNModel model(tiny_options().learn_curvature(true));
  model->to(torch::kFloat64);
  const Batch b = tiny_batch(model->options());
  const auto out = model->forward(b.v.to(torch::kFloat64), b.modality);
  EXPECT_EQ(out.logits.scalar_type(), torch::kFloat64);
  const auto loss = total_loss(*model, out, b.labels, b.modality, b.w);  // w stays float32
  EXPECT_EQ(loss.total.scalar_type(), torch::kFloat64);
}

TEST(ModelHCMSN, BadOptionsAndInputsThrow) {
  test::error_of([] { HCMSNModel(tiny_options(0)); });
  test::error_of([] { HCMSNModel(tiny_options().curvature(-1)); });
  EXPECT_TRUE(test::contains(
      test::error_of([] { HCMSNModel(tiny_options().curvature(0).learn_curvature(true)); }),
      "> 0"));
  test::error_of([] { HCMSNModel(tiny_options().hyp_dim(-2)); });
  test::error_of([] { HCMSNModel(tiny_options().dropout(-0.1)); });
  test::error_of(
      [] { HCMSNModel(tiny_options().classifier(ClassifierKind::kPrototype).temperature(0.0)); });
  HCMSNModel model(tiny_options());
  const Batch b = tiny_batch(model->options());
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               model->forward(torch::randn({b.v.size(0), 11}), b.modality);
                             }),
                             "(batch, 10)"));
  EXPECT_TRUE(test::contains(test::error_of([&] { model->forward(b.v, b.modality + 1); }),
                             "modality values"));
}

}  // namespace
}  // namespace hcmsn::model
