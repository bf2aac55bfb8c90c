// Shared pieces of the vision tests: the formula inputs and weights of
// tests/reference/make_backbone_golden.py, and the README table of the shared weights.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>

#include "hcmsn/io/state_dict.h"

namespace hcmsn::vision::test {

/// x[b, c, h, w] = sin(0.05 (h + 1)(c + 1) + 0.031 w (b + 1) + 0.7 b), float64 → float32.
inline torch::Tensor formula_input(int64_t batch, int64_t height, int64_t width) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  const auto b = torch::arange(batch, opts).view({-1, 1, 1, 1});
  const auto c = torch::arange(3, opts).view({1, -1, 1, 1});
  const auto h = torch::arange(height, opts).view({1, 1, -1, 1});
  const auto w = torch::arange(width, opts).view({1, 1, 1, -1});
  return torch::sin(0.05 * (h + 1) * (c + 1) + 0.031 * w * (b + 1) + 0.7 * b).to(torch::kFloat32);
}

/// Tensor number k (torchvision state-dict order) named `name` of `shape`, filled as the Python
/// reference does (see make_backbone_golden.py).
inline torch::Tensor formula_tensor(const std::string& name, const std::vector<int64_t>& shape,
                                    int64_t k) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with("num_batches_tracked")) return torch::zeros(shape, torch::kInt64);
  int64_t numel = 1;
  for (const int64_t s : shape) numel *= s;
  const auto s =
      torch::sin(torch::arange(numel, torch::kFloat64) * 0.37 + 0.11 * static_cast<double>(k))
          .view(shape);
  torch::Tensor v;
  if (shape.size() >= 2) {
    v = s * (2.0 / std::sqrt(static_cast<double>(numel / shape[0])));
  } else if (ends_with("running_var")) {
    v = 0.75 + 0.25 * s;
  } else if (ends_with("running_mean")) {
    v = 0.1 * s;
  } else if (ends_with("weight")) {
    v = 1.0 + 0.2 * s;
  } else {
    v = 0.1 * s;
  }
  return v.to(torch::kFloat32);
}

/// The README's "TF-SAME padding" column: image → top-1 torchvision class name.
inline const std::map<std::string, std::string>& expected_top1() {
  static const std::map<std::string, std::string> table = {
      {"bird.bmp", "chickadee"},
      {"cat.bmp", "Egyptian cat"},
      {"cat_720p.jpg", "Egyptian cat"},
      {"dragonfly.bmp", "dragonfly"},
      {"grace_hopper.bmp", "military uniform"},
      {"hot_dog.jpg", "hotdog"},
      {"kite_and_cold.jpg", "seashore"},
      {"missvickie_potato_chips.bmp", "packet"},
      {"owl.jpg", "ruffed grouse"},
      {"parrot.jpg", "macaw"},
      {"pets.jpg", "Italian greyhound"},
      {"resized_cat.bmp", "Egyptian cat"},
      {"squat.bmp", "dumbbell"},
      {"sunflower.bmp", "daisy"},
  };
  return table;
}

}  // namespace hcmsn::vision::test
