// `hcmsn synth-images`, `train`, `eval`, `embed` and `metrics` end to end on a tiny generated
// dataset: eval equals metrics on the exported embeddings, a run killed mid-epoch and resumed
// ends exactly like an uninterrupted one, and bad input gets a clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "support/feature_fixture.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

using test::read_json;
using test::read_json_lines;

namespace fs = std::filesystem;

class CliTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("cli_train"));
    const auto r = test::run_cli(
        "--log-level warn synth-images --quiet --image-size 24 "
        "--photos-per-class 6 --sketches-per-class 6 --out '" +
        data() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string data() { return *dir_ + "/data"; }
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  // A small, fast configuration; `extra` adds or overrides flags.
  static std::string train_args(const std::string& run, const std::string& extra = "",
                                int epochs = 2) {
    return "--threads 2 --log-level warn train --quiet --images '" + data() + "' --semantics '" +
           data() + "/semantics.npy' --semantics-classes '" + data() + "/classes.txt' --unseen '" +
           data() + "/unseen.txt' --out '" + run +
           "' --image-size 16 --cnn-channels 4,8 --cnn-out-dim 16 --dim 16 --hidden 32 "
           "--classes-per-batch 6 --per-class 2 --epochs " +
           std::to_string(epochs) + " " + extra;
  }
  static std::string* dir_;
};
std::string* CliTrain::dir_ = nullptr;

