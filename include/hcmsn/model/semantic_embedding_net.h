// The semantic side of HCMSN's alignment (DESIGN §2), two halves of one adversarial game:
//  * S, the semantic knowledge embedding network: MLP f ∈ R^dim → s ∈ R^sem_dim, the space of
//    the class-name embeddings w_y (BERT: 768; any sem_dim works, e.g. 300 for GloVe);
//  * D, the discriminator: MLP s ∈ R^sem_dim → one logit, "this is a real class embedding w_y"
//    (positive) versus "this is S(f)" (negative). S is trained to fool it (losses.h).
// Shapes and dtypes follow retrieval_feature_net.h.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace hcmsn::model {

struct SemanticEmbeddingNetOptions {
  SemanticEmbeddingNetOptions(int64_t dim, int64_t sem_dim) : dim_(dim), sem_dim_(sem_dim) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, sem_dim);
  TORCH_ARG(int64_t, hidden) = 1024;
  TORCH_ARG(double, dropout) = 0.2;
};

/// Linear(dim, hidden) → ReLU → Dropout → Linear(hidden, sem_dim). The output is unbounded, like
/// the embeddings it imitates.
class SemanticEmbeddingNetImpl : public torch::nn::Module {
 public:
  explicit SemanticEmbeddingNetImpl(SemanticEmbeddingNetOptions options);

  /// f (B, dim) → s (B, sem_dim).
  torch::Tensor forward(const torch::Tensor& f);

  const SemanticEmbeddingNetOptions& options() const { return options_; }

 private:
  SemanticEmbeddingNetOptions options_;
  torch::nn::Sequential mlp_{nullptr};
};
TORCH_MODULE(SemanticEmbeddingNet);

struct DiscriminatorOptions {
  explicit DiscriminatorOptions(int64_t sem_dim) : sem_dim_(sem_dim) {}
  TORCH_ARG(int64_t, sem_dim);
  TORCH_ARG(int64_t, hidden) = 512;
  /// Slope of the LeakyReLU: D must pass gradient back to S for every input, also where a ReLU
  /// would be dead.
  TORCH_ARG(double, negative_slope) = 0.2;
};

/// Linear(sem_dim, hidden) → LeakyReLU → Linear(hidden, 1). No dropout: D is trained on a
/// separate optimizer and its noise would only blur the signal S learns from.
class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(DiscriminatorOptions options);

  /// s (B, sem_dim) → logits (B); positive means "real class embedding".
  torch::Tensor forward(const torch::Tensor& s);

  const DiscriminatorOptions& options() const { return options_; }

 private:
  DiscriminatorOptions options_;
  torch::nn::Sequential mlp_{nullptr};
};
TORCH_MODULE(Discriminator);

}  // namespace hcmsn::model
