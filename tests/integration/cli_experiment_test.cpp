// `hcmsn experiment` end to end on a small synthetic feature cache: 2 variants × 2 seeds, two
// evaluations (the unseen classes' photos, and every photo) and a cosine baseline. The summary's
// numbers are exactly those of each run's own `hcmsn eval` (and the baseline's `hcmsn
// eval-features`) run separately, its statistics are the test's own, a rerun skips every finished
// job and gives the same summary, unfinished jobs are redone or resumed, and bad grids or failing
// jobs end with exit code 1 and a message naming the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/util/atomic_file.h"
#include "support/feature_fixture.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

using test::read_json;

namespace fs = std::filesystem;
using test::contains;

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

const std::vector<std::string> kVariants = {"hcmsn", "euclidean"};
const std::vector<int> kSeeds = {0, 1};
const std::vector<std::string> kMetrics = {"map_all", "prec@5", "map@5", "prec@10", "map@10"};

class CliExperiment : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("cli_experiment"));
    // Class-structured features (semantics lifted to the feature space, plus noise), as in
    // CliTrain.TrainsOnAFeatureCache.
    test::FeatureFixtureOptions features;
    features.classes = 8;
    features.per_modality = 6;
    features.dim = 16;
    features.noise = 1.5;
    features.seed = 5;
    features.unseen = {"class_5", "class_6", "class_7"};
    test::write_feature_fixture(*dir_, features);
    util::write_file_atomic(path("grid.json"), grid_text());
    first_run_ = new test::CommandResult(run_experiment());
  }
  static void TearDownTestSuite() {
    delete first_run_;
    delete dir_;
  }

  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string out() { return path("exp"); }

  // The baseline's arguments per evaluation: the evaluation's data, classes and gallery.
  static std::string baseline_args(const std::string& gallery) {
    return R"(["--features", ")" + path("features.hfc") + R"(", "--unseen", ")" +
           path("unseen.txt") + R"(", "--gallery", ")" + gallery + R"("])";
  }
  static std::string grid_text() {
    return R"({
      "title": "test grid",
      "train": ["--features", ")" +
           path("features.hfc") + R"(", "--semantics", ")" + path("semantics.npy") +
           R"(", "--semantics-classes", ")" + path("classes.txt") + R"(", "--unseen", ")" +
           path("unseen.txt") + R"(", "--dim", "8", "--hidden", "16", "--epochs", "2",
                "--classes-per-batch", "4", "--per-class", "2"],
      "variants": {"hcmsn": [], "euclidean": ["--curvature", "0"]},
      "seeds": [0, 1],
      "evaluations": {"standard": [], "generalised": ["--gallery", "all"]},
      "baselines": {"cosine": {"standard": )" +
           baseline_args("classes") + R"(, "generalised": )" + baseline_args("all") + R"(}},
      "ks": [5, 10]
    })";
  }
  static test::CommandResult run_experiment() {
    return test::run_cli("experiment --grid '" + path("grid.json") + "' --out '" + out() + "'");
  }
  static std::string run_dir(const std::string& variant, int seed) {
    return out() + "/runs/" + variant + "-seed" + std::to_string(seed);
  }
  // The summary row of `name` in evaluation `evaluation`.
  static nlohmann::json row_of(const nlohmann::json& summary, const std::string& evaluation,
                               const std::string& name) {
    for (const auto& row : summary["evaluations"][evaluation]["rows"]) {
      if (row["name"] == name) return row;
    }
    ADD_FAILURE() << "no row " << name << " in " << evaluation;
    return {};
  }

  static std::string* dir_;
  static test::CommandResult* first_run_;
};
std::string* CliExperiment::dir_ = nullptr;
test::CommandResult* CliExperiment::first_run_ = nullptr;

