#include "hcmsn/distributed/launcher.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/subprocess.h"

namespace hcmsn::distributed {

std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  HCMSN_CHECK(!raw.empty(), "cannot read this process's command line from /proc/self/cmdline");
  std::vector<std::string> args;
  size_t begin = 0;
  while (begin < raw.size()) {
    const size_t end = raw.find('\0', begin);
    args.push_back(raw.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  args[0] = util::current_executable();
  return args;
}

std::vector<std::string> without_option(std::vector<std::string> args, const std::string& name) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      ++i;  // and its value
      continue;
    }
    if (args[i].compare(0, name.size() + 1, name + "=") == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

int64_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  HCMSN_CHECK(fd >= 0, "cannot open a socket to find a free port");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  HCMSN_CHECK(ok, "cannot find a free port on 127.0.0.1; set MASTER_PORT and launch with torchrun");
  return ntohs(address.sin_port);
}

int launch_local(const std::vector<std::string>& argv, const LocalLaunchOptions& options) {
  HCMSN_CHECK(options.nproc >= 1, "--nproc must be at least 1");
  const int64_t port = options.master_port > 0 ? options.master_port : free_port();
  std::vector<util::ChildProcess> ranks;
  for (int64_t r = 0; r < options.nproc; ++r) {
    ranks.push_back(
        util::start_process(argv, {"RANK=" + std::to_string(r), "LOCAL_RANK=" + std::to_string(r),
                                   "WORLD_SIZE=" + std::to_string(options.nproc),
                                   "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port),
                                   "LOCAL_WORLD_SIZE=" + std::to_string(options.nproc)}));
  }
  std::vector<int> codes(ranks.size(), -1);
  size_t running = ranks.size();
  int first_failure = 0;
  while (running > 0) {
    for (size_t r = 0; r < ranks.size(); ++r) {
      if (codes[r] >= 0) continue;
      codes[r] = util::poll_process(ranks[r]);
      if (codes[r] < 0) continue;
      --running;
      if (codes[r] != 0 && first_failure == 0) {
        first_failure = codes[r];
        util::log(util::LogLevel::kError,
                  "rank {} of {} failed (exit code {}); stopping the others", r, options.nproc,
                  codes[r]);
        for (size_t o = 0; o < ranks.size(); ++o) {
          if (codes[o] < 0) util::terminate_process(ranks[o]);
        }
      }
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return first_failure;
}

}  // namespace hcmsn::distributed
