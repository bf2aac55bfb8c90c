// Tests of FusedAdam against torch::optim::Adam as the reference: parameters and states after
// several steps (float32 fused pass to 1e-6 relative, float64 and non-contiguous fallback
// bitwise), weight decay, both beta pairs, learning rates changed between steps as the trainer
// does, folded gradient clipping, archives exchanged with torch's Adam, and amsgrad rejection.
#include "hcmsn/train/fused_adam.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::train {
namespace {

using torch::optim::Adam;
using torch::optim::AdamOptions;

constexpr double kRelTol = 1e-6;
constexpr int kSteps = 6;

// A scalar, small and odd-sized tensors (vector tails, inline sweeps) and a 1e6-element one
// (split over threads).
std::vector<torch::Tensor> make_params(torch::Dtype dtype, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> out;
  for (const std::vector<int64_t>& s :
       std::vector<std::vector<int64_t>>{{}, {7}, {3, 5}, {33, 17}, {1000000}}) {
    out.push_back(torch::randn(s, dtype).requires_grad_());
  }
  return out;
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

// The same random gradients, times `magnitude`, on both parameter sets.
void set_grads(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
               uint64_t seed, double magnitude = 1.0) {
  torch::manual_seed(seed);
  for (size_t i = 0; i < a.size(); ++i) {
    const auto g = torch::randn_like(a[i]) * magnitude;
    a[i].mutable_grad() = g.clone();
    b[i].mutable_grad() = g.clone();
  }
}

// As the trainer's set_lr: through every group's options.
void set_lr(Adam& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<AdamOptions&>(group.options()).lr(lr);
}

double lr_at(int step) {
  return 1e-2 * (1.0 + 0.5 * step);
}

// max |a - b| <= tol * max |b|; tol = 0 means bitwise equal.
void expect_close(const torch::Tensor& a, const torch::Tensor& b, double tol,
                  const std::string& what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  ASSERT_EQ(a.scalar_type(), b.scalar_type()) << what;
  if (tol == 0) {
    EXPECT_TRUE(torch::equal(a, b)) << what << ": not bitwise equal";
    return;
  }
  const double diff = (a - b).abs().max().item<double>();
  const double scale = b.abs().max().item<double>();
  EXPECT_LE(diff, tol * scale) << what << ": max |diff| " << diff << ", max |ref| " << scale;
}

// Parameters and Adam states (step, exp_avg, exp_avg_sq) of `a` equal those of `b`.
void expect_same(const std::vector<torch::Tensor>& a_params, const Adam& a,
                 const std::vector<torch::Tensor>& b_params, const Adam& b, double tol) {
  ASSERT_EQ(a.state().size(), b.state().size());
  for (size_t i = 0; i < a_params.size(); ++i) {
    const std::string what = "parameter " + std::to_string(i);
    expect_close(a_params[i].detach(), b_params[i].detach(), tol, what);
    const auto* sa = adam_state_of(a, a_params[i]);
    const auto* sb = adam_state_of(b, b_params[i]);
    ASSERT_NE(sa, nullptr) << what;
    ASSERT_NE(sb, nullptr) << what;
    EXPECT_EQ(sa->step(), sb->step()) << what;
    expect_close(sa->exp_avg(), sb->exp_avg(), tol, what + " exp_avg");
    expect_close(sa->exp_avg_sq(), sb->exp_avg_sq(), tol, what + " exp_avg_sq");
  }
}

// kSteps steps of FusedAdam and torch's Adam on equal parameters and gradients, lr changed
// before every step; the parameters must also have moved (guards against a no-op pass).
void run_against_torch(torch::Dtype dtype, const AdamOptions& options, double tol) {
  const auto params = make_params(dtype, 1);
  const auto initial = copies(params);
  const auto ref_params = copies(params);
  FusedAdam fused(params, options);
  Adam reference(ref_params, options);
  for (int s = 0; s < kSteps; ++s) {
    set_grads(params, ref_params, 100 + s);
    set_lr(fused, lr_at(s));
    set_lr(reference, lr_at(s));
    fused.step();
    reference.step();
  }
  expect_same(params, fused, ref_params, reference, tol);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_FALSE(torch::equal(params[i], initial[i])) << "parameter " << i << " did not move";
  }
}

TEST(FusedAdamTest, Float32MatchesTorchAdam) {
  run_against_torch(torch::kFloat, AdamOptions(1e-3), kRelTol);
}

TEST(FusedAdamTest, Float32WithWeightDecayAndDiscriminatorBetasMatchesTorchAdam) {
  run_against_torch(torch::kFloat,
                    AdamOptions(2e-4).betas(std::make_tuple(0.5, 0.999)).weight_decay(1e-2),
                    kRelTol);
  run_against_torch(torch::kFloat, AdamOptions(1e-3).weight_decay(0.1).eps(1e-6), kRelTol);
}

TEST(FusedAdamTest, Float64FallsBackToTorchAdamExactly) {
  run_against_torch(torch::kDouble, AdamOptions(1e-3).weight_decay(1e-2), 0.0);
}

TEST(FusedAdamTest, NonContiguousParameterFallsBackToTorchAdamExactly) {
  torch::manual_seed(3);
  auto a = std::vector<torch::Tensor>{torch::randn({6, 4}).t().requires_grad_(),
                                      torch::randn({9}).requires_grad_()};
  ASSERT_FALSE(a[0].is_contiguous());
  auto b = std::vector<torch::Tensor>{a[0].detach().clone().requires_grad_(),
                                      a[1].detach().clone().requires_grad_()};
  ASSERT_FALSE(b[0].is_contiguous());
  FusedAdam fused(a, AdamOptions(1e-2));
  Adam reference(b, AdamOptions(1e-2));
  for (int s = 0; s < 3; ++s) {
    set_grads(a, b, 7 + s);
    fused.step();
    reference.step();
  }
  expect_same(a, fused, b, reference, 0.0);
}

TEST(FusedAdamTest, ParametersWithoutGradientsAreLeftAlone) {
  const auto params = make_params(torch::kFloat, 4);
  const auto before = copies(params);
  FusedAdam fused(params, AdamOptions(1e-2));
  params[1].mutable_grad() = torch::ones_like(params[1]);
  fused.step();
  EXPECT_EQ(fused.state().size(), 1u);
  EXPECT_EQ(adam_state_of(fused, params[0]), nullptr);
  EXPECT_TRUE(torch::equal(params[0], before[0]));
  // A first step moves every element by lr * sign(grad) (bias-corrected m / sqrt(v) = 1).
  expect_close((before[1] - params[1]).detach(), torch::full({7}, 1e-2), 1e-4, "first step");
}

TEST(FusedAdamTest, StatesAreSharedWithTorchsStep) {
  // The fused pass must file its states under the keys torch's Adam uses: a step of the base
  // class afterwards continues them instead of starting fresh ones.
  const auto params = make_params(torch::kFloat, 5);
  const auto ref_params = copies(params);
  FusedAdam fused(params, AdamOptions(1e-2));
  Adam reference(ref_params, AdamOptions(1e-2));
  for (int s = 0; s < 2; ++s) {
    set_grads(params, ref_params, 50 + s);
    if (s == 0) fused.step();
    if (s == 1) fused.Adam::step();
    reference.step();
  }
  expect_same(params, fused, ref_params, reference, kRelTol);
}

TEST(FusedAdamTest, ScaledStepEqualsClipGradNormThenAdam) {
  for (const double magnitude : {10.0, 1e-3}) {  // clipping active, then inactive
    const auto params = make_params(torch::kFloat, 6);
    const auto ref_params = copies(params);
    const AdamOptions options = AdamOptions(1e-3).weight_decay(1e-2);
    FusedAdam fused(params, options);
    Adam reference(ref_params, options);
    const double max_norm = 10.0;
    for (int s = 0; s < kSteps; ++s) {
      set_grads(params, ref_params, 200 + s, magnitude);
      const auto grads_before = params[4].grad().clone();
      const double factor = clip_grad_norm_factor(params, max_norm);
      torch::nn::utils::clip_grad_norm_(ref_params, max_norm);
      if (magnitude > 1) {
        EXPECT_LT(factor, 0.01);
      } else {
        EXPECT_EQ(factor, 1.0);
      }
      // The factor is clip_grad_norm_'s, bitwise.
      for (size_t i = 0; i < params.size(); ++i) {
        EXPECT_TRUE(
            torch::equal(params[i].grad() * static_cast<float>(factor), ref_params[i].grad()))
            << "gradient " << i;
      }
      fused.step_scaled(factor);
      reference.step();
      EXPECT_TRUE(torch::equal(params[4].grad(), grads_before)) << "gradients were modified";
    }
    expect_same(params, fused, ref_params, reference, kRelTol);
  }
}

TEST(FusedAdamTest, ScaledStepFallbackIsExact) {
  const auto params = make_params(torch::kDouble, 8);
  const auto ref_params = copies(params);
  FusedAdam fused(params, AdamOptions(1e-3));
  Adam reference(ref_params, AdamOptions(1e-3));
  for (int s = 0; s < 3; ++s) {
    set_grads(params, ref_params, 300 + s, 10.0);
    const auto grads_before = params[2].grad().clone();
    fused.step_scaled(clip_grad_norm_factor(params, 1.0));
    torch::nn::utils::clip_grad_norm_(ref_params, 1.0);
    reference.step();
    EXPECT_TRUE(torch::equal(params[2].grad(), grads_before)) << "gradients were modified";
  }
  expect_same(params, fused, ref_params, reference, 0.0);
}

TEST(FusedAdamTest, ClipFactorEdgeCases) {
  auto p = torch::zeros({3}).requires_grad_();
  EXPECT_EQ(clip_grad_norm_factor({p}, 1.0), 1.0);  // no gradient yet
  p.mutable_grad() = torch::tensor({3.0f, 4.0f, 0.0f});
  EXPECT_NEAR(clip_grad_norm_factor({p}, 1.0), 1.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_TRUE(test::contains(test::error_of([&] { clip_grad_norm_factor({p}, 0.0); }), "> 0"));
}

// Archives from one optimizer load into the other; training then continues as if never
// switched (the reference never switches).
void expect_archive_exchange(bool fused_first) {
  const AdamOptions options = AdamOptions(1e-3).betas(std::make_tuple(0.5, 0.999));
  const auto ref_params = make_params(torch::kFloat, 9);
  Adam reference(ref_params, options);
  auto params = copies(ref_params);
  std::unique_ptr<Adam> first = fused_first ? std::make_unique<FusedAdam>(params, options)
                                            : std::make_unique<Adam>(params, options);
  for (int s = 0; s < 3; ++s) {
    set_grads(params, ref_params, 400 + s);
    first->step();
    reference.step();
  }
  std::stringstream bytes;
  {
    torch::serialize::OutputArchive out;
    first->save(out);
    out.save_to(bytes);
  }
  auto resumed_params = copies(params);
  std::unique_ptr<Adam> second = fused_first ? std::make_unique<Adam>(resumed_params, options)
                                             : std::make_unique<FusedAdam>(resumed_params, options);
  {
    torch::serialize::InputArchive in;
    in.load_from(bytes);
    second->load(in);
  }
  expect_same(resumed_params, *second, params, *first, 0.0);
  for (int s = 3; s < kSteps; ++s) {
    set_grads(resumed_params, ref_params, 400 + s);
    set_lr(*second, lr_at(s));
    set_lr(reference, lr_at(s));
    second->step();
    reference.step();
  }
  expect_same(resumed_params, *second, ref_params, reference, kRelTol);
}

TEST(FusedAdamTest, ArchiveOfFusedAdamLoadsIntoTorchAdam) {
  expect_archive_exchange(true);
}

TEST(FusedAdamTest, ArchiveOfTorchAdamLoadsIntoFusedAdam) {
  expect_archive_exchange(false);
}

TEST(FusedAdamTest, AmsgradIsRejected) {
  auto p = torch::zeros({2}).requires_grad_();
  EXPECT_TRUE(test::contains(
      test::error_of([&] { FusedAdam bad({p}, AdamOptions(1e-3).amsgrad(true)); }), "amsgrad"));
  FusedAdam opt({p}, AdamOptions(1e-3));
  static_cast<AdamOptions&>(opt.param_groups()[0].options()).amsgrad(true);
  p.mutable_grad() = torch::ones_like(p);
  EXPECT_TRUE(test::contains(test::error_of([&] { opt.step(); }), "amsgrad"));
  EXPECT_TRUE(torch::equal(p, torch::zeros({2})));
}

}  // namespace
}  // namespace hcmsn::train