TEST_F(CliExperiment, SummaryEqualsTheRunsOwnEval) {
  ASSERT_EQ(first_run_->exit_code, 0) << first_run_->output;
  const auto summary = read_json(out() + "/summary.json");
  EXPECT_EQ(summary["checkpoint"], "last");
  for (const std::string evaluation : {"standard", "generalised"}) {
    const std::string gallery = evaluation == "standard" ? "" : " --gallery all";
    const auto& e = summary["evaluations"][evaluation];
    EXPECT_EQ(e["protocol"], "standard");
    EXPECT_EQ(e["rows"].size(), 3u);
    EXPECT_EQ(e["rows"][0]["name"], "cosine");  // baselines first
    EXPECT_EQ(e["rows"][0]["kind"], "baseline");
    EXPECT_EQ(e["num_queries"], 3 * 6);
    EXPECT_EQ(e["num_gallery"], evaluation == "standard" ? 3 * 6 : 8 * 6);

    // The baseline: eval-features on the same queries and gallery.
    const std::string baseline_json = path("baseline_" + evaluation + ".json");
    auto r = test::run_cli("eval-features --features '" + path("features.hfc") + "' --unseen '" +
                           path("unseen.txt") + "' --k 5,10" + gallery + " --json '" +
                           baseline_json + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto baseline = read_json(baseline_json);
    const auto baseline_row = row_of(summary, evaluation, "cosine");
    for (const auto& metric : kMetrics) {
      const auto& stats = baseline_row["metrics"][metric];
      EXPECT_EQ(stats["values"], nlohmann::json::array({baseline[metric]})) << metric;
      EXPECT_EQ(stats["mean"], baseline[metric]) << metric;
    }

    for (const auto& variant : kVariants) {
      std::vector<nlohmann::json> own;
      for (int seed : kSeeds) {
        const std::string json = path(variant + std::to_string(seed) + evaluation + ".json");
        r = test::run_cli("eval --quiet --run '" + run_dir(variant, seed) +
                          "' --checkpoint last --k 5,10" + gallery + " --json '" + json + "'");
        ASSERT_EQ(r.exit_code, 0) << r.output;
        own.push_back(read_json(json));
        EXPECT_EQ(own.back()["num_queries"], e["num_queries"]);
      }
      const auto row = row_of(summary, evaluation, variant);
      EXPECT_EQ(row["kind"], "variant");
      EXPECT_EQ(row["labels"], nlohmann::json::array({"seed0", "seed1"}));
      for (const auto& metric : kMetrics) {
        const std::string where = variant + " " + evaluation + " " + metric;
        const auto& stats = row["metrics"][metric];
        // Exactly the values hcmsn eval wrote: the same JSON numbers.
        ASSERT_EQ(stats["values"].size(), kSeeds.size()) << where;
        for (size_t s = 0; s < kSeeds.size(); ++s) {
          EXPECT_EQ(stats["values"][s], own[s][metric]) << where << " seed " << s;
        }
        const double a = own[0][metric].get<double>(), b = own[1][metric].get<double>();
        const double mean = (a + b) / 2;
        const double std = std::sqrt(((a - mean) * (a - mean) + (b - mean) * (b - mean)) / 1.0);
        EXPECT_DOUBLE_EQ(stats["mean"].get<double>(), mean) << where;
        EXPECT_NEAR(stats["std"].get<double>(), std, 1e-15) << where;
        EXPECT_EQ(stats["min"].get<double>(), std::min(a, b)) << where;
        EXPECT_EQ(stats["max"].get<double>(), std::max(a, b)) << where;
      }
    }
  }
  // The two variants differ (the Euclidean one is not the hyperbolic one under another name).
  EXPECT_NE(row_of(summary, "standard", "hcmsn")["metrics"]["map_all"]["values"],
            row_of(summary, "standard", "euclidean")["metrics"]["map_all"]["values"]);

  const std::string md = util::read_file(out() + "/summary.md");
  EXPECT_TRUE(contains(md, "## standard")) << md;
  EXPECT_TRUE(contains(md, "## generalised")) << md;
  EXPECT_EQ(count_of(md, "| protocol: standard | mAP@all | P@5 | mAP@5 | P@10 | mAP@10 |"), 2u)
      << md;
  EXPECT_TRUE(contains(md, "| cosine (baseline) |")) << md;
  EXPECT_TRUE(contains(md, "| hcmsn | ")) << md;
  const std::string html = util::read_file(out() + "/report.html");
  EXPECT_TRUE(contains(html, "protocol: standard"));
  EXPECT_EQ(count_of(html, "<svg "), 2u);
  // Every job has its log, and the progress says what ran.
  EXPECT_TRUE(fs::exists(out() + "/logs/train/hcmsn-seed0.log"));
  EXPECT_TRUE(fs::exists(out() + "/logs/eval/euclidean-seed1/generalised.log"));
  EXPECT_TRUE(fs::exists(out() + "/logs/baseline/cosine/standard.log"));
  EXPECT_EQ(count_of(first_run_->output, "] done   "), 14u) << first_run_->output;
  EXPECT_TRUE(contains(first_run_->output, "] done   train euclidean-seed1 in "))
      << first_run_->output;
  EXPECT_TRUE(contains(first_run_->output, "ETA")) << first_run_->output;
  // The markdown is printed as well.
  EXPECT_TRUE(contains(first_run_->output, "| protocol: standard |")) << first_run_->output;
}

TEST_F(CliExperiment, RerunSkipsFinishedJobsAndGivesTheSameSummary) {
  ASSERT_EQ(first_run_->exit_code, 0) << first_run_->output;
  const std::string summary = util::read_file(out() + "/summary.json");
  const std::string train_log = out() + "/logs/train/hcmsn-seed1.log";
  const std::string eval_json = out() + "/evals/hcmsn-seed1/standard.json";
  const auto log_size = fs::file_size(train_log);
  const auto eval_time = fs::last_write_time(eval_json);
  const auto r = run_experiment();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count_of(r.output, "(finished before)"), 14u) << r.output;
  EXPECT_FALSE(contains(r.output, "] done ")) << r.output;
  EXPECT_EQ(fs::file_size(train_log), log_size);  // a job that runs appends to its log
  EXPECT_EQ(fs::last_write_time(eval_json), eval_time);
  EXPECT_EQ(util::read_file(out() + "/summary.json"), summary);
}

