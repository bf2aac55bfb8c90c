#include "hcmsn/experiment/job_plan.h"

#include <filesystem>

namespace hcmsn::experiment {
namespace {

namespace fs = std::filesystem;

std::string ks_arg(const std::vector<int64_t>& ks) {
  std::string out;
  for (int64_t k : ks) out += (out.empty() ? "" : ",") + std::to_string(k);
  return out;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

std::string run_name(const std::string& variant, uint64_t seed) {
  return variant + "-seed" + std::to_string(seed);
}

std::vector<Job> plan_jobs(const ExperimentGrid& grid, const std::string& out_dir) {
  const fs::path out = fs::absolute(out_dir).lexically_normal();
  const auto at = [&](const std::string& relative) { return (out / relative).string(); };
  const std::vector<std::string> shared = {"--protocol", grid.protocol, "--k", ks_arg(grid.ks)};
  std::vector<Job> jobs;

  for (const Baseline& b : grid.baselines) {
    for (const NamedArgs& e : b.per_evaluation) {
      Job job;
      job.kind = JobKind::kBaseline;
      job.id = "baseline " + b.name + "/" + e.name;
      const std::string file = b.name + "/" + e.name;
      job.output = at("baselines/" + file + ".json");
      job.log = at("logs/baseline/" + file + ".log");
      job.record = at("jobs/baseline/" + file + ".json");
      job.grid_args = concat(e.args, shared);
      job.args = concat(concat({"eval-features"}, job.grid_args), {"--json", job.output});
      job.row = b.name;
      job.evaluation = e.name;
      jobs.push_back(std::move(job));
    }
  }
  for (uint64_t seed : grid.seeds) {
    for (const NamedArgs& v : grid.variants) {
      const std::string run = run_name(v.name, seed);
      Job train;
      train.kind = JobKind::kTrain;
      train.id = "train " + run;
      train.output = at("runs/" + run);
      train.log = at("logs/train/" + run + ".log");
      train.record = at("jobs/train/" + run + ".json");
      train.grid_args = concat(concat(grid.train, v.args), {"--seed", std::to_string(seed)});
      train.args = concat(concat({"train"}, train.grid_args), {"--out", train.output, "--quiet"});
      train.row = v.name;
      train.seed = seed;
      const int train_index = static_cast<int>(jobs.size());
      jobs.push_back(train);
      for (const NamedArgs& e : grid.evaluations) {
        Job job;
        job.kind = JobKind::kEval;
        job.id = "eval " + run + "/" + e.name;
        const std::string file = run + "/" + e.name;
        job.output = at("evals/" + file + ".json");
        job.log = at("logs/eval/" + file + ".log");
        job.record = at("jobs/eval/" + file + ".json");
        job.grid_args = concat(concat(e.args, {"--checkpoint", grid.checkpoint}), shared);
        job.args = concat(concat({"eval", "--run", train.output}, job.grid_args),
                          {"--json", job.output, "--quiet"});
        job.train_job = train_index;
        job.row = v.name;
        job.evaluation = e.name;
        job.seed = seed;
        jobs.push_back(std::move(job));
      }
    }
  }
  return jobs;
}

std::vector<std::string> resume_args(const Job& train) {
  return {"train", "--resume", "--out", train.output, "--quiet"};
}

}  // namespace hcmsn::experiment
