// The grid of `hcmsn experiment`: which runs to train, how to evaluate them and against which
// baselines. A JSON file (relative paths inside arguments are relative to the directory the
// experiment runs in):
//
//   {
//     "title": "Ablations on QuickDraw-Ext",                      optional, the report's title
//     "train": ["--features", "f.hfc", "--split", "quickdraw30",   hcmsn train arguments of
//               "--semantics", "s.npy", "--semantics-classes",     every run
//               "s.txt", "--epochs", "20"],
//     "variants": {                                                one entry per table row:
//       "hcmsn": [],                                               extra hcmsn train arguments
//       "euclidean": ["--curvature", "0"],
//       "no-adv": ["--no-adv"]
//     },
//     "seeds": [0, 1, 2],                                          every variant with every seed
//     "evaluations": {                                             hcmsn eval arguments; [] is
//       "standard": [],                                            the run's own unseen classes
//       "generalised": ["--gallery", "all"]
//     },
//     "baselines": {                                               optional; hcmsn eval-features
//       "backbone-cosine": {                                       arguments per evaluation (an
//         "standard": ["--features", "f.hfc", "--split",           evaluation left out has no
//                      "quickdraw30"],                             row of this baseline)
//         "generalised": ["--features", "f.hfc", "--split",
//                         "quickdraw30", "--gallery", "all"]
//       }
//     },
//     "checkpoint": "last",                                        optional: best or last
//     "protocol": "standard",                                      optional: --protocol of all
//     "ks": [100, 200]                                             optional: --k of all
//   }
//
// Names (variants, evaluations, baselines) become file names and table rows: letters, digits and
// . _ - + = only, unique within their kind, and no name is both a variant and a baseline. Every
// argument is a JSON string. The runner sets --out, --seed, --run, --checkpoint, --json,
// --protocol, --k and --quiet itself, so the lists must not contain them. Order is kept: table
// rows follow the file's order of variants and baselines. A variant's arguments are added to
// "train"'s; hcmsn train takes each flag once, so a variant may not repeat a flag of "train".
//
// Baselines rank the same queries against the same gallery as the runs: for each evaluation the
// baseline's arguments give the data, classes and --gallery the evaluation uses (for the run's
// own data: the cache it was trained on and its split); the runner gives baselines and runs the
// same --protocol and --k, and the summary (summary.h) refuses a table whose results differ in
// queries or gallery (sizes, and per class the numbers of queries and relevant photos).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::experiment {

/// A named argument list (a variant or an evaluation).
struct NamedArgs {
  std::string name;
  std::vector<std::string> args;
};

/// An untrained-feature baseline: hcmsn eval-features arguments for some of the evaluations.
struct Baseline {
  std::string name;
  std::vector<NamedArgs> per_evaluation;  // name = the evaluation's name, in the grid's order
};

struct ExperimentGrid {
  std::string title;
  std::vector<std::string> train;
  std::vector<NamedArgs> variants;
  std::vector<uint64_t> seeds;
  std::vector<NamedArgs> evaluations;
  std::vector<Baseline> baselines;
  std::string checkpoint = "last";
  std::string protocol = "standard";
  std::vector<int64_t> ks = {100, 200};
};

/// Parses and validates grid JSON text. Throws hcmsn::Error naming the offending key (unknown
/// keys, missing or empty lists, duplicate names, bad names, non-string arguments, arguments the
/// runner sets, an unknown protocol or checkpoint) and what to write instead.
ExperimentGrid parse_grid(const std::string& json_text);

/// Reads and parses a grid file; errors name the file.
ExperimentGrid read_grid(const std::string& path);

}  // namespace hcmsn::experiment
