// The jobs of an experiment (hcmsn/experiment/job_plan.h): order, paths, the arguments each
// subcommand gets, and the part of them a rerun compares.
#include "hcmsn/experiment/job_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "hcmsn/experiment/grid.h"

namespace hcmsn::experiment {
namespace {

using Args = std::vector<std::string>;

bool has_sequence(const Args& args, const Args& part) {
  return std::search(args.begin(), args.end(), part.begin(), part.end()) != args.end();
}

ExperimentGrid two_by_two() {
  return parse_grid(R"({
    "train": ["--features", "f.hfc", "--epochs", "2"],
    "variants": {"hcmsn": [], "euclidean": ["--curvature", "0"]},
    "seeds": [0, 1],
    "evaluations": {"standard": [], "generalised": ["--gallery", "all"]},
    "baselines": {"cos": {"standard": ["--features", "f.hfc"]}},
    "ks": [5, 10]
  })");
}

TEST(ExperimentJobPlan, BaselinesThenBySeedThenVariantEachTrainingBeforeItsEvaluations) {
  const auto jobs = plan_jobs(two_by_two(), "/tmp/exp");
  std::vector<std::string> ids;
  for (const auto& j : jobs) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<std::string>{
                     "baseline cos/standard", "train hcmsn-seed0", "eval hcmsn-seed0/standard",
                     "eval hcmsn-seed0/generalised", "train euclidean-seed0",
                     "eval euclidean-seed0/standard", "eval euclidean-seed0/generalised",
                     "train hcmsn-seed1", "eval hcmsn-seed1/standard",
                     "eval hcmsn-seed1/generalised", "train euclidean-seed1",
                     "eval euclidean-seed1/standard", "eval euclidean-seed1/generalised"}));
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].kind == JobKind::kEval) {
      ASSERT_GE(jobs[i].train_job, 0);
      const Job& train = jobs[static_cast<size_t>(jobs[i].train_job)];
      EXPECT_EQ(train.kind, JobKind::kTrain);
      EXPECT_EQ(train.row, jobs[i].row);
      EXPECT_EQ(train.seed, jobs[i].seed);
    } else {
      EXPECT_EQ(jobs[i].train_job, -1);
    }
  }
}

TEST(ExperimentJobPlan, PathsAndArguments) {
  const auto jobs = plan_jobs(two_by_two(), "/tmp/exp/./");
  const Job& baseline = jobs[0];
  EXPECT_EQ(baseline.output, "/tmp/exp/baselines/cos/standard.json");
  EXPECT_EQ(baseline.log, "/tmp/exp/logs/baseline/cos/standard.log");
  EXPECT_EQ(baseline.record, "/tmp/exp/jobs/baseline/cos/standard.json");
  EXPECT_EQ(baseline.args, (Args{"eval-features", "--features", "f.hfc", "--protocol", "standard",
                                 "--k", "5,10", "--json", baseline.output}));
  EXPECT_EQ(baseline.grid_args,
            (Args{"--features", "f.hfc", "--protocol", "standard", "--k", "5,10"}));

  const Job& train = jobs[4];  // euclidean, seed 0
  EXPECT_EQ(train.id, "train euclidean-seed0");
  EXPECT_EQ(train.output, "/tmp/exp/runs/euclidean-seed0");
  EXPECT_EQ(train.args, (Args{"train", "--features", "f.hfc", "--epochs", "2", "--curvature", "0",
                              "--seed", "0", "--out", train.output, "--quiet"}));
  EXPECT_EQ(train.grid_args,
            (Args{"--features", "f.hfc", "--epochs", "2", "--curvature", "0", "--seed", "0"}));
  EXPECT_EQ(resume_args(train), (Args{"train", "--resume", "--out", train.output, "--quiet"}));

  const Job& eval = jobs[6];  // euclidean, seed 0, generalised
  EXPECT_EQ(eval.output, "/tmp/exp/evals/euclidean-seed0/generalised.json");
  EXPECT_EQ(eval.log, "/tmp/exp/logs/eval/euclidean-seed0/generalised.log");
  EXPECT_TRUE(has_sequence(eval.args, {"eval", "--run", train.output})) << eval.id;
  EXPECT_TRUE(has_sequence(eval.args, {"--gallery", "all", "--checkpoint", "last", "--protocol",
                                       "standard", "--k", "5,10", "--json", eval.output}));
  // The grid's part holds no path of the experiment folder: the folder may move.
  for (const auto& a : eval.grid_args) EXPECT_EQ(a.find("/tmp/exp"), std::string::npos) << a;
}

}  // namespace
}  // namespace hcmsn::experiment
