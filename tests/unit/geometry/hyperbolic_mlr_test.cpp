// Hyperbolic multinomial logistic regression (hcmsn/geometry/hyperbolic_mlr.h):
//  * golden logits from 50-digit mpmath (tests/reference/make_geometry_golden.py, which forms
//    −p ⊕ x explicitly rather than through the header's A/B identity), float64 and float32;
//  * the module's parameterisation (p = exp0(p_raw), a = a_raw (1 − c‖p‖²)) against golden logits;
//  * gradients against finite differences (x, p, a, a learnable c, the module's parameters);
//  * the Euclidean limit 4⟨x − p, a⟩ at c = 0, continuity there, a = 0, shapes, and a short
//    training run.
// Tolerances as in poincare_ball_test.cpp: |got − ref| ≤ rtol·|ref| + K·u·sens + atol, with sens
// the logit's sensitivity to relative perturbations of the inputs (from the generator).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "hcmsn/geometry/hyperbolic_mlr.h"
#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/util/check.h"
#include "support/ball_points.h"
#include "support/json_tensor.h"
#include "support/test_support.h"

namespace hcmsn::geometry {
namespace {

using test::points;
using test::scalarised;
using test::to_tensor;
using test::weights_like;

using Fn = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

using test::kU32;
using test::kU64;

using test::num;

const nlohmann::json& golden() {
  static const nlohmann::json g = [] {
    std::ifstream in(test::fixture("geometry_golden.json"));
    EXPECT_TRUE(in.good()) << "missing " << test::fixture("geometry_golden.json");
    return nlohmann::json::parse(in);
  }();
  return g;
}

// 4⟨x − p_k, a_k⟩: the Euclidean MLR logits (batch, K).
torch::Tensor euclidean_logits(const torch::Tensor& x, const torch::Tensor& p,
                               const torch::Tensor& a) {
  return 4 * (x.mm(a.t()) - (p * a).sum(-1).unsqueeze(0));
}

// ------------------------------------------------------------------------------------------
// Golden logits
// ------------------------------------------------------------------------------------------

TEST(HyperbolicMLRGolden, LogitsMatchMpmath) {
  const auto& cases = golden()["mlr"];
  ASSERT_EQ(cases.size(), 15u);
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    const bool f64 = dt == torch::kFloat64;
    const double rtol = f64 ? 1e-12 : 1e-4;
    const double unit = f64 ? kU64 : kU32;
    const double atol = f64 ? 1e-14 : 1e-6;
    // float32 projects points beyond 1 − 1e-5 (and cannot hold 1 − c‖x‖² much below that):
    // rows with such x are compared in float64 only.
    const double min_margin = f64 ? 0.0 : 5e-5;
    int compared = 0;
    for (const auto& cs : cases) {
      const std::string name = cs["name"];
      const double c = cs["c"];
      const auto x = to_tensor(cs["x"]);
      const auto p = to_tensor(cs["p"]);
      const auto a = to_tensor(cs["a"]);
      const auto ref = to_tensor(cs["logits"]);
      const auto sens = to_tensor(cs["sens"]);
      const auto margin = cs["margin_x"].get<std::vector<double>>();
      const auto got = hyperbolic_mlr_logits(x.to(dt), p.to(dt), a.to(dt), c);
      ASSERT_EQ(got.scalar_type(), dt);
      ASSERT_EQ(got.sizes(), ref.sizes()) << name;
      const auto g64 = got.to(torch::kFloat64);
      for (int64_t i = 0; i < ref.size(0); ++i) {
        if (margin[static_cast<size_t>(i)] < min_margin) continue;
        for (int64_t k = 0; k < ref.size(1); ++k) {
          const double want = ref[i][k].item<double>();
          const double tol = rtol * std::abs(want) + 16 * unit * sens[i][k].item<double>() + atol;
          EXPECT_NEAR(g64[i][k].item<double>(), want, tol)
              << (f64 ? "float64 " : "float32 ") << name << " x row " << i << " class " << k;
          ++compared;
        }
      }
    }
    EXPECT_GE(compared, f64 ? 360 : 300);
  }
}

// The module: p = exp0(p_raw), a = a_raw (1 − c‖p‖²), against logits computed in mpmath from
// the same raw parameters.
TEST(HyperbolicMLRGolden, ModuleMatchesMpmath) {
  const auto& cases = golden()["mlr_module"];
  ASSERT_EQ(cases.size(), 3u);
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    for (const auto& cs : cases) {
      const std::string name = cs["name"];
      const double c = cs["c"];
      const auto x = to_tensor(cs["x"]);
      const auto p_raw = to_tensor(cs["p_raw"]);
      const auto a_raw = to_tensor(cs["a_raw"]);
      const auto ref = to_tensor(cs["logits"]);
      HyperbolicMLR mlr(HyperbolicMLROptions(x.size(1), p_raw.size(0)));
      mlr->to(dt);
      {
        torch::NoGradGuard no_grad;
        mlr->p_raw.copy_(p_raw);
        mlr->a_raw.copy_(a_raw);
      }
      const auto got = mlr->forward(x.to(dt), c);
      ASSERT_EQ(got.sizes(), ref.sizes());
      const double rtol = dt == torch::kFloat64 ? 1e-12 : 1e-5;
      const double scale = ref.abs().max().item<double>();
      EXPECT_TRUE(torch::allclose(got.to(torch::kFloat64), ref, rtol, rtol * scale)) << name << "\n"
                                                                                     << got << "\n"
                                                                                     << ref;
      // gyroplanes() is what forward uses, and p lies where exp0 puts it.
      const auto [p, a] = mlr->gyroplanes(c);
      EXPECT_TRUE(torch::allclose(hyperbolic_mlr_logits(x.to(dt), p, a, c), got));
      EXPECT_TRUE(torch::allclose(p, expmap0(p_raw.to(dt), c)));
    }
  }
}

