#include "building_blocks.h"

#include <cmath>

#include "hcmsn/util/check.h"

namespace hcmsn::model::detail {

torch::nn::Sequential make_mlp(int64_t in, int64_t hidden, int64_t out, double dropout) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ReLU(),
                               torch::nn::Dropout(dropout), torch::nn::Linear(hidden, out));
}

void check_sizes(const char* who, std::initializer_list<int64_t> sizes, double dropout) {
  for (const int64_t n : sizes) HCMSN_CHECK(n > 0, who, ": every layer size must be > 0, got ", n);
  HCMSN_CHECK(std::isfinite(dropout) && dropout >= 0 && dropout < 1, who,
              ": dropout must be in [0, 1), got ", dropout);
}

void check_features(const torch::Tensor& x, int64_t dim, const torch::Tensor& like,
                    const char* what) {
  HCMSN_CHECK(x.defined() && x.dim() == 2 && x.size(1) == dim, what, " must be (batch, ", dim,
              "), got ", x.defined() ? x.sizes() : torch::IntArrayRef{},
              "; check that the feature dimension matches the model options");
  HCMSN_CHECK(x.scalar_type() == like.scalar_type(), what, " has dtype ", x.scalar_type(),
              " but the module's parameters are ", like.scalar_type(),
              "; convert the input (or the module with ->to(dtype))");
}

}  // namespace hcmsn::model::detail
