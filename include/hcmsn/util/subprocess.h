// Child processes whose output goes to a log file (the experiment runner's jobs). Each child gets
// its own process group, so a Ctrl-C at the terminal reaches the parent only; the parent decides
// what its children are told (terminate_process), and each child is told exactly once.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hcmsn::util {

/// A started child process.
struct ChildProcess {
  pid_t pid = -1;
};

/// Starts `argv` (argv[0]: the program's path, not searched in PATH) with stdin from /dev/null
/// and stdout and stderr appended to `log_path` (created when missing). Throws hcmsn::Error
/// naming the program or the log when it cannot be started.
ChildProcess start_logged_process(const std::vector<std::string>& argv,
                                  const std::string& log_path);

/// Starts `argv` with this process's stdin, stdout and stderr and its environment plus
/// `environment` ("NAME=VALUE" entries, replacing variables of the same name). The child is in
/// this process's group, so a Ctrl-C at the terminal reaches it too. Throws hcmsn::Error when
/// it cannot be started.
ChildProcess start_process(const std::vector<std::string>& argv,
                           const std::vector<std::string>& environment);

/// The child's exit code (as wait_for_process) when it has ended, else -1; does not block.
int poll_process(const ChildProcess& child);

/// Waits for the child to end; returns its exit code, or 128 + the signal that ended it (the
/// shell's convention).
int wait_for_process(const ChildProcess& child);

/// Sends SIGTERM to the child (a no-op for one that has ended).
void terminate_process(const ChildProcess& child);

/// The path of the running executable (/proc/self/exe resolved), for starting copies of it.
std::string current_executable();

/// `args` as one shell command line, each argument quoted where it needs it (for logs).
std::string shell_quote(const std::vector<std::string>& args);

}  // namespace hcmsn::util
