// Shared pieces of the model-layer tests: a tiny HCMSN configuration (fast on two cores) and a
// fixed, learnable batch of both modalities.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "hcmsn/model/hcmsn_model.h"

namespace hcmsn::model::testing {

inline HCMSNModelOptions tiny_options(int64_t num_classes = 4) {
  return HCMSNModelOptions(num_classes)
      .in_dim(10)
      .hidden(24)
      .dim(8)
      .sem_dim(6)
      .disc_hidden(16)
      .dropout(0.0);
}

struct Batch {
  torch::Tensor v;         // (B, in_dim)
  torch::Tensor modality;  // (B): sketch, photo, sketch, photo, …
  torch::Tensor labels;    // (B): every class once per modality, `repeats` times
  torch::Tensor w;         // (num_classes, sem_dim) class embeddings
};

/// Rows are class centres plus a modality shift plus noise, so every loss has something to
/// learn; deterministic for a seed.
inline Batch tiny_batch(const HCMSNModelOptions& o, int64_t repeats = 2, uint64_t seed = 7) {
  torch::manual_seed(seed);
  const int64_t k = o.num_seen_classes();
  const auto centres = torch::randn({k, o.in_dim()});
  const auto shift = torch::randn({2, o.in_dim()});
  Batch b;
  b.labels = torch::arange(k).repeat_interleave(2).repeat({repeats});
  b.modality = torch::tensor({kSketch, kPhoto}).repeat({k * repeats});
  b.v = centres.index_select(0, b.labels) + shift.index_select(0, b.modality) +
        0.3 * torch::randn({b.labels.size(0), o.in_dim()});
  b.w = torch::randn({k, o.sem_dim()});
  return b;
}

/// True when p received a gradient that is not all zero.
inline bool has_grad(const torch::Tensor& p) {
  return p.grad().defined() && p.grad().abs().sum().item<double>() > 0;
}

/// True when p received no gradient at all (undefined or all zero).
inline bool no_grad(const torch::Tensor& p) {
  return !has_grad(p);
}

}  // namespace hcmsn::model::testing