TEST_F(CliTrain, EvalEqualsMetricsOnExportedEmbeddings) {
  const std::string run = path("run_eval");
  auto r = test::run_cli(train_args(run));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"config.json", "last.ckpt", "best.ckpt", "log.jsonl", "semantics.npy",
                        "semantics_classes.txt"}) {
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  }
  r = test::run_cli("eval --quiet --run '" + run + "' --json '" + path("eval.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_cli("embed --quiet --run '" + run + "' --out '" + path("emb") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto info = read_json(path("emb/embedding.json"));
  char curvature[64];
  std::snprintf(curvature, sizeof curvature, "%.17g", info["curvature"].get<double>());
  r = test::run_cli("metrics --quiet --queries '" + path("emb/queries.npy") + "' --query-labels '" +
                    path("emb/query_labels.txt") + "' --gallery '" + path("emb/gallery.npy") +
                    "' --gallery-labels '" + path("emb/gallery_labels.txt") + "' --curvature " +
                    curvature + " --json '" + path("metrics.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const auto eval = read_json(path("eval.json"));
  const auto metrics = read_json(path("metrics.json"));
  for (const char* key : {"map_all", "prec@100", "prec@200", "map@100", "map@200", "num_queries",
                          "num_gallery", "curvature", "metric", "protocol"}) {
    EXPECT_EQ(eval.at(key), metrics.at(key)) << key;
  }
  EXPECT_EQ(eval["per_class"], metrics["per_class"]);
  // 10 unseen classes × 6 sketches against their 60 photos.
  EXPECT_EQ(eval["num_queries"], 60);
  EXPECT_EQ(eval["num_gallery"], 60);

  // The best epoch's in-training evaluation is the same number again.
  double best = -1;
  for (const auto& record : read_json_lines(run + "/log.jsonl")) {
    if (record["best"].get<bool>()) best = record["unseen"]["map_all"].get<double>();
  }
  EXPECT_EQ(best, eval["map_all"].get<double>());
}

TEST_F(CliTrain, KilledMidEpochAndResumedEqualsUninterrupted) {
  const std::string full = path("run_full");
  constexpr int kEpochs = 6;
  auto r = test::run_cli(train_args(full, "--checkpoint-every 1", kEpochs));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // Start the same run and SIGKILL it as soon as its first epoch is logged (an epoch here takes
  // ~0.1 s, so the kill lands early in the run, usually mid-epoch), then resume.
  const std::string killed = path("run_killed");
  const std::string script =
      "'" + std::string(HCMSN_CLI_PATH) + "' " +
      train_args(killed, "--checkpoint-every 1", kEpochs) +
      " >/dev/null 2>&1 & pid=$!; for i in $(seq 3000); do [ -f '" + killed +
      "/log.jsonl' ] && break; sleep 0.01; done; kill -9 $pid 2>/dev/null; wait $pid; "
      "exit 0";
  ASSERT_EQ(std::system(script.c_str()), 0);
  const auto before = read_json_lines(killed + "/log.jsonl");
  ASSERT_GE(before.size(), 1u);
  // Otherwise the kill came after the run had finished and the resume would prove nothing.
  ASSERT_LT(before.size(), static_cast<size_t>(kEpochs));
  ASSERT_TRUE(fs::exists(killed + "/last.ckpt"));
  r = test::run_cli("--threads 2 --log-level warn train --quiet --resume --out '" + killed + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const auto a = read_json_lines(full + "/log.jsonl");
  const auto b = read_json_lines(killed + "/log.jsonl");
  ASSERT_EQ(a.size(), static_cast<size_t>(kEpochs));
  ASSERT_EQ(b.size(), static_cast<size_t>(kEpochs));
  for (size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e]["loss"], b[e]["loss"]) << "epoch " << e + 1;
    EXPECT_EQ(a[e]["unseen"]["map_all"], b[e]["unseen"]["map_all"]) << "epoch " << e + 1;
    EXPECT_EQ(a[e]["global_step"], b[e]["global_step"]);
  }
  // The final weights: identical embeddings, hence identical metrics.
  ASSERT_EQ(test::run_cli("eval --quiet --checkpoint last --run '" + full + "' --json '" +
                          path("full.json") + "'")
                .exit_code,
            0);
  ASSERT_EQ(test::run_cli("eval --quiet --checkpoint last --run '" + killed + "' --json '" +
                          path("killed.json") + "'")
                .exit_code,
            0);
  EXPECT_EQ(read_json(path("full.json"))["per_class"], read_json(path("killed.json"))["per_class"]);
}

TEST_F(CliTrain, MaxStepsStopsAndResumeFinishes) {
  const std::string run = path("run_steps");
  auto r = test::run_cli(train_args(run, "--max-steps 3"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(run + "/log.jsonl"));  // stopped inside epoch 1
  r = test::run_cli("--log-level warn train --quiet --resume --out '" + run + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_json_lines(run + "/log.jsonl").size(), 2u);
}

// The frozen-backbone path: a feature cache in, the same run folder and eval out.
TEST_F(CliTrain, TrainsOnAFeatureCache) {
  const int64_t per = 10, dim = 24, sem = 6;
  const std::string features = path("features");
  test::write_feature_fixture(features);  // 12 classes, 10 per modality, 24-d, 6-d semantics

  const std::string run = path("run_features");
  auto r = test::run_cli("--log-level warn train --quiet --features '" + features +
                         "/features.hfc" + "' --semantics '" + features + "/semantics.npy" +
                         "' --semantics-classes '" + features + "/classes.txt" + "' --unseen '" +
                         features + "/unseen.txt" + "' --out '" + run +
                         "' --dim 16 --hidden 32 --epochs 3 --classes-per-batch 4 --per-class 2"
                         " --average-from 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto config = read_json(run + "/config.json");
  EXPECT_EQ(config["trainer"]["average_from"], 0.5);
  // Weight averaging from half-way: the last epochs' records count the averaged steps.
  const auto log = read_json_lines(run + "/log.jsonl");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["averaged_steps"], 0);
  EXPECT_GT(log[2]["averaged_steps"].get<int64_t>(), log[1]["averaged_steps"].get<int64_t>());
  EXPECT_EQ(config["backbone"]["kind"], "none");
  EXPECT_EQ(config["model"]["in_dim"], dim);
  EXPECT_EQ(config["model"]["sem_dim"], sem);
  EXPECT_EQ(config["seen_classes"].size(), 9u);
  r = test::run_cli("eval --quiet --run '" + run + "' --json '" + path("features_eval.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto eval = read_json(path("features_eval.json"));
  EXPECT_EQ(eval["num_queries"], 3 * per);
  EXPECT_EQ(eval["num_gallery"], 3 * per);
  // A feature cache cannot be combined with a backbone.
  r = test::run_cli("train --quiet --features '" + features + "/features.hfc" + "' --semantics '" +
                    features + "/semantics.npy" + "' --semantics-classes '" + features +
                    "/classes.txt" + "' --unseen '" + features + "/unseen.txt" + "' --out '" +
                    path("run_features_cnn") + "' --backbone small-cnn");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(test::contains(r.output, "drop --backbone")) << r.output;
}

TEST_F(CliTrain, BadInputGetsAClearError) {
  const auto expect_failure = [](const std::string& args, const std::string& message) {
    const auto r = test::run_cli(args);
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_LT(r.exit_code, 128) << "crashed: " << r.output;
    EXPECT_TRUE(test::contains(r.output, message)) << "output was: " << r.output;
  };
  // A run folder that exists already.
  const std::string run = path("run_twice");
  ASSERT_EQ(test::run_cli(train_args(run, "--max-steps 1")).exit_code, 0);
  expect_failure(train_args(run), "already holds a run");
  // Resume where there is no run, eval of a folder that is not a run.
  expect_failure("train --resume --out '" + path("nothing") + "'", "not an hcmsn run folder");
  expect_failure(train_args(path("run_average"), "--average-from 1.5"), "--average-from");
  expect_failure("eval --run '" + data() + "'", "not an hcmsn run folder");
  // An unseen class the data does not have.
  std::ofstream(path("bad_unseen.txt")) << "no_such_class\n";
  expect_failure("train --quiet --images '" + data() + "' --semantics '" + data() +
                     "/semantics.npy' --semantics-classes '" + data() + "/classes.txt' --unseen '" +
                     path("bad_unseen.txt") + "' --out '" + path("run_bad") + "'",
                 "no_such_class");
  // Semantics and class list of different lengths.
  std::ofstream(path("short_classes.txt")) << "a\nb\n";
  expect_failure("train --quiet --images '" + data() + "' --semantics '" + data() +
                     "/semantics.npy' --semantics-classes '" + path("short_classes.txt") +
                     "' --unseen '" + data() + "/unseen.txt' --out '" + path("run_bad2") + "'",
                 "rows but");
  // A corrupted checkpoint.
  std::string bytes;
  {
    std::ifstream in(run + "/last.ckpt", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 0x5A;
  std::ofstream(run + "/last.ckpt", std::ios::binary) << bytes;
  expect_failure("train --quiet --resume --out '" + run + "'", "corrupt");
}

}  // namespace
}  // namespace hcmsn
