// hcmsn eval-gallery: scores labelled sketches against a gallery file, with the metrics and
// output of `hcmsn metrics`, so a user can measure the gallery they serve.
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "device_flag.h"
#include "hcmsn/index/embedder.h"
#include "hcmsn/index/gallery.h"
#include "hcmsn/index/gallery_evaluation.h"
#include "hcmsn/index/sketch_search.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/device.h"
#include "hcmsn/util/log.h"
#include "result_output.h"
#include "sketch_flags.h"

namespace hcmsn::cli {
namespace {

struct EvalGalleryOptions {
  std::string index;
  std::string run;
  std::string device = "cpu";
  SketchFlags sketches;
  std::string protocol = "standard";
  std::string empty_queries = "auto";
  int64_t memory_budget_mb = 512;
  ResultOutputOptions output;
  bool quiet = false;
};

// A sketch without a class cannot be scored; they fail the command before the model is loaded,
// rather than being skipped, because scoring a subset would report a figure for another set.
void check_every_sketch_has_a_class(const std::vector<index::QuerySketch>& sketches) {
  std::string named;
  int64_t count = 0;
  for (const auto& s : sketches) {
    if (!s.problem.empty() || s.class_name.find_first_not_of(" \t\r\n") != std::string::npos) {
      continue;
    }
    if (++count <= 5) named += "\n  " + s.id;
  }
  HCMSN_CHECK(count == 0, count, " of ", sketches.size(), " sketches have no class:", named,
              count > 5 ? "\n  ..." : "",
              "\ngive classes by folder (DIR/<class>/...), by list line (PATH<TAB>CLASS) or by "
              "the drawings' \"word\"");
}

int run_eval_gallery(const EvalGalleryOptions& o) {
  metrics::EvaluationOptions eval;
  eval.ks = o.output.ks;
  eval.protocol = metrics::Protocol::parse(o.protocol);
  eval.empty_queries = metrics::parse_empty_query_policy(o.empty_queries);
  HCMSN_CHECK(o.memory_budget_mb > 0, "--memory-budget must be positive");
  eval.memory_budget_bytes = o.memory_budget_mb << 20;
  eval.progress = !o.quiet;
  eval.device = util::parse_device(o.device);
  io::OutputGuard guard = result_output_guard(o.output);
  add_sketch_inputs(guard, o.index, o.run, o.sketches);
  guard.check();

  const std::vector<index::QuerySketch> sketches = collect_sketches(o.sketches);
  check_every_sketch_has_a_class(sketches);
  const index::Gallery gallery = index::load_gallery(o.index);
  HCMSN_CHECK(gallery.size() > 0, "gallery '", o.index, "' is empty; add photos with hcmsn index");
  const auto embedder = index::Embedder::from_spec(gallery.embedder, o.run, o.device);
  const auto embedded = index::embed_sketches(*embedder, sketches, !o.quiet);
  warn_unreadable(sketches, embedded.unreadable);
  HCMSN_CHECK(!embedded.embedded.empty(), "none of the ", sketches.size(),
              " sketches could be read (the reasons are listed above)");
  std::vector<std::string> classes;
  classes.reserve(embedded.embedded.size());
  for (const size_t i : embedded.embedded) classes.push_back(sketches[i].class_name);

  const metrics::RetrievalResult result =
      index::evaluate_gallery(gallery, embedded.embeddings, classes, eval);
  if (result.num_queries_without_relevant > 0) {
    util::log_warn("{} queries belong to classes with no gallery item; counted per policy '{}'",
                   result.num_queries_without_relevant, metrics::to_string(result.empty_queries));
  }
  emit_result(result, o.output);
  return 0;
}

}  // namespace

void add_eval_gallery_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EvalGalleryOptions>();
  auto* cmd = app.add_subcommand(
      "eval-gallery",
      "Score labelled sketches against a gallery file: each sketch ranks every photo by the "
      "Poincare distance of the gallery's curvature, relevant = same class (photos without a "
      "class are distractors), reported as hcmsn metrics does (mAP@all, Prec@K, mAP@K).");
  cmd->add_option("--index", o->index, "gallery file made by hcmsn index")->required();
  add_sketch_flags(cmd, o->sketches);
  cmd->add_option("--run", o->run, "the gallery's run folder, if it moved");
  cmd->add_option("--protocol", o->protocol, metrics::kProtocolHelp)->capture_default_str();
  cmd->add_option("--empty-queries", o->empty_queries,
                  "sketches whose class has no photo in the gallery: the protocol's rule (auto: "
                  "skip for sake and zse-sbir, else 0), count as 0, skip, or fail")
      ->check(CLI::IsMember({"auto", "zero", "skip", "error"}))
      ->capture_default_str();
  cmd->add_option("--memory-budget", o->memory_budget_mb, "MiB for a block of the distance matrix")
      ->capture_default_str();
  add_result_output_options(cmd, o->output);
  // "--k 5,10 sketch.png": the comma list is the one value, the sketch is not a cut-off.
  cmd->get_option("--k")->allow_extra_args(false);
  cmd->add_flag("--quiet", o->quiet, "no progress output");
  add_device_option(cmd, o->device);
  cmd->callback([o, &exit_code] { exit_code = run_eval_gallery(*o); });
}

}  // namespace hcmsn::cli
