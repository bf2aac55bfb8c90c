// Shared helpers of the test suite: fixture paths, a float64 finite-difference gradient check,
// and running the hcmsn binary.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace hcmsn::test {

/// tests/fixtures/<name>
std::string fixture(const std::string& name);
/// ../shared/<name> (real data and weights; tests needing it skip when it is absent)
std::string shared(const std::string& name);
/// A fresh empty temporary directory, removed with its contents when the test process exits
/// normally (kept when HCMSN_KEEP_TEST_DIRS is set, to look at after a failure).
std::string temp_dir(const std::string& tag);

/// Central finite differences of a scalar function f at `inputs` (float64, requires_grad not
/// needed) against autograd. Returns the largest |analytic − numeric| / (1 + |numeric|).
double gradient_check_error(
    const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& f,
    const std::vector<torch::Tensor>& inputs, double step = 1e-6);

/// Runs `fn`, requires it to throw hcmsn::Error and returns the message; any other outcome (no
/// exception, another exception type) is a test failure.
std::string error_of(const std::function<void()>& fn);

/// The whole file (binary); throws when it cannot be opened.
std::string read_text(const std::string& path);
/// The file parsed as JSON; throws when it cannot be opened or parsed.
nlohmann::json read_json(const std::string& path);
/// One JSON value per line (a JSON-lines log).
std::vector<nlohmann::json> read_json_lines(const std::string& path);
/// max |a − b| in float64.
double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b);

/// Unit roundoff of float64 and float32, for tolerances stated in ulps.
inline constexpr double kU64 = 0x1p-53;
inline constexpr double kU32 = 0x1p-24;
/// `v` as printf's %g writes it (short numbers in failure messages).
std::string num(double v);

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
/// Runs the hcmsn CLI with `args` (shell-quoted by the caller) and captures its output.
CommandResult run_cli(const std::string& args);

struct SplitCommandResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};
/// Runs the hcmsn CLI with `args` (shell-quoted by the caller), standard output and standard
/// error captured apart: for checking that `--json -` leaves nothing else on standard output.
SplitCommandResult run_cli_split(const std::string& args);

}  // namespace hcmsn::test
