#include "hcmsn/train/fused_adam.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "hcmsn/util/check.h"

namespace hcmsn::train {
namespace {

// Elements per parallel_for task: below this, thread hand-off costs more than the sweep.
constexpr int64_t kGrain = int64_t{1} << 15;

struct Coefficients {
  float grad_scale;
  float weight_decay;
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float step_size;     // lr / bias_correction1
  float inv_sqrt_bc2;  // 1 / sqrt(bias_correction2)
  float eps;
};

// One read-modify-write sweep over [begin, end): what torch's Adam does in eight kernels.
void adam_sweep(float* __restrict p, const float* __restrict g, float* __restrict m,
                float* __restrict v, int64_t begin, int64_t end, const Coefficients& c) {
  const Coefficients k = c;  // a local copy, so the compiler keeps the scalars in registers
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    const float grad = g[i] * k.grad_scale + k.weight_decay * p[i];
    const float mi = k.beta1 * m[i] + k.one_minus_beta1 * grad;
    const float vi = k.beta2 * v[i] + k.one_minus_beta2 * grad * grad;
    m[i] = mi;
    v[i] = vi;
    p[i] -= k.step_size * mi / (std::sqrt(vi) * k.inv_sqrt_bc2 + k.eps);
  }
}

bool fusable(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.layout() == torch::kStrided &&
         t.scalar_type() == torch::kFloat && t.is_contiguous();
}

// The optimizer's state map is keyed by the parameter's TensorImpl: as a string in LibTorch 1.x
// (c10::guts::to_string of the pointer, i.e. ostream output), as the pointer in 2.x.
template <typename Key>
Key state_key(c10::TensorImpl* impl) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream out;
    out << impl;
    return out.str();
  } else {
    return impl;
  }
}

void check_no_amsgrad(const torch::optim::AdamOptions& options) {
  HCMSN_CHECK(!options.amsgrad(),
              "FusedAdam does not implement amsgrad; use torch::optim::Adam for amsgrad");
}

}  // namespace

FusedAdam::FusedAdam(std::vector<torch::Tensor> params, torch::optim::AdamOptions defaults)
    : FusedAdam(std::vector<torch::optim::OptimizerParamGroup>{torch::optim::OptimizerParamGroup(
                    std::move(params))},
                std::move(defaults)) {}

FusedAdam::FusedAdam(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                     torch::optim::AdamOptions defaults)
    : torch::optim::Adam(std::move(param_groups), defaults) {
  check_no_amsgrad(defaults);
  for (auto& group : param_groups_) {
    check_no_amsgrad(static_cast<const torch::optim::AdamOptions&>(group.options()));
  }
}

torch::Tensor FusedAdam::step(LossClosure closure) {
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  update(1.0);
  return loss;
}

void FusedAdam::step_scaled(double grad_scale) {
  update(grad_scale);
}

bool FusedAdam::all_fusable() const {
  using Key = std::decay_t<decltype(state_)>::key_type;
  for (const auto& group : param_groups_) {
    for (const auto& p : group.params()) {
      const auto& grad = p.grad();
      if (!grad.defined()) continue;
      if (!(fusable(p) && fusable(grad) && grad.sizes() == p.sizes())) return false;
      // A state loaded from an archive could be of another dtype or layout.
      const auto it = state_.find(state_key<Key>(p.unsafeGetTensorImpl()));
      if (it == state_.end()) continue;
      const auto& state = static_cast<const torch::optim::AdamParamState&>(*it->second);
      if (!(fusable(state.exp_avg()) && fusable(state.exp_avg_sq()) &&
            state.exp_avg().sizes() == p.sizes() && state.exp_avg_sq().sizes() == p.sizes())) {
        return false;
      }
    }
  }
  return true;
}

void FusedAdam::update(double grad_scale) {
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    check_no_amsgrad(static_cast<const torch::optim::AdamOptions&>(group.options()));
  }
  if (!all_fusable()) {
    // torch's own step on gradients scaled out of place, so the caller's stay untouched.
    std::vector<std::pair<torch::Tensor, torch::Tensor>> saved;
    if (grad_scale != 1.0) {
      for (auto& group : param_groups_) {
        for (auto& p : group.params()) {
          if (!p.grad().defined()) continue;
          saved.emplace_back(p, p.grad());
          p.mutable_grad() = p.grad() * grad_scale;
        }
      }
    }
    torch::optim::Adam::step();
    for (auto& [p, grad] : saved) p.mutable_grad() = grad;
    return;
  }

  using Key = std::decay_t<decltype(state_)>::key_type;
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    const double beta1 = std::get<0>(options.betas());
    const double beta2 = std::get<1>(options.betas());
    for (auto& p : group.params()) {
      const auto& grad = p.grad();
      if (!grad.defined()) continue;
      auto& slot = state_[state_key<Key>(p.unsafeGetTensorImpl())];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);

      state.step(state.step() + 1);
      const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(state.step()));
      const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(state.step()));
      Coefficients c;
      c.grad_scale = static_cast<float>(grad_scale);
      c.weight_decay = static_cast<float>(options.weight_decay());
      c.beta1 = static_cast<float>(beta1);
      c.one_minus_beta1 = static_cast<float>(1 - beta1);
      c.beta2 = static_cast<float>(beta2);
      c.one_minus_beta2 = static_cast<float>(1 - beta2);
      c.step_size = static_cast<float>(options.lr() / bias_correction1);
      c.inv_sqrt_bc2 = static_cast<float>(1 / std::sqrt(bias_correction2));
      c.eps = static_cast<float>(options.eps());

      float* pp = p.data_ptr<float>();
      const float* gp = grad.data_ptr<float>();
      float* mp = state.exp_avg().data_ptr<float>();
      float* vp = state.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
        adam_sweep(pp, gp, mp, vp, begin, end, c);
      });
    }
  }
}

const torch::optim::AdamParamState* adam_state_of(const torch::optim::Adam& optimizer,
                                                  const torch::Tensor& p) {
  using Key = std::decay_t<decltype(optimizer.state())>::key_type;
  const auto it = optimizer.state().find(state_key<Key>(p.unsafeGetTensorImpl()));
  if (it == optimizer.state().end()) return nullptr;
  return static_cast<const torch::optim::AdamParamState*>(it->second.get());
}

double clip_grad_norm_factor(const std::vector<torch::Tensor>& params, double max_norm) {
  HCMSN_CHECK(max_norm > 0, "the gradient clipping norm must be > 0, got ", max_norm);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  }
  if (norms.empty()) return 1.0;
  // The same operations as clip_grad_norm_ (torch 1.13 and 2.x), in the gradients' dtype.
  const auto total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
  return torch::clamp_max(max_norm / (total + 1e-6), 1.0).item<double>();
}

}  // namespace hcmsn::train
