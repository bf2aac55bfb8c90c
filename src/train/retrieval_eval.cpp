#include "hcmsn/train/retrieval_eval.h"

#include <algorithm>
#include <set>

#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::train {
torch::Tensor embed_rows(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                         int64_t batch, bool progress, const util::Sharding& sharding) {
  const bool was_training = network.is_training();
  network.eval();
  torch::NoGradGuard no_grad;
  const auto device = network.parameters().front().device();
  const int64_t dim = network.hcmsn()->embedding_dim();
  const auto embedded = util::compute_in_blocks(
      set.size(), batch,
      [&](int64_t start, int64_t n) -> std::vector<torch::Tensor> {
        if (n == 0) return {torch::zeros({0, dim})};
        auto x = set.input_slice(start, n).to(device);
        auto m = set.modality.narrow(0, start, n).to(device);
        return {network.embed(x, m).to(torch::kCPU, torch::kFloat32)};
      },
      sharding, progress);
  network.train(was_training);
  return embedded.front();
}

SplitEmbeddings embed_split(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                            int64_t batch, bool progress, const util::Sharding& sharding) {
  const TrainingSet sketches = set.rows_of_modality(model::kSketch);
  const TrainingSet photos = set.rows_of_modality(model::kPhoto);
  HCMSN_CHECK(sketches.size() > 0, "no sketches to use as queries among the evaluation classes");
  HCMSN_CHECK(photos.size() > 0, "no photos to form the gallery among the evaluation classes");
  SplitEmbeddings out;
  out.queries = embed_rows(network, sketches, batch, progress, sharding);
  out.gallery = embed_rows(network, photos, batch, progress, sharding);
  out.query_labels = sketches.label_names();
  out.gallery_labels = photos.label_names();
  out.query_ids = sketches.item_ids;
  out.gallery_ids = photos.item_ids;
  out.curvature = network.hcmsn()->curvature().value();
  return out;
}

GalleryScope parse_gallery_scope(const std::string& name) {
  if (name == "classes") return GalleryScope::kEvaluationClasses;
  if (name == "all") return GalleryScope::kAllPhotos;
  HCMSN_CHECK(false, "unknown gallery '", name,
              "': use classes (photos of the evaluation classes) or all (every photo)");
  return GalleryScope::kEvaluationClasses;
}

std::string to_string(GalleryScope scope) {
  return scope == GalleryScope::kAllPhotos ? "all" : "classes";
}

std::vector<std::string> evaluation_classes(const std::string& which,
                                            const std::vector<std::string>& seen,
                                            const std::vector<std::string>& unseen,
                                            const std::vector<std::string>& all_classes) {
  HCMSN_CHECK(which == "unseen" || which == "seen" || which == "all", "unknown class set '", which,
              "': use unseen, seen or all");
  if (which == "all") {
    if (seen.empty() && unseen.empty()) return all_classes;
    std::vector<std::string> out = seen;
    out.insert(out.end(), unseen.begin(), unseen.end());
    return out;
  }
  const auto& list = which == "seen" ? seen : unseen;
  HCMSN_CHECK(!list.empty(), "the data has no ", which,
              " classes: it carries no zero-shot split. Give one (--split NAME or --unseen FILE) "
              "or evaluate every class with --classes all");
  return list;
}

QueryGalleryRows select_query_gallery(const std::vector<std::string>& row_class,
                                      const std::vector<int64_t>& row_modality,
                                      const std::vector<std::string>& classes, GalleryScope scope) {
  HCMSN_CHECK(row_class.size() == row_modality.size(), "got ", row_class.size(),
              " class names for ", row_modality.size(), " rows");
  const std::set<std::string> wanted(classes.begin(), classes.end());
  QueryGalleryRows out;
  std::set<std::string> with_photo, with_sketch;
  for (size_t i = 0; i < row_class.size(); ++i) {
    if (row_modality[i] != model::kPhoto) continue;
    if (scope == GalleryScope::kAllPhotos || wanted.count(row_class[i]) > 0) {
      out.gallery.push_back(static_cast<int64_t>(i));
      with_photo.insert(row_class[i]);
    }
  }
  for (size_t i = 0; i < row_class.size(); ++i) {
    if (row_modality[i] != model::kSketch || wanted.count(row_class[i]) == 0) continue;
    with_sketch.insert(row_class[i]);
    if (with_photo.count(row_class[i]) > 0) out.queries.push_back(static_cast<int64_t>(i));
  }
  for (const auto& c : classes) {
    if (with_sketch.count(c) == 0) {
      out.classes_without_sketches.push_back(c);
    } else if (with_photo.count(c) == 0) {
      out.classes_without_photos.push_back(c);
    }
  }
  HCMSN_CHECK(!out.gallery.empty(), "no photos to form the gallery among the ", classes.size(),
              " evaluation classes (use --gallery all to rank every photo of the data)");
  HCMSN_CHECK(!out.queries.empty(), "no sketch of the ", classes.size(),
              " evaluation classes has a photo of its class in the gallery; nothing to evaluate");
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
