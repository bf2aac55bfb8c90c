// Class-balanced, modality-paired batches: every batch holds `classes_per_batch` classes and,
// for each, `per_class` sketches and `per_class` photos. Cross-modal losses (reconstruction,
// triplet) need both modalities of a class in the same batch, and balancing keeps frequent
// classes from dominating the classifier.
//
// An epoch visits the classes in a shuffled order (each class once per pass, passes repeated
// until the epoch has enough batches) and draws each class's items from a shuffled pool per
// modality, refilled when exhausted, so every item is seen about equally often. A class with no
// item of one modality contributes only the other. The batches of an epoch depend on nothing but
// (seed, epoch): a resumed run regenerates them exactly.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

namespace hcmsn::train {

struct BalancedSamplerOptions {
  TORCH_ARG(int64_t, classes_per_batch) = 16;
  /// Items per class and modality in a batch.
  TORCH_ARG(int64_t, per_class) = 4;
  /// Batches per epoch; 0 = enough batches to draw about every item once.
  TORCH_ARG(int64_t, batches_per_epoch) = 0;
  TORCH_ARG(uint64_t, seed) = 0;
};

class BalancedSampler {
 public:
  /// labels, modality: int64 (N). Throws hcmsn::Error on a shape mismatch, an empty set, a
  /// negative label or a modality other than 0/1.
  BalancedSampler(const torch::Tensor& labels, const torch::Tensor& modality,
                  BalancedSamplerOptions options);

  /// Row indices (int64) of every batch of `epoch` (0-based), in order.
  std::vector<torch::Tensor> epoch_batches(int64_t epoch) const;
  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  int64_t num_classes() const { return static_cast<int64_t>(classes_.size()); }
  const BalancedSamplerOptions& options() const { return options_; }

 private:
  BalancedSamplerOptions options_;
  // rows_[c][m]: rows of class classes_[c] with modality m.
  std::vector<int64_t> classes_;
  std::vector<std::array<std::vector<int64_t>, 2>> rows_;
  int64_t batches_per_epoch_ = 0;
};

}  // namespace hcmsn::train
