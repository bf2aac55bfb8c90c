// hcmsn demo: the whole job on generated data, no download needed.
#include <iostream>
#include <memory>

#include "commands.h"
#include "hcmsn/demo/demo.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::cli {
namespace {

int run_demo_command(const demo::DemoOptions& o) {
  const auto r = demo::run_demo(o);
  std::cout << fmt::format(
      "\nunseen-class mAP@all   HCMSN {:.4f} ({:.1f}x chance)   Euclidean {:.4f} ({:.1f}x "
      "chance)   chance {:.4f}\nreport: {}\nmetrics: {}/metrics.json\nrun: {}/run (try: hcmsn "
      "eval --run {}/run)\nsearch: hcmsn serve --index {} (or: hcmsn query --index {} "
      "SKETCH.png)\ntook {}\n",
      r.hcmsn_map_all, r.hcmsn_map_all / r.chance_map_all, r.euclidean_map_all,
      r.euclidean_map_all / r.chance_map_all, r.chance_map_all, r.report_path, o.out, o.out, o.out,
      r.gallery_path, r.gallery_path, util::format_duration(r.seconds));
  if (r.hcmsn_map_all < 3.0 * r.chance_map_all) {
    util::log_warn(
        "HCMSN's unseen mAP@all is below 3x chance; the demo did not train as "
        "expected");
  }
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<demo::DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Generate a synthetic zero-shot sketch/photo dataset, train HCMSN and its Euclidean "
      "variant end to end with a small CNN, evaluate on the unseen classes, write report.html.");
  cmd->add_option("--out", o->out, "output folder")->capture_default_str();
  cmd->add_flag("--quick", o->quick, "the small preset (under 2 minutes on 2 cores)");
  cmd->add_option("--seed", o->seed, "seed of the data and the training")->capture_default_str();
  cmd->add_flag(
      "--regenerate", [o](int64_t) { o->reuse_data = false; },
      "generate the dataset again even when OUT/data matches");
  cmd->add_flag(
      "--quiet", [o](int64_t) { o->progress = false; }, "no progress bars");
  cmd->add_flag("--force", o->force,
                "use OUT/data, OUT/run and OUT/run-euclidean (deleted and refilled) even when the "
                "demo did not write them, and replace OUT's metrics.json, report.html and "
                "gallery.hcmsn whatever they hold");
  cmd->callback([o, &exit_code] { exit_code = run_demo_command(*o); });
}

}  // namespace hcmsn::cli
