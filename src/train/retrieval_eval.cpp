#include "hcmsn/train/retrieval_eval.h"

#include <algorithm>

#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::train {
torch::Tensor embed_rows(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                         int64_t batch, bool progress) {
  HCMSN_CHECK(batch > 0, "the embedding batch size must be > 0");
  const bool was_training = network.is_training();
  network.eval();
  torch::NoGradGuard no_grad;
  const auto device = network.parameters().front().device();
  std::vector<torch::Tensor> parts;
  util::Progress bar(set.size(), {"embedding", "items", progress});
  for (int64_t start = 0; start < set.size(); start += batch) {
    const int64_t n = std::min(batch, set.size() - start);
    auto x = set.inputs.narrow(0, start, n).to(device);
    auto m = set.modality.narrow(0, start, n).to(device);
    parts.push_back(network.embed(x, m).to(torch::kCPU, torch::kFloat32));
    bar.advance(n);
  }
  network.train(was_training);
  if (parts.empty()) {
    return torch::zeros({0, network.hcmsn()->options().hyp_dim() > 0
                                ? network.hcmsn()->options().hyp_dim()
                                : network.hcmsn()->options().dim()});
  }
  return torch::cat(parts).contiguous();
}

SplitEmbeddings embed_split(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                            int64_t batch, bool progress) {
  const TrainingSet sketches = set.rows_of_modality(model::kSketch);
  const TrainingSet photos = set.rows_of_modality(model::kPhoto);
  HCMSN_CHECK(sketches.size() > 0, "no sketches to use as queries among the evaluation classes");
  HCMSN_CHECK(photos.size() > 0, "no photos to form the gallery among the evaluation classes");
  SplitEmbeddings out;
  out.queries = embed_rows(network, sketches, batch, progress);
  out.gallery = embed_rows(network, photos, batch, progress);
  out.query_labels = sketches.label_names();
  out.gallery_labels = photos.label_names();
  out.query_ids = sketches.item_ids;
  out.gallery_ids = photos.item_ids;
  out.curvature = network.hcmsn()->curvature().value();
  return out;
}

metrics::RetrievalResult evaluate_split(const SplitEmbeddings& split,
                                        const metrics::EvaluationOptions& options) {
  const metrics::Labels labels = metrics::encode_labels(split.query_labels, split.gallery_labels);
  metrics::DistanceOptions distance;
  distance.metric = metrics::Metric::kPoincare;
  distance.curvature = split.curvature;
  return metrics::evaluate_embeddings(split.queries, split.gallery, labels, distance, options);
}

}  // namespace hcmsn::train
