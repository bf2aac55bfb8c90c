// The knowledge-transfer heads (model/knowledge_transfer.h) and their loss terms in total_loss:
// values worked by hand, float64 finite differences, "off" removing each term exactly.
#include "hcmsn/model/knowledge_transfer.h"

#include <gtest/gtest.h>

#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/model/knowledge_preservation.h"
#include "hcmsn/model/losses.h"
#include "model_test_helpers.h"
#include "support/test_support.h"

namespace hcmsn::model {
namespace {

using testing::tiny_batch;
using testing::tiny_options;

constexpr int64_t kTeacherClasses = 5;

struct Teacher {
  torch::Tensor weight, bias, concepts;
};

Teacher random_teacher(const HCMSNModelOptions& o, uint64_t seed = 3) {
  torch::manual_seed(seed);
  return {torch::randn({kTeacherClasses, o.in_dim()}), torch::randn({kTeacherClasses}),
          torch::randn({kTeacherClasses, o.sem_dim()})};
}

HCMSNModel model_with_teacher(const HCMSNModelOptions& o, const Teacher& t) {
  HCMSNModel model(o);
  model->transfer()->set_teacher(t.weight, t.bias, t.concepts);
  return model;
}

TEST(KnowledgeTransfer, TeacherIsTheLinearClassifierAndTheBridgeIsConse) {
  const auto o = tiny_options().teacher_classes(kTeacherClasses).conse_top(3).conse_top(2);
  const Teacher t = random_teacher(o);
  auto model = model_with_teacher(o, t);
  const auto v = torch::randn({3, o.in_dim()});
  auto* transfer = model->transfer();
  ASSERT_TRUE(transfer->has_teacher());
  // Row by row in float64: logits_k = Σ_j W_kj v_j + b_k.
  const auto w64 = t.weight.to(torch::kFloat64), b64 = t.bias.to(torch::kFloat64);
  const auto logits = transfer->teacher_logits(v);
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t k = 0; k < kTeacherClasses; ++k) {
      const double expected =
          (w64[k] * v[r].to(torch::kFloat64)).sum().item<double>() + b64[k].item<double>();
      EXPECT_NEAR(logits[r][k].item<double>(), expected, 1e-4);
    }
  }
  EXPECT_FALSE(logits.requires_grad());
  // The bridge: the two most probable classes' concepts, weighted by their probabilities.
  const auto bridge = transfer->bridge(v);
  const auto p = torch::softmax(logits.to(torch::kFloat64), 1);
  for (int64_t r = 0; r < 3; ++r) {
    const auto top = std::get<1>(p[r].topk(2));
    const auto i = top[0].item<int64_t>(), j = top[1].item<int64_t>();
    const auto pi = p[r][i].item<double>(), pj = p[r][j].item<double>();
    const auto expected =
        (pi * t.concepts[i].to(torch::kFloat64) + pj * t.concepts[j].to(torch::kFloat64)) /
        (pi + pj);
    EXPECT_TRUE(torch::allclose(bridge[r].to(torch::kFloat64), expected, 1e-5, 1e-5));
  }
}

TEST(KnowledgeTransfer, TeacherIsRequiredCheckedAndKeptByTheStateDict) {
  const auto o = tiny_options().teacher_classes(kTeacherClasses).conse_top(3);
  HCMSNModel bare(o);
  EXPECT_FALSE(bare->transfer()->has_teacher());
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               bare->transfer()->teacher_logits(torch::randn({1, o.in_dim()}));
                             }),
                             "--teacher-concepts"));
  const Teacher t = random_teacher(o);
  EXPECT_TRUE(test::contains(
      test::error_of([&] { bare->transfer()->set_teacher(t.weight.t(), t.bias, t.concepts); }),
      "weight must be"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               bare->transfer()->set_teacher(t.weight, t.bias,
                                                             t.concepts.narrow(0, 0, 2));
                             }),
                             "one row per teacher class"));
  auto nan = t.weight.clone();
  nan[0][0] = std::nan("");
  EXPECT_TRUE(test::contains(
      test::error_of([&] { bare->transfer()->set_teacher(nan, t.bias, t.concepts); }), "finite"));
  EXPECT_FALSE(bare->transfer()->has_teacher());
  // Buffers, not parameters: never trained, always saved.
  auto model = model_with_teacher(o, t);
  for (const auto& p : model->generator_parameters()) {
    EXPECT_NE(p.data_ptr(), model->transfer()->named_buffers()["teacher_weight"].data_ptr());
  }
  const auto buffers = model->named_buffers();
  EXPECT_TRUE(buffers.contains("transfer.teacher_weight"));
  EXPECT_TRUE(buffers.contains("transfer.concepts"));
  EXPECT_EQ(buffers["transfer.installed"].item<double>(), 1.0);
  // No teacher classes: no heads at all, and the forward pass defines none of their outputs.
  HCMSNModel plain(tiny_options());
  EXPECT_EQ(plain->transfer(), nullptr);
  const auto b = tiny_batch(tiny_options());
  EXPECT_FALSE(plain->forward(b.v, b.modality).student_logits.defined());
}

