// The training objective (hcmsn/model/losses.h):
//  * LossesGradients: the total loss reaches every generator parameter and none of D's; the
//    discriminator loss reaches D only;
//  * LossesAblation: a weight of 0 removes exactly its term (total = the remaining weighted
//    terms) and the gradient it would send;
//  * LossesDescent: every term falls below 0.7× its start in 50 Adam steps on a fixed batch;
//  * LossesValues: partner choice of the reconstruction loss and batch-hard mining against
//    brute-force loops, discriminator loss against its formula;
//  * LossesGradientCheck: float64 finite differences of every loss in its differentiable inputs;
//  * LossesErrors: labels, semantic dimensions, modality values, weights.
#include "hcmsn/model/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "hcmsn/util/check.h"
#include "support/test_support.h"
#include "unit/model/model_test_helpers.h"

namespace hcmsn::model {
namespace {

using geometry::Curvature;
using testing::Batch;
using testing::has_grad;
using testing::no_grad;
using testing::tiny_batch;
using testing::tiny_options;

// Parameters of `model` grouped by submodule ("feature_net", …, "curvature_raw").
std::map<std::string, std::vector<torch::Tensor>> params_by_module(HCMSNModel& model) {
  std::map<std::string, std::vector<torch::Tensor>> groups;
  for (const auto& p : model->named_parameters())
    groups[p.key().substr(0, p.key().find('.'))].push_back(p.value());
  return groups;
}

bool module_has_grad(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params)
    if (has_grad(p)) return true;
  return false;
}

bool module_fully_has_grad(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params)
    if (!has_grad(p)) return false;
  return true;
}

// ------------------------------------------------------------------------------------------
// Gradients
// ------------------------------------------------------------------------------------------

TEST(LossesGradients, TotalLossReachesEveryGeneratorParameterAndNotTheDiscriminator) {
  for (const auto kind : {ClassifierKind::kHyperbolicMLR, ClassifierKind::kPrototype}) {
    torch::manual_seed(21);
    HCMSNModel model(tiny_options().classifier(kind).learn_curvature(true).dropout(0.2));
    const Batch b = tiny_batch(model->options());
    const auto out = model->forward(b.v, b.modality);
    total_loss(*model, out, b.labels, b.modality, b.w, LossOptions().lambda_triplet(1.0))
        .total.backward();
    for (const auto& p : model->named_parameters()) {
      const bool is_d = p.key().rfind("discriminator.", 0) == 0;
      EXPECT_EQ(has_grad(p.value()), !is_d) << to_string(kind) << ": " << p.key();
      // The generator step leaves D trainable for its own step.
      EXPECT_TRUE(p.value().requires_grad()) << p.key();
    }
  }
}

TEST(LossesGradients, GeneratorStepDoesNotChangeAccumulatedDiscriminatorGradients) {
  torch::manual_seed(22);
  HCMSNModel model(tiny_options());
  const Batch b = tiny_batch(model->options());
  const auto out = model->forward(b.v, b.modality);
  discriminator_loss(model->discriminator(), class_embeddings_of(b.w, b.labels), out.s).backward();
  std::vector<torch::Tensor> before;
  for (const auto& p : model->discriminator_parameters()) before.push_back(p.grad().clone());
  total_loss(*model, out, b.labels, b.modality, b.w).total.backward();
  const auto after = model->discriminator_parameters();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(after[i].grad(), before[i]));
}

TEST(LossesGradients, DiscriminatorLossReachesOnlyTheDiscriminator) {
  torch::manual_seed(23);
  HCMSNModel model(tiny_options());
  const Batch b = tiny_batch(model->options());
  const auto out = model->forward(b.v, b.modality);
  discriminator_loss(model->discriminator(), class_embeddings_of(b.w, b.labels), out.s).backward();
  for (const auto& p : model->discriminator_parameters()) EXPECT_TRUE(has_grad(p));
  for (const auto& p : model->generator_parameters()) EXPECT_TRUE(no_grad(p));
}

// ------------------------------------------------------------------------------------------
// Ablation
// ------------------------------------------------------------------------------------------

