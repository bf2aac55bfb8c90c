#include "result_output.h"

#include <iostream>

#include "hcmsn/metrics/report.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/log.h"

namespace hcmsn::cli {

void add_result_output_options(CLI::App* cmd, ResultOutputOptions& o) {
  cmd->add_option("--k", o.ks, "cut-offs for Prec@K and mAP@K")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--json", o.json_out,
                  "write the results as JSON to FILE; '-': standard output, which then carries "
                  "only the JSON (the table goes to standard error)");
  cmd->add_flag("--per-class", o.per_class, "print the per-class table too");
}

void emit_result(const metrics::RetrievalResult& result, const ResultOutputOptions& o) {
  // --json -: standard output carries only the JSON, so `| jq` works.
  if (o.json_out == "-") {
    std::cerr << metrics::format_table(result, o.per_class);
    std::cout << metrics::to_json(result).dump(2) << "\n";
    return;
  }
  std::cout << metrics::format_table(result, o.per_class);
  if (!o.json_out.empty()) {
    util::write_file_atomic(o.json_out, metrics::to_json(result).dump(2) + "\n");
    util::log_info("wrote {}", o.json_out);
  }
}

}  // namespace hcmsn::cli