TEST(KnowledgeTransferLoss, TermsMatchTheirDefinitionsWorkedOut) {
  const auto o = tiny_options().teacher_classes(kTeacherClasses).conse_top(3);
  auto model = model_with_teacher(o, random_teacher(o));
  const auto b = tiny_batch(o);
  const auto out = model->forward(b.v, b.modality);
  ASSERT_TRUE(out.student_logits.defined() && out.bridge.defined());
  const auto opts = LossOptions().lambda_kd(0.5).kd_temperature(3.0).lambda_bridge(2.0);
  const auto t = total_loss(*model, out, b.labels, b.modality, b.w, opts);
  // KD: T² · mean over rows of KL(p ‖ q), written out with explicit sums in float64.
  const double temp = 3.0;
  const auto zt = out.teacher_logits.to(torch::kFloat64) / temp;
  const auto zs = out.student_logits.detach().to(torch::kFloat64) / temp;
  double kl = 0;
  for (int64_t r = 0; r < zt.size(0); ++r) {
    const auto lp = zt[r] - zt[r].exp().sum().log();
    const auto lq = zs[r] - zs[r].exp().sum().log();
    kl += (lp.exp() * (lp - lq)).sum().item<double>();
  }
  EXPECT_NEAR(t.kd.item<double>(), temp * temp * kl / static_cast<double>(zt.size(0)), 1e-5);
  // Bridge: mean over the photo rows of 1 − cos(S(f), ConSE(v)).
  double bridge = 0;
  int64_t photos = 0;
  for (int64_t r = 0; r < b.v.size(0); ++r) {
    if (b.modality[r].item<int64_t>() != kPhoto) continue;
    const auto s = out.s[r].detach().to(torch::kFloat64);
    const auto c = out.bridge[r].to(torch::kFloat64);
    bridge +=
        1 - (s * c).sum().item<double>() / (s.norm().item<double>() * c.norm().item<double>());
    ++photos;
  }
  ASSERT_GT(photos, 0);
  EXPECT_NEAR(t.bridge.item<double>(), bridge / static_cast<double>(photos), 1e-5);
  // The total adds them with their weights to the paper's terms.
  const auto base = total_loss(*model, out, b.labels, b.modality, b.w, LossOptions());
  EXPECT_NEAR(t.total.item<double>(),
              base.total.item<double>() + 0.5 * t.kd.item<double>() + 2.0 * t.bridge.item<double>(),
              1e-4);
}

TEST(KnowledgeTransferLoss, BridgeGradientMatchesFiniteDifferences) {
  // The bridge term as a function of S's output on a float64 batch, photos mixed with sketches.
  torch::manual_seed(11);
  const auto s = torch::randn({6, 4}, torch::kFloat64);
  const auto target = torch::randn({6, 4}, torch::kFloat64);
  const auto modality = torch::tensor({kSketch, kPhoto, kPhoto, kSketch, kPhoto, kSketch});
  const auto photos = (modality == kPhoto).nonzero().view(-1);
  const auto term = [&](const std::vector<torch::Tensor>& x) {
    return alignment_loss(x[0].index_select(0, photos), target.index_select(0, photos));
  };
  EXPECT_LT(test::gradient_check_error(term, {s}), 1e-6);
  // Sketch rows get no gradient from it.
  auto leaf = s.clone().requires_grad_(true);
  term({leaf}).backward();
  EXPECT_EQ(leaf.grad()[0].abs().sum().item<double>(), 0.0);
  EXPECT_GT(leaf.grad()[1].abs().sum().item<double>(), 0.0);
}

TEST(KnowledgeTransferLoss, ZeroWeightsRemoveBothTermsExactly) {
  const auto o = tiny_options().teacher_classes(kTeacherClasses).conse_top(3);
  const Teacher teacher = random_teacher(o);
  const auto b = tiny_batch(o);
  // Two identical models: one trained with the terms at weight 0, one without any teacher
  // loss options touched. Loss and every gradient must be bit-identical.
  const auto grads_of = [&](const LossOptions& opts, double* total) {
    torch::manual_seed(5);
    auto model = model_with_teacher(o, teacher);
    const auto out = model->forward(b.v, b.modality);
    const auto t = total_loss(*model, out, b.labels, b.modality, b.w, opts);
    *total = t.total.item<double>();
    EXPECT_EQ(t.kd.defined(), opts.lambda_kd() > 0);
    EXPECT_EQ(t.bridge.defined(), opts.lambda_bridge() > 0);
    t.total.backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : model->generator_parameters()) {
      grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    }
    return grads;
  };
  double off = 0, zero = 0, on = 0;
  const auto g_off = grads_of(LossOptions(), &off);
  const auto g_zero =
      grads_of(LossOptions().lambda_kd(0).lambda_bridge(0).kd_temperature(7), &zero);
  const auto g_on = grads_of(LossOptions().lambda_kd(1).lambda_bridge(1), &on);
  EXPECT_EQ(off, zero);
  ASSERT_EQ(g_off.size(), g_zero.size());
  bool differs = false;
  for (size_t i = 0; i < g_off.size(); ++i) {
    EXPECT_TRUE(torch::equal(g_off[i], g_zero[i])) << "parameter " << i;
    differs = differs || !torch::equal(g_off[i], g_on[i]);
  }
  EXPECT_NE(off, on);
  EXPECT_TRUE(differs);
  // Without a teacher the terms cannot be switched on.
  HCMSNModel plain(tiny_options());
  const auto out = plain->forward(b.v, b.modality);
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               total_loss(*plain, out, b.labels, b.modality, b.w,
                                          LossOptions().lambda_kd(1));
                             }),
                             "installed teacher"));
}

}  // namespace
}  // namespace hcmsn::model
