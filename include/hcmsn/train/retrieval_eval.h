// Zero-shot evaluation of a network on a set of rows (DESIGN §1): every sketch is a query, every
// photo is the gallery, relevance = same class, ranking by the Poincaré distance under the
// network's curvature (c = 0: Euclidean). The labels go through metrics::encode_labels as class
// names, exactly as `hcmsn metrics` reads them from files, so `hcmsn eval` and `hcmsn metrics`
// on exported embeddings give identical numbers.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/model/retrieval_network.h"
#include "hcmsn/train/training_set.h"

namespace hcmsn::train {

/// Embeds every row in eval mode without gradients, `batch` rows at a time, restoring the
/// network's training mode afterwards. Returns float32 (N, hyp_dim) on the CPU.
torch::Tensor embed_rows(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                         int64_t batch = 256, bool progress = false);

struct SplitEmbeddings {
  torch::Tensor queries;                                  // float32 (Q, d): the sketches
  torch::Tensor gallery;                                  // float32 (G, d): the photos
  std::vector<std::string> query_labels, gallery_labels;  // class names
  std::vector<std::string> query_ids, gallery_ids;        // item ids (may be empty)
  double curvature = 0.0;
};

/// Sketch queries against the photo gallery of `set`. Throws hcmsn::Error when either
/// modality has no rows.
SplitEmbeddings embed_split(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                            int64_t batch = 256, bool progress = false);

metrics::RetrievalResult evaluate_split(const SplitEmbeddings& split,
                                        const metrics::EvaluationOptions& options);

}  // namespace hcmsn::train
