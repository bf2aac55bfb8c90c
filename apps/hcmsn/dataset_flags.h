// The flags that describe a benchmark dataset (data::DatasetSpec), shared by `hcmsn dataset` and
// any command that reads one (`extract`), so both accept exactly the same sources.
#pragma once

#include <CLI/CLI.hpp>

#include "hcmsn/data/dataset.h"

namespace hcmsn::cli {

/// Adds --layout, --root, --sketch-dir, --photo-dir, --ndjson-dir, --sketch-list, --photo-list,
/// --class-map, --split and --unseen to `cmd`, writing into `spec` (which must outlive parsing).
void add_dataset_flags(CLI::App& cmd, data::DatasetSpec& spec);

}  // namespace hcmsn::cli
