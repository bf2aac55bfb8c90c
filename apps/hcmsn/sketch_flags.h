// The flags that name query sketches, shared by `hcmsn query` and `hcmsn eval-gallery` so both
// read exactly the same sources, and what both do with the sketches that cannot be read.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hcmsn/index/sketch_list.h"
#include "hcmsn/io/output_guard.h"

namespace hcmsn::cli {

struct SketchFlags {
  std::vector<std::string> files;    // positional: sketch files
  std::vector<std::string> sources;  // --sketches: folders and list files
  int64_t max_per_file = 0;
};

/// Adds the positional sketch files, --sketches (repeatable) and --max-per-file.
void add_sketch_flags(CLI::App* cmd, SketchFlags& flags);

/// Every sketch the flags name (index::collect_sketches).
std::vector<index::QuerySketch> collect_sketches(const SketchFlags& flags);

/// One warning line per sketch that could not be read (its id and why), then a count.
void warn_unreadable(const std::vector<index::QuerySketch>& sketches,
                     const std::vector<std::pair<size_t, std::string>>& unreadable);

/// Declares the command's inputs to `guard`: the gallery, the run folder that replaces the
/// gallery's (if any), the sketch files and the --sketches folders and lists (io/output_guard.h).
void add_sketch_inputs(io::OutputGuard& guard, const std::string& gallery, const std::string& run,
                       const SketchFlags& flags);

}  // namespace hcmsn::cli
