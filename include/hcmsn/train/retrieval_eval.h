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
#include "hcmsn/util/sharding.h"

namespace hcmsn::train {

/// Embeds every row in eval mode without gradients, `batch` rows at a time (split over the ranks
/// of `sharding` as util::compute_in_blocks does), restoring the network's training mode
/// afterwards. Returns float32 (N, hyp_dim) on the CPU.
torch::Tensor embed_rows(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                         int64_t batch = 256, bool progress = false,
                         const util::Sharding& sharding = {});

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
                            int64_t batch = 256, bool progress = false,
                            const util::Sharding& sharding = {});

/// Which photos form the gallery: those of the evaluation classes (the zero-shot protocol), or
/// every photo of the data, the other classes' photos being distractors (generalised ZS-SBIR, and
/// what a deployed gallery is).
enum class GalleryScope { kEvaluationClasses, kAllPhotos };
/// "classes" or "all"; throws hcmsn::Error otherwise.
GalleryScope parse_gallery_scope(const std::string& name);
std::string to_string(GalleryScope scope);

/// The evaluation classes named by `which`: "unseen", "seen" or "all" (= seen then unseen, or
/// every class of the data when it has no split). Throws hcmsn::Error on another name, or on
/// "unseen"/"seen" when that list is empty (the message says to give a split or --classes all).
std::vector<std::string> evaluation_classes(const std::string& which,
                                            const std::vector<std::string>& seen,
                                            const std::vector<std::string>& unseen,
                                            const std::vector<std::string>& all_classes);

struct QueryGalleryRows {
  std::vector<int64_t> queries;  // sketch rows of the evaluation classes with a gallery photo
  std::vector<int64_t> gallery;  // photo rows of the gallery scope
  /// Evaluation classes whose sketches were left out: no photo of theirs is in the gallery, so
  /// they have nothing to retrieve (callers warn with these names).
  std::vector<std::string> classes_without_photos;
  /// Evaluation classes with no sketch at all.
  std::vector<std::string> classes_without_sketches;
};
/// Splits rows (class name and modality per row, model::kSketch / kPhoto) into queries and
/// gallery. Rows keep their order. Throws hcmsn::Error when no query or no gallery row is left.
QueryGalleryRows select_query_gallery(const std::vector<std::string>& row_class,
                                      const std::vector<int64_t>& row_modality,
                                      const std::vector<std::string>& classes, GalleryScope scope);

metrics::RetrievalResult evaluate_split(const SplitEmbeddings& split,
                                        const metrics::EvaluationOptions& options);

}  // namespace hcmsn::train
