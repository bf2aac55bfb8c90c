// R, the cross-modal retrieval feature reconstruction network of HCMSN (DESIGN §2): MLP from the
// semantic space back to retrieval features, s ∈ R^sem_dim → f̂ ∈ R^dim. Applied to S(f) of a
// sketch it must reproduce the features of a photo of the same class (and vice versa); applied
// to a class-name embedding w_y it yields a retrieval-space prototype of the class, which is what
// transfers to unseen classes. The losses are in losses.h. Shapes and dtypes follow
// retrieval_feature_net.h.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace hcmsn::model {

struct ReconstructionNetOptions {
  ReconstructionNetOptions(int64_t sem_dim, int64_t dim) : sem_dim_(sem_dim), dim_(dim) {}
  TORCH_ARG(int64_t, sem_dim);
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, hidden) = 1024;
  TORCH_ARG(double, dropout) = 0.2;
};

/// Linear(sem_dim, hidden) → ReLU → Dropout → Linear(hidden, dim).
class ReconstructionNetImpl : public torch::nn::Module {
 public:
  explicit ReconstructionNetImpl(ReconstructionNetOptions options);

  /// s (B, sem_dim) → f̂ (B, dim).
  torch::Tensor forward(const torch::Tensor& s);

  const ReconstructionNetOptions& options() const { return options_; }

 private:
  ReconstructionNetOptions options_;
  torch::nn::Sequential mlp_{nullptr};
};
TORCH_MODULE(ReconstructionNet);

}  // namespace hcmsn::model
