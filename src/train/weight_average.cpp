#include "hcmsn/train/weight_average.h"

#include <cmath>

#include "hcmsn/util/check.h"

namespace hcmsn::train {

WeightAverage::WeightAverage(torch::nn::Module& module) {
  for (const auto& p : module.parameters()) {
    if (!p.requires_grad()) continue;
    HCMSN_CHECK(p.is_floating_point(), "weight averaging needs floating-point parameters, got ",
                p.scalar_type());
    params_.push_back(p);
    mean_.push_back(torch::zeros_like(p));
  }
}

void WeightAverage::update() {
  torch::NoGradGuard no_grad;
  ++count_;
  const double step = 1.0 / static_cast<double>(count_);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (count_ == 1) {
      mean_[i].copy_(params_[i]);
    } else {
      mean_[i].add_(params_[i] - mean_[i], step);
    }
  }
}

void WeightAverage::swap() {
  if (count_ == 0) return;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto current = params_[i].clone();
    params_[i].copy_(mean_[i]);
    mean_[i].copy_(current);
  }
}

void WeightAverage::set_count(int64_t count) {
  HCMSN_CHECK(count >= 0, "a weight average holds a count >= 0, got ", count);
  count_ = count;
}

int64_t first_averaged_step(double fraction, int64_t total_steps) {
  HCMSN_CHECK(fraction >= 0 && fraction <= 1, "--average-from must lie in [0, 1], got ", fraction);
  if (fraction >= 1) return total_steps;
  // The tolerance keeps 0.3 · 10 at 3 (it is 3.0000000000000004 in double).
  return static_cast<int64_t>(std::ceil(fraction * static_cast<double>(total_steps) - 1e-9));
}

}  // namespace hcmsn::train