struct Ablation {
  const char* name;
  LossOptions options;
  std::vector<std::string> silent_modules;  // must receive no gradient at all
};

TEST(LossesAblation, AZeroWeightRemovesExactlyItsTermAndItsGradient) {
  const auto all_on = LossOptions()
                          .lambda_cls(0.7)
                          .lambda_adv(0.3)
                          .lambda_align(1.3)
                          .lambda_rec(2.0)
                          .lambda_triplet(0.5);
  const std::vector<Ablation> ablations = {
      {"all terms", all_on, {"discriminator"}},
      {"no cls", LossOptions(all_on).lambda_cls(0), {"discriminator", "classifier"}},
      {"no adv", LossOptions(all_on).lambda_adv(0), {"discriminator"}},
      {"no align", LossOptions(all_on).lambda_align(0), {"discriminator"}},
      {"no rec", LossOptions(all_on).lambda_rec(0), {"discriminator", "reconstruction_net"}},
      {"no triplet", LossOptions(all_on).lambda_triplet(0), {"discriminator"}},
      {"no semantic terms",
       LossOptions(all_on).lambda_adv(0).lambda_align(0).lambda_rec(0),
       {"discriminator", "semantic_net", "reconstruction_net"}},
      {"no cls, no triplet",
       LossOptions(all_on).lambda_cls(0).lambda_triplet(0),
       {"discriminator", "classifier", "projection_net", "curvature_raw"}},
      {"cls only",
       LossOptions().lambda_adv(0).lambda_align(0).lambda_rec(0),
       {"discriminator", "semantic_net", "reconstruction_net"}},
  };
  for (const auto& a : ablations) {
    torch::manual_seed(31);
    HCMSNModel model(tiny_options().learn_curvature(true));
    const Batch b = tiny_batch(model->options());
    const auto out = model->forward(b.v, b.modality);
    const auto& o = a.options;
    const auto t = total_loss(*model, out, b.labels, b.modality, b.w, o);

    // Each term is present exactly when its weight is non-zero, and the total is their sum.
    const std::vector<std::pair<torch::Tensor, double>> terms = {{t.cls, o.lambda_cls()},
                                                                 {t.adv, o.lambda_adv()},
                                                                 {t.align, o.lambda_align()},
                                                                 {t.rec, o.lambda_rec()},
                                                                 {t.triplet, o.lambda_triplet()}};
    double expected = 0;
    for (size_t i = 0; i < terms.size(); ++i) {
      const auto& [term, lambda] = terms[i];
      ASSERT_EQ(term.defined(), lambda != 0) << a.name << ", term " << i;
      if (term.defined()) expected += lambda * term.item<double>();
    }
    EXPECT_NEAR(t.total.item<double>(), expected, 1e-6) << a.name;

    // The terms recomputed one by one give the same values (nothing leaks between them).
    if (t.cls.defined()) {
      EXPECT_NEAR(t.cls.item<double>(), classification_loss(out.logits, b.labels).item<double>(),
                  1e-6);
    }
    if (t.align.defined()) {
      EXPECT_NEAR(t.align.item<double>(),
                  alignment_loss(out.s, class_embeddings_of(b.w, b.labels)).item<double>(), 1e-6);
    }
    if (t.rec.defined()) {
      EXPECT_NEAR(
          t.rec.item<double>(),
          reconstruction_loss(model->reconstruction_net(), out.s, out.f, b.labels, b.modality, b.w)
              .item<double>(),
          1e-6);
    }

    t.total.backward();
    for (const auto& [name, params] : params_by_module(model)) {
      const bool silent = std::find(a.silent_modules.begin(), a.silent_modules.end(), name) !=
                          a.silent_modules.end();
      if (silent) {
        EXPECT_FALSE(module_has_grad(params)) << a.name << ": " << name << " got a gradient";
      } else {
        EXPECT_TRUE(module_fully_has_grad(params)) << a.name << ": " << name << " got none";
      }
    }
  }
}

