// Choosing fusion weights on validation classes (train/fusion_selection.h): the choice is the
// grid's best, the backbone-only score equals an independent cosine evaluation of the raw
// features, the held-out classes are spread over the order (spread_classes) or cut into folds
// (fold_classes), the choice over fold runs is the best mean (fusion_folds.h), and class weights
// weigh each query's AP.
#include "hcmsn/train/fusion_selection.h"

#include <gtest/gtest.h>

#include <cmath>

#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/train/fusion_folds.h"
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

// The class name of each of `rows`.
std::vector<std::string> labels_of(const TrainingSet& set, const torch::Tensor& rows) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < rows.size(0); ++i) {
    out.push_back(
        set.class_names[static_cast<size_t>(set.labels[rows[i].item<int64_t>()].item<int64_t>())]);
  }
  return out;
}

// Independently of the selection: the cosine ranking of the raw inputs through the metrics
// library, the validation sketches against the validation photos (standard) and against those
// plus the training photos (generalised).
struct RawCosine {
  metrics::RetrievalResult standard, generalised;
};
RawCosine raw_cosine(const TrainingSet& validation, const TrainingSet& training) {
  const auto sketches = (validation.modality == model::kSketch).nonzero().view(-1);
  const auto photos = (validation.modality == model::kPhoto).nonzero().view(-1);
  const auto train_photos = (training.modality == model::kPhoto).nonzero().view(-1);
  metrics::DistanceOptions cosine;
  cosine.metric = metrics::Metric::kCosine;
  metrics::EvaluationOptions options;
  options.ks = {1};
  const auto q = validation.inputs.index_select(0, sketches);
  const auto g = validation.inputs.index_select(0, photos);
  const auto query_labels = labels_of(validation, sketches);
  auto gallery_labels = labels_of(validation, photos);
  RawCosine r;
  r.standard = metrics::evaluate_embeddings(
      q, g, metrics::encode_labels(query_labels, gallery_labels), cosine, options);
  const auto distractor_labels = labels_of(training, train_photos);
  gallery_labels.insert(gallery_labels.end(), distractor_labels.begin(), distractor_labels.end());
  r.generalised = metrics::evaluate_embeddings(
      q, torch::cat({g, training.inputs.index_select(0, train_photos)}),
      metrics::encode_labels(query_labels, gallery_labels), cosine, options);
  return r;
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
  const auto [standard, generalised] = raw_cosine(validation, training);
  EXPECT_NEAR(choice.backbone.map_standard, standard.map_all, 1e-9);
  EXPECT_NEAR(choice.backbone.map_generalised, generalised.map_all, 1e-9);
  EXPECT_GE(choice.best.score(), choice.backbone.score());
}

TEST(FusionSelection, ClassWeightsWeighEachQuerysAveragePrecision) {
  auto network = fused_network();
  const auto validation = clustered({"a", "b", "c"}, 4, 3, 12, 7);
  const auto training = clustered({"e", "f"}, 4, 2, 12, 8);
  const auto plain = score_fusion_grid(*network, validation, training, 2);
  const auto equal =
      score_fusion_grid(*network, validation, training, 2, 256, {}, {{"a", 3}, {"b", 3}, {"c", 3}});
  ASSERT_EQ(plain.size(), equal.size());
  for (size_t g = 0; g < plain.size(); ++g) {
    EXPECT_NEAR(equal[g].score.map_standard, plain[g].score.map_standard, 1e-12);
    EXPECT_NEAR(equal[g].score.map_generalised, plain[g].score.map_generalised, 1e-12);
  }
  // At the backbone vertex (the grid's last triple) the ranking is the raw features' cosine:
  // against the evaluator's own per-class mAPs of that ranking, every class having 4 queries.
  const auto weighted =
      score_fusion_grid(*network, validation, training, 2, 256, {}, {{"a", 2}, {"b", 1}, {"c", 0}});
  const auto [result, generalised] = raw_cosine(validation, training);
  ASSERT_EQ(result.per_class.size(), 3u);
  double a = -1, b = -1;
  for (const auto& c : result.per_class) {
    ASSERT_EQ(c.num_queries, 4);
    if (c.name == "a") a = c.map_all;
    if (c.name == "b") b = c.map_all;
  }
  EXPECT_NEAR(weighted.back().score.map_standard, (2 * a + b) / 3, 1e-9);
  // Each class's score is the mean of its standard and generalised mAP (training photos as
  // distractors), unweighted.
  const auto& class_scores = weighted.back().score.class_scores;
  ASSERT_EQ(class_scores.size(), 3u);
  for (size_t c = 0; c < 3; ++c) {
    const auto& name = result.per_class[c].name;
    ASSERT_EQ(generalised.per_class[c].name, name);
    EXPECT_NEAR(class_scores.at(name),
                0.5 * (result.per_class[c].map_all + generalised.per_class[c].map_all), 1e-9);
  }
  EXPECT_NE(weighted.back().score.map_standard, plain.back().score.map_standard);

  EXPECT_TRUE(test::contains(
      test::error_of([&] {
        score_fusion_grid(*network, validation, training, 2, 256, {}, {{"a", 1}, {"b", 1}});
      }),
      "no weight for the validation class 'c'"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               score_fusion_grid(*network, validation, training, 2, 256, {},
                                                 {{"a", 1}, {"b", -1}, {"c", 1}});
                             }),
                             ">= 0"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               score_fusion_grid(*network, validation, training, 2, 256, {},
                                                 {{"a", 0}, {"b", 0}, {"c", 0}});
                             }),
                             "weighs 0"));
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

