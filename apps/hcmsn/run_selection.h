// The run-selection flags shared by the commands that evaluate a trained run (eval, embed,
// report): which run, which checkpoint, which classes, optionally other data.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "hcmsn/io/output_guard.h"
#include "hcmsn/train/retrieval_eval.h"

namespace hcmsn::cli {

struct RunSelection {
  std::string run;
  std::string checkpoint = "best";
  std::string classes = "unseen";
  std::string features, images;  // override the run's data source
  bool quiet = false;
};

/// Adds --run (required), --checkpoint, --classes, --features, --images and --quiet.
void add_selection_options(CLI::App* cmd, RunSelection& s);

/// Declares what the selection reads: the run folder (nothing may be written inside it) and the
/// --features or --images that replace its data.
void add_selection_inputs(io::OutputGuard& guard, const RunSelection& s);

/// The selected classes' sketch and photo embeddings under the selected weights.
train::SplitEmbeddings embed_selection(const RunSelection& s);

}  // namespace hcmsn::cli
