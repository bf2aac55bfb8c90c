// hcmsn dataset: reads a benchmark dataset (official layout, list files, extra folders) and prints
// its summary: classes, counts per split and modality, missing files, out-of-split items.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "dataset_flags.h"
#include "hcmsn/data/dataset.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::cli {
namespace {

struct DatasetCommandOptions {
  data::DatasetSpec spec;
  std::string json;
};

int run_dataset(const DatasetCommandOptions& o) {
  const data::Dataset dataset = data::build_dataset(o.spec);
  const data::DatasetSummary summary = data::summarize(dataset);
  std::cout << summary.to_table() << std::flush;
  if (!o.json.empty()) util::write_file_atomic(o.json, summary.to_json().dump(2) + "\n");
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
  cmd->add_option("--json", o->json, "also write the summary as JSON to this file");
  cmd->callback([o, &exit_code] { exit_code = run_dataset(*o); });
}

}  // namespace hcmsn::cli
