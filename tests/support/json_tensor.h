// Golden-value fixtures store arrays as nested JSON lists; this turns one into a float64 tensor
// of the same shape.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace hcmsn::test {

namespace detail {
inline void flatten(const nlohmann::json& j, std::vector<double>& out, std::vector<int64_t>& shape,
                    size_t depth) {
  if (j.is_array()) {
    if (shape.size() == depth) shape.push_back(static_cast<int64_t>(j.size()));
    for (const auto& e : j) flatten(e, out, shape, depth + 1);
  } else {
    out.push_back(j.get<double>());
  }
}
}  // namespace detail

/// A nested list of numbers (rectangular) as a float64 tensor; a number gives a 0-dim tensor.
inline torch::Tensor to_tensor(const nlohmann::json& j) {
  std::vector<double> flat;
  std::vector<int64_t> shape;
  detail::flatten(j, flat, shape, 0);
  return torch::tensor(flat, torch::kFloat64).view(shape);
}

}  // namespace hcmsn::test
