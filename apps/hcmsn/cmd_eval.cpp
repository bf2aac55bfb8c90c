// hcmsn eval and hcmsn embed: a trained run on the evaluation classes of its own data or of any
// other dataset (run_selection.h). eval prints and writes the JSON of `hcmsn metrics`; embed
// exports the embeddings `hcmsn metrics` reads, so running it on them reproduces eval exactly.
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "distributed_flags.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/metrics/report.h"
#include "hcmsn/train/retrieval_eval.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/device.h"
#include "hcmsn/util/log.h"
#include "output_flags.h"
#include "result_output.h"
#include "run_selection.h"

namespace hcmsn::cli {
namespace {

struct EvalCommandOptions {
  RunSelection selection;
  std::string protocol = "standard";
  ResultOutputOptions output;
  DistributedFlags distributed;  // --nproc, --dist-timeout: rows and queries split over ranks
};

int run_eval(EvalCommandOptions& o) {
  if (const auto code = launch_if_asked(o.distributed)) return *code;
  const auto group = join_if_launched(o.distributed, o.selection.quiet, &o.selection.device);
  // Every rank ends with the same rows and figures: rank 0's warnings speak for all.
  if (group && !group->is_main()) util::set_log_level(util::LogLevel::kError);
  io::OutputGuard guard = result_output_guard(o.output);
  add_selection_inputs(guard, o.selection);
  guard.check();
  metrics::EvaluationOptions eval;
  eval.ks = o.output.ks;
  eval.protocol = metrics::Protocol::parse(o.protocol);
  eval.progress = !o.selection.quiet;
  eval.device = util::parse_device(o.selection.device);
  eval.sharding = distributed::sharding_of(group.get());
  const auto result = train::evaluate_split(embed_selection(o.selection, eval.sharding), eval);
  if (group && !group->is_main()) return 0;  // rank 0 reports the merged result
  emit_result(result, o.output);
  return 0;
}

struct EmbedCommandOptions {
  RunSelection selection;
  std::string out;
  bool force = false;
};

int run_embed(const EmbedCommandOptions& o) {
  const auto path = [&](const char* name) {
    return (std::filesystem::path(o.out) / name).string();
  };
  io::OutputGuard guard(o.force);
  add_selection_inputs(guard, o.selection);
  guard.output("--out", o.out, io::OutputKind::folder());
  for (const char* name : {"queries.npy", "gallery.npy"}) {
    guard.output(std::string("--out's ") + name, path(name), io::OutputKind::npy());
  }
  for (const char* name :
       {"query_labels.txt", "gallery_labels.txt", "query_ids.txt", "gallery_ids.txt"}) {
    guard.output(std::string("--out's ") + name, path(name), io::OutputKind::text());
  }
  guard.output("--out's embedding.json", path("embedding.json"), io::OutputKind::json());
  guard.check();

  const auto split = embed_selection(o.selection);
  std::filesystem::create_directories(o.out);
  io::write_npy(path("queries.npy"), split.queries);
  io::write_labels(path("query_labels.txt"), split.query_labels);
  io::write_npy(path("gallery.npy"), split.gallery);
  io::write_labels(path("gallery_labels.txt"), split.gallery_labels);
  if (!split.query_ids.empty()) io::write_labels(path("query_ids.txt"), split.query_ids);
  if (!split.gallery_ids.empty()) io::write_labels(path("gallery_ids.txt"), split.gallery_ids);
  const nlohmann::json info = {{"metric", "poincare"},
                               {"curvature", split.curvature},
                               {"run", o.selection.run},
                               {"checkpoint", o.selection.checkpoint},
                               {"classes", o.selection.classes},
                               {"gallery", o.selection.gallery},
                               {"num_queries", split.queries.size(0)},
                               {"num_gallery", split.gallery.size(0)},
                               {"dim", split.queries.size(1)}};
  util::write_file_atomic(path("embedding.json"), info.dump(2) + "\n");
  std::cout << fmt::format(
      "wrote {} sketch and {} photo embeddings to {}\nevaluate them with:\n  hcmsn metrics "
      "--queries {} --query-labels {} --gallery {} --gallery-labels {} --curvature {:.17g}\n",
      split.queries.size(0), split.gallery.size(0), o.out, path("queries.npy"),
      path("query_labels.txt"), path("gallery.npy"), path("gallery_labels.txt"), split.curvature);
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EvalCommandOptions>();
  auto* cmd = app.add_subcommand(
      "eval",
      "Zero-shot retrieval metrics of a trained run: its sketches as queries against its "
      "photos, ranked by Poincare distance (same output as hcmsn metrics).");
  add_selection_options(cmd, o->selection);
  cmd->add_option("--protocol", o->protocol, metrics::kProtocolHelp)->capture_default_str();
  add_result_output_options(cmd, o->output);
  add_distributed_options(cmd, o->distributed);
  cmd->callback([o, &exit_code] { exit_code = run_eval(*o); });
}

void add_embed_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EmbedCommandOptions>();
  auto* cmd = app.add_subcommand(
      "embed",
      "Export a trained run's sketch (query) and photo (gallery) embeddings as .npy with "
      "label files, ready for hcmsn metrics.");
  add_selection_options(cmd, o->selection);
  cmd->add_option("--out", o->out,
                  "output folder (created if missing; may not lie inside the run folder)")
      ->required();
  add_force_flag(cmd, o->force, "an existing file of --out that embed writes");
  cmd->callback([o, &exit_code] { exit_code = run_embed(*o); });
}

}  // namespace hcmsn::cli
