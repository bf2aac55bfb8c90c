#include "output_flags.h"

#include <iostream>

#include "hcmsn/io/output_guard.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/log.h"

namespace hcmsn::cli {

void add_json_option(CLI::App* cmd, std::string& path, const std::string& what,
                     const std::string& flag) {
  cmd->add_option(flag, path,
                  "write " + what +
                      " as JSON to FILE; '-': to standard output, which then carries only the "
                      "JSON (human-readable output goes to standard error)")
      ->type_name("FILE|-");
}

void add_force_flag(CLI::App* cmd, bool& force, const std::string& replaces) {
  cmd->add_flag("--force", force,
                "replace " + replaces +
                    " even when it holds another kind of content (an image, weights, a "
                    "checkpoint, ...); never allows writing over an input of the command");
}

std::ostream& human_output(const std::string& json_path) {
  return io::is_stdout_path(json_path) ? std::cerr : std::cout;
}

void write_json_output(const std::string& path, const nlohmann::json& value) {
  if (path.empty()) return;
  if (io::is_stdout_path(path)) {
    // The table went to stderr; flush it first so a terminal shows the two in order.
    std::cerr << std::flush;
    std::cout << value.dump(2) << "\n" << std::flush;
    return;
  }
  util::write_file_atomic(path, value.dump(2) + "\n");
  util::log_info("wrote {}", path);
}

}  // namespace hcmsn::cli