TEST_F(CliExperiment, UnfinishedJobsAreRedoneAndHalfTrainedRunsResumed) {
  ASSERT_EQ(first_run_->exit_code, 0) << first_run_->output;
  const std::string summary = util::read_file(out() + "/summary.json");
  const auto mark_unfinished = [](const std::string& record) {
    auto j = read_json(record);
    j["finished"] = false;
    util::write_file_atomic(record, j.dump());
  };
  // An evaluation that did not finish, and a training stopped after its last checkpoint.
  mark_unfinished(out() + "/jobs/baseline/cosine/generalised.json");
  mark_unfinished(out() + "/jobs/train/euclidean-seed0.json");
  const auto r = run_experiment();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "] done   baseline cosine/generalised")) << r.output;
  EXPECT_TRUE(contains(r.output, "train euclidean-seed0: resuming from its last checkpoint"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "] done   train euclidean-seed0")) << r.output;
  // A retrained run's evaluations are redone; nothing else is.
  EXPECT_TRUE(contains(r.output, "] done   eval euclidean-seed0/standard")) << r.output;
  EXPECT_TRUE(contains(r.output, "] done   eval euclidean-seed0/generalised")) << r.output;
  EXPECT_EQ(count_of(r.output, "] done   "), 4u) << r.output;
  EXPECT_EQ(count_of(r.output, "(finished before)"), 10u) << r.output;
  const std::string log = util::read_file(out() + "/logs/train/euclidean-seed0.log");
  EXPECT_TRUE(contains(log, "train --resume --out")) << log;
  EXPECT_EQ(util::read_file(out() + "/summary.json"), summary);
}

