// hcmsn eval / embed on data other than the run's (issue 10): another image folder, the dataset
// flags of `hcmsn extract`, another feature cache; the generalised gallery (every photo). Every
// metric is checked against an independent brute force over the exported embeddings: Poincaré
// distances by the arcosh formula in double, ties by gallery index, AP = (1/R) Σ i / r_i.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/index/embedder.h"
#include "hcmsn/index/photo_list.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "support/brute_force.h"
#include "support/test_support.h"
#include "support/tiny_gallery.h"

namespace hcmsn {
namespace {

using test::read_json;

namespace fs = std::filesystem;

struct Exported {
  torch::Tensor queries, gallery;
  std::vector<std::string> query_labels, gallery_labels, query_ids, gallery_ids;
  double curvature = 0;
};

Exported read_export(const std::string& dir) {
  Exported e;
  e.queries = io::read_npy(dir + "/queries.npy").to(torch::kFloat64);
  e.gallery = io::read_npy(dir + "/gallery.npy").to(torch::kFloat64);
  e.query_labels = io::read_labels(dir + "/query_labels.txt");
  e.gallery_labels = io::read_labels(dir + "/gallery_labels.txt");
  if (fs::exists(dir + "/query_ids.txt")) e.query_ids = io::read_labels(dir + "/query_ids.txt");
  if (fs::exists(dir + "/gallery_ids.txt")) {
    e.gallery_ids = io::read_labels(dir + "/gallery_ids.txt");
  }
  e.curvature = read_json(dir + "/embedding.json")["curvature"].get<double>();
  return e;
}

// mAP@all by brute force (support/brute_force.h): arcosh distances in double, ties by index.
double brute_force_map(const Exported& e) {
  double total = 0;
  for (int64_t i = 0; i < e.queries.size(0); ++i) {
    const auto order =
        test::ranking(test::poincare_distances(e.queries[i], e.gallery, e.curvature));
    total += test::average_precision(order, [&](int64_t j) {
      return e.gallery_labels[static_cast<size_t>(j)] == e.query_labels[static_cast<size_t>(i)];
    });
  }
  return total / static_cast<double>(e.queries.size(0));
}

class CliCrossDataset : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("cli_cross_dataset"));
    // Another dataset: the same synthetic class names, other images (another seed).
    const auto r = test::run_cli(
        "--log-level warn synth-images --quiet --image-size 24 --photos-per-class 3 "
        "--sketches-per-class 2 --seed 77 --out '" +
        other() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string other() { return *dir_ + "/other"; }
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string run() { return test::tiny_gallery().run; }
  static int64_t count_files(const std::string& root) {
    int64_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root)) n += e.is_regular_file();
    return n;
  }
  // eval --json and embed with the same selection; both must succeed.
  static std::pair<nlohmann::json, Exported> eval_and_embed(const std::string& selection,
                                                            const std::string& tag) {
    auto r = test::run_cli("eval --quiet --run '" + run() + "' " + selection + " --json '" +
                           path(tag + ".json") + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    r = test::run_cli("embed --quiet --run '" + run() + "' " + selection + " --out '" + path(tag) +
                      "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return {read_json(path(tag + ".json")), read_export(path(tag))};
  }
  static std::string* dir_;
};
std::string* CliCrossDataset::dir_ = nullptr;

TEST_F(CliCrossDataset, AnotherImageFolderIsEvaluatedOnItsOwnClasses) {
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const auto [j, e] = eval_and_embed("--images '" + other() + "'", "images");
  // No split: every class of the other data, every sketch against every photo.
  EXPECT_EQ(j["num_queries"], count_files(other() + "/sketch"));
  EXPECT_EQ(j["num_gallery"], count_files(other() + "/photo"));
  EXPECT_NEAR(j["map_all"].get<double>(), brute_force_map(e), 1e-6);
  // The embeddings are those of the run's front end on the other data's files.
  const auto embedder = index::Embedder::from_run(run());
  std::vector<std::string> paths;
  for (const auto& id : e.gallery_ids) paths.push_back(id);
  const auto direct = embedder->embed_image_files(paths, model::kPhoto, false);
  ASSERT_EQ(direct.embedded.size(), paths.size());
  EXPECT_LT((direct.embeddings.to(torch::kFloat64) - e.gallery).abs().max().item<double>(), 1e-5);
}

TEST_F(CliCrossDataset, DatasetFlagsGoThroughTheRunsFrontEnd) {
  const auto [flags, e] = eval_and_embed(
      "--sketch-dir '" + other() + "/sketch' --photo-dir '" + other() + "/photo'", "flags");
  const auto folder = eval_and_embed("--images '" + other() + "'", "images_again").first;
  EXPECT_EQ(flags["num_queries"], folder["num_queries"]);
  EXPECT_EQ(flags["num_gallery"], folder["num_gallery"]);
  EXPECT_NEAR(flags["map_all"].get<double>(), brute_force_map(e), 1e-6);
  EXPECT_NEAR(flags["map_all"].get<double>(), folder["map_all"].get<double>(), 1e-3);
  // With an unseen list the default is those classes.
  io::write_labels(path("two_unseen.txt"), {e.query_labels.front(), e.query_labels.back()});
  const auto [unseen, u] =
      eval_and_embed("--sketch-dir '" + other() + "/sketch' --photo-dir '" + other() +
                         "/photo' --unseen '" + path("two_unseen.txt") + "'",
                     "flags_unseen");
  EXPECT_EQ(unseen["per_class"].size(), 2u);
  EXPECT_EQ(unseen["num_gallery"], 2 * 3);
  EXPECT_NEAR(unseen["map_all"].get<double>(), brute_force_map(u), 1e-6);
}

TEST_F(CliCrossDataset, GeneralisedGalleryRanksEveryPhoto) {
  const auto [zs, z] = eval_and_embed("", "own");
  const auto [gen, g] = eval_and_embed("--gallery all", "own_all");
  const std::string data = test::tiny_gallery().data;
  EXPECT_EQ(gen["num_queries"], zs["num_queries"]);  // the unseen sketches either way
  EXPECT_EQ(gen["num_gallery"], count_files(data + "/photo"));
  EXPECT_GT(gen["num_gallery"].get<int64_t>(), zs["num_gallery"].get<int64_t>());
  // Distractor photos of the seen classes are in the gallery.
  const auto unseen = io::read_labels(data + "/unseen.txt");
  const auto is_unseen = [&](const std::string& c) {
    return std::find(unseen.begin(), unseen.end(), c) != unseen.end();
  };
  EXPECT_TRUE(std::any_of(g.gallery_labels.begin(), g.gallery_labels.end(),
                          [&](const std::string& c) { return !is_unseen(c); }));
  EXPECT_TRUE(std::all_of(g.query_labels.begin(), g.query_labels.end(), is_unseen));
  EXPECT_NEAR(gen["map_all"].get<double>(), brute_force_map(g), 1e-6);
  EXPECT_NEAR(zs["map_all"].get<double>(), brute_force_map(z), 1e-6);
  EXPECT_LE(gen["map_all"].get<double>(), zs["map_all"].get<double>() + 1e-12);
}

TEST_F(CliCrossDataset, AnotherFeatureCacheIsEvaluatedOnItsSplit) {
  // A feature run, and a cache of another dataset whose classes the run has never heard of (the
  // issue's "26 class(es) are not in the data").
  torch::manual_seed(5);
  const int64_t dim = 12, sem = 4;
  const auto make_cache = [&](const std::string& prefix, int64_t classes,
                              const std::vector<std::string>& unseen) {
    data::FeatureCache cache;
    std::vector<int64_t> labels, modality;
    for (int64_t c = 0; c < classes; ++c) {
      cache.class_names.push_back(prefix + std::to_string(c));
      for (int64_t i = 0; i < 8; ++i) {
        labels.push_back(c);
        modality.push_back(i % 2);
        cache.item_ids.push_back(prefix + std::to_string(c) + "_" + std::to_string(i));
      }
    }
    cache.labels = torch::tensor(labels, torch::kInt64);
    cache.modality = torch::tensor(modality, torch::kInt64);
    cache.features = (torch::randn({classes, dim}).index_select(0, cache.labels) +
                      0.3 * torch::randn({classes * 8, dim}))
                         .contiguous();
    if (!unseen.empty()) cache.meta["unseen_classes"] = unseen;
    std::vector<std::string> seen;
    for (const auto& n : cache.class_names) {
      if (std::find(unseen.begin(), unseen.end(), n) == unseen.end()) seen.push_back(n);
    }
    if (!unseen.empty()) cache.meta["seen_classes"] = seen;
    return cache;
  };
  const auto train_cache = make_cache("a", 8, {});
  data::save_feature_cache(path("a.hfc"), train_cache);
  io::write_npy(path("a_sem.npy"), torch::randn({8, sem}));
  io::write_labels(path("a_classes.txt"), train_cache.class_names);
  io::write_labels(path("a_unseen.txt"), {"a6", "a7"});
  const std::string feature_run = path("feature_run");
  auto r = test::run_cli("--log-level warn train --quiet --features '" + path("a.hfc") +
                         "' --semantics '" + path("a_sem.npy") + "' --semantics-classes '" +
                         path("a_classes.txt") + "' --unseen '" + path("a_unseen.txt") +
                         "' --out '" + feature_run +
                         "' --dim 8 --hidden 16 --epochs 1 --classes-per-batch 3 --per-class 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  data::save_feature_cache(path("b.hfc"), make_cache("b", 5, {"b3", "b4"}));

  r = test::run_cli("eval --quiet --run '" + feature_run + "' --features '" + path("b.hfc") +
                    "' --json '" + path("b.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = read_json(path("b.json"));
  EXPECT_EQ(j["per_class"].size(), 2u);  // b's own unseen classes
  EXPECT_TRUE(j["per_class"].contains("b3"));
  EXPECT_EQ(j["num_queries"], 8);
  r = test::run_cli("embed --quiet --run '" + feature_run + "' --features '" + path("b.hfc") +
                    "' --classes all --gallery all --out '" + path("b_all") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_cli("eval --quiet --run '" + feature_run + "' --features '" + path("b.hfc") +
                    "' --classes all --gallery all --json '" + path("b_all.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  j = read_json(path("b_all.json"));
  EXPECT_EQ(j["num_queries"], 20);
  EXPECT_EQ(j["num_gallery"], 20);
  EXPECT_NEAR(j["map_all"].get<double>(), brute_force_map(read_export(path("b_all"))), 1e-6);

  // The untrained-feature baseline takes the same gallery choice.
  io::write_labels(path("b_unseen.txt"), {"b3", "b4"});
  r = test::run_cli("eval-features --features '" + path("b.hfc") + "' --unseen '" +
                    path("b_unseen.txt") + "' --gallery all --protocol sake --json '" +
                    path("b_base.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  j = read_json(path("b_base.json"));
  EXPECT_EQ(j["num_queries"], 8);
  EXPECT_EQ(j["num_gallery"], 20);
  EXPECT_EQ(j["protocol"], "sake");

  // A cache of the wrong width, and a cache for a run trained on images.
  auto narrow = make_cache("c", 3, {});
  narrow.features = narrow.features.slice(1, 0, 5).contiguous();
  data::save_feature_cache(path("narrow.hfc"), narrow);
  r = test::run_cli("eval --quiet --run '" + feature_run + "' --features '" + path("narrow.hfc") +
                    "' --classes all");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "5-d features")) << r.output;
  r = test::run_cli("eval --quiet --run '" + run() + "' --features '" + path("b.hfc") + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "trained on images")) << r.output;
}

TEST_F(CliCrossDataset, BadSelectionsGetClearErrors) {
  const auto fails_with = [&](const std::string& args, const std::string& message) {
    const auto r = test::run_cli("eval --quiet --run '" + run() + "' " + args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_TRUE(test::contains(r.output, message)) << args << "\n" << r.output;
  };
  fails_with("--images '" + other() + "' --classes unseen", "no zero-shot split");
  fails_with("--images '" + other() + "' --photo-dir '" + other() + "/photo'",
             "give one data source");
  fails_with("--unseen '" + other() + "/unseen.txt'", "--split and --unseen go with other data");
  fails_with("--images '" + path("missing") + "'", "missing");
}

}  // namespace
}  // namespace hcmsn