// ------------------------------------------------------------------------------------------
// Gradients
// ------------------------------------------------------------------------------------------

TEST(HyperbolicMLRGradient, LogitsMatchFiniteDifferences) {
  for (const double c : {1.0, 0.3, 1e-3, 0.0}) {
    const auto x = points(5, 3, c, 0.0, 0.9, 201);
    const auto p = points(3, 3, c, 0.0, 0.7, 202);
    const auto a = points(3, 3, 0.0, 0.3, 2.0, 203);
    const Fn f = [c](const std::vector<torch::Tensor>& xs) {
      return hyperbolic_mlr_logits(xs[0], xs[1], xs[2], c);
    };
    EXPECT_LT(test::gradient_check_error(scalarised(f), {x, p, a}), 1e-6) << "c=" << num(c);
  }
}

TEST(HyperbolicMLRGradient, LearnableCurvature) {
  const double c0 = 0.5;
  const auto x = points(4, 3, c0, 0.0, 0.9, 211);
  const auto p = points(3, 3, c0, 0.0, 0.7, 212);
  const auto a = points(3, 3, 0.0, 0.3, 2.0, 213);
  const Fn f = [](const std::vector<torch::Tensor>& xs) {
    return hyperbolic_mlr_logits(xs[0], xs[1], xs[2], Curvature(xs[3]));
  };
  EXPECT_LT(
      test::gradient_check_error(scalarised(f), {x, p, a, torch::tensor(c0, torch::kFloat64)}),
      1e-6);
  const auto c = torch::tensor(c0, torch::kFloat64).requires_grad_();
  hyperbolic_mlr_logits(x, p, a, Curvature(c)).sum().backward();
  ASSERT_TRUE(c.grad().defined());
  EXPECT_TRUE(std::isfinite(c.grad().item<double>()));
  EXPECT_NE(c.grad().item<double>(), 0.0);
}

