// hcmsn extract → eval-features → train → eval → report on real images and the real MobileNetV2
// weights of ../shared (skipped without them): the feature pipeline of the real-data recipe.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/util/atomic_file.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

namespace fs = std::filesystem;
using test::contains;

class CliExtract : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = test::shared("weights/mobilenet_v2_imagenet.safetensors");
    if (!fs::exists(weights_)) GTEST_SKIP() << "no " << weights_;
    dir_ = test::temp_dir("cli_extract");
    // A generic dataset of real images: 4 TU-Berlin sketches of 3 classes, and the same number
    // of "photos" (real sketches again: what matters here is the pipeline, not the task).
    for (const char* cls : {"pear", "violin", "tomato"}) {
      int i = 0;
      for (const auto& e : fs::directory_iterator(test::shared("data/tuberlin40/") + cls)) {
        if (i == 8) break;
        const char* modality = i < 4 ? "sketch" : "photo";
        fs::create_directories(dir_ + "/data/" + modality + "/" + cls);
        fs::copy_file(e.path(),
                      dir_ + "/data/" + modality + "/" + cls + "/" + e.path().filename().string());
        ++i;
      }
    }
    std::ofstream(dir_ + "/unseen.txt") << "tomato\n";
  }
  std::string extract_args(const std::string& out) const {
    return "--threads 2 extract --quiet --layout generic --root '" + dir_ + "/data' --unseen '" +
           dir_ + "/unseen.txt' --backbone mobilenet_v2 --weights '" + weights_ + "' --out '" +
           out + "'";
  }
  std::string weights_, dir_;
};

TEST_F(CliExtract, ExtractsEvaluatesTrainsAndReports) {
  const std::string cache_path = dir_ + "/f.cache";
  auto r = test::run_cli(extract_args(cache_path) + " --chunk-size 5 --stats-json '" + dir_ +
                         "/stats.json'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(cache_path + ".partial"));  // removed once the cache is written
  const auto cache = data::load_feature_cache(cache_path);
  EXPECT_EQ(cache.size(), 24);
  EXPECT_EQ(cache.dim(), 1280);
  EXPECT_EQ(cache.meta["backbone"], "mobilenet_v2");
  EXPECT_EQ(cache.meta["unseen_classes"], nlohmann::json({"tomato"}));
  // MobileNetV2 features are pooled ReLU6 outputs: finite, non-negative, not all zero.
  EXPECT_GE(cache.features.min().item<float>(), 0.0f);
  EXPECT_GT(cache.features.abs().sum(1).min().item<float>(), 0.0f);
  const auto stats = nlohmann::json::parse(util::read_file(dir_ + "/stats.json"));
  EXPECT_EQ(stats["computed"], 24);
  EXPECT_GT(stats["images_per_second"].get<double>(), 0.0);

  r = test::run_cli("eval-features --features '" + cache_path + "' --unseen '" + dir_ +
                    "/unseen.txt' --json '" + dir_ + "/base.json'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto base = nlohmann::json::parse(util::read_file(dir_ + "/base.json"));
  EXPECT_EQ(base["num_queries"], 4);
  EXPECT_EQ(base["num_gallery"], 4);
  EXPECT_EQ(base["metric"], "cosine");

  // Random 8-d class semantics for the three classes.
  io::write_npy(dir_ + "/sem.npy", torch::randn({3, 8}));
  std::ofstream(dir_ + "/sem.txt") << "pear\nviolin\ntomato\n";
  const std::string run = dir_ + "/run";
  r = test::run_cli(
      "--threads 2 --log-level warn train --quiet --features '" + cache_path + "' --unseen '" +
      dir_ + "/unseen.txt' --semantics '" + dir_ + "/sem.npy' --semantics-classes '" + dir_ +
      "/sem.txt' --epochs 2 --dim 16 --hidden 32 --classes-per-batch 2 --out '" + run + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_cli("report --quiet --run '" + run + "' --name 'HCMSN run' --out '" + dir_ +
                    "/report.html'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string html = util::read_file(dir_ + "/report.html");
  EXPECT_TRUE(contains(html, "HCMSN run"));
  EXPECT_TRUE(contains(html, "<svg"));
}

TEST_F(CliExtract, UnreadableImagesAreListedNotDropped) {
  util::write_file_atomic(dir_ + "/data/sketch/pear/broken.png", "not an image");
  const std::string cache_path = dir_ + "/g.cache";
  const auto r = test::run_cli(extract_args(cache_path));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "1 unreadable item")) << r.output;
  EXPECT_EQ(data::load_feature_cache(cache_path).size(), 24);
  const std::string listed = util::read_file(cache_path + ".unreadable.tsv");
  EXPECT_TRUE(contains(listed, "broken.png")) << listed;
}

TEST_F(CliExtract, BadWeightsAndUnknownBackboneFailClearly) {
  util::write_file_atomic(dir_ + "/bad.safetensors", "garbage");
  auto r = test::run_cli("extract --quiet --layout generic --root '" + dir_ + "/data' --unseen '" +
                         dir_ + "/unseen.txt' --weights '" + dir_ + "/bad.safetensors' --out '" +
                         dir_ + "/x.cache'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "bad.safetensors")) << r.output;
  r = test::run_cli("extract --quiet --layout generic --root '" + dir_ + "/data' --unseen '" +
                    dir_ + "/unseen.txt' --backbone vgg --weights '" + weights_ + "' --out '" +
                    dir_ + "/x.cache'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "mobilenet_v2")) << r.output;
}

}  // namespace
}  // namespace hcmsn
