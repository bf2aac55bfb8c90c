// Choosing fusion weights on validation classes (train/fusion_selection.h): the choice is the
// grid's best, the backbone-only score equals an independent cosine evaluation of the raw
// features, and the held-out classes are spread over the order (spread_classes).
#include "hcmsn/train/fusion_selection.h"

#include <gtest/gtest.h>

#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/train/training_set.h"
#include "support/test_support.h"

namespace hcmsn::train {
namespace {

// Classes × (sketches, photos) rows of clustered features with a modality shift.
TrainingSet clustered(const std::vector<std::string>& names, int64_t sketches, int64_t photos,
                      int64_t dim, uint64_t seed) {
  torch::manual_seed(seed);
  TrainingSet set;
  set.class_names = names;
  std::vector<int64_t> labels, modality;
  for (int64_t c = 0; c < static_cast<int64_t>(names.size()); ++c) {
    for (int64_t i = 0; i < sketches + photos; ++i) {
      labels.push_back(c);
      modality.push_back(i < sketches ? model::kSketch : model::kPhoto);
      set.item_ids.push_back(names[static_cast<size_t>(c)] + "/" + std::to_string(i));
    }
  }
  set.labels = torch::tensor(labels, torch::kInt64);
  set.modality = torch::tensor(modality, torch::kInt64);
  const auto centres = torch::randn({static_cast<int64_t>(names.size()), dim});
  set.inputs = centres.index_select(0, set.labels) + 1.2 * torch::randn({set.size(), dim});
  return set;
}

model::RetrievalNetwork fused_network() {
  torch::manual_seed(1);
  model::HCMSNModelOptions o(3);
  o.in_dim(12).hidden(16).dim(8).sem_dim(5).disc_hidden(8).fused_embedding(true);
  return model::RetrievalNetwork(o, nullptr);
}

TEST(FusionSelection, ChoosesTheBestTripleOfTheGrid) {
  auto network = fused_network();
  const auto validation = clustered({"a", "b", "c", "d"}, 5, 3, 12, 2);
  const auto training = clustered({"e", "f", "g"}, 5, 3, 12, 3);
  const auto choice = select_fusion(*network, validation, training, 4);
  double best = -1;
  for (auto w : model::fusion_grid(4)) {
    w.hyperbolic_scale = choice.weights.hyperbolic_scale;
    best = std::max(best, score_fusion(*network, validation, training, {w})[0].score());
  }
  // κ is measured on the validation rows and the distractor photos.
  const auto photos = (training.modality == model::kPhoto).nonzero().view(-1);
  {
    torch::NoGradGuard no_grad;
    network->eval();
    const auto h = torch::cat({network->embed_parts(validation.inputs, validation.modality).h,
                               network
                                   ->embed_parts(training.inputs.index_select(0, photos),
                                                 training.modality.index_select(0, photos))
                                   .h});
    EXPECT_NEAR(choice.weights.hyperbolic_scale, model::hyperbolic_scale(h), 1e-6);
  }
  EXPECT_DOUBLE_EQ(choice.best.score(), best);
  const auto again = score_fusion(*network, validation, training, {choice.weights})[0];
  EXPECT_DOUBLE_EQ(again.map_standard, choice.best.map_standard);
  EXPECT_DOUBLE_EQ(again.map_generalised, choice.best.map_generalised);
  // Distractors can only push relevant photos down.
  EXPECT_LE(choice.best.map_generalised, choice.best.map_standard + 1e-12);
  // The selection does not change the network's own weights.
  EXPECT_EQ(model::to_string(network->hcmsn()->fusion()), "0,0,1");
  const auto j = choice.to_json();
  EXPECT_EQ(j.at("weights"), model::to_string(choice.weights));
  EXPECT_TRUE(j.at("backbone_only").contains("map_generalised"));
}

TEST(FusionSelection, BackboneOnlyScoreIsTheRawFeaturesCosine) {
  auto network = fused_network();
  const auto validation = clustered({"a", "b", "c"}, 4, 3, 12, 5);
  const auto training = clustered({"e", "f"}, 4, 2, 12, 6);
  const auto choice = select_fusion(*network, validation, training, 2);
  // Independently: cosine ranking of the raw inputs, through the metrics library.
  const auto sketches = (validation.modality == model::kSketch).nonzero().view(-1);
  const auto photos = (validation.modality == model::kPhoto).nonzero().view(-1);
  const auto train_photos = (training.modality == model::kPhoto).nonzero().view(-1);
  const auto names = [](const TrainingSet& set, const torch::Tensor& rows) {
    std::vector<std::string> out;
    for (int64_t i = 0; i < rows.size(0); ++i) {
      out.push_back(set.class_names[static_cast<size_t>(
          set.labels[rows[i].item<int64_t>()].item<int64_t>())]);
    }
    return out;
  };
  metrics::DistanceOptions cosine;
  cosine.metric = metrics::Metric::kCosine;
  metrics::EvaluationOptions options;
  options.ks = {1};
  const auto q = validation.inputs.index_select(0, sketches);
  const auto g = validation.inputs.index_select(0, photos);
  const auto standard = metrics::evaluate_embeddings(
      q, g, metrics::encode_labels(names(validation, sketches), names(validation, photos)), cosine,
      options);
  auto gallery_labels = names(validation, photos);
  const auto distractor_labels = names(training, train_photos);
  gallery_labels.insert(gallery_labels.end(), distractor_labels.begin(), distractor_labels.end());
  const auto generalised = metrics::evaluate_embeddings(
      q, torch::cat({g, training.inputs.index_select(0, train_photos)}),
      metrics::encode_labels(names(validation, sketches), gallery_labels), cosine, options);
  EXPECT_NEAR(choice.backbone.map_standard, standard.map_all, 1e-9);
  EXPECT_NEAR(choice.backbone.map_generalised, generalised.map_all, 1e-9);
  EXPECT_GE(choice.best.score(), choice.backbone.score());
}

TEST(FusionSelection, RefusesNetworksWithoutFusionAndValidationWithoutPhotos) {
  torch::manual_seed(1);
  model::HCMSNModelOptions o(3);
  o.in_dim(12).hidden(16).dim(8).sem_dim(5).disc_hidden(8);
  model::RetrievalNetwork plain(o, nullptr);
  const auto validation = clustered({"a", "b"}, 3, 2, 12, 2);
  EXPECT_TRUE(test::contains(
      test::error_of([&] { select_fusion(*plain, validation, validation, 2); }), "--fusion"));
  auto network = fused_network();
  const auto no_photos = clustered({"a", "b"}, 3, 0, 12, 2);
  EXPECT_TRUE(test::contains(
      test::error_of([&] { select_fusion(*network, no_photos, validation, 2); }), "photos"));
}

TEST(SpreadClasses, PicksEvenlyAndKeepsOneForTraining) {
  const std::vector<std::string> names = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  EXPECT_EQ(spread_classes(names, 2), (std::vector<std::string>{"c", "h"}));
  EXPECT_EQ(spread_classes(names, 3), (std::vector<std::string>{"b", "f", "i"}));
  EXPECT_TRUE(spread_classes(names, 0).empty());
  EXPECT_TRUE(
      test::contains(test::error_of([&] { spread_classes(names, 10); }), "at least one must stay"));
}

}  // namespace
}  // namespace hcmsn::train
