// How the evaluating commands (metrics, eval, eval-features, eval-gallery) report a result: the
// cut-offs, the table on stdout (optionally per class) and the JSON of `hcmsn metrics`.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hcmsn/metrics/retrieval_evaluator.h"

namespace hcmsn::cli {

struct ResultOutputOptions {
  std::vector<int64_t> ks = {100, 200};
  std::string json_out;
  bool per_class = false;
};

/// Adds --k, --json and --per-class.
void add_result_output_options(CLI::App* cmd, ResultOutputOptions& o);

/// Prints the table and writes the JSON when asked; with json_out "-" the JSON goes to standard
/// output and the table to standard error.
void emit_result(const metrics::RetrievalResult& result, const ResultOutputOptions& o);

}  // namespace hcmsn::cli
