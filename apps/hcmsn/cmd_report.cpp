// hcmsn report: the HTML report of trained runs evaluated on the same classes (e.g. HCMSN and
// its Euclidean variant): metrics with the chance level, training curves, retrieval grids when
// the items are image files, and the embeddings on the Poincaré disk.
#include <filesystem>
#include <fstream>
#include <memory>

#include "commands.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/metrics/chance.h"
#include "hcmsn/report/run_report.h"
#include "hcmsn/train/run_config.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "output_flags.h"
#include "run_selection.h"

namespace hcmsn::cli {
namespace {

struct ReportCommandOptions {
  std::vector<std::string> runs;
  std::vector<std::string> names;
  std::string checkpoint = "last";
  std::string out = "report.html";
  std::string title = "hcmsn report";
  std::string summary;
  bool quiet = false;
  bool force = false;
};

nlohmann::json read_history(const std::string& run_dir) {
  nlohmann::json history = nlohmann::json::array();
  std::ifstream in(train::log_path(run_dir));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) history.push_back(nlohmann::json::parse(line));
  }
  return history;
}

int run_report(const ReportCommandOptions& o) {
  HCMSN_CHECK(!o.runs.empty(), "give at least one --run");
  HCMSN_CHECK(o.names.empty() || o.names.size() == o.runs.size(),
              "give one --name per --run (or none)");
  io::OutputGuard guard(o.force);
  add_run_inputs(guard, o.runs);
  guard.output("--out", o.out, io::OutputKind::html()).check();
  std::vector<report::ReportRun> runs;
  for (size_t i = 0; i < o.runs.size(); ++i) {
    RunSelection selection;
    selection.run = o.runs[i];
    selection.checkpoint = o.checkpoint;
    selection.quiet = o.quiet;
    report::ReportRun run;
    run.name = o.names.empty() ? std::filesystem::path(o.runs[i]).filename().string() : o.names[i];
    run.history = read_history(o.runs[i]);
    run.split = embed_selection(selection);
    run.result = train::evaluate_split(run.split, {});
    util::log_info("{}: unseen mAP@all {:.4f}", run.name, run.result.map_all);
    runs.push_back(std::move(run));
  }
  report::RunReportOptions options;
  options.title = o.title;
  options.summary = o.summary;
  options.chance_map_all = metrics::chance_map_all(
      metrics::encode_labels(runs[0].split.query_labels, runs[0].split.gallery_labels));
  report::write_run_report(o.out, runs, options);
  util::log_info("wrote {}", o.out);
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ReportCommandOptions>();
  auto* cmd = app.add_subcommand(
      "report", "Write an HTML report comparing trained runs on their unseen classes.");
  cmd->add_option("--run", o->runs, "a run folder; repeat for several runs")->required();
  cmd->add_option("--name", o->names, "a display name per --run (default: the folder name)");
  cmd->add_option("--checkpoint", o->checkpoint, "which weights: best or last")
      ->check(CLI::IsMember({"best", "last"}))
      ->capture_default_str();
  cmd->add_option("--out", o->out, "the HTML file to write")->capture_default_str();
  cmd->add_option("--title", o->title, "the report's title")->capture_default_str();
  cmd->add_option("--summary", o->summary, "a paragraph under the title");
  cmd->add_flag("--quiet", o->quiet, "no progress output");
  add_force_flag(cmd, o->force, "an existing --out file");
  cmd->callback([o, &exit_code] { exit_code = run_report(*o); });
}

}  // namespace hcmsn::cli
