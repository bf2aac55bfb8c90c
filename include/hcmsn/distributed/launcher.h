// `--nproc N`: data parallelism on one machine without torchrun (issue 13). The command starts N
// copies of itself with torchrun's variables set (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR =
// 127.0.0.1, MASTER_PORT = a free port), waits for them, and when one rank fails stops the
// others and says which rank it was.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::distributed {

struct LocalLaunchOptions {
  int64_t nproc = 2;
  /// 0: a free port of the loopback interface.
  int64_t master_port = 0;
};

/// This process's own command line (/proc/self/cmdline), argv[0] replaced by the executable's
/// path.
std::vector<std::string> own_command_line();

/// `args` without the option `name` and its value ("--nproc 2" or "--nproc=2").
std::vector<std::string> without_option(std::vector<std::string> args, const std::string& name);

/// A TCP port that was free on 127.0.0.1 a moment ago.
int64_t free_port();

/// Runs `argv` as nproc ranks and waits. Returns 0 when every rank succeeded; otherwise
/// terminates the rest and returns the first failing rank's exit code, having logged its rank.
int launch_local(const std::vector<std::string>& argv, const LocalLaunchOptions& options);

}  // namespace hcmsn::distributed
