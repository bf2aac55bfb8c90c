// The flags that describe a benchmark dataset (data::DatasetSpec), shared by `hcmsn dataset` and
// any command that reads one (`extract`), so both accept exactly the same sources.
#pragma once

#include <CLI/CLI.hpp>

#include "hcmsn/data/dataset.h"
#include "hcmsn/io/output_guard.h"

namespace hcmsn::cli {

/// Adds --layout, --root, --sketch-dir, --photo-dir, --ndjson-dir, --sketch-list, --photo-list,
/// --class-map, --split and --unseen to `cmd`, writing into `spec` (which must outlive parsing).
void add_dataset_flags(CLI::App& cmd, data::DatasetSpec& spec);

/// The same without --split and --unseen (for a command that has its own): the sources,
/// --class-map and --keep-out-of-split, in an option group "dataset" it returns.
CLI::Option_group* add_dataset_source_flags(CLI::App& cmd, data::DatasetSpec& spec);

/// Whether any source flag was given (a layout, a root, folders or lists).
bool has_dataset_sources(const data::DatasetSpec& spec);

/// Declares what a dataset reads: the list, class-map and unseen files and every item file of
/// the built `dataset`. Its folders stay writable, so that a summary or a feature cache may sit in
/// the dataset's root; every file the dataset consists of is protected one by one instead.
void add_dataset_inputs(io::OutputGuard& guard, const data::DatasetSpec& spec,
                        const data::Dataset& dataset);

}  // namespace hcmsn::cli