// The module's parameters p_raw and a_raw (and a learnable c through the module): autograd
// against central differences on the registered parameters themselves.
TEST(HyperbolicMLRGradient, ModuleParameters) {
  for (const double c : {1.0, 0.3, 0.0}) {
    HyperbolicMLR mlr(HyperbolicMLROptions(3, 4));
    mlr->to(torch::kFloat64);
    {
      torch::NoGradGuard no_grad;
      mlr->p_raw.copy_(points(4, 3, 0.0, 0.1, 1.2, 221));
      mlr->a_raw.copy_(points(4, 3, 0.0, 0.3, 2.0, 222));
    }
    const auto x = points(6, 3, c, 0.0, 0.9, 223);
    auto loss = [&] {
      const auto out = mlr->forward(x, c);
      return (out * weights_like(out)).sum();
    };
    mlr->zero_grad();
    loss().backward();
    const double h = 1e-6;
    double worst = 0;
    for (auto* param : {&mlr->p_raw, &mlr->a_raw}) {
      ASSERT_TRUE(param->grad().defined());
      const auto analytic = param->grad().clone().view(-1);
      torch::NoGradGuard no_grad;
      auto flat = param->view(-1);
      for (int64_t j = 0; j < flat.numel(); ++j) {
        const double orig = flat[j].item<double>();
        flat[j] = orig + h;
        const double up = loss().item<double>();
        flat[j] = orig - h;
        const double down = loss().item<double>();
        flat[j] = orig;
        const double numeric = (up - down) / (2 * h);
        worst = std::max(worst,
                         std::abs(analytic[j].item<double>() - numeric) / (1 + std::abs(numeric)));
      }
    }
    EXPECT_LT(worst, 1e-6) << "c=" << num(c);
  }
}

// ------------------------------------------------------------------------------------------
// Limits, degenerate inputs, shapes
// ------------------------------------------------------------------------------------------

