#include "result_output.h"

#include "hcmsn/metrics/report.h"
#include "output_flags.h"

namespace hcmsn::cli {

void add_result_output_options(CLI::App* cmd, ResultOutputOptions& o) {
  cmd->add_option("--k", o.ks, "cut-offs for Prec@K and mAP@K")
      ->delimiter(',')
      ->capture_default_str();
  add_json_option(cmd, o.json_out, "the results");
  cmd->add_flag("--per-class", o.per_class, "print the per-class table too");
  add_force_flag(cmd, o.force, "an existing --json FILE");
}

io::OutputGuard result_output_guard(const ResultOutputOptions& o) {
  io::OutputGuard guard(o.force);
  guard.output_or_stdout("--json", o.json_out, io::OutputKind::json());
  return guard;
}

void emit_result(const metrics::RetrievalResult& result, const ResultOutputOptions& o) {
  human_output(o.json_out) << metrics::format_table(result, o.per_class);
  write_json_output(o.json_out, metrics::to_json(result));
}

}  // namespace hcmsn::cli
