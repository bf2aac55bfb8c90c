// hcmsn experiment: trains every (variant, seed) of a grid (grid.h), evaluates every run and
// every baseline, and writes the summary (summary.h) and the report (summary_report.h). Each job
// is a child process of the hcmsn program itself, its output in a log (job_plan.h for paths).
//
// Resuming: each job keeps a record of the grid's arguments and whether it finished. A rerun
// skips finished jobs whose arguments are unchanged; a training that was started but did not
// finish continues from its last checkpoint (train --resume, which repeats exactly the steps an
// uninterrupted run takes) or starts again when it never reached one; the evaluations of a run
// trained in this invocation are always redone. Changed evaluation or baseline arguments redo
// the job; changed training arguments of an existing run are an error (its folder holds a model
// of the old arguments), which names the folder to remove.
//
// A training counts as finished when it exits with 0 and its log has all its epochs (a training
// stopped by a signal also exits with 0). A job that fails stops the experiment (jobs already
// running finish first) with an error naming it and its log. Ctrl-C / SIGTERM reach the runner
// only (children have process groups of their own); it asks every running job to stop (trainings
// save a checkpoint), waits, and ends with an error saying how to resume.
#pragma once

#include <string>

#include "hcmsn/experiment/grid.h"
#include "hcmsn/experiment/summary.h"

namespace hcmsn::experiment {

struct RunnerOptions {
  std::string out_dir;
  /// Jobs at a time (≥ 1). With more than one, each child gets --threads cores/jobs unless
  /// HCMSN_THREADS is set.
  int jobs = 1;
  /// No progress lines on stderr.
  bool quiet = false;
  /// The hcmsn program to run; "" = this process's executable (/proc/self/exe).
  std::string executable;
};

/// Runs the jobs that are not finished, then writes OUT/summary.json, OUT/summary.md and
/// OUT/report.html and returns the summary. Throws hcmsn::Error on a failed job, an
/// interruption, or results that are not comparable.
ExperimentSummary run_experiment(const ExperimentGrid& grid, const std::string& grid_text,
                                 const RunnerOptions& options);

/// The summary of the finished jobs' results in out_dir (no processes). Throws hcmsn::Error
/// naming a missing result.
ExperimentSummary summarise_experiment(const ExperimentGrid& grid, const std::string& out_dir);

}  // namespace hcmsn::experiment
