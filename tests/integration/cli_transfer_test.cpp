// `hcmsn train` with knowledge transfer end to end on a small feature cache that records a
// (made-up) MobileNetV2 with its classifier: every class with sketches trains, validation
// classes are held out and choose the fusion weights, the teacher and bridge terms are logged,
// a backbone-only fused run ranks exactly as the untrained features, fold classes can be weighted
// to match the unseen list, extra photo views train without touching validation, and misuse gets
// a clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/io/safetensors.h"
#include "hcmsn/train/checkpoint_rule.h"
#include "hcmsn/train/class_importance.h"
#include "hcmsn/train/run_loader.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

using test::read_json;
using test::read_json_lines;

bool has(const nlohmann::json& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

constexpr int64_t kDim = 24, kSem = 6, kTeacher = 7, kPer = 6;

class CliTransfer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("cli_transfer"));
    torch::manual_seed(5);
    // class_0 … class_7: sketches and photos; class_8 … class_10: sketches only;
    // class_11 … class_13: unseen, both modalities; class_14: unseen, sketches only (left out
    // of evaluation for lacking photos, and never trained on).
    const int64_t classes = 15;
    const auto semantics = torch::randn({classes, kSem});
    const auto lift = torch::randn({kSem, kDim});
    data::FeatureCache cache;
    std::vector<int64_t> labels, modality;
    for (int64_t c = 0; c < classes; ++c) {
      cache.class_names.push_back("class_" + std::to_string(c));
      const bool photos = c < 8 || (c >= 11 && c < 14);
      for (int64_t i = 0; i < (photos ? 2 * kPer : kPer); ++i) {
        labels.push_back(c);
        modality.push_back(photos ? i % 2 : 0);
        cache.item_ids.push_back("c" + std::to_string(c) + "_" + std::to_string(i));
      }
    }
    cache.labels = torch::tensor(labels, torch::kInt64);
    cache.modality = torch::tensor(modality, torch::kInt64);
    cache.features = (semantics.index_select(0, cache.labels).mm(lift) +
                      0.4 * torch::randn({cache.labels.size(0), kDim}))
                         .contiguous();
    io::write_safetensors(path("teacher.safetensors"),
                          {{"classifier.1.weight", torch::randn({kTeacher, kDim})},
                           {"classifier.1.bias", torch::randn({kTeacher})}});
    cache.meta = {{"backbone", "mobilenet_v2"},
                  {"weights", path("teacher.safetensors") + " (0 bytes, crc32 00000000)"}};
    data::save_feature_cache(path("features.hfc"), cache);
    io::write_npy(path("semantics.npy"), semantics);
    io::write_labels(path("classes.txt"), cache.class_names);
    io::write_labels(path("unseen.txt"), {"class_11", "class_12", "class_13", "class_14"});
    io::write_npy(path("concepts.npy"), torch::randn({kTeacher, kSem}));
    std::vector<std::string> concept_names;
    for (int64_t k = 0; k < kTeacher; ++k) concept_names.push_back("concept " + std::to_string(k));
    io::write_labels(path("concepts.classes.txt"), concept_names);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string train_args(const std::string& run, const std::string& extra) {
    return "--threads 2 --log-level warn train --quiet --features '" + path("features.hfc") +
           "' --semantics '" + path("semantics.npy") + "' --semantics-classes '" +
           path("classes.txt") + "' --unseen '" + path("unseen.txt") + "' --out '" + path(run) +
           "' --dim 16 --hidden 32 --epochs 2 --classes-per-batch 4 --per-class 2 " + extra;
  }
  static std::string* dir_;
};
std::string* CliTransfer::dir_ = nullptr;

