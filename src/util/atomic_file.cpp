#include "hcmsn/util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "hcmsn/util/check.h"

namespace hcmsn::util {
namespace {

// Temporaries older than this whose writer cannot be told (other machines, older versions).
constexpr auto kOrphanAge = std::chrono::hours(24);

// Whether process `pid` of this machine is gone.
bool process_gone(long pid) {
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

// The temporaries of `path` whose writer is gone (see write_file_atomic); never throws.
void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    // PATH.tmp.<pid>.XXXXXX (this version) or PATH.tmp.XXXXXX (before it).
    const std::string rest = name.substr(prefix.size());
    const size_t dot = rest.find('.');
    bool stale = false;
    if (dot != std::string::npos && dot > 0 && rest.find_first_not_of("0123456789") == dot) {
      stale = process_gone(std::strtol(rest.substr(0, dot).c_str(), nullptr, 10));
    } else {
      std::error_code time_ec;
      const auto written = fs::last_write_time(it->path(), time_ec);
      stale = !time_ec && fs::file_time_type::clock::now() - written > kOrphanAge;
    }
    if (stale) {
      std::error_code rm_ec;
      fs::remove(it->path(), rm_ec);
    }
  }
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes) {
  // A writer killed mid-write (SIGKILL, power) leaves its temporary: the next write removes it.
  remove_stale_temporaries(path);
  std::string tmpl = path + ".tmp." + std::to_string(::getpid()) + ".XXXXXX";
  const int fd = mkstemp(tmpl.data());
  HCMSN_CHECK(fd >= 0, "cannot create a temporary file next to '", path,
              "': ", std::strerror(errno), " (is the directory there and writable?)");
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      std::remove(tmpl.c_str());
      HCMSN_CHECK(false, "cannot write '", path, "': ", std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  // mkstemp creates 0600 files; give the result the usual permissions.
  ::chmod(tmpl.c_str(), 0644);
  if (!synced || !closed || std::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmpl.c_str());
    HCMSN_CHECK(false, "cannot finish writing '", path, "': ", std::strerror(err));
  }
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  HCMSN_CHECK(!std::filesystem::is_directory(path, ec), "cannot read '", path,
              "': it is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  HCMSN_CHECK(in.good(), "cannot open '", path, "': ", std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  HCMSN_CHECK(!in.bad(), "error while reading '", path, "'");
  return out.str();
}

}  // namespace hcmsn::util
