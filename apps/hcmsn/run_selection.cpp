#include "run_selection.h"

#include "hcmsn/train/run_config.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"

namespace hcmsn::cli {

void add_selection_options(CLI::App* cmd, RunSelection& s) {
  cmd->add_option("--run", s.run, "a run folder (hcmsn train --out, hcmsn demo's DIR/run)")
      ->required();
  cmd->add_option("--checkpoint", s.checkpoint, "which weights: best or last")
      ->check(CLI::IsMember({"best", "last"}))
      ->capture_default_str();
  cmd->add_option("--classes", s.classes, "which classes: unseen (zero-shot), seen or all")
      ->check(CLI::IsMember({"unseen", "seen", "all"}))
      ->capture_default_str();
  cmd->add_option("--features", s.features, "evaluate on this feature cache instead");
  cmd->add_option("--images", s.images, "evaluate on this image folder instead");
  cmd->add_flag("--quiet", s.quiet, "no progress output");
}

void add_selection_inputs(io::OutputGuard& guard, const RunSelection& s) {
  guard.input("--run", s.run).input("--features", s.features).input("--images", s.images);
  // Without an override the run's own data is read: a feature cache or an image folder that may
  // live anywhere. (A run folder without a config fails here as it would in embed_selection.)
  if (s.features.empty() && s.images.empty()) {
    guard.input("the run's data", train::read_run_config(s.run).data.path);
  }
}

train::SplitEmbeddings embed_selection(const RunSelection& s) {
  train::LoadedRun run = train::load_run(s.run, s.checkpoint);
  train::DataSpec data = run.config.data;
  HCMSN_CHECK(s.features.empty() || s.images.empty(), "give --features or --images, not both");
  if (!s.features.empty()) data = {"features", s.features};
  if (!s.images.empty()) data = {"images", s.images};
  const train::TrainingSet all = train::load_rows(data, run.config.backbone, !s.quiet);
  std::vector<std::string> classes;
  if (s.classes != "unseen") classes = run.config.seen_classes;
  if (s.classes != "seen") {
    classes.insert(classes.end(), run.config.unseen_classes.begin(),
                   run.config.unseen_classes.end());
  }
  util::log_info("embedding the {} classes ({}) with the {} weights of {}", s.classes,
                 classes.size(), s.checkpoint, s.run);
  return train::embed_split(*run.network, all.subset_classes(classes),
                            run.config.trainer.eval_batch, !s.quiet);
}

}  // namespace hcmsn::cli