TEST(FoldedFusion, OneStandardErrorRuleTakesTheMostBackboneWithinIt) {
  const auto grid = model::fusion_grid(2);  // 6 triples; (0.5,0,0.5), (0.5,0.5,0) and (1,0,0)
  // Scores (standard = generalised, so score = that value) per run, in the grid's order:
  // (0,0,1) (0,0.5,0.5) (0,1,0) (0.5,0,0.5) (0.5,0.5,0) (1,0,0).
  const std::vector<std::vector<double>> values = {{0.50, 0.60, 0.40, 0.56, 0.57, 0.30},
                                                   {0.50, 0.70, 0.40, 0.62, 0.61, 0.30},
                                                   {0.50, 0.80, 0.40, 0.66, 0.64, 0.30}};
  std::vector<std::vector<FusionScore>> scores;
  for (const auto& run : values) {
    scores.emplace_back();
    for (double v : run) scores.back().push_back({v, v});
  }
  const auto choice = choose_over_folds(grid, scores);
  // Best mean 0.7 at (0,0.5,0.5); its SD over the runs is 0.1, so SE = 0.1/√3 ≈ 0.0577 and the
  // floor ≈ 0.6423: (0.5,0,0.5) (mean 0.6133) is out, (0.5,0.5,0) (0.6067) too, so the best stays.
  EXPECT_EQ(choice.best, 1u);
  EXPECT_NEAR(choice.standard_error, 0.1 / std::sqrt(3.0), 1e-12);
  EXPECT_EQ(choice.chosen, 1u);
  // The same best mean with a wider spread over the runs lets backbone weight in.
  const std::vector<std::vector<double>> wide = {{0.50, 0.50, 0.40, 0.56, 0.55, 0.30},
                                                 {0.50, 0.70, 0.40, 0.62, 0.64, 0.30},
                                                 {0.50, 0.90, 0.40, 0.66, 0.64, 0.30}};
  scores.clear();
  for (const auto& run : wide) {
    scores.emplace_back();
    for (double v : run) scores.back().push_back({v, v});
  }
  // SD 0.2, SE ≈ 0.1155, floor ≈ 0.5845: (0.5,0,0.5) 0.6133 and (0.5,0.5,0) 0.61 qualify with
  // backbone 0.5; (1,0,0) 0.3 does not. Between the two, the better mean wins.
  const auto wider = choose_over_folds(grid, scores);
  EXPECT_EQ(wider.best, 1u);
  EXPECT_EQ(model::to_string(wider.weights()), "0.5,0,0.5");
  EXPECT_EQ(wider.to_json().at("rule"), "one-se");
  EXPECT_EQ(wider.to_json().at("best_weights"), "0,0.5,0.5");
  // One run has no spread to measure: the best mean.
  EXPECT_EQ(choose_over_folds(grid, {scores[0]}).chosen, choose_over_folds(grid, {scores[0]}).best);
  EXPECT_EQ(parse_fold_rule("best"), FoldRule::kBest);
  EXPECT_TRUE(test::contains(test::error_of([] { parse_fold_rule("median"); }), "one-se"));
}

