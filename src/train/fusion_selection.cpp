#include "hcmsn/train/fusion_selection.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/train/retrieval_eval.h"
#include "hcmsn/util/check.h"

namespace hcmsn::train {
namespace {

// The fused embedding's parts of every row, in eval mode without gradient, `batch` rows at a
// time (split over the ranks of `sharding`); restores the training mode.
model::EmbeddingParts embed_parts_of(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                                     int64_t batch, const util::Sharding& sharding) {
  if (set.size() == 0) return {};
  const bool was_training = network.is_training();
  network.eval();
  torch::NoGradGuard no_grad;
  const auto device = network.parameters().front().device();
  const auto parts = util::compute_in_blocks(
      set.size(), batch,
      [&](int64_t start, int64_t n) -> std::vector<torch::Tensor> {
        const auto p = network.embed_parts(set.input_slice(start, n).to(device),
                                           set.modality.narrow(0, start, n).to(device));
        return {p.v.to(torch::kCPU, torch::kFloat32), p.s.to(torch::kCPU, torch::kFloat32),
                p.h.to(torch::kCPU, torch::kFloat32)};
      },
      sharding);
  network.train(was_training);
  return {parts[0], parts[1], parts[2]};
}

struct Rows {
  std::vector<int64_t> sketches, photos;
  std::vector<std::string> sketch_labels, photo_labels;
};

Rows rows_of(const TrainingSet& set) {
  Rows r;
  const auto modality = set.modality.contiguous();
  const auto labels = set.labels.contiguous();
  const auto* m = modality.data_ptr<int64_t>();
  const auto* y = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < set.size(); ++i) {
    const auto& name = set.class_names[static_cast<size_t>(y[i])];
    if (m[i] == model::kPhoto) {
      r.photos.push_back(i);
      r.photo_labels.push_back(name);
    } else {
      r.sketches.push_back(i);
      r.sketch_labels.push_back(name);
    }
  }
  return r;
}

torch::Tensor take(const torch::Tensor& t, const std::vector<int64_t>& rows) {
  return t.index_select(0, torch::tensor(rows, torch::kInt64));
}

// Everything a grid needs, embedded once.
class FusionData {
 public:
  FusionData(model::RetrievalNetworkImpl& network, const TrainingSet& validation,
             const TrainingSet& training, int64_t batch, util::Sharding sharding,
             const ClassWeights& class_weights = {})
      : curvature_(network.hcmsn()->curvature().value()), sharding_(std::move(sharding)) {
    HCMSN_CHECK(network.hcmsn()->options().fused_embedding(),
                "fusion weights need a run trained with a fused embedding (train --fusion)");
    val_ = rows_of(validation);
    HCMSN_CHECK(!val_.sketches.empty() && !val_.photos.empty(),
                "the validation classes need sketches and photos to choose fusion weights");
    if (!class_weights.empty()) {
      for (const auto& label : val_.sketch_labels) {
        const auto it = class_weights.find(label);
        HCMSN_CHECK(it != class_weights.end(), "no weight for the validation class '", label,
                    "': weigh every validation class or none");
        HCMSN_CHECK(it->second >= 0 && std::isfinite(it->second), "the validation class '", label,
                    "' has the weight ", it->second, ": weights must be finite and >= 0");
      }
      class_weights_ = class_weights;
    }
    const auto parts = embed_parts_of(network, validation, batch, sharding_);
    query_ = slice(parts, val_.sketches);
    gallery_ = slice(parts, val_.photos);
    const Rows train = rows_of(training);
    if (!train.photos.empty()) {
      distractors_ = embed_parts_of(network, training.select_rows(train.photos), batch, sharding_);
      distractor_labels_ = train.photo_labels;
    }
    scale_ = model::hyperbolic_scale(
        distractors_.h.defined() ? torch::cat({parts.h, distractors_.h}) : parts.h);
  }

  // κ of every row this selection sees (validation rows and distractors).
  double scale() const { return scale_; }

  FusionScore score(const model::FusionWeights& w) const {
    const auto fuse = [&](const model::EmbeddingParts& p) {
      return model::fuse_embedding(p.v, p.s, p.h, w, curvature_);
    };
    metrics::EvaluationOptions options;
    options.ks = {1};  // only mAP@all is used
    options.sharding = sharding_;
    SplitEmbeddings split;
    split.curvature = curvature_;
    split.queries = fuse(query_);
    split.query_labels = val_.sketch_labels;
    split.gallery = fuse(gallery_);
    split.gallery_labels = val_.photo_labels;
    FusionScore s;
    const auto standard = evaluate_split(split, options);
    s.map_standard = map_all(standard);
    if (distractors_.v.defined()) {
      split.gallery = torch::cat({split.gallery, fuse(distractors_)});
      split.gallery_labels.insert(split.gallery_labels.end(), distractor_labels_.begin(),
                                  distractor_labels_.end());
    }
    const auto generalised = evaluate_split(split, options);
    s.map_generalised = map_all(generalised);
    for (const auto& c : standard.per_class) s.class_scores[c.name] = 0.5 * c.map_all;
    for (const auto& c : generalised.per_class) s.class_scores[c.name] += 0.5 * c.map_all;
    return s;
  }

