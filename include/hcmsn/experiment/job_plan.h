// The jobs of an experiment and where everything goes, as plain data (no processes): the runner
// (runner.h) executes them, the tests inspect them.
//
//   OUT/grid.json                                   the grid as given
//   OUT/runs/<variant>-seed<seed>/                  hcmsn train --out (a run folder)
//   OUT/evals/<variant>-seed<seed>/<evaluation>.json   hcmsn eval --json
//   OUT/baselines/<baseline>/<evaluation>.json      hcmsn eval-features --json
//   OUT/logs/{train,eval,baseline}/...log           each job's stdout and stderr
//   OUT/jobs/{train,eval,baseline}/...json          each job's record: the arguments the grid gave
//                                                   it and whether it finished (resume decisions)
//   OUT/summary.json, OUT/summary.md, OUT/report.html
//
// Jobs are listed baselines first (quick, and they check the data), then by seed, then by
// variant, each training followed by its evaluations: an interrupted experiment has every
// variant at its first seeds rather than one variant at every seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hcmsn/experiment/grid.h"

namespace hcmsn::experiment {

enum class JobKind { kTrain, kEval, kBaseline };

struct Job {
  JobKind kind = JobKind::kTrain;
  /// For messages: "train hcmsn-seed0", "eval hcmsn-seed0/standard",
  /// "baseline backbone-cosine/standard".
  std::string id;
  /// The hcmsn arguments from the subcommand on ("train", ...), paths included.
  std::vector<std::string> args;
  /// The arguments that come from the grid (no paths of OUT): what a rerun compares with the
  /// record to tell whether the job is still the one the grid asks for.
  std::vector<std::string> grid_args;
  /// The run folder (train) or the JSON file (eval, baseline).
  std::string output;
  std::string log;
  std::string record;
  /// Evaluations: the index of their run's training job; -1 otherwise.
  int train_job = -1;
  /// Where the result belongs in the table.
  std::string row;         // the variant or the baseline
  std::string evaluation;  // "" for trainings
  uint64_t seed = 0;
};

/// "<variant>-seed<seed>".
std::string run_name(const std::string& variant, uint64_t seed);

/// Every job of the grid, with OUT = out_dir (made absolute).
std::vector<Job> plan_jobs(const ExperimentGrid& grid, const std::string& out_dir);

/// The arguments that resume the half-finished training `train` (train --resume --out RUN).
std::vector<std::string> resume_args(const Job& train);

}  // namespace hcmsn::experiment
