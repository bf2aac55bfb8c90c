// Scoring labelled sketches against a gallery file: the metrics `hcmsn metrics` reports (AP over
// the whole ranking, Prec@K, mAP@K; metrics/retrieval_evaluator.h) for the gallery a user serves.
//
// Every query ranks the WHOLE gallery by the Poincaré distance of the gallery's curvature
// (equal distances: smaller row first, as everywhere in metrics). A gallery row is relevant when
// its class is the query's; classes are joined by data::class_key ("alarm clock" meets
// "alarm_clock") and reported as the gallery spells them. Rows without a class are distractors:
// ranked, never relevant. A query class without a photo in the gallery is counted per
// EvaluationOptions::empty_queries.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "hcmsn/index/gallery.h"
#include "hcmsn/metrics/retrieval_evaluator.h"

namespace hcmsn::index {

/// Class ids of the queries and the gallery rows (distractors: −1), and the class names: ids
/// follow the sorted order of the names, like metrics::encode_labels. A name is the gallery's
/// spelling of the class (the first in sorted order when it has several), or the first query's
/// spelling for a class the gallery lacks. Throws hcmsn::Error when a query class is empty.
metrics::Labels gallery_labels(const Gallery& gallery,
                               const std::vector<std::string>& query_classes);

/// Evaluates float32/float64 query embeddings (Q, dim) of the gallery's model, with one class per
/// query. Throws hcmsn::Error on a count or dimension mismatch, an empty query class, or (per
/// `options`) a class without photos.
metrics::RetrievalResult evaluate_gallery(const Gallery& gallery, const torch::Tensor& queries,
                                          const std::vector<std::string>& query_classes,
                                          const metrics::EvaluationOptions& options);

}  // namespace hcmsn::index
