#include "sketch_flags.h"

#include <filesystem>

#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"

namespace hcmsn::cli {

void add_sketch_flags(CLI::App* cmd, SketchFlags& flags) {
  cmd->add_option("sketch", flags.files,
                  "sketch files: PNG/JPEG/BMP images, QuickDraw strokes in .json "
                  "([[[x...],[y...]],...] or {\"drawing\": ...}), or .ndjson files (every line "
                  "is a drawing; its \"word\" is its class)");
  cmd->add_option("--sketches", flags.sources,
                  "a folder of sketch files (DIR/<class>/... gives classes) or a list file of "
                  "PATH[<TAB>CLASS] lines; repeatable")
      // One value per --sketches, so that sketch files may follow it.
      ->allow_extra_args(false);
  cmd->add_option("--max-per-file", flags.max_per_file,
                  "at most this many drawings of each .ndjson file (its first lines); 0: all")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

std::vector<index::QuerySketch> collect_sketches(const SketchFlags& flags) {
  index::SketchListOptions options;
  options.max_per_file = flags.max_per_file;
  return index::collect_sketches(flags.files, flags.sources, options);
}

void warn_unreadable(const std::vector<index::QuerySketch>& sketches,
                     const std::vector<std::pair<size_t, std::string>>& unreadable) {
  for (const auto& [i, reason] : unreadable) {
    util::log_warn("skipped {}: {}", sketches[i].id, reason);
  }
  if (!unreadable.empty()) {
    util::log_warn("{} of {} sketches could not be read and were skipped", unreadable.size(),
                   sketches.size());
  }
}

void add_sketch_inputs(io::OutputGuard& guard, const std::string& gallery, const std::string& run,
                       const SketchFlags& flags) {
  guard.input("--index", gallery)
      .input("--run", run)
      .inputs("sketch", flags.files)
      .inputs("--sketches", flags.sources);
}

}  // namespace hcmsn::cli
