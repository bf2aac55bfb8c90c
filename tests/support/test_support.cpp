#include "support/test_support.h"

#include "hcmsn/util/check.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <sstream>

namespace hcmsn::test {

std::string fixture(const std::string& name) {
  return std::string(HCMSN_FIXTURES_DIR) + "/" + name;
}

std::string num(double v) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%g", v);
  return buf.data();
}

std::string shared(const std::string& name) {
  return std::string(HCMSN_SHARED_DIR) + "/" + name;
}

namespace {

// The directories temp_dir made, removed when the process that made them exits: a suite run
// left ~14 GB of them in /tmp before, enough to fill a CI machine's disk. A forked child that
// exits normally does not remove its parent's (the pid check).
class TempDirRegistry {
 public:
  ~TempDirRegistry() {
    if (getpid() != owner_ || std::getenv("HCMSN_KEEP_TEST_DIRS") != nullptr) return;
    for (const auto& dir : dirs_) {
      std::error_code ec;  // best effort: a leftover is not a test failure
      std::filesystem::remove_all(dir, ec);
    }
  }
  void add(const std::filesystem::path& dir) {
    const std::lock_guard<std::mutex> lock(mutex_);
    dirs_.push_back(dir);
  }

 private:
  pid_t owner_ = getpid();
  std::mutex mutex_;
  std::vector<std::filesystem::path> dirs_;
};

TempDirRegistry& temp_dirs() {
  static TempDirRegistry registry;
  return registry;
}

}  // namespace

std::string temp_dir(const std::string& tag) {
  std::random_device rd;
  const auto dir =
      std::filesystem::temp_directory_path() / ("hcmsn_test_" + tag + "_" + std::to_string(rd()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  temp_dirs().add(dir);
  return dir.string();
}

double gradient_check_error(
    const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& f,
    const std::vector<torch::Tensor>& inputs, double step) {
  std::vector<torch::Tensor> xs;
  xs.reserve(inputs.size());
  for (const auto& x : inputs)
    xs.push_back(x.detach().to(torch::kFloat64).clone().requires_grad_(true));
  const torch::Tensor out = f(xs);
  const auto grads = torch::autograd::grad({out}, xs, {}, false, false, true);
  double worst = 0.0;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < xs.size(); ++i) {
    auto flat = xs[i].view(-1);
    const auto analytic = grads[i].defined() ? grads[i].reshape(-1) : torch::zeros_like(flat);
    for (int64_t j = 0; j < flat.numel(); ++j) {
      const double orig = flat[j].item<double>();
      flat[j] = orig + step;
      const double up = f(xs).item<double>();
      flat[j] = orig - step;
      const double down = f(xs).item<double>();
      flat[j] = orig;
      const double numeric = (up - down) / (2 * step);
      const double err = std::abs(analytic[j].item<double>() - numeric) / (1 + std::abs(numeric));
      worst = std::max(worst, err);
    }
  }
  return worst;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const hcmsn::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected hcmsn::Error, got another exception: " << e.what();
    return {};
  } catch (...) {
    ADD_FAILURE() << "expected hcmsn::Error, got a non-std exception";
    return {};
  }
  ADD_FAILURE() << "expected hcmsn::Error, nothing was thrown";
  return {};
}

CommandResult run_cli(const std::string& args) {
  CommandResult r;
  const std::string cmd = std::string("'") + HCMSN_CLI_PATH + "' " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

SplitCommandResult run_cli_split(const std::string& args) {
  SplitCommandResult r;
  const std::string err_path = temp_dir("cli_stderr") + "/stderr.txt";
  const std::string cmd = std::string("'") + HCMSN_CLI_PATH + "' " + args + " 2>'" + err_path + "'";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err_path, std::ios::binary);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(std::filesystem::path(err_path).parent_path());
  return r;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  HCMSN_CHECK(in.is_open(), "cannot open ", path);
  return {std::istreambuf_iterator<char>(in), {}};
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_text(path));
}

std::vector<nlohmann::json> read_json_lines(const std::string& path) {
  std::istringstream in(read_text(path));
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace hcmsn::test