TEST_F(CliTransfer, TrainsEverySketchedClassAndChoosesFusionOnValidation) {
  auto r = test::run_cli(train_args(
      "run",
      "--train-classes sketched --val-classes 2 --fusion --fusion-grid 4 --teacher-concepts '" +
          path("concepts.npy") + "' --lambda-kd 1 --lambda-bridge 0.5 --conse-top 3"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto config = read_json(path("run/config.json"));
  const auto& seen = config["seen_classes"];
  const auto& validation = config["validation_classes"];
  ASSERT_EQ(validation.size(), 2u);
  // Validation classes have photos and are never trained on; sketch-only classes train.
  for (const auto& name : validation) {
    const int c = std::stoi(name.get<std::string>().substr(6));
    EXPECT_LT(c, 8) << name;
    EXPECT_FALSE(has(seen, name)) << name;
  }
  EXPECT_EQ(seen.size(), 11u - 2u);
  for (const char* name : {"class_8", "class_9", "class_10"}) EXPECT_TRUE(has(seen, name));
  for (const char* name : {"class_11", "class_12", "class_13", "class_14"}) {
    EXPECT_FALSE(has(seen, name)) << name;
  }
  EXPECT_EQ(config["unseen_classes"].size(), 3u);  // class_14 has no photo to evaluate against
  EXPECT_EQ(config["model"]["teacher_classes"], kTeacher);
  EXPECT_EQ(config["model"]["conse_top"], 3);
  EXPECT_TRUE(config["model"]["fused_embedding"].get<bool>());

  const auto log = read_json_lines(path("run/log.jsonl"));
  ASSERT_EQ(log.size(), 2u);
  // Where the untrained network stood, and the untrained features' own ranking beside it.
  ASSERT_TRUE(log[0].contains("epoch0"));
  EXPECT_GE(log[0]["epoch0"]["score"].get<double>(),
            log[0]["epoch0"]["backbone_only"].get<double>() - 1e-12);
  for (const auto& record : log) {
    EXPECT_TRUE(record["loss"].contains("kd")) << record.dump();
    EXPECT_TRUE(record["loss"].contains("bridge")) << record.dump();
    EXPECT_FALSE(record.contains("unseen"));  // the test classes never select anything
    const auto& v = record["validation"];
    EXPECT_NEAR(v["score"].get<double>(),
                0.5 * (v["map_all"].get<double>() + v["map_all_generalised"].get<double>()), 1e-12);
    EXPECT_GE(v["score"].get<double>(), v["backbone_only"].get<double>() - 1e-12);
  }
  // The run evaluates like any other, on the unseen classes, through the fused embedding.
  r = test::run_cli("eval --quiet --run '" + path("run") + "' --json '" + path("eval.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto eval = read_json(path("eval.json"));
  EXPECT_EQ(eval["num_queries"], 3 * kPer);
  EXPECT_EQ(eval["num_gallery"], 3 * kPer);
}

TEST_F(CliTransfer, BackboneOnlyFusionRanksExactlyAsTheUntrainedFeatures) {
  auto r =
      test::run_cli(train_args("run_backbone", "--fusion --fusion-weights 1,0,0 --val-classes 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Fixed weights are scored on the validation classes too, beside the backbone alone: here
  // they are the backbone alone.
  for (const auto& record : read_json_lines(path("run_backbone/log.jsonl"))) {
    const auto& v = record["validation"];
    EXPECT_EQ(v["fusion"], "1,0,0");
    EXPECT_DOUBLE_EQ(v["score"].get<double>(), v["backbone_only"].get<double>());
  }
  for (const std::string gallery : {"classes", "all"}) {
    r = test::run_cli("eval --quiet --run '" + path("run_backbone") + "' --gallery " + gallery +
                      " --json '" + path("eval_" + gallery + ".json") + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = test::run_cli("eval-features --features '" + path("features.hfc") + "' --unseen '" +
                      path("unseen.txt") + "' --metric cosine --gallery " + gallery + " --json '" +
                      path("base_" + gallery + ".json") + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto run = read_json(path("eval_" + gallery + ".json"));
    const auto base = read_json(path("base_" + gallery + ".json"));
    EXPECT_EQ(run["num_gallery"], base["num_gallery"]);
    EXPECT_NEAR(run["map_all"].get<double>(), base["map_all"].get<double>(), 1e-6) << gallery;
  }
}

TEST_F(CliTransfer, SpellingTwinsOfHeldOutClassesAreNeverTrained) {
  // The same data with two sketch-only classes renamed into spelling twins (as QuickDraw's
  // "light bulb" is of TU-Berlin's "lightbulb"): "class0" of the validation class class_0 and
  // "class11" of the unseen class_11. class_key keeps them apart; training must not take them.
  data::FeatureCache cache = data::load_feature_cache(path("features.hfc"));
  cache.class_names[8] = "class0";
  cache.class_names[9] = "class11";
  data::save_feature_cache(path("twins.hfc"), cache);
  io::write_labels(path("twins_classes.txt"), cache.class_names);
  std::string args = train_args("twins", "--train-classes sketched --val-folds 2 --val-fold 0");
  const auto swap = [&args](const std::string& from, const std::string& to) {
    args.replace(args.find(from), from.size(), to);
  };
  swap("--log-level warn", "--log-level info");
  swap(path("features.hfc"), path("twins.hfc"));
  swap(path("classes.txt"), path("twins_classes.txt"));
  const auto r = test::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto config = read_json(path("twins/config.json"));
  EXPECT_EQ(config["validation_classes"].get<std::vector<std::string>>(),
            (std::vector<std::string>{"class_0", "class_2", "class_4", "class_6"}));
  EXPECT_EQ(config["seen_classes"].get<std::vector<std::string>>(),
            (std::vector<std::string>{"class_1", "class_3", "class_5", "class_7", "class_10"}));
  EXPECT_TRUE(test::contains(r.output,
                             "training leaves out 'class0': a spelling twin of a validation class"))
      << r.output;
  EXPECT_TRUE(
      test::contains(r.output, "training leaves out 'class11': a spelling twin of an unseen class"))
      << r.output;
}

TEST_F(CliTransfer, FoldRunsPartitionThePoolAndSelectFusionAveragesThem) {
  const std::string fold_flags = "--train-classes sketched --fusion --fusion-grid 4 --val-folds 2";
  for (int fold = 0; fold < 2; ++fold) {
    const auto r = test::run_cli(train_args("fold" + std::to_string(fold),
                                            fold_flags + " --val-fold " + std::to_string(fold)));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  // Every other class with photos (class_0 … class_7), in the data's order; never trained on.
  const std::vector<std::vector<std::string>> expected = {
      {"class_0", "class_2", "class_4", "class_6"}, {"class_1", "class_3", "class_5", "class_7"}};
  for (int fold = 0; fold < 2; ++fold) {
    const auto config = read_json(path("fold" + std::to_string(fold) + "/config.json"));
    EXPECT_EQ(config["validation_classes"].get<std::vector<std::string>>(), expected[fold]);
    for (const auto& name : expected[fold]) EXPECT_FALSE(has(config["seen_classes"], name));
  }

  const auto r = test::run_cli_split("--threads 2 select-fusion --quiet --grid 4 --json '" +
                                     path("select.json") + "' --print-weights '" + path("fold0") +
                                     "' '" + path("fold1") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto choice = read_json(path("select.json"));
  const auto& grid = choice["grid"];
  ASSERT_EQ(grid.size(), 15u);  // the simplex in quarters
  EXPECT_EQ(r.out, choice["weights"].get<std::string>() + "\n");
  double best = -1;
  std::string best_weights;
  for (const auto& entry : grid) {
    const auto runs = entry["run_scores"].get<std::vector<double>>();
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_NEAR(entry["score"].get<double>(), 0.5 * (runs[0] + runs[1]), 1e-12);
    EXPECT_NEAR(
        entry["score"].get<double>(),
        0.5 * (entry["map_standard"].get<double>() + entry["map_generalised"].get<double>()),
        1e-12);
    if (entry["score"].get<double>() > best) {
      best = entry["score"].get<double>();
      best_weights = entry["weights"].get<std::string>();
    }
  }
  EXPECT_EQ(choice["best_weights"], best_weights);
  EXPECT_DOUBLE_EQ(choice["best_score"].get<double>(), best);
  // The default rule: the most backbone weight within one standard error of the best mean.
  std::vector<double> best_runs;
  for (const auto& entry : grid) {
    if (entry["weights"] == best_weights)
      best_runs = entry["run_scores"].get<std::vector<double>>();
  }
  const double se = std::abs(best_runs[0] - best_runs[1]) / 2.0;  // SD/√2 of two values
  EXPECT_NEAR(choice["standard_error"].get<double>(), se, 1e-12);
  double most_backbone = -1, its_score = -1;
  for (const auto& entry : grid) {
    const double b = std::stod(entry["weights"].get<std::string>());
    const double score = entry["score"].get<double>();
    if (score >= best - se && (b > most_backbone || (b == most_backbone && score > its_score))) {
      most_backbone = b;
      its_score = score;
    }
  }
  EXPECT_EQ(choice["rule"], "one-se");
  EXPECT_NEAR(std::stod(choice["weights"].get<std::string>()), most_backbone, 1e-12);
  EXPECT_DOUBLE_EQ(choice["score"].get<double>(), its_score);
  // Against what each run's own training logged: the backbone alone scores the same (it does
  // not depend on the network), and the best checkpoint's epoch chose the grid's best triple.
  for (int fold = 0; fold < 2; ++fold) {
    const auto log = read_json_lines(path("fold" + std::to_string(fold) + "/log.jsonl"));
    double run_best = -1;
    for (const auto& entry : grid) {
      run_best = std::max(run_best, entry["run_scores"][fold].get<double>());
      if (entry["weights"] == "1,0,0") {
        EXPECT_NEAR(entry["run_scores"][fold].get<double>(),
                    log.back()["validation"]["backbone_only"].get<double>(), 1e-9);
      }
    }
    double logged_best = -1;
    for (const auto& record : log) {
      if (record["best"].get<bool>()) logged_best = record["validation"]["score"].get<double>();
    }
    EXPECT_NEAR(run_best, logged_best, 1e-9) << fold;
  }

  // A run that held no classes out cannot choose.
  auto plain = test::run_cli(train_args("no_folds", "--fusion --fusion-weights 1,0,0"));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  plain = test::run_cli("select-fusion --quiet '" + path("no_folds") + "'");
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_TRUE(test::contains(plain.output, "--val-folds")) << plain.output;
}

TEST_F(CliTransfer, SelectFusionComparesCurvaturesOnTheSameFolds) {
  // Two curvatures, each trained on both folds; the comparison must equal choosing each group's
  // weights on its own (select-fusion without --compare) and taking the best mean. (These small
  // clusters let both groups reach the same best score, so the rule between groups is proven by
  // FoldedSetting.TheBestMeanOfEachGroupDecides; this test proves the grouping and the output.)
  const std::string fold_flags = "--train-classes sketched --fusion --fusion-grid 4 --val-folds 2";
  std::vector<std::string> runs;
  for (const std::string c : {"0.01", "1"}) {
    for (int fold = 0; fold < 2; ++fold) {
      runs.push_back("c" + c + "-fold" + std::to_string(fold));
      const auto r = test::run_cli(train_args(
          runs.back(), fold_flags + " --curvature " + c + " --val-fold " + std::to_string(fold)));
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
  }
  const auto quoted = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) out += " '" + path(name) + "'";
    return out;
  };
  const auto r = test::run_cli_split(
      "--threads 2 select-fusion --quiet --grid 4 --compare "
      "curvature --print-flags --json '" +
      path("compare.json") + "'" + quoted(runs));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto choice = read_json(path("compare.json"));
  ASSERT_EQ(choice["groups"].size(), 2u);
  std::vector<double> best_scores;
  for (size_t g = 0; g < 2; ++g) {
    const auto& group = choice["groups"][g];
    const std::string value = g == 0 ? "0.01" : "1";
    EXPECT_EQ(group["value"], value);
    const std::vector<std::string> own = {runs[2 * g], runs[2 * g + 1]};
    const auto alone = test::run_cli("--threads 2 select-fusion --quiet --grid 4 --json '" +
                                     path("alone" + value + ".json") + "'" + quoted(own));
    ASSERT_EQ(alone.exit_code, 0) << alone.output;
    const auto own_choice = read_json(path("alone" + value + ".json"));
    EXPECT_EQ(group["weights"], own_choice["weights"]) << value;
    EXPECT_DOUBLE_EQ(group["best_score"].get<double>(), own_choice["best_score"].get<double>());
    best_scores.push_back(own_choice["best_score"].get<double>());
  }
  const size_t winner = best_scores[1] > best_scores[0] ? 1 : 0;
  const auto& won = choice["groups"][winner];
  EXPECT_EQ(choice["value"], won["value"]);
  EXPECT_EQ(choice["weights"], won["weights"]);
  EXPECT_EQ(r.out, "--curvature\n" + won["value"].get<std::string>() + "\n--fusion-weights\n" +
                       won["weights"].get<std::string>() + "\n");
  EXPECT_TRUE(test::contains(r.err, "chosen: curvature = " + won["value"].get<std::string>()))
      << r.err;

  // A value trained on one fold only does not compare on the same held-out classes.
  const auto partial = test::run_cli("select-fusion --quiet --compare curvature" +
                                     quoted({runs[0], runs[1], runs[2]}));
  EXPECT_EQ(partial.exit_code, 1);
  EXPECT_TRUE(test::contains(partial.output, "curvature = 1 was trained on other folds"))
      << partial.output;
  // Without --compare, --print-flags prints the weights' flag alone; it excludes --print-weights.
  const auto plain = test::run_cli_split(
      "--threads 2 select-fusion --quiet --grid 4 --print-flags" + quoted({runs[0], runs[1]}));
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out,
            "--fusion-weights\n" + choice["groups"][0]["weights"].get<std::string>() + "\n");
  const auto both = test::run_cli("select-fusion --print-flags --print-weights" + quoted(runs));
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_TRUE(test::contains(both.output, "both claim standard output")) << both.output;
  const auto unknown = test::run_cli("select-fusion --compare lr" + quoted(runs));
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(test::contains(unknown.output, "--compare")) << unknown.output;
}

TEST_F(CliTransfer, SelectFusionWeighsFoldClassesToMatchTheUnseenList) {
  // Fold runs with a teacher; --fold-weighting match-unseen weighs their held-out classes by the
  // teacher similarity of the run's class semantics to the teacher's concepts, against the
  // run's unseen list (class_11 … class_13: class_14 has no photos, so the run leaves it out).
  const std::string fold_flags =
      "--train-classes sketched --fusion --fusion-grid 4 --val-folds 2 "
      "--teacher-concepts '" +
      path("concepts.npy") + "' --lambda-kd 1 --conse-top 3";
  for (int fold = 0; fold < 2; ++fold) {
    const auto r = test::run_cli(train_args("kd-fold" + std::to_string(fold),
                                            fold_flags + " --val-fold " + std::to_string(fold)));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const std::string runs = " '" + path("kd-fold0") + "' '" + path("kd-fold1") + "'";
  const auto r = test::run_cli(
      "--threads 2 select-fusion --quiet --grid 4 --fold-weighting "
      "match-unseen --max-weight 3 --json '" +
      path("matched.json") + "'" + runs);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(test::contains(r.output, "weighted to match the unseen list")) << r.output;
  const auto choice = read_json(path("matched.json"));
  EXPECT_EQ(choice["weighting"], "match-unseen");
  // The pool is both folds' held-out classes; the target the unseen list, read from the run's
  // own semantics and the concepts it was trained with.
  std::vector<std::string> pool;
  for (int fold = 0; fold < 2; ++fold) {
    const auto config = read_json(path("kd-fold" + std::to_string(fold) + "/config.json"));
    for (const auto& c : config["validation_classes"]) pool.push_back(c.get<std::string>());
  }
  const auto semantics = train::read_run_semantics(path("kd-fold0"));
  train::ImportanceOptions importance;
  importance.max_weight = 3;
  const auto expected = train::match_teacher_similarity(
      semantics.class_names, semantics.embeddings, io::read_npy(path("concepts.npy")), pool,
      read_json(path("kd-fold0/config.json"))["unseen_classes"].get<std::vector<std::string>>(),
      importance);
  const auto& weights = choice["class_weights"];
  ASSERT_EQ(weights.size(), pool.size());
  double sum = 0;
  for (const auto& [name, w] : expected) {
    EXPECT_NEAR(weights[name].get<double>(), w, 1e-12) << name;
    sum += w;
  }
  EXPECT_NEAR(sum / static_cast<double>(pool.size()), 1.0, 1e-12);
  // Uniform weighting on the same runs scores other numbers (the weights are not all 1).
  const auto uniform = test::run_cli("--threads 2 select-fusion --quiet --grid 4 --json '" +
                                     path("unweighted.json") + "'" + runs);
  ASSERT_EQ(uniform.exit_code, 0) << uniform.output;
  const auto plain = read_json(path("unweighted.json"));
  EXPECT_EQ(plain["weighting"], "uniform");
  EXPECT_TRUE(plain["class_weights"].empty());
  EXPECT_NE(plain["grid"][0]["score"].get<double>(), choice["grid"][0]["score"].get<double>());

  // Runs without a teacher have no teacher similarity to match.
  const auto plain_run =
      test::run_cli(train_args("no-teacher-fold",
                               "--train-classes sketched --fusion --fusion-grid 4 "
                               "--val-folds 2 --val-fold 0"));
  ASSERT_EQ(plain_run.exit_code, 0) << plain_run.output;
  const auto refused = test::run_cli("select-fusion --quiet --fold-weighting match-unseen '" +
                                     path("no-teacher-fold") + "'");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(test::contains(refused.output, "--teacher-concepts")) << refused.output;
  const auto unknown = test::run_cli("select-fusion --fold-weighting nearest" + runs);
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(test::contains(unknown.output, "--fold-weighting")) << unknown.output;
}

TEST_F(CliTransfer, ExtraPhotosTrainButNeverValidate) {
  // A cache of extra views of every photo (as extract --photo-views writes): the features plus
  // noise, the training cache's meta, ids "<id>#view1".
  const auto cache = data::load_feature_cache(path("features.hfc"));
  const auto photo_rows = (cache.modality == 1).nonzero().view(-1);
  data::FeatureCache views;
  views.class_names = cache.class_names;
  views.meta = cache.meta;
  views.labels = cache.labels.index_select(0, photo_rows);
  views.modality = cache.modality.index_select(0, photo_rows);
  views.features =
      (cache.features.index_select(0, photo_rows) + 0.1 * torch::randn({photo_rows.size(0), kDim}))
          .contiguous();
  for (int64_t i = 0; i < photo_rows.size(0); ++i) {
    views.item_ids.push_back(cache.item_ids[static_cast<size_t>(photo_rows[i].item<int64_t>())] +
                             "#view1");
  }
  data::save_feature_cache(path("views.hfc"), views);
  const std::string flags = "--train-classes sketched --val-classes 2 --fusion --fusion-grid 4";
  auto plain = test::run_cli(train_args("without-views", flags));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  const std::string extra = " --extra-photos '" + path("views.hfc") + "'";
  // Info logging, for the line that counts the extra photos.
  const auto verbose = [](std::string args) {
    return args.replace(args.find("--log-level warn"), 16, "--log-level info");
  };
  auto r = test::run_cli(verbose(train_args("with-views", flags + extra)));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto config = read_json(path("with-views/config.json"));
  EXPECT_EQ(config["data"]["extra_photos"], path("views.hfc"));
  // Only the training classes' views are used: not the validation or unseen classes'.
  int64_t expected = 0;
  for (int64_t i = 0; i < views.size(); ++i) {
    const auto& name = views.class_names[static_cast<size_t>(views.labels[i].item<int64_t>())];
    if (has(config["seen_classes"], name)) ++expected;
  }
  EXPECT_GT(expected, 0);
  EXPECT_LT(expected, views.size());
  EXPECT_TRUE(test::contains(r.output, std::to_string(expected) + " extra photos")) << r.output;
  // The views change training, never the validation: its distractors (the training photos) and
  // so the backbone's own score are those of the run without views, epoch by epoch.
  const auto with = read_json_lines(path("with-views/log.jsonl"));
  const auto without = read_json_lines(path("without-views/log.jsonl"));
  ASSERT_EQ(with.size(), without.size());
  EXPECT_DOUBLE_EQ(with[0]["epoch0"]["backbone_only"].get<double>(),
                   without[0]["epoch0"]["backbone_only"].get<double>());
  for (size_t e = 0; e < with.size(); ++e) {
    EXPECT_DOUBLE_EQ(with[e]["validation"]["backbone_only"].get<double>(),
                     without[e]["validation"]["backbone_only"].get<double>());
  }
  EXPECT_NE(with[0]["loss"]["total"].get<double>(), without[0]["loss"]["total"].get<double>());
  // A resume reads them from the run's config.
  r = test::run_cli(train_args("resumed-views", flags + extra + " --max-steps 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_cli("--threads 2 --log-level info train --resume --quiet --out '" +
                    path("resumed-views") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(test::contains(r.output, std::to_string(expected) + " extra photos")) << r.output;

  // Views of another backbone's weights, a cache holding sketches, and images: refused.
  data::FeatureCache other = views;
  other.meta["weights"] = "other.safetensors (1 bytes, crc32 00000000)";
  data::save_feature_cache(path("other_views.hfc"), other);
  r = test::run_cli(
      train_args("bad-views", flags + " --extra-photos '" + path("other_views.hfc") + "'"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "another weights")) << r.output;
  r = test::run_cli(
      train_args("bad-views2", flags + " --extra-photos '" + path("features.hfc") + "'"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "hold sketches")) << r.output;
}

TEST_F(CliTransfer, CheckpointRuleKeepsTheEarliestEpochWithinOneStandardError) {
  const std::string flags = "--train-classes sketched --val-classes 2 --fusion --fusion-grid 4";
  auto r = test::run_cli(train_args("rule", flags + " --checkpoint-rule one-se"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto log = read_json_lines(path("rule/log.jsonl"));
  ASSERT_EQ(log.size(), 2u);  // train_args: 2 epochs
  // The rule's choice, worked out again from the logged class scores.
  std::vector<train::EpochClassScores> epochs;
  for (const auto& record : log) {
    const auto& scores = record["validation"]["class_scores"];
    ASSERT_EQ(scores.size(), 2u) << record.dump();  // the two validation classes
    epochs.push_back({record["epoch"].get<int64_t>(), scores.get<std::map<std::string, double>>()});
  }
  const auto expected =
      train::choose_checkpoint(epochs, train::CheckpointRule::kEarliestWithinOneSe);
  const auto& chosen = log.back()["checkpoint"];
  EXPECT_EQ(chosen["rule"], "one-se");
  EXPECT_EQ(chosen["best_epoch"].get<int64_t>(), expected.best_epoch);
  EXPECT_EQ(chosen["chosen_epoch"].get<int64_t>(), expected.chosen_epoch);
  EXPECT_DOUBLE_EQ(chosen["standard_error"].get<double>(), expected.standard_error);
  // best.ckpt holds that epoch's weights: its state is the one saved at that epoch's end.
  const auto best = train::load_run(path("rule"), "best");
  EXPECT_EQ(best.state.global_step,
            log[static_cast<size_t>(expected.chosen_epoch - 1)]["global_step"].get<int64_t>());
  EXPECT_FALSE(std::filesystem::exists(path("rule/epochs")));  // kept only until the choice
  // A resumed finished run does not choose again.
  r = test::run_cli("--threads 2 train --resume --quiet --out '" + path("rule") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_json_lines(path("rule/log.jsonl")), log);
  // The default keeps the best epoch and records no choice; the rule changes nothing in training
  // (the last epoch scores every class alike).
  r = test::run_cli(train_args("rule-best", flags));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto plain = read_json_lines(path("rule-best/log.jsonl"));
  EXPECT_FALSE(plain.back().contains("checkpoint"));
  EXPECT_EQ(plain.back()["validation"]["class_scores"], log.back()["validation"]["class_scores"]);
}

TEST_F(CliTransfer, MisuseGetsAClearError) {
  io::write_labels(path("short.classes.txt"), {"a", "b"});
  const std::string concepts = "--teacher-concepts '" + path("concepts.npy") + "'";
  struct Case {
    std::string flags;  // added to a run that would otherwise train
    std::string message;
    bool usage = false;  // a command-line usage error: CLI11's own exit code, never a crash
  };
  const std::vector<Case> cases = {
      {"--lambda-kd 1", "--teacher-concepts"},
      {"--fusion", "--val-classes"},
      {"--fusion-weights 0.5,0.5,0", "--fusion"},
      {"--fusion --fusion-weights 0.5,0.6,0", "sum to 1"},
      {"--val-classes 2 --val-pool other-unseen", "--val-pool all"},
      {concepts + " --teacher-concepts-classes '" + path("short.classes.txt") + "' --conse-top 3",
       "one row per name"},
      {concepts + " --conse-top 10", "--conse-top"},  // the teacher's classes bound m
      {"--val-folds 2 --val-fold 2", "give a fold from 0 to 1"},
      {"--val-folds 9", "into 9 folds"},  // 8 classes have photos
      {"--val-folds 2 --val-classes 2", "excludes", true},
      {"--val-fold 1", "requires --val-folds", true},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto r = test::run_cli(train_args("bad" + std::to_string(i), cases[i].flags));
    if (cases[i].usage) {
      EXPECT_TRUE(r.exit_code > 1 && r.exit_code < 128) << r.exit_code << " " << cases[i].flags;
    } else {
      EXPECT_EQ(r.exit_code, 1) << cases[i].flags;
    }
    EXPECT_TRUE(test::contains(r.output, cases[i].message)) << cases[i].flags << "\n" << r.output;
  }
}

}  // namespace
}  // namespace hcmsn