TEST(HyperbolicMLR, EuclideanAtZeroCurvature) {
  const auto x = points(7, 5, 0.0, 0.0, 3.0, 231);
  const auto p = points(4, 5, 0.0, 0.0, 2.0, 232);
  const auto a = points(4, 5, 0.0, 0.1, 2.0, 233);
  const auto want = euclidean_logits(x, p, a);
  const auto got = hyperbolic_mlr_logits(x, p, a, 0.0);
  EXPECT_TRUE(torch::allclose(got, want, 1e-12, 1e-12)) << got << want;
  // float32 too.
  const auto got32 = hyperbolic_mlr_logits(x.to(torch::kFloat32), p.to(torch::kFloat32),
                                           a.to(torch::kFloat32), 0.0);
  EXPECT_TRUE(torch::allclose(got32.to(torch::kFloat64), want, 1e-5, 1e-5));
  // Continuity: c = 1e-12 within 1e-9 of c = 0 (the difference is O(c‖x‖²)).
  const auto tiny = hyperbolic_mlr_logits(x, p, a, 1e-12);
  EXPECT_LE((tiny - want).abs().max().item<double>(), 1e-9);
  // And c = 1e-30 in float64 and float32: finite, Euclidean.
  EXPECT_TRUE(torch::allclose(hyperbolic_mlr_logits(x, p, a, 1e-30), want, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(hyperbolic_mlr_logits(x.to(torch::kFloat32), p.to(torch::kFloat32),
                                                    a.to(torch::kFloat32), 1e-30)
                                  .to(torch::kFloat64),
                              want, 1e-5, 1e-5));
}

// a_k = 0 (a degenerate gyroplane): logit 0 exactly, finite gradients.
TEST(HyperbolicMLR, ZeroNormalGivesZeroLogits) {
  for (const auto dt : {torch::kFloat64, torch::kFloat32}) {
    for (const double c : {1.0, 0.3, 0.0}) {
      const auto x = points(5, 3, c, 0.0, 0.9, 241, dt).requires_grad_();
      const auto p = points(2, 3, c, 0.0, 0.7, 242, dt).requires_grad_();
      const auto a = torch::zeros({2, 3}, dt).requires_grad_();
      const auto out = hyperbolic_mlr_logits(x, p, a, c);
      EXPECT_EQ(out.abs().max().item<double>(), 0.0) << "c=" << num(c);
      const auto w = weights_like(out);
      (out * w).sum().backward();
      for (const auto& t : {x, p, a}) {
        ASSERT_TRUE(t.grad().defined());
        EXPECT_TRUE(torch::isfinite(t.grad()).all().item<bool>()) << "c=" << num(c);
      }
      // At a = 0 the logit is λ_p·2⟨z, a⟩/(1 − c‖z‖²) + O(‖a‖³) with z = −p ⊕ x (asinh s ≈ s),
      // so ∂/∂a_k of Σ_i w_ik logit_ik is Σ_i w_ik λ_{p_k} 2 z_ik/(1 − c‖z_ik‖²).
      const auto xv = x.detach().to(torch::kFloat64);
      const auto pv = p.detach().to(torch::kFloat64);
      const auto av = a.detach().clone();
      const auto z = mobius_add(-pv.unsqueeze(0), xv.unsqueeze(1), c);  // (batch, K, d)
      const auto lam_p = 2 / (1 - c * pv.pow(2).sum(-1));               // (K)
      const auto want = (w.to(torch::kFloat64).unsqueeze(-1) * lam_p.unsqueeze(0).unsqueeze(-1) *
                         2 * z / (1 - c * z.pow(2).sum(-1, true)))
                            .sum(0);
      EXPECT_TRUE(torch::allclose(a.grad().to(torch::kFloat64), want,
                                  dt == torch::kFloat64 ? 1e-10 : 1e-4, 1e-6))
          << "c=" << num(c) << "\n"
          << a.grad() << "\n"
          << want;
      // One class with a = 0 among ordinary ones leaves the others unchanged.
      const auto a2 = torch::cat({av, points(1, 3, 0.0, 0.5, 1.0, 243, dt)});
      const auto p2 = torch::cat({p.detach(), points(1, 3, c, 0.0, 0.5, 244, dt)});
      const auto both = hyperbolic_mlr_logits(x.detach(), p2, a2, c);
      const auto alone = hyperbolic_mlr_logits(x.detach(), p2.slice(0, 2), a2.slice(0, 2), c);
      EXPECT_TRUE(torch::equal(both.slice(1, 0, 2), torch::zeros({5, 2}, dt)));
      EXPECT_TRUE(torch::allclose(both.slice(1, 2), alone));
    }
  }
  // The module with a_raw = 0.
  HyperbolicMLR mlr(HyperbolicMLROptions(3, 4));
  {
    torch::NoGradGuard no_grad;
    mlr->a_raw.zero_();
  }
  const auto out = mlr->forward(points(6, 3, 1.0, 0.0, 0.9, 245, torch::kFloat32), 1.0);
  EXPECT_EQ(out.abs().max().item<double>(), 0.0);
}

TEST(HyperbolicMLR, ShapesAndDtypes) {
  HyperbolicMLR mlr(HyperbolicMLROptions(5, 7));
  EXPECT_EQ(mlr->p_raw.sizes(), torch::IntArrayRef({7, 5}));
  EXPECT_EQ(mlr->a_raw.sizes(), torch::IntArrayRef({7, 5}));
  EXPECT_EQ(mlr->parameters().size(), 2u);
  // Offsets start at the origin.
  EXPECT_EQ(mlr->p_raw.abs().max().item<double>(), 0.0);
  for (const auto dt : {torch::kFloat32, torch::kFloat64}) {
    for (const double c : {1.0, 0.0}) {
      const auto x = points(9, 5, c, 0.0, 0.9, 251, dt);
      const auto out = mlr->forward(x, c);
      EXPECT_EQ(out.sizes(), torch::IntArrayRef({9, 7}));
      EXPECT_EQ(out.scalar_type(), dt);
      EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
    }
  }
  // With p = 0 (the initial state) and c = 0, the logits are 4⟨x, a⟩.
  const auto x = points(9, 5, 0.0, 0.0, 2.0, 252);
  EXPECT_TRUE(torch::allclose(mlr->forward(x, 0.0), 4 * x.mm(mlr->a_raw.to(torch::kFloat64).t()),
                              1e-6, 1e-6));
  // Points beyond the boundary are projected: finite logits, equal to those of the projection.
  const auto far = points(4, 5, 1.0, 1.5, 3.0, 253);
  const auto o = mlr->forward(far, 1.0);
  EXPECT_TRUE(torch::isfinite(o).all().item<bool>());
  EXPECT_TRUE(torch::allclose(o, mlr->forward(project(far, 1.0), 1.0), 1e-6, 1e-6));
  // Shape errors are caller errors.
  const auto p = torch::zeros({3, 5});
  EXPECT_THROW(hyperbolic_mlr_logits(torch::zeros({4, 6}), p, p, 1.0), hcmsn::Error);
  EXPECT_THROW(hyperbolic_mlr_logits(torch::zeros({4, 5}), p, torch::zeros({2, 5}), 1.0),
               hcmsn::Error);
  EXPECT_THROW(hyperbolic_mlr_logits(torch::zeros({5}), p, p, 1.0), hcmsn::Error);
  EXPECT_THROW(HyperbolicMLR(HyperbolicMLROptions(0, 3)), hcmsn::Error);
  EXPECT_THROW(HyperbolicMLR(HyperbolicMLROptions(3, 0)), hcmsn::Error);
}

// A few Adam steps of cross-entropy on three separable clusters on the ball reduce the loss
// and classify the clusters.
TEST(HyperbolicMLR, TrainingReducesTheLoss) {
  torch::manual_seed(7);
  const double c = 1.0;
  const int64_t per_class = 30;
  std::vector<torch::Tensor> xs;
  std::vector<torch::Tensor> ys;
  for (int64_t k = 0; k < 3; ++k) {
    const double angle = 2 * M_PI * static_cast<double>(k) / 3;
    // Cluster centres at tangent vectors of length 1.2 from the origin (radius tanh 1.2 = 0.83).
    const auto centre =
        torch::tensor({1.2 * std::cos(angle), 1.2 * std::sin(angle)}, torch::kFloat32);
    const auto tangent = centre + 0.15 * torch::randn({per_class, 2});
    xs.push_back(expmap0(tangent, c));
    ys.push_back(torch::full({per_class}, k, torch::kInt64));
  }
  const auto x = torch::cat(xs);
  const auto y = torch::cat(ys);
  HyperbolicMLR mlr(HyperbolicMLROptions(2, 3));
  torch::optim::Adam opt(mlr->parameters(), torch::optim::AdamOptions(0.05));
  auto loss_fn = [&] { return torch::nn::functional::cross_entropy(mlr->forward(x, c), y); };
  const double initial = loss_fn().item<double>();
  double last = initial;
  for (int step = 0; step < 40; ++step) {
    opt.zero_grad();
    const auto loss = loss_fn();
    loss.backward();
    opt.step();
    last = loss.item<double>();
    ASSERT_TRUE(std::isfinite(last)) << "step " << step;
  }
  const double final_loss = loss_fn().item<double>();
  EXPECT_LT(final_loss, 0.5 * initial) << "initial " << initial << " last " << last;
  EXPECT_LT(final_loss, 0.3);
  const auto accuracy =
      (mlr->forward(x, c).argmax(1) == y).to(torch::kFloat64).mean().item<double>();
  EXPECT_GE(accuracy, 0.95);
  // The offsets stay on the ball by construction.
  const auto [p, a] = mlr->gyroplanes(c);
  EXPECT_TRUE((p.norm(2, -1) < 1).all().item<bool>());
}

}  // namespace
}  // namespace hcmsn::geometry
