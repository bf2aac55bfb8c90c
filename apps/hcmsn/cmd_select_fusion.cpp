// hcmsn select-fusion: the fusion weights chosen on validation folds (train/fusion_folds.h): the
// runs of `train --val-folds K --val-fold F` for F = 0 .. K-1 score the weight grid on their own
// held-out seen classes, and the best mean wins. The final runs then train with
// --fusion-weights set to the result, so no test class ever chooses them. With --compare
// curvature (or dim) the runs of several values of that setting are compared on the same folds
// and the setting is chosen with the weights (train/fusion_folds.h).
#include <algorithm>
#include <iostream>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "commands.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/train/fusion_folds.h"
#include "hcmsn/util/check.h"
#include "output_flags.h"
#include "run_selection.h"

namespace hcmsn::cli {
namespace {

struct SelectFusionCommandOptions {
  std::vector<std::string> runs;
  std::string checkpoint = "best";
  int64_t grid = 10;
  int64_t top = 10;
  std::string rule = "one-se";
  std::string weighting = "uniform";
  double max_weight = train::ImportanceOptions{}.max_weight;
  std::string json_out;
  std::string compare;
  bool print_weights = false;
  bool print_flags = false;
  bool quiet = false;
  bool force = false;
};

void print_table(std::ostream& out, const train::FoldedFusionChoice& c, int64_t top) {
  std::vector<size_t> order(c.grid.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return c.mean[a].score() > c.mean[b].score(); });
  out << fmt::format(
      "fusion weights over {} fold run(s), mean mAP@all on their held-out classes{}\n",
      c.runs.size(),
      c.weighting == train::FoldWeighting::kMatchUnseen
          ? " (classes weighted to match the unseen list's teacher similarity)"
          : "");
  out << fmt::format("{:<14} {:>9} {:>12} {:>8}  per run\n", "b,s,h", "standard", "generalised",
                     "score");
  const auto row = [&](size_t g) {
    std::string per_run;
    for (const auto& run : c.scores) per_run += fmt::format(" {:.4f}", run[g].score());
    out << fmt::format("{:<14} {:>9.4f} {:>12.4f} {:>8.4f} {}\n", model::to_string(c.grid[g]),
                       c.mean[g].map_standard, c.mean[g].map_generalised, c.mean[g].score(),
                       per_run);
  };
  for (size_t i = 0; i < order.size() && static_cast<int64_t>(i) < top; ++i) row(order[i]);
  // The backbone alone (the last vertex of the grid): where the untrained features stand.
  out << "backbone alone:\n";
  row(c.grid.size() - 1);
  if (c.rule == train::FoldRule::kOneStandardError) {
    out << fmt::format(
        "best mean: {} ({:.4f}); one standard error: {:.4f}; the most backbone "
        "weight within it:\n",
        model::to_string(c.grid[c.best]), c.mean[c.best].score(), c.standard_error);
    row(c.chosen);
  }
  out << "chosen: " << model::to_string(c.weights()) << "\n";
}

// The table of every value of the compared setting, then the choice between them.
void print_comparison(std::ostream& out, const train::FoldedSettingChoice& choice, int64_t top) {
  for (size_t g = 0; g < choice.groups.size(); ++g) {
    out << fmt::format("\n{} = {}:\n", choice.setting, choice.values[g]);
    print_table(out, choice.groups[g], top);
  }
  out << fmt::format("\nbest mean score by {}:", choice.setting);
  for (size_t g = 0; g < choice.groups.size(); ++g) {
    const auto& c = choice.groups[g];
    out << fmt::format(" {} {:.4f}{}", choice.values[g], c.mean[c.best].score(),
                       g + 1 < choice.groups.size() ? ";" : "");
  }
  out << fmt::format("\nchosen: {} = {}, fusion weights {}\n", choice.setting,
                     choice.values[choice.chosen], model::to_string(choice.choice().weights()));
}

int run_select_fusion(const SelectFusionCommandOptions& o) {
  const bool to_stdout = o.print_weights || o.print_flags;
  HCMSN_CHECK(!(o.print_weights && o.print_flags),
              "--print-weights and --print-flags both claim standard output: give one");
  HCMSN_CHECK(!(to_stdout && o.json_out == "-"),
              "--print-weights or --print-flags and --json - both claim standard output: give "
              "--json a file");
  io::OutputGuard guard(o.force);
  add_run_inputs(guard, o.runs);
  guard.output_or_stdout("--json", o.json_out, io::OutputKind::json()).check();
  std::ostream& table = to_stdout ? std::cerr : human_output(o.json_out);
  train::FoldSelectionOptions selection;
  selection.checkpoint = o.checkpoint;
  selection.grid_steps = o.grid;
  selection.rule = train::parse_fold_rule(o.rule);
  selection.weighting = train::parse_fold_weighting(o.weighting);
  selection.importance.max_weight = o.max_weight;
  selection.progress = !o.quiet;
  nlohmann::json json;
  std::vector<std::string> flags;  // the chosen train flags; the last one is the weights
  if (o.compare.empty()) {
    const auto choice = train::select_fusion_over_runs(o.runs, selection);
    print_table(table, choice, o.top);
    json = choice.to_json();
    flags = {"--fusion-weights", model::to_string(choice.weights())};
  } else {
    const auto choice = train::select_setting_over_runs(o.runs, o.compare, selection);
    print_comparison(table, choice, o.top);
    json = choice.to_json();
    flags = choice.train_flags();
  }
  write_json_output(o.json_out, json);
  if (o.print_weights) std::cout << flags.back() << "\n";
  if (o.print_flags) {
    for (const auto& flag : flags) std::cout << flag << "\n";
  }
  return 0;
}

}  // namespace

