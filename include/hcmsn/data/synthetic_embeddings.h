// Synthetic retrieval embeddings with a known class structure: the built-in example for
// `hcmsn metrics` and the data of the metrics benchmark (sizes of the real benchmarks, no
// download). Each class has a centre in the tangent space at 0; queries and gallery items are
// the centre plus isotropic Gaussian noise (queries noisier, like sketches vs photos), mapped
// onto the Poincaré ball of curvature −c by exp0 (c = 0: left in Euclidean space).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace hcmsn::data {

struct SyntheticEmbeddingOptions {
  int64_t num_queries = 15229;  // Sketchy Ext. split 1 test sizes
  int64_t num_gallery = 17101;
  int64_t dim = 512;
  int64_t num_classes = 25;
  double curvature = 0.01;
  double class_spread = 1.0;   // ‖centre‖ ≈ class_spread
  double gallery_noise = 2.5;  // ‖noise‖ ≈ gallery_noise (defaults give mAP ≈ 0.4)
  double query_noise = 3.5;
  uint64_t seed = 0;
  torch::ScalarType dtype = torch::kFloat32;
};

struct SyntheticEmbeddings {
  torch::Tensor queries;  // (num_queries, dim)
  torch::Tensor gallery;  // (num_gallery, dim)
  std::vector<int64_t> query_labels;
  std::vector<int64_t> gallery_labels;
};

/// Deterministic for a given seed. Every class gets at least one gallery item.
SyntheticEmbeddings make_synthetic_embeddings(const SyntheticEmbeddingOptions& options);

}  // namespace hcmsn::data
