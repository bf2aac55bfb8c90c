// Private building blocks of the model layer: the two-layer perceptron that S and R are made of,
// and the input checks every module shares (so their messages read alike).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace hcmsn::model::detail {

/// Linear(in, hidden) → ReLU → Dropout(dropout) → Linear(hidden, out).
torch::nn::Sequential make_mlp(int64_t in, int64_t hidden, int64_t out, double dropout);

/// Throws hcmsn::Error unless every size is > 0 and 0 ≤ dropout < 1; `who` names the module.
void check_sizes(const char* who, std::initializer_list<int64_t> sizes, double dropout);

/// Throws hcmsn::Error unless x is a (batch, dim) tensor with the dtype of `like` (a parameter
/// of the module that receives x).
void check_features(const torch::Tensor& x, int64_t dim, const torch::Tensor& like,
                    const char* what);

}  // namespace hcmsn::model::detail