TEST(LossesAblation, AllWeightsZeroOrNegativeWeightsThrow) {
  HCMSNModel model(tiny_options());
  const Batch b = tiny_batch(model->options());
  const auto out = model->forward(b.v, b.modality);
  const auto none = LossOptions().lambda_cls(0).lambda_adv(0).lambda_align(0).lambda_rec(0);
  EXPECT_TRUE(test::contains(
      test::error_of([&] { total_loss(*model, out, b.labels, b.modality, b.w, none); }),
      "every loss weight is 0"));
  test::error_of(
      [&] { total_loss(*model, out, b.labels, b.modality, b.w, LossOptions().lambda_adv(-1)); });
  test::error_of(
      [&] { total_loss(*model, out, b.labels, b.modality, b.w, LossOptions().lambda_rec(NAN)); });
}

// ------------------------------------------------------------------------------------------
// Descent: each term alone, 50 Adam steps on one fixed batch.
// ------------------------------------------------------------------------------------------

using TermFn = std::function<torch::Tensor(HCMSNModel&, const Batch&)>;
using ParamsFn = std::function<std::vector<torch::Tensor>(HCMSNModel&)>;

// Returns {initial, final} of the term while the parameters `trained` picks train on it.
std::pair<double, double> descend(const TermFn& term, const ParamsFn& trained, uint64_t seed) {
  torch::manual_seed(seed);
  HCMSNModel model(tiny_options());
  const Batch b = tiny_batch(model->options());
  torch::optim::Adam opt(trained(model), torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int step = 0; step <= 50; ++step) {
    opt.zero_grad();
    const auto loss = term(model, b);
    (step == 0 ? first : last) = loss.item<double>();
    if (step == 50) break;
    loss.backward();
    opt.step();
  }
  return {first, last};
}

TEST(LossesDescent, EveryTermDecreasesUnderAdam) {
  const auto out = [](HCMSNModel& m, const Batch& b) { return m->forward(b.v, b.modality); };
  const ParamsFn generator = [](HCMSNModel& m) { return m->generator_parameters(); };
  const ParamsFn discriminator = [](HCMSNModel& m) { return m->discriminator_parameters(); };
  // The reconstruction targets are F's own (detached) features: with F training too they move
  // while R chases them, so the descent of the term itself is measured on S and R.
  const ParamsFn semantic_and_reconstruction = [](HCMSNModel& m) {
    auto params = m->semantic_net()->parameters();
    for (const auto& p : m->reconstruction_net()->parameters()) params.push_back(p);
    return params;
  };
  const std::vector<std::tuple<const char*, TermFn, ParamsFn>> cases = {
      {"cls",
       [&](HCMSNModel& m, const Batch& b) {
         return classification_loss(out(m, b).logits, b.labels);
       },
       generator},
      {"adv",
       [&](HCMSNModel& m, const Batch& b) {
         return adversarial_generator_loss(m->discriminator(), out(m, b).s);
       },
       generator},
      {"align",
       [&](HCMSNModel& m, const Batch& b) {
         return alignment_loss(out(m, b).s, class_embeddings_of(b.w, b.labels));
       },
       generator},
      {"rec",
       [&](HCMSNModel& m, const Batch& b) {
         const auto o = out(m, b);
         return reconstruction_loss(m->reconstruction_net(), o.s, o.f, b.labels, b.modality, b.w);
       },
       semantic_and_reconstruction},
      {"triplet",
       [&](HCMSNModel& m, const Batch& b) {
         return hyperbolic_triplet_loss(out(m, b).h, b.labels, m->curvature(), 1.0);
       },
       generator},
      {"disc",
       [&](HCMSNModel& m, const Batch& b) {
         return discriminator_loss(m->discriminator(), class_embeddings_of(b.w, b.labels),
                                   out(m, b).s);
       },
       discriminator},
  };
  for (const auto& [name, term, trained] : cases) {
    const auto [first, last] = descend(term, trained, 41);
    EXPECT_TRUE(std::isfinite(first) && first > 0) << name << ": " << first;
    EXPECT_LT(last, 0.7 * first) << name << ": " << first << " -> " << last;
  }
}

