// hcmsn experiment: a grid of trainings (variants × seeds), their evaluations and the
// untrained-feature baselines, resumable, summarised as tables and a report (experiment/).
#include <iostream>
#include <memory>

#include "commands.h"
#include "hcmsn/experiment/grid.h"
#include "hcmsn/experiment/runner.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/util/atomic_file.h"
#include "output_flags.h"

namespace hcmsn::cli {
namespace {

struct ExperimentCommandOptions {
  std::string grid;
  experiment::RunnerOptions runner;
  bool force = false;
};

int run_experiment_command(const ExperimentCommandOptions& o) {
  // The folder is the experiment's own (grid.json marks it) and may not hold the grid itself.
  io::OutputGuard(o.force)
      .input("--grid", o.grid)
      .output("--out", o.runner.out_dir, io::OutputKind::owned_folder("grid.json"))
      .check();
  // Validate the whole grid before anything runs.
  const experiment::ExperimentGrid grid = experiment::read_grid(o.grid);
  const auto summary = experiment::run_experiment(grid, util::read_file(o.grid), o.runner);
  std::cout << experiment::to_markdown(summary);
  return 0;
}

}  // namespace

void add_experiment_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ExperimentCommandOptions>();
  auto* cmd = app.add_subcommand(
      "experiment",
      "Train a grid of variants × seeds, evaluate every run and the untrained-feature baselines "
      "on the same queries and galleries, and write OUT/summary.{json,md} and OUT/report.html. "
      "Rerun to resume. The grid's format: README.md, include/hcmsn/experiment/grid.h.");
  cmd->add_option("--grid", o->grid, "the grid, a JSON file")->required();
  cmd->add_option("--out", o->runner.out_dir,
                  "the experiment's folder (runs, evaluations, "
                  "logs, summary)")
      ->required();
  cmd->add_option("--jobs", o->runner.jobs, "jobs run at a time; each gets cores/jobs threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--quiet", o->runner.quiet, "no progress lines");
  add_force_flag(cmd, o->force, "a non-empty --out folder that is not an experiment's");
  cmd->callback([o, &exit_code] { exit_code = run_experiment_command(*o); });
}

}  // namespace hcmsn::cli