void add_select_fusion_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SelectFusionCommandOptions>();
  auto* cmd = app.add_subcommand(
      "select-fusion",
      "Choose the fusion weights on validation folds: the runs of train --val-folds K "
      "--val-fold F score the weight grid on their held-out seen classes; the best mean wins.");
  cmd->add_option("runs", o->runs, "the fold runs (folders)")->required();
  cmd->add_option("--checkpoint", o->checkpoint, "which weights of each run: best or last")
      ->check(CLI::IsMember({"best", "last"}))
      ->capture_default_str();
  cmd->add_option("--grid", o->grid, "grid steps: weights in multiples of 1/steps")
      ->check(CLI::Range(int64_t{1}, int64_t{100}))
      ->capture_default_str();
  cmd->add_option("--top", o->top, "how many of the best triples the table shows")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--rule", o->rule,
                  "one-se: of the triples within one standard error of the best mean, the one "
                  "with the most backbone weight; best: the best mean")
      ->check(CLI::IsMember({"one-se", "best"}))
      ->capture_default_str();
  cmd->add_option("--fold-weighting", o->weighting,
                  "uniform: every held-out query counts alike; match-unseen: each held-out class "
                  "is weighted so the folds' classes match the split's unseen list in teacher "
                  "similarity (nearest ImageNet class name; importance-weighted validation)")
      ->check(CLI::IsMember({"uniform", "match-unseen"}))
      ->capture_default_str();
  cmd->add_option("--max-weight", o->max_weight,
                  "match-unseen: the largest class weight (the mean is 1)")
      ->check(CLI::Range(1.0, 1000.0))
      ->capture_default_str();
  cmd->add_option("--compare", o->compare,
                  "also choose this training setting: the runs are grouped by its value (each "
                  "group the same folds), each group's weights are chosen by --rule and the "
                  "group with the best mean score wins")
      ->check(CLI::IsMember(train::comparable_settings()));
  add_json_option(cmd, o->json_out, "every triple's mean and per-run scores, and the choice");
  cmd->add_flag("--print-weights", o->print_weights,
                "print only the chosen weights (b,s,h) on standard output, the table on standard "
                "error: for $(hcmsn select-fusion --print-weights ...)");
  cmd->add_flag("--print-flags", o->print_flags,
                "print only the chosen train flags on standard output, one per line "
                "(--fusion-weights b,s,h, after --<setting> VALUE with --compare), the table on "
                "standard error: for mapfile -t flags < <(hcmsn select-fusion --print-flags ...)");
  cmd->add_flag("--quiet", o->quiet, "no progress output");
  add_force_flag(cmd, o->force, "an existing --json FILE");
  cmd->callback([o, &exit_code] { exit_code = run_select_fusion(*o); });
}

}  // namespace hcmsn::cli
