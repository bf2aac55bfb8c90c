#include "hcmsn/util/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "hcmsn/util/check.h"

extern char** environ;

namespace hcmsn::util {
namespace {

// posix_spawn_file_actions_t and posix_spawnattr_t released on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

ChildProcess start_logged_process(const std::vector<std::string>& argv,
                                  const std::string& log_path) {
  HCMSN_CHECK(!argv.empty(), "no program to start");
  {
    // Open the log here first: a bad path becomes an error naming it, not a child that dies.
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    HCMSN_CHECK(fd >= 0, "cannot open the log '", log_path, "': ", std::strerror(errno),
                " (is its directory there and writable?)");
    ::close(fd);
  }
  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&setup.actions, STDOUT_FILENO, STDERR_FILENO);
  // A process group of its own: the terminal's Ctrl-C goes to the parent, which forwards it once.
  posix_spawnattr_setpgroup(&setup.attributes, 0);
  // The parent may ignore or handle signals; the child starts with the defaults.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err =
      posix_spawn(&pid, argv[0].c_str(), &setup.actions, &setup.attributes, args.data(), environ);
  HCMSN_CHECK(err == 0, "cannot start '", argv[0], "': ", std::strerror(err));
  return {pid};
}

ChildProcess start_process(const std::vector<std::string>& argv,
                           const std::vector<std::string>& environment) {
  HCMSN_CHECK(!argv.empty(), "no program to start");
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& extra : environment) replaced |= extra.compare(0, name.size(), name) == 0;
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), environment.begin(), environment.end());
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int err = posix_spawn(&pid, argv[0].c_str(), nullptr, nullptr, args.data(), envp.data());
  HCMSN_CHECK(err == 0, "cannot start '", argv[0], "': ", std::strerror(err));
  return {pid};
}

namespace {

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 128;
}

}  // namespace

int poll_process(const ChildProcess& child) {
  HCMSN_ASSERT(child.pid > 0, "polling a process that was not started");
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(child.pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  HCMSN_ASSERT(r >= 0, "waitpid(", child.pid, ") failed: ", std::strerror(errno));
  return r == 0 ? -1 : exit_code_of(status);
}

int wait_for_process(const ChildProcess& child) {
  HCMSN_ASSERT(child.pid > 0, "waiting for a process that was not started");
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(child.pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  HCMSN_ASSERT(r == child.pid, "waitpid(", child.pid, ") failed: ", std::strerror(errno));
  return exit_code_of(status);
}

void terminate_process(const ChildProcess& child) {
  if (child.pid > 0) ::kill(child.pid, SIGTERM);
}

std::string current_executable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  HCMSN_CHECK(!ec, "cannot find the running program through /proc/self/exe: ", ec.message());
  return path.string();
}

std::string shell_quote(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += ' ';
    const bool plain = !a.empty() && a.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_=+.,/:@%") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char ch : a) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    out += '\'';
  }
  return out;
}

}  // namespace hcmsn::util