TEST(FoldClasses, InterleavedFoldsPartitionThePool) {
  const std::vector<std::string> names = {"a", "b", "c", "d", "e", "f", "g"};
  EXPECT_EQ(fold_classes(names, 3, 0), (std::vector<std::string>{"a", "d", "g"}));
  EXPECT_EQ(fold_classes(names, 3, 1), (std::vector<std::string>{"b", "e"}));
  EXPECT_EQ(fold_classes(names, 3, 2), (std::vector<std::string>{"c", "f"}));
  EXPECT_EQ(fold_classes(names, 7, 6), (std::vector<std::string>{"g"}));
  EXPECT_TRUE(test::contains(test::error_of([&] { fold_classes(names, 1, 0); }), "2 to 7 folds"));
  EXPECT_TRUE(test::contains(test::error_of([&] { fold_classes(names, 8, 0); }), "into 8 folds"));
  EXPECT_TRUE(test::contains(test::error_of([&] { fold_classes(names, 3, 3); }), "from 0 to 2"));
  EXPECT_TRUE(test::contains(test::error_of([&] { fold_classes(names, 3, -1); }), "from 0 to 2"));
}

TEST(FoldedFusion, ChoosesTheBestMeanOverRuns) {
  const auto grid = model::fusion_grid(1);  // (0,0,1), (0,1,0), (1,0,0)
  // Run 0 prefers the second triple, run 1 the third; the mean prefers the third:
  // means 0.25, 0.4, 0.45 (standard and generalised averaged separately, then their mean).
  const std::vector<std::vector<FusionScore>> scores = {
      {{0.3, 0.1}, {0.9, 0.3}, {0.6, 0.2}},
      {{0.4, 0.2}, {0.2, 0.2}, {0.7, 0.3}},
  };
  const auto choice = choose_over_folds(grid, scores, FoldRule::kBest);
  ASSERT_EQ(choice.mean.size(), 3u);
  EXPECT_NEAR(choice.mean[0].map_standard, 0.35, 1e-15);
  EXPECT_NEAR(choice.mean[0].map_generalised, 0.15, 1e-15);
  EXPECT_NEAR(choice.mean[1].score(), 0.4, 1e-15);
  EXPECT_NEAR(choice.mean[2].score(), 0.45, 1e-15);
  EXPECT_EQ(choice.best, 2u);
  EXPECT_EQ(model::to_string(choice.weights()), "1,0,0");
  // Ties keep the first triple of the grid.
  const auto tie = choose_over_folds(grid, {{{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}}}, FoldRule::kBest);
  EXPECT_EQ(tie.best, 0u);
  const auto j = choice.to_json();
  EXPECT_EQ(j.at("weights"), "1,0,0");
  EXPECT_EQ(j.at("grid").size(), 3u);
  EXPECT_NEAR(j.at("grid")[1].at("run_scores")[0].get<double>(), 0.6, 1e-15);
  EXPECT_NEAR(j.at("grid")[1].at("run_scores")[1].get<double>(), 0.2, 1e-15);
  EXPECT_TRUE(test::contains(test::error_of([&] { choose_over_folds(grid, {}); }), "at least one"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               choose_over_folds(grid, {{{0.5, 0.5}}});
                             }),
                             "a grid of 3"));
}

// A group's choice from one score per run and triple (standard = generalised = the value), the
// runs holding out `folds`.
FoldedFusionChoice group_of(const std::vector<std::vector<double>>& values,
                            const std::vector<std::vector<std::string>>& folds) {
  std::vector<std::vector<FusionScore>> scores;
  for (const auto& run : values) {
    scores.emplace_back();
    for (double v : run) scores.back().push_back({v, v});
  }
  auto choice = choose_over_folds(model::fusion_grid(1), scores);
  choice.validation_classes = folds;
  return choice;
}