// ------------------------------------------------------------------------------------------
// Values against brute force
// ------------------------------------------------------------------------------------------

TEST(LossesValues, CrossModalReconstructionUsesTheOtherModalitysClassMean) {
  torch::manual_seed(51);
  ReconstructionNet r(ReconstructionNetOptions(3, 4).hidden(8).dropout(0));
  // Class 0: 2 sketches, 1 photo; class 1: 1 sketch, 2 photos; class 2: sketch only (skipped);
  // class 7: photo only (skipped). Labels need not be contiguous.
  const auto labels = torch::tensor({0, 1, 0, 2, 1, 0, 7, 1}, torch::kInt64);
  const auto modality = torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}, torch::kInt64);
  const auto s = torch::randn({8, 3});
  const auto f = torch::randn({8, 4});
  const auto got = cross_modal_reconstruction_loss(r, s, f, labels, modality);

  torch::NoGradGuard no_grad;
  const auto rec = r->forward(s);
  double sum = 0;
  int rows = 0;
  for (int64_t i = 0; i < 8; ++i) {
    auto target = torch::zeros({4});
    int n = 0;
    for (int64_t j = 0; j < 8; ++j) {
      if (labels[j].item<int64_t>() == labels[i].item<int64_t>() &&
          modality[j].item<int64_t>() != modality[i].item<int64_t>()) {
        target += f[j];
        ++n;
      }
    }
    if (n == 0) continue;
    sum += (rec[i] - target / n).pow(2).sum().item<double>();
    ++rows;
  }
  EXPECT_EQ(rows, 6);
  EXPECT_NEAR(got.item<double>(), sum / (rows * 4), 1e-6);
}

TEST(LossesValues, ReconstructionWithoutPartnersIsZeroAndBackwardWorks) {
  ReconstructionNet r(ReconstructionNetOptions(3, 4).hidden(8));
  const auto s = torch::randn({3, 3}).requires_grad_(true);
  const auto loss = cross_modal_reconstruction_loss(r, s, torch::randn({3, 4}),
                                                    torch::tensor({0, 1, 2}, torch::kInt64),
                                                    torch::tensor({0, 1, 0}, torch::kInt64));
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_TRUE(testing::no_grad(s));
}

TEST(LossesValues, ReconstructionTargetsAreDetached) {
  ReconstructionNet r(ReconstructionNetOptions(3, 4).hidden(8));
  const auto labels = torch::tensor({0, 0, 1, 1}, torch::kInt64);
  const auto modality = torch::tensor({0, 1, 0, 1}, torch::kInt64);
  const auto s = torch::randn({4, 3}).requires_grad_(true);
  const auto f = torch::randn({4, 4}).requires_grad_(true);
  const auto w = torch::randn({2, 3}).requires_grad_(true);
  reconstruction_loss(r, s, f, labels, modality, w).backward();
  EXPECT_TRUE(has_grad(s));  // the source rows: this is how the term reaches S and F
  EXPECT_TRUE(has_grad(w));
  EXPECT_TRUE(no_grad(f));  // the targets: moving them cannot lower the loss
}

TEST(LossesValues, SemanticReconstructionTargetsTheClassMean) {
  torch::manual_seed(52);
  ReconstructionNet r(ReconstructionNetOptions(3, 4).hidden(8).dropout(0));
  const auto labels = torch::tensor({2, 0, 2, 2}, torch::kInt64);
  const auto f = torch::randn({4, 4});
  const auto w = torch::randn({3, 3});
  const auto got = semantic_reconstruction_loss(r, f, labels, w);
  torch::NoGradGuard no_grad;
  const auto mean2 = (f[0] + f[2] + f[3]) / 3;
  const double expected = ((r->forward(w.slice(0, 2, 3))[0] - mean2).pow(2).sum() +
                           (r->forward(w.slice(0, 0, 1))[0] - f[1]).pow(2).sum())
                              .item<double>() /
                          8;
  EXPECT_NEAR(got.item<double>(), expected, 1e-6);
}

