// A benchmark dataset's items (data::Dataset: image files and QuickDraw .ndjson drawings) through
// a trained run's Embedder, so that a run can be evaluated on data it was not trained on, with
// the same front end (backbone, transform, drawing render options) its training rows had.
// Images are decoded and drawings rendered in parallel, `batch` items per forward pass; every
// .ndjson file is read once. Unreadable items are returned with the reason, never dropped
// silently.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "hcmsn/data/dataset.h"
#include "hcmsn/index/embedder.h"

namespace hcmsn::index {

struct ItemEmbeddings {
  torch::Tensor embeddings;                                // float32 (M, dim), readable items
  std::vector<size_t> embedded;                            // index into `items` of each row
  std::vector<std::pair<size_t, std::string>> unreadable;  // (index into `items`, reason)
};

/// Embeds `items` (each with its own modality) in their order; `batch` > 0.
ItemEmbeddings embed_dataset_items(const Embedder& embedder,
                                   const std::vector<data::DatasetItem>& items, int64_t batch,
                                   bool progress);

}  // namespace hcmsn::index