TEST(FoldedSetting, TheBestMeanOfEachGroupDecides) {
  // Triples (0,0,1), (0,1,0), (1,0,0); two runs per group on the same two folds (in another
  // order and class order for the second group: folds compare as sets).
  const std::vector<std::vector<std::string>> folds = {{"a", "c"}, {"b", "d"}};
  const std::vector<std::vector<std::string>> same_folds = {{"d", "b"}, {"a", "c"}};
  // Group 0: best mean 0.6 at (0,1,0); SD 0.283, SE 0.2, so the rule takes (1,0,0) (0.5).
  // Group 1: best mean 0.58 at (1,0,0), chosen too (0.58 > group 0's chosen 0.5).
  const auto g0 = group_of({{0.2, 0.4, 0.5}, {0.2, 0.8, 0.5}}, folds);
  const auto g1 = group_of({{0.1, 0.2, 0.57}, {0.1, 0.2, 0.59}}, same_folds);
  ASSERT_EQ(model::to_string(g0.weights()), "1,0,0");
  ASSERT_NEAR(g0.mean[g0.best].score(), 0.6, 1e-12);
  const auto choice = choose_setting_over_folds("curvature", {"0.01", "0.1"}, {g0, g1});
  // The setting is judged by its best mean (0.6 > 0.58), not by the rule's trade-off.
  EXPECT_EQ(choice.chosen, 0u);
  EXPECT_EQ(choice.train_flags(),
            (std::vector<std::string>{"--curvature", "0.01", "--fusion-weights", "1,0,0"}));
  const auto j = choice.to_json();
  EXPECT_EQ(j.at("value"), "0.01");
  EXPECT_EQ(j.at("weights"), "1,0,0");
  EXPECT_NEAR(j.at("best_score").get<double>(), 0.6, 1e-12);
  EXPECT_NEAR(j.at("score").get<double>(), 0.5, 1e-12);
  ASSERT_EQ(j.at("groups").size(), 2u);
  EXPECT_EQ(j.at("groups")[1].at("value"), "0.1");
  EXPECT_NEAR(j.at("groups")[1].at("best_score").get<double>(), 0.58, 1e-12);
  // The other order picks the same group; a tie keeps the first.
  EXPECT_EQ(choose_setting_over_folds("dim", {"64", "128"}, {g1, g0}).chosen, 1u);
  EXPECT_EQ(choose_setting_over_folds("dim", {"64", "128"}, {g0, g0}).chosen, 0u);
  // One group: its own choice.
  EXPECT_EQ(choose_setting_over_folds("dim", {"64"}, {g1}).train_flags()[3], "1,0,0");
}

TEST(FoldedSetting, RefusesGroupsOnOtherFoldsAndMismatchedValues) {
  const auto g0 = group_of({{0.2, 0.4, 0.5}, {0.2, 0.8, 0.5}}, {{"a", "c"}, {"b", "d"}});
  const auto other = group_of({{0.2, 0.4, 0.5}, {0.2, 0.8, 0.5}}, {{"a", "b"}, {"c", "d"}});
  const auto fewer = group_of({{0.2, 0.4, 0.5}}, {{"a", "c"}});
  for (const auto& g : {other, fewer}) {
    EXPECT_TRUE(test::contains(test::error_of([&] {
                                 choose_setting_over_folds("curvature", {"0.01", "1"}, {g0, g});
                               }),
                               "curvature = 1 was trained on other folds than curvature = 0.01"));
  }
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               choose_setting_over_folds("curvature", {"0.01"}, {g0, g0});
                             }),
                             "1 setting values for 2 groups"));
  EXPECT_TRUE(test::contains(
      test::error_of([&] { choose_setting_over_folds("curvature", {}, {}); }), "at least one"));
}

TEST(FoldedSetting, SettingValuesAreWrittenAsTheTrainFlagsTakeThem) {
  RunConfig config;
  config.model.curvature(0.1).dim(64);
  EXPECT_EQ(setting_value(config, "curvature"), "0.1");
  EXPECT_EQ(setting_value(config, "dim"), "64");
  config.model.curvature(1.0);
  EXPECT_EQ(setting_value(config, "curvature"), "1");
  config.model.curvature(0.01);
  EXPECT_EQ(setting_value(config, "curvature"), "0.01");
  EXPECT_TRUE(
      test::contains(test::error_of([&] { setting_value(config, "lr"); }), "use curvature or dim"));
}

}  // namespace
}  // namespace hcmsn::train