TEST(LossesValues, TripletIsBatchHardOverAllRows) {
  torch::manual_seed(53);
  const auto h = 0.5 * torch::randn({7, 3});
  const auto labels = torch::tensor({0, 1, 0, 1, 2, 0, 3}, torch::kInt64);  // 2, 3: no positive
  const Curvature c(0.7);
  const double margin = 0.4;
  const auto got = hyperbolic_triplet_loss(h, labels, c, margin);
  double sum = 0;
  int anchors = 0;
  for (int64_t a = 0; a < 7; ++a) {
    double hardest_pos = -1, hardest_neg = std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < 7; ++j) {
      if (j == a) continue;
      const double d = geometry::distance(h[a], h[j], c).item<double>();
      if (labels[j].item<int64_t>() == labels[a].item<int64_t>())
        hardest_pos = std::max(hardest_pos, d);
      else
        hardest_neg = std::min(hardest_neg, d);
    }
    if (hardest_pos < 0) continue;
    sum += std::max(0.0, hardest_pos - hardest_neg + margin);
    ++anchors;
  }
  EXPECT_EQ(anchors, 5);
  EXPECT_NEAR(got.item<double>(), sum / anchors, 1e-5);
  // No anchor with a positive: zero, and backward still works.
  const auto hh = h.clone().requires_grad_(true);
  const auto none = hyperbolic_triplet_loss(hh, torch::arange(7), c, margin);
  EXPECT_EQ(none.item<double>(), 0.0);
  none.backward();
  EXPECT_TRUE(testing::no_grad(hh));
}

TEST(LossesValues, DiscriminatorLossIsTheGanBinaryCrossEntropy) {
  torch::manual_seed(54);
  Discriminator d(DiscriminatorOptions(5).hidden(8));
  const auto real = torch::randn({4, 5});
  const auto fake = torch::randn({3, 5});
  const auto got = discriminator_loss(d, real, fake).item<double>();
  torch::NoGradGuard no_grad;
  const double expected =
      (-torch::log_sigmoid(d->forward(real)).mean() - torch::log_sigmoid(-d->forward(fake)).mean())
          .item<double>();
  EXPECT_NEAR(got, expected, 1e-6);
  const double gen = adversarial_generator_loss(d, fake).item<double>();
  EXPECT_NEAR(gen, -torch::log_sigmoid(d->forward(fake)).mean().item<double>(), 1e-6);
}

// ------------------------------------------------------------------------------------------
// Finite differences (float64, eval mode, tiny inputs)
// ------------------------------------------------------------------------------------------

using Fn = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;
constexpr double kTol = 1e-6;

TEST(LossesGradientCheck, ClassificationAlignmentAndAdversarial) {
  torch::manual_seed(61);
  const auto labels = torch::tensor({0, 2, 1, 2}, torch::kInt64);
  EXPECT_LT(
      test::gradient_check_error([&](const auto& x) { return classification_loss(x[0], labels); },
                                 {torch::randn({4, 3}, torch::kFloat64)}),
      kTol);
  EXPECT_LT(test::gradient_check_error(
                [](const auto& x) { return alignment_loss(x[0], x[1]); },
                {torch::randn({4, 5}, torch::kFloat64), torch::randn({4, 5}, torch::kFloat64)}),
            kTol);
  Discriminator d(DiscriminatorOptions(5).hidden(6));
  d->to(torch::kFloat64);
  EXPECT_LT(
      test::gradient_check_error([&](const auto& x) { return adversarial_generator_loss(d, x[0]); },
                                 {torch::randn({3, 5}, torch::kFloat64)}),
      kTol);
}