 private:
  // mAP@all, or with class weights the weighted mean of the queries' APs: a class's mean AP
  // weighs its weight times its counted queries (a class without photos counts as the protocol
  // counts it: skipped, or with AP 0).
  double map_all(const metrics::RetrievalResult& result) const {
    if (class_weights_.empty()) return result.map_all;
    const bool skip = result.empty_queries == metrics::EmptyQueryPolicy::kSkip;
    double sum = 0, weight = 0;
    for (const auto& c : result.per_class) {
      if (skip && c.num_relevant == 0) continue;
      const double w = class_weights_.at(c.name) * static_cast<double>(c.num_queries);
      sum += w * c.map_all;
      weight += w;
    }
    HCMSN_CHECK(weight > 0, "every validation query weighs 0: give some class a positive weight");
    return sum / weight;
  }

  static model::EmbeddingParts slice(const model::EmbeddingParts& p,
                                     const std::vector<int64_t>& rows) {
    return {take(p.v, rows), take(p.s, rows), take(p.h, rows)};
  }

  double curvature_;
  util::Sharding sharding_;
  double scale_ = 1.0;
  Rows val_;
  model::EmbeddingParts query_, gallery_, distractors_;
  std::vector<std::string> distractor_labels_;
  ClassWeights class_weights_;  // empty: unweighted
};

nlohmann::json score_json(const FusionScore& s) {
  return {{"map_standard", s.map_standard},
          {"map_generalised", s.map_generalised},
          {"score", s.score()}};
}

}  // namespace

nlohmann::json FusionChoice::to_json() const {
  return {{"weights", model::to_string(weights)},
          {"hyperbolic_scale", weights.hyperbolic_scale},
          {"validation", score_json(best)},
          {"backbone_only", score_json(backbone)}};
}

std::vector<FusionScore> score_fusion(model::RetrievalNetworkImpl& network,
                                      const TrainingSet& validation, const TrainingSet& training,
                                      const std::vector<model::FusionWeights>& weights,
                                      int64_t batch, const util::Sharding& sharding) {
  const FusionData data(network, validation, training, batch, sharding);
  std::vector<FusionScore> scores;
  scores.reserve(weights.size());
  for (const auto& w : weights) scores.push_back(data.score(w));
  return scores;
}

std::vector<ScoredFusion> score_fusion_grid(model::RetrievalNetworkImpl& network,
                                            const TrainingSet& validation,
                                            const TrainingSet& training, int64_t grid_steps,
                                            int64_t batch, const util::Sharding& sharding,
                                            const ClassWeights& class_weights) {
  const FusionData data(network, validation, training, batch, sharding, class_weights);
  std::vector<ScoredFusion> scored;
  for (auto w : model::fusion_grid(static_cast<int>(grid_steps))) {
    w.hyperbolic_scale = data.scale();
    scored.push_back({w, data.score(w)});
  }
  return scored;
}

FusionChoice select_fusion(model::RetrievalNetworkImpl& network, const TrainingSet& validation,
                           const TrainingSet& training, int64_t grid_steps, int64_t batch,
                           const util::Sharding& sharding) {
  const auto scored = score_fusion_grid(network, validation, training, grid_steps, batch, sharding);
  FusionChoice choice;
  bool first = true;
  for (const auto& [w, s] : scored) {
    if (first || s.score() > choice.best.score()) {
      choice.weights = w;
      choice.best = s;
      first = false;
    }
    // The grid holds the vertex (1, 0, 0): the backbone alone.
    if (w.backbone == 1.0) choice.backbone = s;
  }
  return choice;
}

double hyperbolic_scale_of(model::RetrievalNetworkImpl& network, const TrainingSet& set,
                           int64_t max_rows, int64_t batch, const util::Sharding& sharding) {
  HCMSN_CHECK(set.size() >= 2, "the scale of h needs at least two rows");
  // Evenly spaced rows: deterministic, and every class and modality in proportion.
  const int64_t n = std::min(set.size(), std::max<int64_t>(2, max_rows));
  const auto rows = torch::linspace(0, static_cast<double>(set.size() - 1), n, torch::kFloat64)
                        .round()
                        .to(torch::kInt64);
  std::vector<int64_t> picked(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + n);
  return model::hyperbolic_scale(
      embed_parts_of(network, set.select_rows(picked), batch, sharding).h);
}

}  // namespace hcmsn::train
