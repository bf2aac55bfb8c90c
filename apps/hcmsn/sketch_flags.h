// The flags that name query sketches, shared by `hcmsn query` and `hcmsn eval-gallery` so both
// read exactly the same sources, and what both do with the sketches that cannot be read.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hcmsn/index/sketch_list.h"

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

/// Refuses an output file that is one of the command's inputs (the gallery, a sketch file or a
/// list), so a typo cannot replace them. "-" (standard output) and "" pass.
void check_output_is_not_an_input(const std::string& out, const std::string& gallery,
                                  const SketchFlags& flags);

}  // namespace hcmsn::cli