TEST(LossesGradientCheck, Reconstruction) {
  torch::manual_seed(62);
  ReconstructionNet r(ReconstructionNetOptions(3, 4).hidden(6).dropout(0.5));
  r->to(torch::kFloat64);
  r->eval();
  const auto labels = torch::tensor({0, 0, 1, 1, 2}, torch::kInt64);
  const auto modality = torch::tensor({0, 1, 1, 0, 0}, torch::kInt64);
  const auto f = torch::randn({5, 4}, torch::kFloat64);
  // The targets are detached by design, so the check is in s (cross-modal) and in the class
  // embeddings (semantic), the inputs the gradient is meant to flow through.
  EXPECT_LT(test::gradient_check_error(
                [&](const auto& x) {
                  return cross_modal_reconstruction_loss(r, x[0], f, labels, modality);
                },
                {torch::randn({5, 3}, torch::kFloat64)}),
            kTol);
  EXPECT_LT(test::gradient_check_error(
                [&](const auto& x) { return semantic_reconstruction_loss(r, f, labels, x[0]); },
                {torch::randn({3, 3}, torch::kFloat64)}),
            kTol);
}

TEST(LossesGradientCheck, HyperbolicTripletInPointsAndCurvature) {
  torch::manual_seed(63);
  const auto labels = torch::tensor({0, 1, 0, 1, 0, 2}, torch::kInt64);
  const Fn fn = [&](const std::vector<torch::Tensor>& x) {
    return hyperbolic_triplet_loss(x[0], labels, Curvature(x[1]), 2.0);
  };
  // Strictly inside the ball for both curvatures: on the boundary (projected points) d is so
  // ill-conditioned that finite differences are meaningless.
  const auto h = 0.3 * torch::randn({6, 3}, torch::kFloat64);
  for (const double c : {0.05, 0.8}) {
    EXPECT_LT(test::gradient_check_error(fn, {h, torch::scalar_tensor(c, torch::kFloat64)}), kTol)
        << "c = " << c;
  }
}

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

TEST(LossesErrors, LabelsOutOfRange) {
  HCMSNModel model(tiny_options());
  const Batch b = tiny_batch(model->options());
  const auto out = model->forward(b.v, b.modality);
  auto bad = b.labels.clone();
  bad[0] = 4;
  EXPECT_TRUE(test::contains(test::error_of([&] { classification_loss(out.logits, bad); }),
                             "labels must be in [0, 4)"));
  EXPECT_TRUE(test::contains(test::error_of([&] { total_loss(*model, out, bad, b.modality, b.w); }),
                             "labels"));
  bad[0] = -1;
  test::error_of([&] { class_embeddings_of(b.w, bad); });
  test::error_of([&] { hyperbolic_triplet_loss(out.h, bad, 0.1, 1.0); });
  test::error_of([&] { classification_loss(out.logits, b.labels.slice(0, 1)); });
  test::error_of([&] { classification_loss(out.logits, b.labels.to(torch::kInt32)); });
}

TEST(LossesErrors, SemanticDimensionMismatch) {
  HCMSNModel model(tiny_options());
  const Batch b = tiny_batch(model->options());
  const auto out = model->forward(b.v, b.modality);
  const auto w300 = torch::randn({4, 300});
  EXPECT_TRUE(test::contains(
      test::error_of([&] { total_loss(*model, out, b.labels, b.modality, w300); }), "sem_dim"));
  test::error_of([&] { alignment_loss(out.s, class_embeddings_of(w300, b.labels)); });
  test::error_of([&] {
    discriminator_loss(model->discriminator(), class_embeddings_of(w300, b.labels), out.s);
  });
  test::error_of(
      [&] { semantic_reconstruction_loss(model->reconstruction_net(), out.f, b.labels, w300); });
}

TEST(LossesErrors, BadModalityAndShapes) {
  HCMSNModel model(tiny_options());
  const Batch b = tiny_batch(model->options());
  const auto out = model->forward(b.v, b.modality);
  EXPECT_TRUE(test::contains(
      test::error_of([&] { total_loss(*model, out, b.labels, b.modality * 3, b.w); }),
      "modality values"));
  test::error_of([&] {
    cross_modal_reconstruction_loss(model->reconstruction_net(), out.s, out.f.slice(0, 1), b.labels,
                                    b.modality);
  });
  test::error_of([&] { hyperbolic_triplet_loss(out.h, b.labels, 0.1, -1.0); });
}

}  // namespace
}  // namespace hcmsn::model