TEST_F(CliExperiment, ChangedTrainingArgumentsOfAnExistingRunAreAnError) {
  ASSERT_EQ(first_run_->exit_code, 0) << first_run_->output;
  std::string grid = grid_text();
  const std::string from = R"("euclidean": ["--curvature", "0"])";
  grid.replace(grid.find(from), from.size(), R"("euclidean": ["--curvature", "0.5"])");
  util::write_file_atomic(path("changed_grid.json"), grid);
  const auto r =
      test::run_cli("experiment --grid '" + path("changed_grid.json") + "' --out '" + out() + "'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "runs/euclidean-seed0 was trained with other arguments"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "delete that folder")) << r.output;
  EXPECT_FALSE(contains(r.output, "] done")) << r.output;
}

TEST_F(CliExperiment, RunsJobsInParallel) {
  std::string grid = grid_text();
  const std::string from = R"("variants": {"hcmsn": [], "euclidean": ["--curvature", "0"]})";
  grid.replace(grid.find(from), from.size(), R"("variants": {"hcmsn": []})");
  util::write_file_atomic(path("parallel_grid.json"), grid);
  const std::string dir = path("parallel");
  const auto r = test::run_cli("experiment --jobs 2 --grid '" + path("parallel_grid.json") +
                               "' --out '" + dir + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count_of(r.output, "] done   "), 8u) << r.output;
  // Each of the two jobs at a time got half the cores.
  const std::string log = util::read_file(dir + "/logs/train/hcmsn-seed1.log");
  EXPECT_TRUE(contains(log, "--threads ")) << log;
  const auto summary = read_json(dir + "/summary.json");
  EXPECT_EQ(row_of(summary, "generalised", "hcmsn")["labels"].size(), 2u);
}

TEST_F(CliExperiment, BadGridsAndFailingJobsEndWithAClearError) {
  const auto expect_failure = [](const std::string& grid, const std::string& message) {
    util::write_file_atomic(path("bad_grid.json"), grid);
    const auto r = test::run_cli("experiment --grid '" + path("bad_grid.json") + "' --out '" +
                                 path("bad_exp") + "'");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "error: ")) << r.output;
    EXPECT_TRUE(contains(r.output, message)) << r.output;
  };
  expect_failure(R"({"train": ["x"], "variants": {"a": [], "a": []}, "seeds": [0],
                     "evaluations": {"s": []}})",
                 "\"variants\" has \"a\" twice");
  expect_failure(
      R"({"train": ["x"], "variants": {"a": [3]}, "seeds": [0], "evaluations": {"s": []}})",
      "variants.a[0] is 3, not a string");
  expect_failure(
      R"({"train": ["x"], "variants": {"a": []}, "seeds": [], "evaluations": {"s": []}})",
      "\"seeds\" must be a non-empty list");
  expect_failure(R"({"train": ["x"], "variants": {"a": []}, "seeds": [0], "evaluations": {"s": []},
                     "seed": 1})",
                 "unknown key \"seed\"");
  // Nothing is written for a grid that does not parse.
  EXPECT_FALSE(fs::exists(path("bad_exp")));
  // A folder of something else is not taken over without --force, and the grid may not lie in
  // the experiment's folder.
  fs::create_directories(path("not_an_experiment"));
  util::write_file_atomic(path("not_an_experiment/notes.txt"), "mine\n");
  util::write_file_atomic(path("not_an_experiment/grid_in.json"), grid_text());
  auto r = test::run_cli("experiment --grid '" + path("grid.json") + "' --out '" +
                         path("not_an_experiment") + "'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--force")) << r.output;
  r = test::run_cli("experiment --grid '" + path("not_an_experiment/grid_in.json") + "' --out '" +
                    path("not_an_experiment") + "' --force");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--grid")) << r.output;
  EXPECT_EQ(util::read_file(path("not_an_experiment/notes.txt")), "mine\n");
  // A failing job (here the first, a baseline on a missing cache) names itself and its log.
  expect_failure(R"({"train": ["x"], "variants": {"a": []}, "seeds": [0], "evaluations": {"s": []},
                     "baselines": {"b": {"s": ["--features", "/no/such.hfc", "--unseen", "u"]}}})",
                 "job 'baseline b/s' failed (exit code 1: error: ");
  const std::string log = path("bad_exp") + "/logs/baseline/b/s.log";
  EXPECT_TRUE(contains(util::read_file(log), "/no/such.hfc"));
  EXPECT_FALSE(fs::exists(path("bad_exp") + "/runs"));  // nothing ran after the failure
}

}  // namespace
}  // namespace hcmsn
