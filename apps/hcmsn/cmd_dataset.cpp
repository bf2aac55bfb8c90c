// hcmsn dataset: reads a benchmark dataset (official layout, list files, extra folders) and prints
// its summary: classes, counts per split and modality, missing files, out-of-split items.
#include <memory>
#include <string>

#include "commands.h"
#include "dataset_flags.h"
#include "hcmsn/data/dataset.h"
#include "hcmsn/io/output_guard.h"
#include "output_flags.h"

namespace hcmsn::cli {
namespace {

struct DatasetCommandOptions {
  data::DatasetSpec spec;
  std::string json;
  bool force = false;
};

int run_dataset(const DatasetCommandOptions& o) {
  const data::Dataset dataset = data::build_dataset(o.spec);
  io::OutputGuard guard(o.force);
  add_dataset_inputs(guard, o.spec, dataset);
  guard.output_or_stdout("--json", o.json, io::OutputKind::json()).check();
  const data::DatasetSummary summary = data::summarize(dataset);
  human_output(o.json) << summary.to_table() << std::flush;
  write_json_output(o.json, summary.to_json());
  return 0;
}

}  // namespace

void add_dataset_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<DatasetCommandOptions>();
  auto* cmd = app.add_subcommand(
      "dataset",
      "Read a benchmark dataset and print its summary.\n"
      "Layouts under --root: sketchy (256x256/{sketch,photo}/tx_000000000000_ready/<class>/), "
      "tuberlin (png_ready/, ImageResized_ready/), quickdraw (sketches/, images/), generic "
      "(sketch/, photo/). Class names are matched by their normalised key (lower case, runs of "
      "spaces, '_' and '-' as one '_').");
  add_dataset_flags(*cmd, o->spec);
  add_json_option(cmd, o->json, "the summary");
  add_force_flag(cmd, o->force, "an existing --json FILE");
  cmd->callback([o, &exit_code] { exit_code = run_dataset(*o); });
}

}  // namespace hcmsn::cli
