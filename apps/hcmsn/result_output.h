// How the evaluating commands (metrics, eval, eval-features, eval-gallery) report a result: the
// cut-offs, the table (optionally per class) and the JSON of `hcmsn metrics` (output_flags.h:
// --json FILE|-, --force).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hcmsn/io/output_guard.h"
#include "hcmsn/metrics/retrieval_evaluator.h"

namespace hcmsn::cli {

struct ResultOutputOptions {
  std::vector<int64_t> ks = {100, 200};
  std::string json_out;
  bool per_class = false;
  bool force = false;
};

/// Adds --k, --json, --per-class and --force.
void add_result_output_options(CLI::App* cmd, ResultOutputOptions& o);

/// A guard holding the outputs of these options; the command adds its inputs and checks it.
io::OutputGuard result_output_guard(const ResultOutputOptions& o);

/// Prints the table (to stderr when the JSON goes to stdout) and writes the JSON when asked.
void emit_result(const metrics::RetrievalResult& result, const ResultOutputOptions& o);

}  // namespace hcmsn::cli
