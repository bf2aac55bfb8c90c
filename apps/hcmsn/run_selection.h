// The run-selection flags shared by the commands that evaluate a trained run (eval, embed,
// report): which run, which checkpoint, which data, which classes, which gallery.
//
// Data: the run's own (default), or any other: a feature cache (--features, made with the same
// backbone as the run's), an image folder (--images ROOT/{sketch,photo}/<class>/), or the dataset
// flags of `hcmsn extract` (--layout/--root/--sketch-dir/--photo-dir/--ndjson-dir/lists, with
// --split or --unseen), embedded through the run's own front end (index::Embedder).
// Classes: those of the data being evaluated: its unseen classes (the run's own split for its own
// data; a cache's recorded split, or --split / --unseen), its seen classes, or all of them.
// Gallery: the photos of the evaluation classes, or every photo of the data (generalised).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "hcmsn/data/dataset.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/train/retrieval_eval.h"
#include "hcmsn/util/sharding.h"

namespace hcmsn::cli {

struct RunSelection {
  std::string run;
  std::string checkpoint = "best";
  /// auto: the unseen classes when the data has a split (the run's own data always has), else all.
  std::string classes = "auto";
  std::string gallery = "classes";
  std::string features, images;  // other data instead of the run's
  data::DatasetSpec dataset;     // other data as `hcmsn extract` reads it
  bool quiet = false;
  /// Where the network runs: cpu, cuda or cuda:N.
  std::string device = "cpu";
  /// Rows per forward pass; 0: the run's eval batch (images through the run's front end: the
  /// embedder's default).
  int64_t batch = 0;
};

/// Adds --run (required), --checkpoint, --classes, --gallery, --features, --images, the dataset
/// flags, --batch, --device and --quiet.
void add_selection_options(CLI::App* cmd, RunSelection& s);

/// Declares what the selection reads: the run folder (nothing may be written inside it), its
/// data, and the --features, --images or dataset files that replace that data.
void add_selection_inputs(io::OutputGuard& guard, const RunSelection& s);

/// add_selection_inputs for each run folder with its own data.
void add_run_inputs(io::OutputGuard& guard, const std::vector<std::string>& runs);

/// The selected queries' and gallery's embeddings under the selected weights. Sharded (issue
/// 13): each rank embeds a share of the rows and every rank returns all of them, as one process
/// does.
train::SplitEmbeddings embed_selection(const RunSelection& s, const util::Sharding& sharding = {});

}  // namespace hcmsn::cli
